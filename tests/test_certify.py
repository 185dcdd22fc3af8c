"""Certificates anyone can verify: content digests, Ed25519 signatures, ``dqm verify`` (issue 18 §4)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from tests.helpers import write_tiny_batch

runner = CliRunner()
PHONE = "010-1234-5678"  # an identifier in a file name: masked in every output


def _invoke(*args: object) -> tuple[int, str]:
    res = runner.invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A batch, a key pair, a masking key and the signed audit of the batch (made once)."""
    base = tmp_path_factory.mktemp("certify")
    batch = write_tiny_batch(base / "batch", manifest=False)
    shutil.copy(batch / "slides" / "S1.png", batch / "slides" / f"{PHONE}.png")
    shutil.copy(batch / "annotations" / "S1.json", batch / "annotations" / f"{PHONE}.json")
    files = sorted(p for p in batch.rglob("*") if p.is_file())
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(batch).as_posix()}" for p in files]
    listed_out = [f"{'0' * 64}  scans/{PHONE}.png", f"{'0' * 64}  ../{PHONE}.png", f"bad line {PHONE}"]
    (batch / "SHA256SUMS").write_text("\n".join(sums + listed_out) + "\n")  # checksum findings naming it
    mask_key = base / "mask.key"
    mask_key.write_bytes(b"k" * 32)
    code, output = _invoke("keygen", base / "keys" / "signing.key")
    assert code == 0, output
    out = base / "out"
    code, output = _invoke(
        "audit", batch, "--out", out, "--workers", 1, "--stages", "syntactic", "--no-cache",
        "--mask-key", mask_key, "--sign-key", base / "keys" / "signing.key",
    )  # fmt: skip
    assert code in (0, 1), output
    return {
        "base": base,
        "batch": batch,
        "out": out,
        "key": base / "keys" / "signing.key",
        "pub": base / "keys" / "signing.key.pub",
        "mask_key": mask_key,
    }


