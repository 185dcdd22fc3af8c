"""Verifying a certificate (``dqm verify``): the content digest of ``results.json``, its signature,
the report rendered from it, and that the batch's files are still those the audit read.

Each part is one :class:`Verification`; the command prints them and exits 1 when one failed.
Nothing here writes; the batch is read through its jail like an audit reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dqm.batch import discover, jailed, normalise
from dqm.digest import DigestError, html_digest, results_digest
from dqm.results import QualityResult
from dqm.signing import MAX_SIGNATURE_BYTES, SignatureError, check, read_signature
from dqm.slide_io import fingerprint as slide_print
from dqm.slide_io import full_hash
from dqm.syntactic.accuracy import batch_fingerprint

Mask = Callable[[str], str]
MAX_DIFFERENCES = 200
"""Differences of the batch listed one by one; past this, a count."""


@dataclass(slots=True)
class Verification:
    """One part of a verification: what was checked, whether it held, and what differs."""

    part: str
    ok: bool
    message: str
    differences: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ResultsCheck:
    """The digest of a ``results.json`` and what the other parts need from it."""

    verification: Verification
    digest: str | None = None
    """The digest of its content (None when it has none that can be computed)."""
    canonical: bytes = b""


def check_digest(data: bytes) -> ResultsCheck:
    """Whether the content of a ``results.json`` (its bytes) still hashes to the digest it states."""
    try:
        stated, actual, canonical = results_digest(data)
    except DigestError as exc:
        return ResultsCheck(Verification("digest", False, f"results.json cannot be verified: {exc}"))
    if stated is None:
        why = "results.json carries no content digest (written by a dqm before results schema 1.10)"
        return ResultsCheck(Verification("digest", False, why))
    if stated != actual:
        why = f"results.json changed after it was written: its content hashes to {actual}, it states {stated}"
        return ResultsCheck(Verification("digest", False, why))
    return ResultsCheck(
        Verification("digest", True, f"content digest sha256:{actual} matches"), actual, canonical
    )


def check_signature(results: ResultsCheck, signature: Path, key_pem: bytes | None) -> Verification:
    """The detached signature at ``signature`` against the trusted public key (PEM). Without a key,
    a signature is only reported (it proves nothing until checked against a key one trusts)."""
    if not signature.is_file():
        if key_pem is None:
            return Verification("signature", True, "unsigned (no signature file beside results.json)")
        return Verification("signature", False, f"not signed: no signature file {signature.name}")
    try:
        with signature.open("rb") as fh:
            doc = read_signature(fh.read(MAX_SIGNATURE_BYTES))
    except (OSError, SignatureError) as exc:
        return Verification("signature", False, f"{signature.name} cannot be read: {exc}")
    if key_pem is None:
        why = f"signed by key {doc['key_id'][:16]}; not checked: give --key with the signer's public key"
        return Verification("signature", True, why)
    if results.digest is None:
        return Verification("signature", False, "not checked: the content digest did not verify")
    if doc["digest"] != f"sha256:{results.digest}":
        return Verification("signature", False, f"the signature is of other content ({doc['digest'][:80]})")
    try:
        signer = check(results.canonical, doc, key_pem)
    except SignatureError as exc:
        return Verification("signature", False, f"the signature does not verify: {exc}")
    return Verification("signature", True, f"Ed25519 signature by key {signer} verifies")


def check_report(report: Path, digest: str | None) -> Verification:
    """``report.html``: its own digest, and that it names the digest of the results beside it."""
    try:
        data = report.read_bytes()
    except OSError as exc:
        return Verification("report", False, f"{report.name} cannot be read: {exc.strerror or exc}")
    stated, actual = html_digest(data)
    if stated is None:
        return Verification("report", False, f"{report.name} carries no content digest")
    if stated != actual:
        return Verification("report", False, f"{report.name} changed after it was written")
    if digest is not None and f'name="dqm-results-digest" content="sha256:{digest}"'.encode() not in data:
        return Verification("report", False, f"{report.name} was not rendered from this results.json")
    return Verification("report", True, f"{report.name}: content digest sha256:{actual} matches")


def check_batch(result: QualityResult, root: Path, mask: Mask | None) -> Verification:
    """Whether the batch's files are those the audit read: every file of ``batch.files`` by its full
    SHA-256 (a slide hashed only by its quick print, by that), no item file added, and the same
    fingerprint. Paths are compared as the results name them (masked with ``mask``)."""
    now = batch_fingerprint(root)
    if not result.batch.files:
        note = "results.json lists no file hashes (results schema before 1.10): compared by fingerprint only"
        if now != result.batch.fingerprint:
            return Verification("batch", False, f"{note}; the fingerprint differs: {now}")
        return Verification("batch", True, f"{note}; the fingerprint matches")
    shown = mask or (lambda text: text)
    current = discover(root)
    there: dict[str, str] = {}
    for item in current.items:
        for rel in (item.annotation_path, item.image_path):
            norm, outside = normalise(rel or "")
            if norm and not outside and jailed(root, norm)[0] is not None:
                there[shown(norm)] = norm
    if current.manifest is not None and current.manifest_sha256 is not None:
        there[shown(current.manifest)] = current.manifest
    differences: list[str] = []
    full = quick = 0
    for f in result.batch.files:
        rel = there.pop(f.path, None)
        path = jailed(root, rel)[0] if rel is not None else None
        if path is None:
            differences.append(f"{f.path}: not in the batch any more")
            continue
        expected = f.sha256 if f.sha256 is not None else f.quick_print
        try:
            if f.sha256 is not None:
                actual, full = full_hash(path), full + 1
            else:
                actual, quick = slide_print(path, path.stat().st_size), quick + 1
        except OSError as exc:
            differences.append(f"{f.path}: cannot be read ({exc.strerror or exc})")
            continue
        if actual != expected:
            what = "SHA-256" if f.sha256 is not None else "quick print"
            differences.append(f"{f.path}: {what} {actual} differs from the audit's {expected}")
    differences += [f"{name}: in the batch, not in the audit (added since)" for name in sorted(there)]
    if now != result.batch.fingerprint:
        differences.append(f"batch fingerprint {now} differs from the audit's {result.batch.fingerprint}")
    if differences:
        shown_diffs = differences[:MAX_DIFFERENCES]
        if len(differences) > MAX_DIFFERENCES:
            shown_diffs.append(f"... and {len(differences) - MAX_DIFFERENCES} more")
        return Verification("batch", False, f"{len(differences)} difference(s) from the audit", shown_diffs)
    message = f"{full + quick} files match the audit ({full} by full SHA-256"
    message += f", {quick} slides by quick print only: audit with --full-hashes)" if quick else ")"
    return Verification("batch", True, message)
