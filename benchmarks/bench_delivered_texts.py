"""CPU time of :func:`dqm.batch.delivered_texts` over 10,000 notes with 0 and 100,000 slide files.

Each note was looked up in the list of all slide files (quadratic: 16.0 s with 100,000 slides, 1.7 s
with none); a set makes both about 1.7 s. Run:
``PYTHONPATH=$PWD nice -n 10 python benchmarks/bench_delivered_texts.py /tmp/NAME-quad``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from dqm.batch import Discovery, delivered_texts


def main(root: Path) -> None:
    if not root.exists():
        for i in range(10_000):
            folder = root / f"slides/case{i:06}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "notes.txt").write_text("clean\n")
    slides = [f"slides/case{i // 10:06}/S{i:06}.svs" for i in range(100_000)]
    notes = [f"slides/case{i:06}/notes.txt" for i in range(10_000)]
    for n in (0, 100_000):
        disc = Discovery(
            root=root, items=[], slide_files=slides[:n], annotation_files=[], other_files=notes, issues=[]
        )
        start = time.process_time()
        got = delivered_texts(disc)
        kept, cut = (got.texts, got.cut) if hasattr(got, "texts") else got  # session 27 returns a dataclass
        print(f"{n:>7,} slides: {len(kept):,} notes kept, cut={cut}, {time.process_time() - start:.2f} s CPU")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
