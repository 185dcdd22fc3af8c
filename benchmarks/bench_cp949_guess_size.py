"""CPU time of the manifest encoding guess (``dqm.batch._not_korean`` after a CP949 decode) on ~10 MB manifests:
Korean rows (names, sites, diagnoses), one doubled onomatopoeia column (``쿵쿵``: session 31's doubled rule reads
the whole text), and GBK rows (refused). Session 31 (deidko7)::

    /work/main/.venv/bin/python benchmarks/bench_cp949_guess_size.py [ROOT]   (ROOT: a checkout whose dqm is timed)
"""

from __future__ import annotations

import sys
import time

if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])

from dqm import batch

SIZE = 10 * 1024 * 1024
ROW = "slide_{i:07d}.svs,{cell},HE,0.25\n"


def manifest(cells: list[str], codec: str) -> bytes:
    rows, size, i = ["slide,institution,stain,mpp\n"], 0, 0
    while size < SIZE:
        row = ROW.format(i=i, cell=cells[i % len(cells)])
        rows.append(row)
        size += len(row) + len(cells[i % len(cells)])
        i += 1
    return "".join(rows).encode(codec)


CASES = {
    "korean": (["홍길동", "서울대병원 병리과", "대장암", "위 조직검사", "김지은", "유방암"], "cp949"),
    "doubled": (["쿵쿵"], "cp949"),
    "gbk": (["人民医院", "北京", "肺癌"], "gbk"),
}


def main() -> None:
    print(batch.__file__)
    for name, (cells, codec) in CASES.items():
        data = manifest(cells, codec)
        best = []
        for _ in range(3):
            start = time.process_time()
            text = data.decode("cp949", "replace")
            why = batch._not_korean(data, text)
            best.append(time.process_time() - start)
        print(
            f"{name:8} {len(data) / 1e6:5.1f} MB  {min(best):.3f} s CPU (best of 3)  refused: {why is not None}"
        )


if __name__ == "__main__":
    main()
