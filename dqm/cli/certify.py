"""Certificate commands: ``dqm keygen``, ``sign`` and ``verify`` (``docs/certificates.md``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dqm.cli.common import (
    LangOpt,
    MaskKeyOpt,
    ProfileOpt,
    app,
    batch_folder,
    load_profile_or_exit,
    load_result_or_exit,
    out,
    reason,
    start_masking,
    tr,
    usage_error,
)
from dqm.i18n import msg
from dqm.output import UnfinishedSet, read_named, visible, whole_set

EXIT_MISMATCH = 1
RESULTS = "results.json"


def results_file(path: Path) -> Path:
    """``RESULTS``: a results.json, or an output folder holding one; else a usage error. A set a
    killed run left half moved there is read as it is (a reader writes nothing: the next dqm run
    into that folder finishes it; ``dqm verify`` tells a mixed set by its digests)."""
    found = path / RESULTS if path.is_dir() else path
    if not found.is_file():
        raise usage_error(msg("no such results file: {path}", path=found))
    return found


def read_key(path: Path, option: str) -> bytes:
    """The bytes of a key file (PEM), or a usage error."""
    from dqm.signing import MAX_KEY_BYTES

    try:
        data = read_named(path, MAX_KEY_BYTES)
    except OSError as exc:
        raise usage_error(visible(f"{option} {path}: {exc.strerror or exc}", newlines=False)) from None
    if len(data) > MAX_KEY_BYTES or b"-----BEGIN" not in data:
        raise usage_error(msg("{option} {path}: not a PEM key file", option=option, path=path))
    return data


def signer_or_exit(path: Path) -> Any:
    """A function signing results with the private key at ``path`` (checked now: a bad key is a usage
    error before any work)."""
    from functools import partial

    from dqm.signing import SignatureError, private_key_id

    pem = read_key(path, "--sign-key")
    try:
        private_key_id(pem)
    except SignatureError as exc:
        raise usage_error(visible(f"--sign-key {path}: {exc}", newlines=False)) from None
    return partial(_sign_with, pem)


def public_keys_or_exit(paths: list[Path] | None) -> list[bytes]:
    """The PEM of each Ed25519 public key at ``paths`` (``--key``, repeated: the keys trusted, as
    ``dqm verify`` and ``dqm gate`` take them), or a usage error naming the first that is not one."""
    from dqm.signing import SignatureError, public_key_id

    pems = []
    for path in paths or ():
        pem = read_key(path, "--key")
        try:
            public_key_id(pem)
        except SignatureError as exc:
            raise usage_error(visible(f"--key {path}: {exc}", newlines=False)) from None
        pems.append(pem)
    return pems


def signed_or_exit(path: Path, keys: list[Path], signature: Path | None, role: str = "") -> tuple[bytes, str]:
    """The bytes of the results.json at ``path`` and the line saying who signed them, when its
    signature (``signature``, default ``results.json.sig`` beside it) verifies with one of the public
    ``keys`` over the bytes its content digest covers (``dqm verify --key``'s check); else a usage
    error saying why: unsigned, unreadable, another key, or content changed after signing. ``role``
    (an option, ``--new-only``) names the file in that error: it is not the result decided on."""
    from dqm.signing import SIGNATURE_SUFFIX
    from dqm.verify import check_digest, check_signature

    def refused(reason: str) -> typer.Exit:
        if role:
            return usage_error(msg("{role} {path}: --key: {reason}", role=role, path=path, reason=tr(reason)))
        return usage_error(msg("--key: {reason}", reason=tr(reason)))

    trusted = public_keys_or_exit(keys)
    try:
        data = read_named(path)
    except OSError as exc:
        raise usage_error(visible(f"{path}: {exc.strerror or exc}", newlines=False)) from None
    checked = check_digest(data)
    if checked.digest is None:
        raise refused(checked.verification.message)
    sig = check_signature(checked, signature or path.with_name(path.name + SIGNATURE_SUFFIX), trusted)
    if not sig.ok:
        raise refused(sig.message)
    return data, sig.message


def _sign_with(pem: bytes, canonical: bytes, digest: str) -> str:
    from dqm.signing import sign

    return sign(canonical, digest, pem)


@app.command()
def keygen(
    key: Annotated[
        Path, typer.Argument(help="Where to write the private key (KEY.pub gets the public one).")
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace existing key files.")] = False,
    lang: LangOpt = "en",
) -> None:
    """Make an Ed25519 key pair for signing certificates: the private key owner-only (0600), the
    public key in KEY.pub to hand to whoever verifies."""
    from dqm.output import write_together, writing
    from dqm.signing import generate_key_pair, private_key_id

    public = key.with_name(key.name + ".pub")
    for path in (key, public):
        with writing(path):  # a name too long, a plain file on the way: the writer's line, naming it
            if path.exists() and not force:
                raise usage_error(msg("{path} exists (--force replaces it)", path=path))
            if path.is_dir():
                raise usage_error(msg("{path} is a folder", path=path))
    private_pem, public_pem = generate_key_pair()
    # the pair as one: a full disk never leaves a private key whose public half a rerun must refuse
    write_together([(key, private_pem, True), (public, public_pem, False)])
    out.print(
        tr(
            msg(
                "private key: {key} (owner-only: keep it secret)\npublic key: {public} (give it to whoever "
                "verifies)\nkey id: {key_id}",
                key=key,
                public=public,
                key_id=private_key_id(private_pem),
            )
        ),
        markup=False,
    )


@app.command()
def sign(
    results: Annotated[Path, typer.Argument(help="A results.json, or the output folder holding it.")],
    key: Annotated[Path, typer.Option("--key", help="The private key (from dqm keygen).")],
    lang: LangOpt = "en",
) -> None:
    """Sign a results.json: writes the detached Ed25519 signature results.json.sig beside it. Its
    content digest must verify first (exit 1 otherwise: nothing is signed)."""
    from dqm.output import write_file
    from dqm.signing import SIGNATURE_SUFFIX, SignatureError
    from dqm.signing import sign as make_signature
    from dqm.verify import check_digest

    path = results_file(results)
    pem = read_key(key, "--key")
    checked = check_digest(path.read_bytes())
    if checked.digest is None:
        out.print(tr(msg("not signed: {why}", why=tr(checked.verification.message))), markup=False)
        raise typer.Exit(EXIT_MISMATCH)
    try:
        text = make_signature(checked.canonical, checked.digest, pem)
    except SignatureError as exc:
        raise usage_error(visible(f"--key {key}: {exc}", newlines=False)) from None
    target = path.with_name(path.name + SIGNATURE_SUFFIX)
    write_file(target, text.encode("ascii"), binary=True)
    out.print(
        tr(msg("signed sha256:{digest}\nsignature: {path}", digest=checked.digest, path=target)), markup=False
    )


@app.command()
def verify(
    results: Annotated[Path, typer.Argument(help="A results.json, or the output folder holding it.")],
    batch: Annotated[
        Path | None,
        typer.Option(
            help="The batch folder: check that its files are still those the audit read (full SHA-256)."
        ),
    ] = None,
    key: Annotated[
        list[Path] | None,
        typer.Option(
            "--key",
            help="A public key (PEM) the signature must verify with; repeat it to trust several (a key "
            "rotated: one signature, by any of them).",
        ),
    ] = None,
    signature: Annotated[
        Path | None, typer.Option(help="The signature file (default: RESULTS.sig beside it).")
    ] = None,
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Verify a certificate: the content digest of results.json, its signature (with --key), the
    report.html beside it, and (with --batch) the batch's files. Exits 0 verified, 1 something
    differs (each difference is printed, masked), 2 usage."""
    from dqm.signing import SIGNATURE_SUFFIX
    from dqm.verify import check_batch, check_digest, check_report, check_signature

    path = results_file(results)
    trusted = public_keys_or_exit(key)  # a key that is not one is a usage error, as for dqm gate
    if signature is not None:  # named: a file that cannot be read is not "unsigned"
        try:
            read_named(signature, 0)
        except OSError as exc:
            raise usage_error(
                visible(f"--signature {signature}: {exc.strerror or exc}", newlines=False)
            ) from None
    root = batch_folder(batch) if batch is not None else None
    prof = load_profile_or_exit(profile)
    masker = start_masking(prof.deid, mask_key)  # what is printed from the batch is masked like the outputs
    try:
        with whole_set(path.parent):  # results.json and report.html of one run, never a mix
            try:
                data = read_named(path)
            except OSError as exc:
                raise usage_error(visible(f"{path}: {exc.strerror or exc}", newlines=False)) from None
            checked = check_digest(data)
            parts = [checked.verification]
            parts.append(
                check_signature(checked, signature or path.with_name(path.name + SIGNATURE_SUFFIX), trusted)
            )
            report = path.with_name("report.html")
            if report.is_file():
                parts.append(check_report(report, checked.digest))
    except UnfinishedSet as exc:
        raise usage_error(reason(exc)) from None
    if root is not None:
        if checked.digest is None:
            parts.append(_not_checked("batch"))
        else:
            # the bytes whose digest and signature were checked, not read again: the file may have changed since
            parts.append(check_batch(load_result_or_exit(path, data), root, masker))
    for part in parts:  # the part names and the markers stay English: scripts search for them
        out.print(
            f"{part.part}: {'ok' if part.ok else 'FAILED'}: {tr(part.message)}", markup=False, soft_wrap=True
        )
        for line in part.differences:
            out.print(f"  {tr(line)}", markup=False, soft_wrap=True)
    verified = all(p.ok for p in parts)
    out.print("VERIFIED" if verified else "NOT VERIFIED", markup=False)
    raise typer.Exit(0 if verified else EXIT_MISMATCH)


def _not_checked(part: str) -> Any:
    from dqm.verify import Verification

    return Verification(
        part, False, msg("not checked: results.json did not verify, so what it lists cannot be trusted")
    )
