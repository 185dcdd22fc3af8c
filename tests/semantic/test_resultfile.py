"""``semantic.json``: written by ``dqm review ingest``, read back for an audit only for the batch it judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from dqm.semantic.resultfile import RESULT_FILE, SemanticFileError, load_semantic, write_semantic
from tests.reports.conftest import semantic


def test_a_written_result_reads_back_from_its_folder_or_file(tmp_path: Path) -> None:
    path = write_semantic(semantic(), tmp_path / "new" / "sem")
    assert path == tmp_path / "new" / "sem" / RESULT_FILE
    assert path.read_bytes() == semantic().model_dump_json(indent=2).encode("utf-8") + b"\n"
    fingerprint = semantic().batch_fingerprint
    assert load_semantic(path.parent, fingerprint) == semantic()
    assert load_semantic(path, fingerprint) == semantic()


def test_a_review_of_another_batch_is_refused(tmp_path: Path) -> None:
    write_semantic(semantic(), tmp_path)
    with pytest.raises(
        SemanticFileError,
        match=r"reviewed another batch \(fingerprint ffffffffffff…, this batch 000000000000…\)",
    ):
        load_semantic(tmp_path, "0" * 64)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "is not a dqm semantic result"),
        (b'{"plan": "iso2859"}', "is not a dqm semantic result"),
        (b"\xff\xfe not json", "is not a dqm semantic result"),
    ],
)
def test_a_missing_or_malformed_file_is_refused(tmp_path: Path, content: bytes | None, message: str) -> None:
    if content is not None:
        (tmp_path / RESULT_FILE).write_bytes(content)
    with pytest.raises(SemanticFileError, match=message):
        load_semantic(tmp_path, "f" * 64)