def _copy(certified: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the batch and of the outputs to tamper with."""
    batch, out = tmp_path / "batch", tmp_path / "out"
    shutil.copytree(certified["batch"], batch)
    shutil.copytree(certified["out"], out)
    return batch, out


def _verify(certified: dict[str, Path], out: Path, *extra: object) -> tuple[int, str]:
    return _invoke("verify", out, "--key", certified["pub"], "--mask-key", certified["mask_key"], *extra)


def test_keygen_writes_an_owner_only_private_key_and_refuses_to_overwrite(certified: dict[str, Path]) -> None:
    assert stat.S_IMODE(certified["key"].stat().st_mode) == 0o600
    assert certified["pub"].read_text().startswith("-----BEGIN PUBLIC KEY-----")
    code, output = _invoke("keygen", certified["key"])
    assert code == 2 and "exists" in output


def test_a_signed_audit_verifies_with_its_batch(certified: dict[str, Path]) -> None:
    out = certified["out"]
    assert json.loads((out / "results.json").read_text())["digest"]["canonical"] == "dqm-json-1"
    code, output = _verify(certified, out, "--batch", certified["batch"])
    assert code == 0, output
    assert "signature: ok" in output and "report: ok" in output
    assert "batch: ok: 8 files match the audit (8 by full SHA-256)" in output
    assert output.rstrip().endswith("VERIFIED")


def test_identifiers_stay_masked_in_results_and_in_what_verify_prints(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    batch, out = _copy(certified, tmp_path)
    results = json.loads((out / "results.json").read_text())
    assert {"CHECKSUM_MISSING_FILE", "CHECKSUM_OUTSIDE_BATCH", "CHECKSUM_MALFORMED"} <= {
        f["code"] for f in results["findings"]
    }
    for name in ("results.json", "junit.xml", "summary.md"):
        assert PHONE not in (out / name).read_text(), name
    (batch / "annotations" / f"{PHONE}.json").write_text('{"changed": true}')
    code, output = _verify(certified, out, "--batch", batch)
    assert code == 1, output
    assert "[PHONE_NUMBER-" in output and PHONE not in output


def test_tampered_results_fail_digest_and_signature(certified: dict[str, Path], tmp_path: Path) -> None:
    _, out = _copy(certified, tmp_path)
    text = (out / "results.json").read_text()
    (out / "results.json").write_text(text.replace('"n_items":4', '"n_items":5', 1))
    code, output = _verify(certified, out)
    assert code == 1
    assert "digest: FAILED: results.json changed after it was written" in output
    assert "signature: FAILED" in output


def test_results_resealed_after_tampering_still_fail_the_signature(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    from dqm.digest import seal_results

    _, out = _copy(certified, tmp_path)
    obj = json.loads((out / "results.json").read_text())
    obj.pop("digest")
    obj["verdict"]["status"] = "certified"  # a forger recomputes the digest: the signature catches it
    (out / "results.json").write_text(seal_results(json.dumps(obj))[0])
    code, output = _verify(certified, out)
    assert code == 1
    assert "digest: ok" in output and "signature: FAILED: the signature is of other content" in output


def test_a_signature_file_nested_past_the_parsers_recursion_fails_the_signature(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    """A results.json.sig of 100,000 nested arrays raised RecursionError: dqm verify exited 4."""
    _, out = _copy(certified, tmp_path)
    (out / "results.json.sig").write_text("[" * 100_000)
    code, output = _verify(certified, out)
    assert code == 1
    assert "signature: FAILED: results.json.sig cannot be read: the signature file is not JSON" in output


def test_a_wrong_key_fails(certified: dict[str, Path], tmp_path: Path) -> None:
    code, _ = _invoke("keygen", tmp_path / "other.key")
    assert code == 0
    mask = ("--mask-key", certified["mask_key"])
    code, output = _invoke("verify", certified["out"], "--key", tmp_path / "other.key.pub", *mask)
    assert code == 1
    assert "signature: FAILED: the signature does not verify: signed by key" in output


def test_verify_trusts_several_keys_as_the_gate_does(certified: dict[str, Path], tmp_path: Path) -> None:
    """``dqm verify --key`` repeated (a rotated key): before, only the last --key was checked."""
    from dqm.signing import public_key_id

    signer = public_key_id(certified["pub"].read_bytes())
    mask = ("--mask-key", certified["mask_key"])
    for name in ("old", "older"):
        assert _invoke("keygen", tmp_path / f"{name}.key")[0] == 0
    old, older = tmp_path / "old.key.pub", tmp_path / "older.key.pub"
    for keys in ((old, certified["pub"]), (certified["pub"], old)):  # either one of them signed
        code, output = _invoke("verify", certified["out"], "--key", keys[0], "--key", keys[1], *mask)
        assert code == 0 and f"signature: ok: Ed25519 signature by key {signer} verifies" in output, output
    code, output = _invoke("verify", certified["out"], "--key", old, "--key", older, *mask)
    assert code == 1, output  # as for one key that did not sign
    assert (
        f"signature: FAILED: the signature does not verify: signed by key {signer}, not by any of the 2 keys given"
        in " ".join(output.split())
    )
    bad = tmp_path / "bad.pub"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    for which in (bad, certified["key"]):  # garbage, and the private key given for the public one
        code, output = _invoke("verify", certified["out"], "--key", certified["pub"], "--key", which, *mask)
        # the console wraps a long path wherever the line ends, inside it too: compared without spaces
        assert code == 2 and f"--key{which}" in "".join(output.split()) and "Traceback" not in output, output
        assert "VERIFIED" not in output


def test_a_modified_added_or_removed_batch_file_fails(certified: dict[str, Path], tmp_path: Path) -> None:
    batch, out = _copy(certified, tmp_path)
    (batch / "slides" / "S2.png").write_bytes((batch / "slides" / "S2.png").read_bytes() + b"\0")
    (batch / "annotations" / "S3.json").unlink()
    shutil.copy(batch / "slides" / "S1.png", batch / "slides" / "S4.png")
    code, output = _verify(certified, out, "--batch", batch)
    assert code == 1, output
    assert "slides/S2.png: SHA-256" in output
    assert "annotations/S3.json: not in the batch any more" in output
    assert "slides/S4.png: in the batch, not in the audit" in output
    assert "batch fingerprint" in output


def test_unsigned_results_verify_without_a_key_and_fail_with_one(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    _, out = _copy(certified, tmp_path)
    (out / "results.json.sig").unlink()
    code, output = _invoke("verify", out, "--mask-key", certified["mask_key"])
    assert code == 0, output
    assert "signature: ok: unsigned" in output
    code, output = _verify(certified, out)
    assert code == 1 and "signature: FAILED: not signed" in output
    code, output = _invoke("sign", out, "--key", certified["key"])  # signed afterwards
    assert code == 0, output
    assert _verify(certified, out)[0] == 0


def test_a_signature_file_named_that_cannot_be_read_is_a_usage_error(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    """``--signature`` named a file that was not there (or a FIFO, a device): without ``--key``
    dqm verify said ``signature: ok: unsigned (no signature file beside results.json)`` and
    VERIFIED, exit 0, as if none had been asked for."""
    _, out = _copy(certified, tmp_path)
    os.mkfifo(tmp_path / "fifo.sig")
    for named in (tmp_path / "missing.sig", tmp_path / "fifo.sig", Path("/dev/zero")):
        for key in ((), ("--key", certified["pub"])):
            code, output = _invoke(
                "verify", out, "--signature", named, "--mask-key", certified["mask_key"], *key
            )
            assert code == 2 and "--signature" in output and "VERIFIED" not in output, output
    code, output = _verify(certified, out, "--signature", out / "results.json.sig")
    assert code == 0, output


def test_a_tampered_report_fails(certified: dict[str, Path], tmp_path: Path) -> None:
    _, out = _copy(certified, tmp_path)
    html = (out / "report.html").read_text()
    (out / "report.html").write_text(html.replace("</body>", "<p>CERTIFIED</p></body>"))
    code, output = _verify(certified, out)
    assert code == 1 and "report: FAILED: report.html changed after it was written" in output


def test_dqm_report_renders_a_sealed_page_naming_the_results(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    _, out = _copy(certified, tmp_path)
    code, output = _invoke(
        "report", out / "results.json", "-o", out / "report.html", "--mask-key", certified["mask_key"]
    )
    assert code == 0, output
    assert _verify(certified, out)[0] == 0


def test_signing_results_that_do_not_verify_is_refused(certified: dict[str, Path], tmp_path: Path) -> None:
    _, out = _copy(certified, tmp_path)
    (out / "results.json").write_text(
        (out / "results.json").read_text().replace('"n_items":4', '"n_items":6')
    )
    code, output = _invoke("sign", out, "--key", certified["key"])
    assert code == 1 and "not signed" in output


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "{base}/nothing-here", "--mask-key", "{mask_key}"],
        ["verify", "{out}", "--key", "{base}/no-such.pem", "--mask-key", "{mask_key}"],
        ["verify", "{out}", "--key", "{batch}/annotations/S1.json", "--mask-key", "{mask_key}"],
        ["verify", "{out}", "--batch", "{base}/no-batch", "--mask-key", "{mask_key}"],
        ["sign", "{out}", "--key", "{pub}"],
        ["audit", "{batch}", "--out", "{base}/o2", "--sign-key", "{pub}", "--mask-key", "{mask_key}"],
    ],
)
def test_usage_errors_exit_2(certified: dict[str, Path], args: list[str]) -> None:
    code, output = _invoke(*[a.format(**certified) for a in args])
    assert code == 2, output


@pytest.mark.parametrize("version", ["1.9", "1.10"])
def test_released_results_verify_from_1_10_on(certified: dict[str, Path], version: str) -> None:
    fixture = Path(__file__).parent / "fixtures" / "results" / f"results-{version}.json"
    code, output = _invoke("verify", fixture, "--mask-key", certified["mask_key"])
    if version == "1.9":
        assert code == 1 and "carries no content digest" in output
    else:
        assert code == 0, output


def test_an_unsigned_audit_into_a_signed_folder_removes_the_old_signature(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    batch, out = _copy(certified, tmp_path)
    args = ["audit", batch, "--out", out, "--workers", 1, "--stages", "syntactic", "--no-cache"]
    code, output = _invoke(*args, "--mask-key", certified["mask_key"])
    assert code in (0, 1), output
    assert not (out / "results.json.sig").exists()  # it would sign the earlier content
    assert _invoke("verify", out, "--mask-key", certified["mask_key"])[0] == 0


def test_a_huge_stated_digest_is_quoted_cut(certified: dict[str, Path], tmp_path: Path) -> None:
    """A results.json stating a digest of 80,000 characters took 24 s in dqm verify (the time grows
    with the square of its length: 5 million characters ran for hours) and printed it whole."""
    _, out = _copy(certified, tmp_path)
    obj = json.loads((out / "results.json").read_text())
    obj["digest"]["value"] = "a" * 80_000
    (out / "results.json").write_text(json.dumps(obj))
    code, output = _verify(certified, out)
    assert code == 1
    assert "changed after it was written" in output
    assert len(output) < 5_000


def test_the_batch_is_checked_against_the_results_whose_signature_verified(
    certified: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dqm verify --batch` checked the digest and signature of the bytes it read first, then read
    results.json again for the batch's file list: results swapped in between (a shared folder, a
    second writer) listing a tampered batch's hashes made a tampered batch VERIFIED (exit 0)."""
    import dqm.verify
    from dqm.syntactic.accuracy import batch_fingerprint

    batch, out = _copy(certified, tmp_path)
    slide = batch / "slides" / "S2.png"
    slide.write_bytes(slide.read_bytes() + b"\0")
    forged = json.loads((out / "results.json").read_text())
    for f in forged["batch"]["files"]:
        if f["path"] == "slides/S2.png":
            f["sha256"] = hashlib.sha256(slide.read_bytes()).hexdigest()
    forged["batch"]["fingerprint"] = batch_fingerprint(batch)
    genuine_check = dqm.verify.check_signature

    def swap_after_the_signature(*args: object, **kwargs: object) -> object:
        verified = genuine_check(*args, **kwargs)  # type: ignore[arg-type]
        (out / "results.json").write_text(json.dumps(forged))
        return verified

    monkeypatch.setattr(dqm.verify, "check_signature", swap_after_the_signature)
    code, output = _verify(certified, out, "--batch", batch)
    assert code == 1, output
    assert "signature: ok" in output
    assert "slides/S2.png: SHA-256" in output


def _gate(certified: dict[str, Path], results: Path, *extra: object) -> tuple[int, str]:
    mask = ("--mask-key", certified["mask_key"])
    code, output = _invoke("gate", results, "--require", "syntactic", *mask, *extra)
    return code, " ".join(output.split())  # an error message is wrapped to the console's width


def test_gate_with_a_key_decides_only_from_results_that_key_signed(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    """``dqm gate --key``: before, the gate had no way to require a signature, so a supplier's
    results.json edited and sealed again passed it."""
    from dqm.signing import public_key_id

    results = certified["out"] / "results.json"
    unsigned_code, _ = _gate(certified, results)
    code, output = _gate(certified, results, "--key", certified["pub"])
    signer = public_key_id(certified["pub"].read_bytes())
    assert code == unsigned_code and code in (0, 1), output  # the same decision, and who signed
    assert f"SIGNED Ed25519 signature by key {signer} verifies" in output
    assert "SIGNED" not in _gate(certified, results)[1]  # without --key, as before
    code, output = _gate(certified, results, "--key", certified["pub"], "--lang", "ko")
    # the marker stays English
    assert code == unsigned_code and f"SIGNED 키 {signer}의 Ed25519 서명이 검증됩니다" in output
    assert _invoke("keygen", tmp_path / "other.key")[0] == 0
    other = tmp_path / "other.key.pub"
    code, output = _gate(certified, results, "--key", other, "--key", certified["pub"])  # any one will do
    assert code == unsigned_code and f"key {signer} verifies" in output
    code, output = _gate(certified, results, "--key", other)
    assert code == 2 and f"signed by key {signer}, not by the key given" in output, output
    assert _invoke("keygen", tmp_path / "third.key")[0] == 0
    code, output = _gate(certified, results, "--key", other, "--key", tmp_path / "third.key.pub")
    assert code == 2 and f"signed by key {signer}, not by any of the 2 keys given" in output, output


def test_gate_with_a_key_refuses_unsigned_or_edited_results(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    from dqm.digest import seal_results

    _, out = _copy(certified, tmp_path)
    results, key = out / "results.json", ("--key", certified["pub"])
    moved = tmp_path / "elsewhere.sig"
    (out / "results.json.sig").rename(moved)
    code, output = _gate(certified, results, *key)
    assert code == 2 and "--key: not signed: no signature file results.json.sig" in output, output
    code, output = _gate(certified, results, *key, "--signature", moved)
    assert code in (0, 1) and "SIGNED Ed25519 signature by key" in output, output
    code, output = _gate(certified, results, "--signature", moved)
    assert code == 2 and "--signature needs --key" in output
    obj = json.loads(results.read_text())
    obj.pop("digest")
    obj["verdict"]["status"] = "certified"  # edited after signing, its digest computed again
    results.write_text(seal_results(json.dumps(obj))[0])
    code, output = _gate(certified, results, *key, "--signature", moved)
    assert code == 2 and "the signature is of other content" in output, output
    code, output = _gate(certified, results, *key, "--signature", moved, "--lang", "ko")
    assert code == 2 and "다른 내용에 대한 서명입니다" in output, output
    results.write_text(results.read_text().replace('"certified"', '"incomplete"', 1))  # not sealed again
    code, output = _gate(certified, results, *key, "--signature", moved)
    assert code == 2 and "changed after it was written" in output, output


def _says(output: str, text: str) -> bool:
    """Whether ``output`` holds ``text``, however the console wrapped it."""
    return text.replace(" ", "") in output.replace(" ", "")


def test_gate_with_a_key_requires_the_new_only_baseline_signed_too(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    """``--new-only`` decides which findings are new: a baseline of the same content, its run_id
    edited and sealed again but never signed, turned the signed FAIL into a PASS while the gate
    printed ``SIGNED … verifies``. Under --key the baseline must verify too; waivers, the runner's
    own file, are named as unsigned."""
    from dqm.digest import seal_results

    results, key = certified["out"] / "results.json", ("--key", certified["pub"])
    code, _ = _gate(certified, results, *key)
    assert code == 1
    obj = json.loads(results.read_text())
    obj.pop("digest")
    obj["run_id"] = "20000101T000000Z-00000000"
    forged = tmp_path / "earlier" / "results.json"
    forged.parent.mkdir()
    forged.write_text(seal_results(json.dumps(obj))[0])
    assert _gate(certified, results, "--new-only", forged)[0] == 0  # without --key: the runner's choice
    code, output = _gate(certified, results, *key, "--new-only", forged)
    assert (
        code == 2 and _says(output, f"--new-only {forged}: --key: not signed") and "SIGNED" not in output
    ), output
    code, output = _gate(certified, results, *key, "--new-only", certified["out"])
    assert code == 2 and _says(output, "--key: the baseline must be an earlier run"), output  # itself
    from dqm.signing import sign

    obj["created"] = "2000-01-01T00:00:00+00:00"
    earlier = tmp_path / "signed" / "results.json"
    earlier.parent.mkdir()
    text, digest, canonical = seal_results(json.dumps(obj))
    earlier.write_text(text)
    earlier.with_name("results.json.sig").write_text(sign(canonical, digest, certified["key"].read_bytes()))
    code, output = _gate(certified, results, *key, "--new-only", earlier)  # signed, earlier: it serves
    assert code == 0 and "SIGNED" in output, output
    assert _says(output, "BASELINE baseline: run 20000101T000000Z-00000000"), output
    obj["created"] = "2999-01-01T00:00:00+00:00"  # signed, but written after the result
    text, digest, canonical = seal_results(json.dumps(obj))
    earlier.write_text(text)
    earlier.with_name("results.json.sig").write_text(sign(canonical, digest, certified["key"].read_bytes()))
    code, output = _gate(certified, results, *key, "--new-only", earlier)
    assert code == 2 and _says(output, "--key: the baseline must be an earlier run"), output
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - code: NO_SUCH_CODE\n    item: '*'\n    reason: r\n    approved_by: a\n"
        "    expires: 2999-12-31\n"
    )
    code, output = _gate(certified, results, *key, "--waivers", waivers)
    assert _says(output, f"WAIVED waivers applied from {waivers} (not signed"), output
    assert "WAIVED" not in _gate(certified, results, *key)[1]


def test_gate_with_a_key_decides_from_the_bytes_whose_signature_it_checked(
    certified: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read once: a file swapped between the signature check and the decision (here, every read
    after the first returns other content, validly sealed but never signed, without the syntactic
    dimension: exit 3) must not be what the gate decides from. It decides the signed content's
    FAIL (exit 1), and reads the file once."""
    import dqm.cli.certify
    import dqm.results
    from dqm.digest import seal_results

    results = certified["out"] / "results.json"
    signed = results.read_bytes()
    obj = json.loads(signed)
    obj.pop("digest")
    obj["syntactic"] = None
    swapped = seal_results(json.dumps(obj))[0].encode()
    reads: list[Path] = []
    read_named = dqm.results.read_named

    def reader(path: Path, limit: int | None = None) -> bytes:
        if path != results:  # the key, the signature
            return read_named(path, limit)
        reads.append(path)
        return signed if len(reads) == 1 else swapped

    monkeypatch.setattr(dqm.cli.certify, "read_named", reader)
    monkeypatch.setattr(dqm.results, "read_named", reader)
    reads.append(results)  # as if read once already: without --key the next read decides
    assert _gate(certified, results)[0] == 3  # the swapped content
    reads.clear()
    code, output = _gate(certified, results, "--key", certified["pub"])
    assert code == 1 and "FAIL syntactic" in output and "SIGNED" in output, output
    assert reads == [results]


def test_gate_with_a_key_names_the_run_and_batch_it_signed(certified: dict[str, Path]) -> None:
    """A signed PASS of an older run, or of another batch, replayed in CI printed the same SIGNED
    line as today's: now it names the run, the batch and the date, and ``--batch-fingerprint``
    refuses a result of another batch."""
    results = certified["out"] / "results.json"
    obj = json.loads(results.read_text())
    fingerprint, run_id = obj["batch"]["fingerprint"], obj["run_id"]
    code, output = _gate(certified, results, "--key", certified["pub"])
    assert (
        code == 1
        and run_id
        and _says(output, f"verifies: run {run_id}, batch {fingerprint[:16]}, written {obj['created']}")
    )
    assert _gate(certified, results, "--batch-fingerprint", fingerprint[:12].upper())[0] == 1
    assert _gate(certified, results, "--key", certified["pub"], "--batch-fingerprint", fingerprint)[0] == 1
    other = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
    code, output = _gate(certified, results, "--key", certified["pub"], "--batch-fingerprint", other)
    assert code == 2 and _says(output, f"the result is of batch {fingerprint[:16]} (run {run_id})"), output
    code, output = _gate(certified, results, "--batch-fingerprint", "abc")
    assert code == 2 and "12 or more hex digits" in output, output


@pytest.mark.parametrize("which", ["key", "base"])
def test_gate_refuses_a_key_that_is_not_an_ed25519_public_key(certified: dict[str, Path], which: str) -> None:
    """The private key, or a folder, given as --key: a usage error before anything is decided."""
    code, output = _gate(certified, certified["out"] / "results.json", "--key", certified[which])
    assert code == 2 and "--key" in output and "SIGNED" not in output, output


def test_a_typed_path_holding_a_newline_forges_no_line_of_sign_or_verify(
    certified: dict[str, Path], tmp_path: Path
) -> None:
    """``sign``'s and ``verify``'s own usage errors were f-strings printing the typed path raw:
    ``--key $'/tmp/nokey\\nPASS  everything verified'`` printed a line of its own. Now escaped."""
    forged = tmp_path / "nokey\nPASS  everything verified"
    results = certified["out"] / "results.json"
    for command in ("sign", "verify"):
        code, output = _invoke(command, results, "--key", forged)
        assert code == 2, output
        assert not any(line.startswith("PASS") for line in output.splitlines()), output
        assert "nokey\\x0aPASS" in "".join(output.split()), output
