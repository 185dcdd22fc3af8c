"""Content digests (dqm/digest.py) and Ed25519 signatures (dqm/signing.py)."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct

import orjson
import pytest

from dqm import digest
from dqm.digest import (
    HTML_SLOT,
    DigestError,
    as_json_writes,
    canonical_json,
    canonical_pieces,
    content_matches,
    html_digest,
    results_digest,
    seal_html,
    seal_results,
    stated_digest,
)
from dqm.signing import SignatureError, check, generate_key_pair, private_key_id, read_signature, sign


def test_the_canonical_form_sorts_keys_drops_the_digest_and_writes_utf8() -> None:
    obj = {"b": [1, 2.5, "é"], "a": {"y": None, "x": True}, "digest": {"value": "anything"}}
    assert canonical_json(obj) == '{"a":{"x":true,"y":null},"b":[1,2.5,"é"]}'.encode()


def test_sealed_results_state_the_digest_of_their_content() -> None:
    text = json.dumps({"schema_version": "1.3", "items": [{"slide_id": "S1"}]}, indent=2)
    sealed, value, canonical = seal_results(text)
    assert value == hashlib.sha256(canonical).hexdigest()
    assert json.loads(sealed)["digest"] == {"algorithm": "sha256", "canonical": "dqm-json-1", "value": value}
    assert results_digest(sealed.encode()) == (value, value, canonical)
    # reformatting keeps the content, and the digest with it; a changed value does not
    assert results_digest(json.dumps(json.loads(sealed), indent=4).encode())[1] == value
    assert results_digest(sealed.replace('"S1"', '"S2"').encode())[1] != value
    assert seal_results("{}")[0].startswith('{"digest":{')


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": NaN}',
        b"[1, 2]",
        b"not json",
        b'{"a": 1',
        b'{"a": "\\ud800"}',
        b'\xef\xbb\xbf{"a": 1}',  # a byte-order mark: dqm report, gate and diff refuse the file
    ],
)
def test_ambiguous_or_broken_json_has_no_digest(data: bytes) -> None:
    with pytest.raises(DigestError):
        results_digest(data)


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"items": []},
        {"z": [{"b": 1, "a": [1, {"d": None, "c": "é"}]}, [], 2.5], "a": {"y": [3], "x": True}, "m": "s"},
        {"digest": {"value": "x"}, "findings": [{"item_id": "S1", "code": "C"}] * 3, "n": 0},
    ],
)
def test_the_streamed_canonical_form_is_the_canonical_form(obj: dict) -> None:
    """seal_results reads a top-level array element by element: the bytes it hashes are those of
    canonical_json, whatever the layout of the text."""
    for text in (
        json.dumps(obj),
        json.dumps(obj, indent=3),
        f" \n{json.dumps(obj, separators=(',', ':'))}\t",
    ):
        assert "".join(canonical_pieces(text)).encode() == canonical_json(obj)
        sealed, value, canonical = seal_results(text)
        assert canonical == canonical_json(obj) and value == hashlib.sha256(canonical).hexdigest()
        assert seal_results(text, keep_canonical=False)[:2] == (sealed, value)
        assert json.loads(sealed) == {**obj, "digest": json.loads(sealed)["digest"]}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"a": [{"b": 1, "b": 2}]}',
        '{"a": [NaN]}',
        "[1, 2]",
        '{"a": [1, 2}',
        '{"a": 1,}',
        '{"a": 1} x',
        '{"a" 1}',
        "{1: 2}",
        '{"a": [1 2]}',
    ],
)
def test_broken_json_is_not_sealed(text: str) -> None:
    with pytest.raises(DigestError):
        seal_results(text)


def test_an_html_page_carries_its_own_digest() -> None:
    page = f"<html><head>{HTML_SLOT}</head><body>report</body></html>"
    sealed = seal_html(page)
    stated, actual = html_digest(sealed.encode())
    assert stated == actual == hashlib.sha256(page.encode()).hexdigest()
    stated, actual = html_digest(sealed.replace("report", "REPORT").encode())
    assert stated != actual
    assert html_digest(b"<html></html>") == (None, None)


def test_a_signature_verifies_with_its_key_only() -> None:
    private, public = generate_key_pair()
    _, other_public = generate_key_pair()
    doc = read_signature(sign(b"content", "d" * 64, private).encode())
    assert doc["key_id"] == private_key_id(private)
    assert check(b"content", doc, public) == private_key_id(private)
    with pytest.raises(SignatureError, match="changed after signing"):
        check(b"contents", doc, public)
    with pytest.raises(SignatureError, match="not by the key given"):
        check(b"content", doc, other_public)
    with pytest.raises(SignatureError, match=r"not an Ed25519 public key|not a PEM public key"):
        check(b"content", doc, private)


@pytest.mark.parametrize("text", [b"[]", b"{}", b"nope", b'{"format": "x", "algorithm": "ed25519"}'])
def test_a_file_that_is_not_a_signature_is_refused(text: bytes) -> None:
    with pytest.raises(SignatureError):
        read_signature(text)


@pytest.mark.parametrize("number", [1e-05, 2.5, 1e16])
def test_a_content_check_matches_the_exact_form_where_orjson_writes_a_number_another_way(number) -> None:
    """The check every command reusing a result makes tries orjson's writing first; where it writes
    a number otherwise than Python's json (0.00001 for 1e-05), the exact form decides: such a result
    is not refused, and an edited one is, whichever way its numbers are written."""
    text = json.dumps({"schema_version": "1.15", "items": [{"slide_id": "S1", "area": number}]})
    sealed, value, _ = seal_results(text)
    obj = json.loads(sealed)
    assert stated_digest(obj) == value
    assert content_matches(obj, value) == (True, value)
    obj["items"][0]["area"] = number * 2
    matches, actual = content_matches(obj, value)
    assert not matches and actual == hashlib.sha256(canonical_json(obj)).hexdigest()


def test_a_digest_of_another_canonical_form_cannot_be_checked() -> None:
    assert stated_digest({"schema_version": "1.9"}) is None
    with pytest.raises(DigestError, match="canonical form"):
        stated_digest({"digest": {"value": "ab", "canonical": "other-1"}})


def _random_floats(rng: random.Random, n: int) -> list[float]:
    """Doubles of every exponent (random bits), the decades around 1e-4 where orjson and json
    part, and the edges: subnormals, the extremes, a signed zero."""
    out = []
    while len(out) < n:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x):
            out.append(x)
    out += [rng.uniform(-10, 10) * 10.0**e for e in range(-12, -2) for _ in range(n // 20)]
    out += [5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, -0.0, 0.0, 1e300, 1.7976931348623157e308]
    out += [1e-05, -1e-05, 1.00003e-07, 9.999999999999999e-05, 0.0001, 10.00001, 1e16, 1e-10]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_quick_form_is_the_canonical_form_for_every_number(seed: int) -> None:
    """orjson writes the numbers from 1e-5 to 1e-9 otherwise than Python's json (``4e-7``,
    ``0.00001``): the quick check fell back on the exact form (0.7-0.9 s at 34,376 slides) wherever a
    result held one. Written again as json writes them, outside strings only, orjson's bytes are
    the canonical form for every double, integers past 2**53 too; a string that looks like such a
    number is left as it is."""
    rng = random.Random(seed)
    floats = _random_floats(rng, 20_000)
    ints = [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 2**64 - 1, rng.getrandbits(62)]
    texts = ["1e-7", "a:1e-7,", '"0.00001"', "\\", '\\"1e-5', "\u0019e-5", "1-2e-5", "-0.00001]", "x\\\\"]
    obj = {
        "floats": floats,
        "ints": ints,
        "texts": texts,
        "keyed": {t: rng.choice(floats) for t in texts},
        "nested": [{"k\\": 1e-7, "v": t, "w": [3e-6, t]} for t in texts],
    }
    quick = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    assert as_json_writes(quick) == canonical_json(obj)
    value = hashlib.sha256(canonical_json(obj)).hexdigest()
    assert content_matches(obj, value) == (True, value)


@pytest.mark.parametrize(("sealed", "edited"), [("x 1e-07", "x 1e-7"), ("1e-05", "0.00001")])
def test_a_string_that_looks_like_a_number_is_not_written_again(sealed: str, edited: str) -> None:
    """A string is never rewritten as a number would be: a result sealed holding ``x 1e-07`` and
    edited to ``x 1e-7`` does not match its digest."""
    obj = {"items": [{"note": sealed, "p": 4e-07}]}
    value = hashlib.sha256(canonical_json(obj)).hexdigest()
    assert content_matches(obj, value) == (True, value)
    obj["items"][0]["note"] = edited
    assert content_matches(obj, value)[0] is False


class _Counted(bytes):
    """Bytes that count the reads of their items (a step back over a byte is one) and the bytes
    a pattern may scan from where it is tried, raising once the count passes ``bound``."""

    def __new__(cls, data: bytes, bound: int) -> _Counted:
        made = super().__new__(cls, data)
        made.steps, made.bound = 0, bound
        return made

    def count(self, *args: object) -> int:  # type: ignore[override]
        return bytes(self).count(*args)  # type: ignore[arg-type]

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.bound:
            raise OverflowError(f"{self.steps} steps over {len(self)} bytes")

    def __getitem__(self, key):  # type: ignore[no-untyped-def, override]
        self.step()
        return bytes.__getitem__(self, key)


_RUN = re.compile(rb"-?[0-9]*(?:\.[0-9]*)?(?:e-?)?[0-9]?")
"""The bytes :data:`dqm.digest._ORJSON_ONLY` may read from where it is tried, but the one after."""


class _CountedPattern:
    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern

    def match(self, data: _Counted, pos: int) -> re.Match[bytes] | None:
        run = _RUN.match(data, pos)
        data.step(len(run[0]) + 1 if run else 1)  # the most the pattern reads from ``pos``
        return self.pattern.match(data, pos)


@pytest.mark.parametrize(
    "text",
    [
        ".0000" * 20_000,
        "0" + ".0000" * 20_000,
        "-.0000" * 20_000,
        "-." * 50_000 + ".0000",
        "1" * 50_000 + ".0000" * 10_000,
        ("9" * 1_000 + "e-0") * 100,
        "1e-0" * 25_000,
        "0.00001," * 10_000,
        "-0.00001e-5" * 10_000,
    ],
)
def test_the_quick_form_is_linear_in_runs_of_number_bytes(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where orjson's form did not match (any digest made up), each ``.0000`` stepped back over the
    whole run of number bytes before it: 40 KB of ``.0000`` in a message took 27.9 s before a
    report refused it. The markers of one run share its start, stepped back to and tried once: the
    bytes read stay within a few times the length, in a string and out of one."""
    inside, outside = orjson.dumps({"note": text}), text.encode("ascii")
    with monkeypatch.context() as patched:
        patched.setattr(digest, "_ORJSON_ONLY", _CountedPattern(digest._ORJSON_ONLY))
        written = [as_json_writes(_Counted(data, bound=8 * len(data))) for data in (inside, outside)]
    assert written == [inside, as_json_writes(outside)]


def _former_orjson_only(data: bytes) -> list[tuple[int, int]]:
    """The search as it was (each marker stepped back over its whole run): the specification."""
    spans = set()
    for marker in digest._MARKERS:
        at = data.find(marker)
        while at != -1:
            start = at
            while start and data[start - 1] in digest._IN_NUMBER:
                start -= 1
            match = digest._ORJSON_ONLY.match(data, start)
            if match and match.end() > at and data[match.end() : match.end() + 1] not in digest._NUMBER_END:
                spans.add(match.span())
            at = data.find(marker, at + 1)
    return sorted(spans)


@pytest.mark.parametrize("seed", range(4))
def test_the_linear_search_finds_what_the_former_one_found(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["0", "1", "9", ".", "-", "e", "e-", ".0000", "0.00001", "1e-7", '"', "\\", ",", " "]
    for _ in range(3_000):
        data = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 30))).encode("ascii")
        assert digest._orjson_only(data) == _former_orjson_only(data), data
