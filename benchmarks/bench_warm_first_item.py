"""CPU time of a worker's warm-up (:meth:`dqm.runner.ItemWork.warm`'s identifier part:
:func:`dqm.identifiers.use_profile_patterns` and :func:`dqm.identifiers.compile_all`) and of its first
item's identifier work after it: :func:`~dqm.identifiers.find` of texts that reach every built-in pattern
in every place, and a cut of each (:func:`~dqm.identifiers.cut_outside_identifiers`). What the warm-up
leaves out, the first item pays inside its clock.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_warm_first_item.py [--runs 3]

The child runs with ``-P``, so ``PYTHONPATH`` alone says which ``dqm`` is timed (a base's ``git archive``
for a before/after); each line prints the ``dqm`` it loaded.

Session 31 (warm3, 2-core shared machine, base 93a6aa68 from its own ``git archive``, alternated): see
/work/helpers/notes31/warm3.md and the commit message for the figures."""

from __future__ import annotations

import argparse
import subprocess
import sys

_CHILD = """
import time
import dqm, dqm.identifiers as I
from dqm.profile import load_profile
deid = load_profile(None).deid
t = time.process_time()
I.use_profile_patterns(deid)
I.compile_all(deid)
warm = time.process_time() - t
texts = [x for examples in I.BUILT_IN_EXAMPLES.values() for x in examples]
texts += ["x", "Patient Name: John Smith, MRN 12345678, 환자명: 홍길동 900101-1234567 010-1234-5678"]


def one_item():
    t = time.process_time()
    for place in deid.compiled.any_of.places:
        for text in texts:
            I.find(text, deid, place)
    for text in texts:
        I.cut_outside_identifiers(text, len(text) // 2)
    return time.process_time() - t


first = one_item()
second = one_item()
print(f"warm-up {warm:.2f} s  first item {first:.3f} s  second {second:.3f} s  ({dqm.__file__})")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-P", "-c", _CHILD], capture_output=True, text=True, check=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
