"""Benchmark: :func:`dqm.identifiers.find` and the masker on mixed CSV/prose text and on plain prose.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_deid_mixed.py [--repeat 5]

The text is the second review of session 28's deid12 (CSV rows with a name, a hyphenated surname, an MRN and a
DOB, a prose line with numbers and escapes, a pipe header row, an RRN and an escaped SSN), 1,500 times (376 KB),
and 198 KB of capitalised prose. Prints the best of ``--repeat`` runs' CPU time per kind (the machine is shared).
Run another checkout's code by putting it first on ``PYTHONPATH``.

Session 29 (deid13), ``--repeat 5``, base d1dd21a1 / after, alternating twice on the loaded 2-core machine:
see /work/helpers/notes29/deid13.md.

Session 30 (deid14), ``--repeat 3``, base ed2fc8e5 / after, alternating twice, load ~23 on 2 cores: mixed mask
0.390 / 0.479 s → 0.305 / 0.374 s, find 0.271 / 0.330 s → 0.255 / 0.233 s. The masker's token is worked out once
per value, the hex runs are looked for only near a date or phone number that 32 hex digits or dashes may hold, and
``phone_number`` starts at ``\\d`` (its class of 66 zeros, past U+FFFF too, was read one by one at each character).
"""

from __future__ import annotations

import sys
import time

from dqm.identifiers import find
from dqm.profile import load_profile
from tests.deid.deid_helpers import default_masker

ROW = (
    'Patient Name,Mary Smith-Jones,Female,45,MRN,12345678,"Smith, John",DOB,1990-01-01\n'
    "The slide was scanned at 40x; tumour 12-34 mm; see 2019%2D01%2D01 and 010-1234-5678.\n"
    "| Patient Name | Referring Physician | Ward |\nRRN 900101-1234567 id 123%2D45%2D6789\n"
)
TEXTS = {
    "mixed": ROW * 1500,
    "prose": "Lorem ipsum Dolor Sit, amet; Consectetur-Adipiscing elit 123 456. " * 3000,
}


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 5
    settings = load_profile(None).deid
    masker = default_masker()
    for name, text in TEXTS.items():
        best_find = best_mask = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            find(text, settings, "clinical")
            t1 = time.process_time()
            masker(text)
            t2 = time.process_time()
            best_find, best_mask = min(best_find, t1 - t0), min(best_mask, t2 - t1)
        print(f"{name} chars={len(text)} find={best_find:.3f}s mask={best_mask:.3f}s")


if __name__ == "__main__":
    main()
