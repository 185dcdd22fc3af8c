"""Benchmark: the time a cut of a 10 MB field takes (:func:`dqm.findings.cut_head`, which asks
:func:`dqm.identifiers.cut_outside_identifiers`), and whether it keeps part of a name.

    .venv/bin/python benchmarks/bench_deid_cut.py [--code OTHER_CHECKOUT] [--mb 10]

Fields: spaces, digits, digits and dashes, prose, each 10 MB, cut in their middle; and a keyword
thousands of spaces before its name (``Patient name:``, spaces, ``Hong Gildong``) cut inside the
name. A child process runs each under ``--code``'s dqm (before/after) and prints one JSON row: per
field, the best of three times in ms (wall clock, ``ms``; the process's CPU, ``cpu_ms``, which a
loaded machine moves less), and for the keyword the kept text's last characters.

Measured (task deid, session 21; a loaded 2-core shared machine, ``nice -n 10``, so +-40%), 10 MB
fields, before (4fae85c) / after: spaces 4,346 / 3,147 ms, digits 2,395 / 2,090, digits and dashes
3,083 / 2,028, prose 0.9 / 1.0, the keyword far before its name 9.6 ms keeping ``Hong`` / 2,320 ms
keeping ``Patient name:``. Most of a long run's time is :func:`dqm.findings.cut_head` stripping the
digits and spaces the kept text ends with (a Python loop a character, before and after); the cut
itself (:func:`dqm.identifiers.cut_outside_identifiers`, best of three) went from 0.1 ms to 31-41 ms
on a 10 MB run (its start found block by block in C: linear) and 73 ms where it moves before the name.

Task deidfix (session 21) added three fields, each cut inside ``Gildong``: the keyword, 5 MB of
spaces, ``:``, 5 MB of spaces, the name; the keyword, ``\\n`` escaped 5 million times, the name;
``Patient name: Hong``, 10 MB of commas, ``Gildong``. Measured (same machine, ``nice -n 10``, one
before/after pair run back to back), before (949a0f2) / after: spaces 316 / 423 ms, digits 145 /
418, digits and dashes 141 / 232, prose 0.7 / 1.0, keyword far before its name 372 / 514 (both
keep ``Patient name:``), colon between runs 85 ms keeping ``Hong`` / 334 ms keeping ``:``, escaped
newlines 2.1 ms keeping ``\\nHong`` / 190 ms keeping ``\\n\\``, commas in the name 1.0 ms keeping
``Hong,,,`` / 182 ms keeping ``Patient name:``. The cut now walks a run forward and back and
compares its halves for a period (all in C: linear); the fields that leaked before cost what a
run's walk costs.

Task deidfix2 (session 21) added three fields of letters and digits that repeat no short period,
cut in their middle: random hex, random digits, a list of numbers (``123, 4567, ...``); they were
searched whole. Measured (same machine, ``nice -n 10``, one before/after pair run back to back,
10 MB), before (23c7cb9) / after: random hex 7,599 / 254 ms, random digits 3,319 / 168, list of
numbers 7,403 / 200; spaces 337 / 119, digits 261 / 112, digits and dashes 286 / 112, prose 1.3 /
1.1, keyword far before its name 441 / 226, colon between runs 276 / 632 (``:`` is now a run's
character like any punctuation: the run is walked for its separators once more), escaped newlines
161 / 80, commas in the name 164 / 97; every field keeps the same last characters before and after.

Task deid (session 22) made :func:`dqm.findings.cut_head`'s walk back over digits and spaces
:func:`dqm.identifiers.run_start` (the window's block walk, the class a parameter). Measured (same
machine, ``nice -n 10``, after then before, back to back; 10 MB), before (260a0db) / after: spaces
376 / 182 ms, digits 246 / 168, digits and dashes 263 / 174, random digits 517 / 440, random hex
861 / 1,090, list of numbers 646 / 675, prose 1.1 / 1.1, keyword far before its name 595 / 428,
colon between runs 1,591 / 1,776, escaped newlines 229 / 237, commas in the name 231 / 290 (the
fields the change does not touch moved by the machine's load, +-40 %); every field keeps the same
last characters.

Task deidf (session 22: character references read as separators, a cut inside a name longer than
its search moved before it), before (848046f) / after, back to back, ``nice -n 10``, 10 MB: random
hex 881 / 928 ms, random digits 343 / 450, list of numbers 585 / 600, spaces 233 / 210, digits
234 / 226, digits and dashes 232 / 236, prose 0.98 / 1.85, keyword far before its name 348 / 337,
colon between runs 1,639 / 1,588, escaped newlines 215 / 202, commas in the name 248 / 245 (a load
of 4 to 8 on two cores); every field keeps the same last characters.

Task deidmend (session 24) re-ran it over session 23's changes (``find`` and the cut read escapes,
search as written): 87b2212 (before them), 1706a01 and deidmend (this task: header-word surnames,
Windows-1252 references), a load of 12 to 14 on two cores, ``nice -n 10``, 10 MB. Wall clock moved
up to 3x between runs of one commit, so ``cpu_ms`` was added; one pair back to back, 87b2212 /
deidmend, CPU ms: random hex 248 / 307, random digits 113 / 118, list of numbers 179 / 187, spaces
107 / 113, digits 74 / 73, digits and dashes 73 / 72, prose 2 / 2, keyword far before its name 216
/ 214, colon between runs 536 / 558, escaped newlines 81 / 86, commas in the name 126 / 81. Random
hex, the one field higher in each of three alternations (87b2212 251, 286, 248; 1706a01 323, 305;
deidmend 318, 293, 307), spends its time in :func:`dqm.identifiers._period` and
:func:`dqm.identifiers._search_pieces`, the same code at all three (cProfile): no regression
found, the machine's load. Every field keeps the same last characters at all three.

Task deidf (session 24: characters nobody sees read as nothing, the text with them kept searched
too where one was), 9895fdd / deidf, ``nice -n 10`` on the loaded 2-core machine, CPU ms, two
pairs (first, second): random hex 312, 369 / 320, 293; random digits 122, 163 / 165, 131; list of
numbers 204, 201 / 260, 197; spaces 125, 116 / 134, 121; digits 74, 91 / 89, 72; digits and dashes
92, 82 / 95, 70; prose 4, 3 / 2, 2; keyword far before its name 227, 289 / 253, 207; colon between
runs 711, 676 / 967, 987 (the one field higher in both: a pass of the invisible characters' class
over each 5 MB run of spaces the cut decodes, about +300 ms for 10 MB); escaped newlines 101, 116
/ 92, 119; commas in the name 97, 98 / 95, 127. Every field keeps the same last characters.

Task deid9 (session 25: an invisible character's escape written twice, ``\\\\u200b``, read as one in
the cut's look-back; each distinct escape read once) added three fields: ``RRN 900101``, 10 MB of
``\\u200b`` or of ``\\\\u200b``, ``-1234567``, cut in the middle; and 10 MB of backslashes.
2f8f11f / deid9, ``nice -n 10`` on the loaded 2-core machine (a load of other helpers' probes: the
wall column moved 2x between runs), CPU ms, one run of all fields: random hex 955 / 866, random
digits 374 / 402, list of numbers 737 / 862, spaces 388 / 455, digits 340 / 336, digits and
dashes 436 / 416, prose 530 / 462, keyword far before its name 788 / 878, colon between runs 1,357
/ 1,578, escaped newlines 690 / 1,212, commas 504 / 533, backslashes 4,599 / 5,124, the
``\\u200b`` field 8,062 / 8,289 (before the escapes were cached), the escaped-twice field 1,770
keeping ``RRN 900101`` (the leak) / 12,440 keeping ``RRN``. Then those three fields alone
(this child on those fields only, two interleaved pairs, the cache in): ``\\u200b`` 10,297, 7,755 /
3,596, 3,348; escaped twice 1,709, 1,877 (leaking) / 3,873, 4,353; escaped newlines 736, 724 /
830, 886 (the escape regex's look-behind for a run's first backslash: +0.1 s a 10 MB run).

Task deid9f (session 25: the cut searches the reading that keeps the characters nobody sees; the
as-written escape regexes tried from a run's first backslash only) added four fields of a fixed
size, cut in the middle and masked whole by a masker (CPU ms each): ``RRN 900101``, 20,000 or
80,000 backslashes, ``-1234567 end``; ``Patient name: Hong``, the backslashes, ``Gildong end``.
``--mb 0.2``, ``nice -n 10``, 4ba2dd1 / deid9f, one run each: RRN 20k cut 2,403 / 103, masked
1,457 / 40; RRN 80k cut 27,177 / 350, masked 6,416 / 177; name 20k cut 267 / 49, masked 6,365 /
50; name 80k cut 263 / 85, masked 80,632 / 137 (quadratic before: ``_DIGITS_ESCAPED`` and
``_WRITTEN_ESCAPE`` tried ``\\\\+`` again from each backslash of a run). The others: backslashes
352 / 135, ``\\u200b`` 71 / 105 and escaped twice 79 / 129 (the reading that keeps them is decoded
and searched too), the rest within the machine's noise, every field keeping the same last characters.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench_deid_walk import child_row

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, random, sys, time
from dqm.findings import cut_head
mb = int(float(sys.argv[1]) * 1_000_000)
rng = random.Random(1)
fields = {
    "random_hex": "".join(rng.choice("0123456789abcdef") for _ in range(mb)),
    "random_digits": "".join(rng.choice("0123456789") for _ in range(mb)),
    "int_list": ", ".join(str(rng.randint(0, 99999)) for _ in range(mb // 7)),
    "spaces": " " * mb,
    "digits": "7" * mb,
    "digits_dashes": ("1234-" * (mb // 5)),
    "prose": ("a slide of tissue, 40x, scanned " * (mb // 32)),
    "keyword_spaces_name": "Patient name:" + " " * (mb - 40) + "Hong Gildong and more",
    "keyword_spaces_colon_spaces_name": "Patient name" + " " * (mb // 2) + ":" + " " * (mb // 2)
    + "Hong Gildong and more",
    "keyword_escaped_newlines_name": "Patient name:" + "\\\\n" * (mb // 2) + "Hong Gildong and more",
    "name_commas_name": "Patient name: Hong" + "," * (mb - 40) + "Gildong and more",
    "rrn_escaped_zwsp": "RRN 900101" + "\\\\u200b" * (mb // 6) + "-1234567 end",
    "rrn_escaped_twice_zwsp": "RRN 900101" + "\\\\\\\\u200b" * (mb // 8) + "-1234567 end",
    "backslashes": "\\\\" * mb,
}
row = {}
for name, text in fields.items():
    at = text.rindex("Gildong") + 3 if "Gildong" in text else len(text) // 2
    best = cpu = None
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        kept = cut_head(text, at)
        took, used = time.perf_counter() - t0, time.process_time() - c0
        best = took if best is None else min(best, took)
        cpu = used if cpu is None else min(cpu, used)
    row[name] = {"ms": round(best * 1000, 2), "cpu_ms": round(cpu * 1000), "kept_ends": kept[-8:]}
from dqm.identifiers import DeidSettings, Masker
for n in (20_000, 80_000):  # a run of backslashes with text around it, cut and masked (not --mb: quadratic before)
    for name, text in (("rrn_backslashes", "RRN 900101" + "\\\\" * n + "-1234567 end"),
                       ("name_backslashes", "Patient name: Hong" + "\\\\" * n + "Gildong end")):
        c0 = time.process_time()
        kept = cut_head(text, len(text) // 2)
        c1 = time.process_time()
        Masker(DeidSettings(), b"k" * 32)(text)
        c2 = time.process_time()
        row[f"{name}_{n // 1000}k"] = {"cut_cpu_ms": round((c1 - c0) * 1000), "mask_cpu_ms": round((c2 - c1) * 1000),
                                       "kept_ends": kept[-8:]}
print(json.dumps(row))
"""


def sized_main(child: str, description: str, default_mb: float) -> int:
    """Run ``child`` under ``--code``'s dqm on texts of ``--mb`` million characters; print its row."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument(
        "--code", type=Path, default=ROOT, help="the dqm checkout the command runs (before/after)"
    )
    ap.add_argument("--mb", type=float, default=default_mb, help="each text's size in millions of characters")
    args = ap.parse_args()
    print(json.dumps(child_row(child, Path(str(args.mb)), args.code), ensure_ascii=False))
    return 0


def main() -> int:
    return sized_main(CHILD, __doc__.splitlines()[0], 10)


if __name__ == "__main__":
    sys.exit(main())
