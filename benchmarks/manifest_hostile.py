"""Hostile manifests (session 27): what ``discover`` makes of a manifest of 64 MB of random bytes,
of lines in alternating encodings, of a UTF-8 byte-order mark before CP949, of UTF-16 with and
without a mark, of NUL bytes; the codes it gives and the CPU seconds it takes. Each must be a
finding with its reason, never a crash, in bounded time.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/manifest_hostile.py [MB]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from dqm.batch import discover
from tests.helpers import write_tiny_batch


def cases(size: int) -> dict[str, bytes]:
    rng = random.Random(27)
    korean = "S0,slides/S0.png,서울대병원 병리과\n"
    alternating = "".join(
        (f"S{i},x.png,{word}\n").encode(codec).decode("latin-1")
        for i in range(size // 40)
        for word, codec in [
            (
                ("병리과", "cp949"),
                ("病理科", "gbk"),
                ("病理", "euc-jp"),
                ("Größe", "latin-1"),
                ("병리", "utf-8"),
            )[i % 5]
        ]
    ).encode("latin-1")
    header = "slide_id,slide_path,note\n"
    return {
        "random": rng.randbytes(size),
        "alternating-encodings": header.encode() + alternating[:size],
        "utf8-bom-then-cp949": b"\xef\xbb\xbf" + (header + korean * (size // 40)).encode("cp949"),
        "utf16-le-bom": (header + korean * (size // 80)).encode("utf-16"),
        "utf16-le-no-bom": (header + korean * (size // 80)).encode("utf-16-le"),
        "utf16-be-no-bom": (header + korean * (size // 80)).encode("utf-16-be"),
        "nul-bytes": b"\0" * size,
        "nul-inside-cp949": (header + korean * (size // 40)).encode("cp949").replace(b",", b"\0", 1000),
    }


def main() -> None:
    size = int(float(sys.argv[1]) * (1 << 20)) if len(sys.argv) > 1 else 64 << 20
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tiny_batch(Path(tmp) / "b")
        for name, data in cases(size).items():
            (root / "manifest.csv").write_bytes(data)
            cpu = time.process_time()
            try:
                disc = discover(root)
                codes = sorted({i.code for i in disc.issues if i.code.startswith("MANIFEST")})
                why = next(
                    (i.message.rendered("en")[:110] for i in disc.issues if i.code.startswith("MANIFEST")), ""
                )
            except Exception as exc:  # a crash is what is measured
                codes, why = ["CRASH"], f"{type(exc).__name__}: {exc}"[:110]
            print(
                f"{name:<22} {len(data) / (1 << 20):5.1f} MB {time.process_time() - cpu:6.2f} s CPU  {codes}  {why}"
            )


if __name__ == "__main__":
    main()
