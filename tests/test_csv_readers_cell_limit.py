"""Each of dqm's CSV readers (an order list, a corrupted copy's manifest, a risk file, a synthetic
batch's truth) raises the csv cell limit again right before it reads: a plugin or library that
lowered the process's limit after dqm.output's import made a 200,000-character cell unreadable."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from dqm.cli.semantic import _read_risk
from dqm.order import parse_order
from dqm.synth.build import load_truth
from dqm.validity.corrupt import corrupt_batch

LONG = "n" * 200_000


@pytest.fixture(autouse=True)
def lowered_limit() -> Iterator[None]:
    before = csv.field_size_limit()
    csv.field_size_limit(131_072)  # the csv module's default, as something else left it
    yield
    csv.field_size_limit(before)


def test_an_order_list_reads_a_long_cell() -> None:
    _by_file, entries, header = parse_order(f"slide_id,note\ns1,{LONG}\n", "order.csv")
    assert header == ("slideid", "note")  # column_name: case and separators dropped
    assert len(entries) == 1


def test_a_risk_file_reads_a_long_cell(tmp_path: Path) -> None:
    path = tmp_path / "risk.csv"
    path.write_text(f"slide_id,risk,note\ns1,0.5,{LONG}\n", encoding="utf-8")
    assert _read_risk(path) == {"s1": 0.5}


def test_a_synthetic_batch_s_truth_reads_a_long_cell(tmp_path: Path) -> None:
    (tmp_path / "truth.csv").write_text(f"slide_id,defect,code\ns1,{LONG},X\n", encoding="utf-8")
    assert [row["slide_id"] for row in load_truth(tmp_path)] == ["s1"]


def test_a_corrupted_copy_reads_its_manifest_s_long_cell(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "manifest.csv").write_text(f"slide_id,annotation_path,note\ns1,,{LONG}\n", encoding="utf-8")
    assert corrupt_batch(src, tmp_path / "dst", fraction=0.0) == []
