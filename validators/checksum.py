"""Checksum checks (aspect ``file``): the files against the checksum list the batch came with."""

from __future__ import annotations

from dqm.checksums import Listed
from dqm.findings import Aspect, Finding, Severity
from dqm.i18n import Message, msg
from validators.context import BatchView
from validators.registry import CheckContext, NoParams, check, forward


@check(
    "checksum.list",
    aspect=Aspect.FILE,
    scope="batch",
    codes={
        "CHECKSUM_MISMATCH": "a file's SHA-256 differs from the one its checksum list gives",
        "CHECKSUM_MISSING_FILE": "the checksum list names a file that is not in the batch",
        "CHECKSUM_UNLISTED": "a file of the batch is not in its checksum list",
        "CHECKSUM_MALFORMED": "a line of SHA256SUMS, or a checksum cell of the manifest, is not a checksum",
        "CHECKSUM_OUTSIDE_BATCH": "the checksum list names a path outside the batch folder (never read)",
        "CHECKSUM_LIST_UNREADABLE": "SHA256SUMS cannot be read",
    },
    code_severity={"CHECKSUM_UNLISTED": Severity.WARNING},
)
def checksum_list(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """Every file matches the SHA-256 its checksum list (SHA256SUMS, or the manifest's sha256 columns) gives."""
    out = forward(batch.discovery_issues, ctx)
    owner = {p: f.slide_id for f in batch.items for p in (f.image_path, f.annotation_path) if p}
    for rel, listed in sorted(batch.checksums.items()):
        actual = batch.hashed.get(rel)
        if actual == listed.sha256:
            continue
        text = (
            not_hashed(rel, listed, batch.sparse.get(rel))
            if actual is None
            else msg(
                "{path!r} has SHA-256 {actual}, {_where} gives {listed}",
                path=rel,
                actual=actual,
                listed=listed.sha256,
                **listed.where_params(),
            )
        )
        out.append(ctx.finding("CHECKSUM_MISMATCH", text, item_id=owner.get(rel, rel), file=rel))
    return out


def not_hashed(rel: str, listed: Listed, sparse: tuple[int, int] | None) -> Message:
    """Why a listed file's checksum was not verified: it could not be read, or it is sparse
    (apparent and allocated bytes) and was not read whole."""
    if sparse is None:
        return msg(
            "{path!r} could not be read to hash it; {_where} gives {listed}",
            path=rel,
            listed=listed.sha256,
            **listed.where_params(),
        )
    return msg(
        "{path!r} was not hashed: it is a sparse file of {apparent:,} bytes, {allocated:,} of them "
        "on disk; {_where} gives {listed} (not verified)",
        path=rel,
        apparent=sparse[0],
        allocated=sparse[1],
        listed=listed.sha256,
        **listed.where_params(),
    )
