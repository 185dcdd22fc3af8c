"""``compile_all`` (a worker's warm-up) compiles every pattern a find or a cut would compile on
first use: since session 30 a built-in pattern compiles when a text first reaches it, so the first
item to reach one paid for it inside its clock (up to 0.5 s of CPU)."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import re._compiler
import dqm.identifiers as I
from dqm.profile import load_profile

deid = load_profile(None).deid
I.use_profile_patterns(deid)
I.compile_all(deid)
assert re._compiler._optimize_charset is I._OPTIMIZE_CHARSET, "the swap was left on"
compiled = []
kept = I._compiling
def spy(source):
    compiled.append(source[:40])
    return kept(source)
I._compiling = spy
derived = []
classes = I._run_classes
def spy_classes(sources):
    derived.append(1)
    return classes(sources)
I._run_classes = spy_classes
texts = [t for examples in I.BUILT_IN_EXAMPLES.values() for t in examples]
texts += ["x", "Patient Name: John Smith, MRN 12345678, 환자명: 홍길동 900101-1234567 010-1234-5678"]
for place in deid.compiled.any_of.places:
    for text in texts:
        I.find(text, deid, place)
for text in texts:
    I.cut_outside_identifiers(text, len(text) // 2)
untouched = [
    rx.pattern[:40]
    for _, rx, _ in deid.compiled.patterns
    if isinstance(rx, I.BuiltInPattern) and rx.pattern not in I._STARTS and rx._rx is None
]
print(len(compiled), len(derived), len(untouched), compiled, untouched)
"""


def test_after_compile_all_no_find_or_cut_compiles_a_pattern() -> None:
    # a fresh process: the patterns are compiled once a process
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout
    assert out.split()[:3] == ["0", "0", "0"], out
