"""Keyed, consistent masking of identifiers inside any text dqm writes (:class:`dqm.identifiers.Masker`)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dqm.identifiers import MASK_SCAN_CHARS, DeidSettings, Masker, find, load_mask_key
from dqm.output import visible

SETTINGS = DeidSettings()
RRN = "900101-1234567"
MASK = Masker(SETTINGS, b"k" * 32)


@pytest.mark.parametrize(
    "text",
    [
        f"slides/{RRN}.svs",
        f"S{RRN}",
        f"id_{RRN}_HE",
        f"{RRN}-HE.tiff",
        f"RRN: {RRN}",
    ],
)
def test_an_rrn_is_found_inside_file_names_and_ids(text: str) -> None:
    assert [h.name for h in find(text, SETTINGS, "filename")] == ["korean_rrn"]
    masked = MASK(text)
    assert RRN not in masked and "1234567" not in masked and "[KOREAN_RRN-" in masked


@pytest.mark.parametrize("text", [f"12-{RRN}", f"{RRN}.5", "3.900101-1234567", "1900101-12345678"])
def test_an_rrn_inside_a_longer_number_is_not_one(text: str) -> None:
    assert find(text, SETTINGS, "annotation") == []
    assert MASK(text) == text


def test_tokens_are_consistent_and_keyed() -> None:
    a = MASK(f"first {RRN} then {RRN.replace('-', ' - ')}")
    tokens = [w for w in a.split() if w.startswith("[KOREAN_RRN-")]
    assert len(tokens) == 2 and tokens[0] == tokens[1]  # spacing does not change the token
    other = Masker(SETTINGS, b"another key of 32 bytes........")
    assert other(RRN) != MASK(RRN)  # without the key, the token cannot be recomputed


def test_every_kind_of_identifier_is_masked_and_the_rest_kept() -> None:
    text = "call 010-2345-6789 or <kim.minsu@hospital.example>; Patient name: Hong Gildong; S00001 2022-03-13"
    masked = MASK(text)
    for secret in ("010-2345-6789", "kim.minsu@hospital.example", "Hong Gildong"):
        assert secret not in masked
    assert masked.startswith("call [PHONE_NUMBER-") and "Patient name: [PERSON_NAME-" in masked
    assert masked.endswith("S00001 2022-03-13")  # ids and dates that identify nobody stay


def test_an_identifier_across_a_window_boundary_is_masked() -> None:
    for offset in range(-20, 20, 3):
        pad = "x " * ((MASK_SCAN_CHARS - 256 + offset) // 2)
        text = pad + RRN + " " + "y" * MASK_SCAN_CHARS + " " + RRN
        masked = MASK(text)
        assert RRN not in masked, offset
        assert masked.count("[KOREAN_RRN-") == 2
        assert masked.replace(MASK(RRN), RRN) == text  # nothing else changed


def test_an_identifier_whose_keyword_is_across_a_window_boundary_is_masked() -> None:
    """A pattern's context before its identifier (``Patient name: ``, ``DOB: ``) across where a
    window's masking stops: the window left the identifier to the next one, which starts inside the
    keyword and saw no identifier (``Gildong``, ``1990-01-21`` in clear in a results.json)."""
    for keyword, found in (("Patient name: ", "Hong Gildong"), ("DOB: ", "1990-01-21"), ("MRN ", "12345678")):
        for offset in range(1, len(keyword) + 2):
            text = "x" * (MASK_SCAN_CHARS - 256 - offset) + f" {keyword}{found} " + "y" * MASK_SCAN_CHARS
            masked = MASK(text)
            assert found not in masked, (keyword, offset)
            assert masked.replace(MASK(f"{keyword}{found}"), f"{keyword}{found}") == text


@pytest.mark.parametrize("hidden", ["\U000e0001", "\U0001d173", "\u202e"])
def test_an_identifier_after_a_hidden_character_shown_as_an_escape_is_masked(hidden: str) -> None:
    # the outputs show hidden characters as escapes before masking: "\U000e0001900101-1234567" ran
    # the escape's digits into the RRN, which the masker did not read back (a \U was not unescaped)
    shown = visible(f"S{hidden}900101-1234567")
    assert "1234567" not in MASK(shown)
    assert MASK("\\UFFFFFFFF") == "\\UFFFFFFFF"  # past U+10FFFF: no character, left as written


@given(st.text(alphabet="0123456789-_. xab@", max_size=300))
def test_masking_never_grows_an_identifier_back(text: str) -> None:
    masked = MASK(text)
    assert find(masked, SETTINGS, "annotation") == []  # nothing identifying is left
    assert MASK(masked) == masked  # idempotent


def test_disabled_deid_masks_nothing() -> None:
    assert Masker(DeidSettings(enabled=False), b"k" * 32)(RRN) == RRN


def test_the_key_file_is_created_once_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DQM_MASK_KEY", raising=False)
    path = tmp_path / "cfg" / "mask.key"
    key = load_mask_key(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_mask_key(path) == key
    monkeypatch.setenv("DQM_MASK_KEY", "a key given by the environment")
    assert load_mask_key(path) == b"a key given by the environment"
    monkeypatch.setenv("DQM_MASK_KEY", "short")
    with pytest.raises(ValueError, match="at least 16"):
        load_mask_key(path)


def test_a_full_disk_leaves_no_short_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key was written straight under its name: a full disk part way left a short key file, and
    every later run stopped with "holds fewer than 16 bytes" until a person deleted it."""
    import errno
    import io
    import os

    from dqm.cli.common import read_mask_key
    from dqm.output import forget_written, written_so_far

    monkeypatch.delenv("DQM_MASK_KEY", raising=False)
    path = tmp_path / "cfg" / "mask.key"
    real = os.fdopen

    class Full(io.FileIO):
        def write(self, data: object) -> int:
            super().write(bytes(data)[:8])  # type: ignore[call-overload]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **kw: Full(fd, "wb"))
    with pytest.raises(OSError) as refused:
        load_mask_key(path)
    assert refused.value.errno == errno.ENOSPC and refused.value.filename == str(path)
    monkeypatch.setattr(os, "fdopen", real)
    assert list(path.parent.iterdir()) == []  # neither a short key nor a temporary file
    forget_written()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg0"))
    key = read_mask_key(None)  # the next run makes the key, and records it as written
    made = tmp_path / "cfg0" / "dqm" / "mask.key"
    assert len(key) == 32 and made.read_bytes() == key and written_so_far() == [str(made)]
    forget_written()
    assert len(load_mask_key(path)) == 32 and read_mask_key(None) == key and written_so_far() == []


