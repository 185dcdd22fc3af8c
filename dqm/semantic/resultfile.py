"""``semantic.json``: written by ``dqm review ingest``, read back as the semantic dimension an
audit attaches (``dqm audit --review``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from dqm.i18n import N_, msg
from dqm.output import Mask, TooLarge, read_bounded, write_file
from dqm.semantic.models import SemanticResult
from dqm.strictjson import StrictJSONError, loads

RESULT_FILE = "semantic.json"


MAX_SEMANTIC_BYTES = 256 << 20
"""The most a semantic.json is read of (a verdict per slide reviewed: ~1 KB each): a larger file is
refused as not the right one, never read whole."""


class SemanticFileError(ValueError):
    """A review result that cannot be attached: missing, invalid, or of another batch."""


def write_semantic(result: SemanticResult, out: Path, mask: Mask | None = None) -> Path:
    """Write ``semantic.json`` into ``out`` (created), through the run's masker; returns its path."""
    return write_file(out / RESULT_FILE, result.model_dump_json(indent=2) + "\n", mask)


def load_semantic(review: Path, batch_fingerprint: str) -> SemanticResult:
    """The semantic result in ``review`` (a folder holding ``semantic.json``, or the file itself).

    Raises
    ------
    SemanticFileError
        The file is missing or invalid, or it judged another batch (its fingerprint differs from
        ``batch_fingerprint``, the audited batch's).
    """
    path = review / RESULT_FILE if review.is_dir() else review
    try:
        semantic = SemanticResult.model_validate(loads(read_bounded(path, MAX_SEMANTIC_BYTES)))
    except TooLarge as exc:
        raise SemanticFileError(exc.message(N_("semantic result"))) from None
    except OSError as exc:
        raise SemanticFileError(
            msg("cannot read {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from None
    except StrictJSONError as exc:
        raise SemanticFileError(
            msg("{path} is not a dqm semantic result: {reason}", path=path, reason=exc)
        ) from None
    except ValidationError as exc:
        raise SemanticFileError(
            msg("{path} is not a dqm semantic result: {reason}", path=path, reason=exc.errors()[0]["msg"])
        ) from None
    if semantic.batch_fingerprint != batch_fingerprint:
        raise SemanticFileError(
            msg(
                "{path} reviewed another batch (fingerprint {other}…, this batch {this}…): "
                "draw a new sample with dqm sample",
                path=path,
                other=semantic.batch_fingerprint[:12],
                this=batch_fingerprint[:12],
            )
        )
    return semantic
