"""CPU time a fresh process spends on its first :func:`dqm.identifiers.find`, where the built-in patterns
are compiled (every CLI run and every worker pays it once): a text no pattern starts in (``x``, only the
place's gate is searched) and a Korean name (``환자명은 홍길동``: the gate passes, the patterns run too).

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_deid_compile.py [--runs 3]

Session 29 (deidko5, 2-core shared machine, base d1dd21a1 run alternately in the same minutes): ``x`` 2.28-2.52 s
→ 1.16-1.47 s, ``환자명은 홍길동`` 2.91-3.20 s → 1.82-1.98 s. Half of what is left is ``re`` building the Hangul
classes of ``person_name`` and ``possible_name`` (about 50,000 characters each), compiled as written for
``CompiledDeid.patterns`` and again for :func:`dqm.identifiers._skipping` and the place's gate. The figures are
for a process that reads one place: each other place a process reads compiles its own gate (about 0.3 s).

Session 30 (deidko6, same machine, base ed2fc8e5 from its own ``git archive``, alternated, load ~10): ``x``
2.32/2.58 s → 0.54/0.48 s, ``환자명은 홍길동`` 3.58/3.41 s → 1.15/0.95 s; ``import`` 1.30-1.52 s → 0.65-0.82 s. Neither big
pattern is compiled as written now (:class:`dqm.identifiers.BuiltInPattern`), ``re``'s map of each character
class is kept across dqm's compiles (:func:`dqm.identifiers._compiling`: the gate and a pattern's ``_skipping``
share the Hangul classes), and import derives no run characters (:func:`dqm.identifiers._run_chars`).

The child runs with ``-P`` (no working directory on ``sys.path``), so ``PYTHONPATH`` alone says which ``dqm`` is
timed, wherever it is run from; each line prints the ``dqm`` it loaded (a review's "base" run from another checkout
timed that checkout's ``dqm``)."""

from __future__ import annotations

import argparse
import subprocess
import sys

_CHILD = """
import time
t = time.process_time()
from dqm.identifiers import find
from dqm.profile import load_profile
deid = load_profile(None).deid
a = time.process_time()
find({text!r}, deid, "clinical")
b = time.process_time()
import dqm
print(f"{{a - t:.2f}} {{b - a:.2f}} {{dqm.__file__}}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for text in ("x", "환자명은 홍길동"):
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-P", "-c", _CHILD.format(text=text)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split(maxsplit=2)
            print(f"{text!r}: import {out[0]} s, first find {out[1]} s CPU ({out[2].strip()})")


if __name__ == "__main__":
    main()
