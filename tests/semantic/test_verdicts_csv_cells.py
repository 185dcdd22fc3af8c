"""A verdict file's CSV cells are read up to dqm's one cell limit whatever else the process
imported: the limit was raised only by :mod:`dqm.batch` at its import, so a verdicts CSV with a
200,000-character cell was unreadable where the verdicts module was imported alone."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import csv, sys
from pathlib import Path
from dqm.semantic.verdicts import read_verdict_file
assert "dqm.batch" not in sys.modules
path = Path(sys.argv[1])
path.write_text("slide_id,reviewer,verdict,comment\\ns1,kim,pass," + "n" * 200_000 + "\\n", encoding="utf-8")
got = read_verdict_file(path)
print(csv.field_size_limit(), len(got.records), sorted({f.code for f in got.findings}))
"""


def test_a_long_cell_is_read_with_the_verdicts_module_imported_alone(tmp_path) -> None:
    out = (
        subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path / "v.csv")], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .split(maxsplit=2)
    )
    assert int(out[0]) >= 1024 * 1024
    assert out[1:] == ["1", "[]"], out
