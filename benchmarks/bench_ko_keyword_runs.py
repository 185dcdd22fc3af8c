"""Benchmark: the masker on text of nothing but a Korean name keyword, repeated (``이름`` 100,000
times, ``이름 `` 70,000 times, ``환자 명`` 50,000 times), where every keyword is a place a glued
name (``이름홍길동``) may start: CPU time, best of three.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_ko_keyword_runs.py

Run it from another checkout's root (``PYTHONPATH=<checkout>``) for before/after on one machine.
Task deidko3 (session 27: a glued name's rules look first at a run of at most 12 syllables ahead,
``_KO_GLUED_RUN``), before (1c86a6c) / after, twice alternating on the shared 2-core machine:
``이름`` x 100,000 0.852, 1.051 / 0.449, 0.576 s; ``이름 `` 0.501, 0.537 / 0.657, 0.492 s;
``환자 명`` 0.157, 0.208 / 0.223, 0.169 s (noise).

Task deidko4 (session 28): ``(성명：)`` (a full-width colon) costs what ``(성명:)`` does (session 27's review saw it
2-3x slower than a base where ``：`` was no keyword); the rows of the session's new rules: ``이름이 홍길동입니다``,
``성명,김철`` (names found) and ``환자명은 이번주`` (none). Numbers in /work/helpers/notes28/deidko4.md.
"""

from __future__ import annotations

import time

from dqm.identifiers import DeidSettings, Masker


def main() -> None:
    masker = Masker(DeidSettings(), b"k" * 32)
    texts = ["이름" * 100_000, "이름 " * 70_000, "환자 명" * 50_000, "(성명:)" * 40_000, "(성명：)" * 40_000]
    texts += ["이름이 홍길동입니다 " * 15_000, "성명,김철 " * 30_000, "환자명은 이번주 " * 20_000]
    for text in texts:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            masker(text)
            best = min(best, time.process_time() - start)
        print(f"{text[:8]!r}... {len(text):,} characters: {best:.3f} s CPU")


if __name__ == "__main__":
    main()
