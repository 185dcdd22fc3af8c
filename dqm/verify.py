"""Verifying a certificate (``dqm verify``): the content digest of ``results.json``, its signature,
the report rendered from it, and that the batch's files are still those the audit read.

Each part is one :class:`Verification`; the command prints them and exits 1 when one failed.
Nothing here writes; the batch is read through its jail like an audit reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dqm.batch import discover, jailed, normalise
from dqm.digest import DigestError, html_digest, results_digest
from dqm.findings import clip
from dqm.i18n import N_, msg
from dqm.output import read_named
from dqm.results import QualityResult, with_parts_of_1_16, with_slide_parts
from dqm.signing import MAX_SIGNATURE_BYTES, OtherKey, SignatureError, check, read_signature
from dqm.slide_io import fingerprint as slide_print
from dqm.slide_io import full_hash
from dqm.slide_refs import part_name, parts_of
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
        return ResultsCheck(
            Verification("digest", False, msg("results.json cannot be verified: {reason}", reason=exc))
        )
    if stated is None:
        why = msg("results.json carries no content digest (written by a dqm before results schema 1.10)")
        return ResultsCheck(Verification("digest", False, why))
    if stated != actual:
        why = msg(
            "results.json changed after it was written: its content hashes to {actual}, it states {stated}",
            actual=actual,
            stated=clip(stated, 80),  # stated by the file: of any length
        )
        return ResultsCheck(Verification("digest", False, why))
    return ResultsCheck(
        Verification("digest", True, msg("content digest sha256:{digest} matches", digest=actual)),
        actual,
        canonical,
    )


def check_signature(
    results: ResultsCheck, signature: Path, key_pem: bytes | Sequence[bytes] | None
) -> Verification:
    """The detached signature at ``signature`` against the trusted public key (PEM), or against
    several (``dqm gate --key`` repeated: one of them must have signed). Without a key, a
    signature is only reported (it proves nothing until checked against a key one trusts)."""
    keys = [key_pem] if isinstance(key_pem, bytes) else list(key_pem or ())
    if not signature.is_file():
        if not keys:
            return Verification("signature", True, msg("unsigned (no signature file beside results.json)"))
        return Verification(
            "signature", False, msg("not signed: no signature file {name}", name=signature.name)
        )
    try:
        doc = read_signature(read_named(signature, MAX_SIGNATURE_BYTES))
    except (OSError, SignatureError) as exc:
        return Verification(
            "signature", False, msg("{name} cannot be read: {reason}", name=signature.name, reason=exc)
        )
    if not keys:
        why = msg(
            "signed by key {key}; not checked: give --key with the signer's public key",
            key=doc["key_id"][:16],
        )
        return Verification("signature", True, why)
    if results.digest is None:
        return Verification("signature", False, msg("not checked: the content digest did not verify"))
    if doc["digest"] != f"sha256:{results.digest}":
        return Verification(
            "signature", False, msg("the signature is of other content ({digest})", digest=doc["digest"][:80])
        )
    errors: list[SignatureError] = []
    for pem in keys:
        try:
            signer = check(results.canonical, doc, pem)
        except SignatureError as exc:
            errors.append(exc)
        else:
            return Verification("signature", True, msg("Ed25519 signature by key {key} verifies", key=signer))
    own = [e for e in errors if not isinstance(e, OtherKey)]  # the signer's key itself, or a bad key
    if own or len(errors) == 1:
        return Verification(
            "signature", False, msg("the signature does not verify: {reason}", reason=(own or errors)[0])
        )
    why = msg(
        "the signature does not verify: signed by key {key}, not by any of the {n} keys given",
        key=doc["key_id"][:16],
        n=len(keys),
    )
    return Verification("signature", False, why)


def check_report(report: Path, digest: str | None) -> Verification:
    """``report.html``: its own digest, and that it names the digest of the results beside it."""
    try:
        data = report.read_bytes()
    except OSError as exc:
        return Verification(
            "report",
            False,
            msg("{name} cannot be read: {reason}", name=report.name, reason=exc.strerror or exc),
        )
    stated, actual = html_digest(data)
    if stated is None:
        return Verification("report", False, msg("{name} carries no content digest", name=report.name))
    if stated != actual:
        return Verification("report", False, msg("{name} changed after it was written", name=report.name))
    if digest is not None and f'name="dqm-results-digest" content="sha256:{digest}"'.encode() not in data:
        return Verification(
            "report", False, msg("{name} was not rendered from this results.json", name=report.name)
        )
    return Verification(
        "report", True, msg("{name}: content digest sha256:{digest} matches", name=report.name, digest=actual)
    )


def check_batch(result: QualityResult, root: Path, mask: Mask | None) -> Verification:
    """Whether the batch's files are those the audit read: every file of ``batch.files`` by its full
    SHA-256 (a slide hashed only by its quick print, by that), no item file added, and the same
    fingerprint. Paths are compared as the results name them (masked with ``mask``)."""
    parts = with_slide_parts(result.schema_version)  # 1.15 on: the files besides each slide too
    since_1_16 = with_parts_of_1_16(result.schema_version)  # a DICOM series, a Trestle macro
    current = discover(root)
    shown = mask or (lambda text: text)
    there: dict[str, str] = {}  # each file of the batch by its name in results.json
    found: dict[str, list[str]] = {}  # each slide's parts, found once for the files and the fingerprint
    # the parts by their batch paths as slide_parts found them (inside the batch already): read as
    # named, not through the jail's normalising, which takes a ``\\`` of a name for a separator
    raw_parts: set[str] = set()
    for item in current.items:
        for rel in (item.annotation_path, item.image_path):
            norm, outside = normalise(rel or "")
            if norm and not outside and jailed(root, norm)[0] is not None:
                there[shown(norm)] = norm
                if parts and rel == item.image_path:  # the files OpenSlide opens besides it
                    found[norm] = parts_of(root, norm, since_1_16)
                    there.update((shown(part_name(part)), part) for part in found[norm])
                    raw_parts.update(found[norm])
    now = batch_fingerprint(root, current, parts=parts, slide_parts=found, since_1_16=since_1_16)
    if not result.batch.files:
        if now != result.batch.fingerprint:
            why = msg(
                "results.json lists no file hashes (results schema before 1.10): compared by fingerprint "
                "only; the fingerprint differs: {fingerprint}",
                fingerprint=now,
            )
            return Verification("batch", False, why)
        why = msg(
            "results.json lists no file hashes (results schema before 1.10): compared by fingerprint "
            "only; the fingerprint matches"
        )
        return Verification("batch", True, why)
    if current.manifest is not None and current.manifest_sha256 is not None:
        there[shown(current.manifest)] = current.manifest
    differences: list[str] = []
    full = quick = 0
    for f in result.batch.files:
        rel = there.pop(f.path, None)
        path = None if rel is None else root / rel if rel in raw_parts else jailed(root, rel)[0]
        if path is None:
            differences.append(msg("{path}: not in the batch any more", path=f.path))
            continue
        expected = f.sha256 if f.sha256 is not None else f.quick_print
        try:
            if f.sha256 is not None:
                actual, full = full_hash(path), full + 1
            else:
                actual, quick = slide_print(path, path.stat().st_size), quick + 1
        except OSError as exc:
            differences.append(
                msg("{path}: cannot be read ({reason})", path=f.path, reason=exc.strerror or exc)
            )
            continue
        if actual != expected:
            template = (
                N_("{path}: SHA-256 {actual} differs from the audit's {expected}")
                if f.sha256 is not None
                else N_("{path}: quick print {actual} differs from the audit's {expected}")
            )
            differences.append(msg(template, path=f.path, actual=actual, expected=expected))
    differences += [
        msg("{path}: in the batch, not in the audit (added since)", path=name) for name in sorted(there)
    ]
    if now != result.batch.fingerprint:
        differences.append(
            msg(
                "batch fingerprint {now} differs from the audit's {audited}",
                now=now,
                audited=result.batch.fingerprint,
            )
        )
    if differences:
        shown_diffs = differences[:MAX_DIFFERENCES]
        if len(differences) > MAX_DIFFERENCES:
            shown_diffs.append(msg("… and {n} more", n=len(differences) - MAX_DIFFERENCES))
        return Verification(
            "batch", False, msg("{n} difference(s) from the audit", n=len(differences)), shown_diffs
        )
    message = (
        msg(
            "{n} files match the audit ({full} by full SHA-256, {quick} by quick print only: slides and "
            "the files OpenSlide opens besides them; audit with --full-hashes)",
            n=full + quick,
            full=full,
            quick=quick,
        )
        if quick
        else msg("{n} files match the audit ({full} by full SHA-256)", n=full + quick, full=full)
    )
    return Verification("batch", True, message)