@pytest.mark.parametrize("code", ["EPERM", "EOPNOTSUPP", "ENOSYS", "EXDEV"])
def test_the_key_is_made_where_the_file_system_has_no_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """The key was linked into place only: on vfat/exFAT or an SMB/FUSE mount ``link`` fails, no key
    was ever made, and every masked run stopped with "the masking key cannot be read"."""
    import errno
    import os

    def no_link(src: object, dst: object, **kwargs: object) -> None:
        number = getattr(errno, code)
        raise OSError(number, os.strerror(number), src, None, dst)

    monkeypatch.delenv("DQM_MASK_KEY", raising=False)
    monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "cfg" / "mask.key"
    key = load_mask_key(path)
    assert len(key) == 32 and path.read_bytes() == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    assert load_mask_key(path) == key


def test_a_key_cut_short_without_hard_links_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written under its own name, a key cut short by a full disk is removed, not left short."""
    import errno
    import io
    import os

    def no_link(src: object, dst: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)

    class Full(io.FileIO):
        def write(self, data: object) -> int:
            super().write(bytes(data)[:8])  # type: ignore[call-overload]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real = os.fdopen
    opened: list[int] = []

    def fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object) -> object:
        opened.append(fd)  # the temporary file is written whole; the key's own name is not
        return Full(fd, "wb") if len(opened) == 2 else real(fd, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.delenv("DQM_MASK_KEY", raising=False)
    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(os, "fdopen", fdopen)
    path = tmp_path / "cfg" / "mask.key"
    with pytest.raises(OSError) as refused:
        load_mask_key(path)
    assert refused.value.errno == errno.ENOSPC and refused.value.filename == str(path) and len(opened) == 2
    assert list(path.parent.iterdir()) == []  # neither a short key nor a temporary file
    monkeypatch.setattr(os, "fdopen", real)
    assert len(load_mask_key(path)) == 32


def test_the_reports_compressed_explorer_data_is_masked_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reports import write_outputs
    from reports.html import unpack_island
    from tests.reports.conftest import finding, make_result

    leak = finding("S00001", "CLASS_UNKNOWN", message=f"class 'Hong {RRN}' is not in the taxonomy")
    result = make_result(findings=[leak], clinical={"age": "40", "scanner": f"patient {RRN}"})
    html = write_outputs(result, tmp_path, MASK)["report"].read_text("utf-8")
    data = unpack_island(html.split('id="dqm-data">')[1].split("</script>")[0])
    strings = "\n".join(data["strings"])
    assert RRN not in strings and "[KOREAN_RRN-" in strings


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        (f"{RRN[:6]}\t-\t{RRN[7:]}", RRN[7:]),
        (f"{RRN[:6]}\u00a0-\u00a0{RRN[7:]}", RRN[7:]),
        ("MRN:\t87654321", "87654321"),
        ("Patient name:\tJohn Smith", "Smith"),
        ("DOB:\n1961-03-15", "1961-03-15"),
        ("성명: 김철수", "김철수"),
    ],
)
def test_an_identifier_is_masked_in_its_escaped_forms(value: str, secret: str) -> None:
    """Outputs are masked after they are written as text: a tab or a line break inside an
    identifier is ``\\t`` / ``\\n`` in JSON and in a value quoted with ``repr()`` (a finding's
    ``class 'Patient name:\\tJohn Smith'``), ensure-ASCII JSON writes a Korean name as
    ``\\uXXXX``; each form is masked, with the token of the value itself."""
    import json

    token = MASK(value)
    assert secret not in token
    for form in (
        json.dumps(value),
        json.dumps(value, ensure_ascii=False),
        repr(value),
        json.dumps(repr(value)),
    ):
        masked = MASK(form)
        assert secret not in masked and json.dumps(secret)[1:-1] not in masked, form
        assert [t for t in token.split() if t.startswith("[")][-1] in masked
        if form.startswith('"'):
            json.loads(masked)  # masking keeps JSON valid


def test_escapes_that_hold_no_identifier_are_left_as_they_are() -> None:
    text = r'{"path": "C:\\scans\\S00001.svs", "note": "tab\there \u00e9 \"quoted\""}'
    assert MASK(text) == text


@pytest.mark.parametrize(
    "text", ["이름: 홍길동", "성명 김민수, RRN 900101-1234567", "slides/환자명: 홍길동.svs"]
)
def test_hangul_in_decomposed_form_is_masked_as_composed(text: str) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    composed_masked = MASK(text)
    assert composed_masked != text  # the composed text holds an identifier
    assert MASK(decomposed) == composed_masked  # the same tokens, whichever form macOS wrote
    assert "홍길동" not in unicodedata.normalize("NFC", MASK(decomposed))


def test_a_decomposed_text_naming_nobody_keeps_its_form() -> None:
    import unicodedata

    path = unicodedata.normalize("NFD", "slides/피부_조직_01.svs")
    assert MASK(path) == path


@pytest.mark.parametrize("escape", ["\\", "\\\\", "\\\\\\\\"], ids=["as-is", "in-json", "quoted-in-json"])
def test_a_name_in_cp949_bytes_escaped_is_masked_as_it_reads(escape: str) -> None:
    """A file name written on a Korean Windows is not UTF-8: outputs show its bytes as ``\\xNN``,
    which no pattern matches, and decoding them as CP949 gives the name back (rt11)."""
    raw = "slides/성명 김민수.png".encode("cp949")
    shown = raw.decode("utf-8", "backslashreplace").replace("\\", escape)
    masked = MASK(f'{{"file": "{shown}"}}')
    assert "김민수" not in masked and "\\xb1\\xe8" not in masked.replace(escape, "\\")
    assert "[PERSON_NAME-" in masked
    nobody = "slides/조직1.png".encode("cp949").decode("utf-8", "backslashreplace")
    assert MASK(nobody) == nobody  # names nobody: its escapes are kept


def test_only_the_escaped_run_that_names_someone_is_read() -> None:
    """Where a name was found anywhere, the whole CP949 reading came back: a Latin-1 name beside it
    ('Größe', whose bytes CP949 reads as 'Gr秤e') was shown misread (review of rt11fix). Only a
    run an identifier overlaps, its keyword included, is read now; the others keep their escapes."""
    person = "slides/성명 김민수.png".encode("cp949").decode("utf-8", "backslashreplace")
    latin = "slides/Größe.png".encode("latin-1").decode("utf-8", "backslashreplace")
    masked = MASK(f"{latin}, {person}")
    assert masked.startswith(latin + ", slides/성명 [PERSON_NAME-") and "김민수" not in masked
    assert MASK(f"{person}, {latin}").endswith(", " + latin)


@pytest.mark.parametrize("tail", ["\x1b", "\x00", "\x1f"], ids=["esc", "nul", "us"])
def test_an_escaped_ascii_character_beside_a_cp949_name_stays_escaped(tail: str) -> None:
    """JSON's ``\\u001b`` after a name's ``\\xNN`` was read with it, a raw ESC in the output, which
    is then no JSON (review of rt11fix). Only ``\\uXXXX`` beyond ASCII is part of a run now."""
    import json

    person = "성명 김민수".encode("cp949").decode("utf-8", "backslashreplace")
    line = json.dumps({"file": person + tail + "x.png"})  # the character as ``\\u001b``
    masked = MASK(line)
    assert "[PERSON_NAME-" in json.loads(masked)["file"] and "김민수" not in masked
    assert masked.isprintable()


def test_an_escape_is_not_searched_for_inside_a_run_of_backslashes() -> None:
    """Tried at each backslash of a long run, each try reading the run to its end, the search was
    quadratic: ``'\\\\' * 64000 + 'x'`` took 5.4 s to mask (review of rt11fix). An escape starts
    at its run's first backslash now, so a search from inside the run finds nothing there."""
    from dqm.identifiers import _ESCAPED_BYTES

    text = "\\" * 6 + "xb0\\u00e9"
    assert [m.span() for m in _ESCAPED_BYTES.finditer(text)] == [(0, len(text))]
    assert all(_ESCAPED_BYTES.match(text, at) is None for at in range(1, 6))


def test_a_key_file_larger_than_any_key_is_refused_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--mask-key FILE`` was read whole (a 600 MB file: 700 MB of memory) and taken as the key;
    the default key file too. Now either is refused past :data:`MASK_KEY_LIMIT` bytes."""
    import typer

    from dqm.cli.common import read_mask_key
    from dqm.identifiers import MASK_KEY_LIMIT

    monkeypatch.delenv("DQM_MASK_KEY", raising=False)
    big = tmp_path / "big.key"
    big.write_bytes(b"k" * (MASK_KEY_LIMIT + 1))
    with pytest.raises(typer.Exit) as refused:
        read_mask_key(big)
    assert refused.value.exit_code == 2
    assert "largerthan4,096bytes:morethanamaskingkey" in "".join(capsys.readouterr().err.split())
    with pytest.raises(ValueError, match="more than 4096 bytes"):
        load_mask_key(big)
    fits = tmp_path / "fits.key"
    fits.write_bytes(b"k" * MASK_KEY_LIMIT)
    assert read_mask_key(fits) == load_mask_key(fits) == b"k" * MASK_KEY_LIMIT
