"""The audit's output files, rendered from one result and written as one set."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from dqm.digest import RESULTS_SLOT, seal_html
from dqm.output import Mask, OutputSet
from dqm.quality_layout import QualityTableLayout
from dqm.results import ContentDigest, QualityResult
from reports.findings_cap import FINDINGS_CAP, FINDINGS_SIDECAR, findings_csv, over_cap
from reports.html import render_html
from reports.junit import render_junit
from reports.markdown import render_summary
from reports.results_file import write_results

OUTPUTS = {"results": "results.json", "report": "report.html", "junit": "junit.xml", "summary": "summary.md"}
"""What :func:`write_outputs` writes into the output folder, by role."""
SIDECARS = {"findings": FINDINGS_SIDECAR}
"""What it writes beside them (gzip-compressed) for a result over the report's findings cap."""
Signer = Callable[[bytes, str], str]
"""Makes the signature file of results from their canonical form and content digest
(:func:`dqm.signing.sign` with a key)."""
SIGNATURE = "results.json.sig"


RENDERERS: dict[str, Callable[..., str | bytes]] = {
    "report": render_html,
    "junit": render_junit,
    "summary": render_summary,
}


def _failed_page(exc: BaseException) -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>dqm: report not rendered</title>"
        f"<p>dqm could not render this report ({html.escape(type(exc).__name__)}); results.json holds "
        "every figure, and its STAGE_CRASHED finding says why.</p>\n"
    )


def render_outputs(
    result: QualityResult,
    layout: QualityTableLayout | None = None,
    lang: str = "en",
    names: Mapping[str, str] | None = None,
    mask: Mask | None = None,
    findings_cap: int | None = FINDINGS_CAP,
) -> tuple[QualityResult, dict[str, str | bytes]]:
    """The result as written, and every other output of it by role (``layout``: the report's quality
    table; ``lang``: the language of what a person reads; ``names``: the profile's names of classes
    and fields in it; ``mask``: applied inside the report's compressed data too; over
    ``findings_cap`` findings, the report aggregates them and the ``findings`` sidecar holds them
    all, uncompressed). A renderer that raises becomes a ``STAGE_CRASHED`` finding in
    ``results.json`` and in the outputs that do render (the verdict is then INCOMPLETE, and the
    result returned says so: the exit code follows what was written); its own output is left out
    (the report is replaced by a page that says it was not rendered)."""
    from dqm.audit import stage_crashed, with_finding

    renderers: dict[str, Callable[[QualityResult], str | bytes]] = {
        role: partial(render, lang=lang) for role, render in RENDERERS.items()
    }
    renderers["report"] = partial(
        render_html, layout=layout, lang=lang, names=names, mask=mask, findings_cap=findings_cap
    )
    if over_cap(result, findings_cap):
        renderers["findings"] = findings_csv
    rendered: dict[str, str | bytes] = {}
    failed: dict[str, BaseException] = {}
    for role, render in renderers.items():
        try:
            rendered[role] = render(result)
        except Exception as exc:  # a renderer's bug must not lose results.json
            failed[role] = exc
    if failed:  # the outputs that render say what did not
        for role, error in failed.items():
            result = with_finding(result, stage_crashed(f"{role} rendering", error))
        rendered = {role: render(result) for role, render in renderers.items() if role not in failed}
        if "report" in failed:
            rendered["report"] = _failed_page(failed["report"])
    return result, rendered


def with_digest_slot(result: QualityResult) -> QualityResult:
    """``result`` with its digest standing as :data:`~dqm.digest.RESULTS_SLOT`: the outputs name
    the digest of ``results.json`` before it is known, and :func:`sealed` puts it in."""
    return result.model_copy(update={"digest": ContentDigest.model_construct(value=RESULTS_SLOT)})


def sealed(data: str | bytes, mask: Mask | None, digest: str | None) -> bytes:
    """An output as written: masked, then the results' digest put in its slot and an HTML page's
    own digest computed (after masking, so a mask never touches a digest)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    text = mask(text) if mask is not None else text
    if digest is not None:
        text = text.replace(RESULTS_SLOT, digest)
    return seal_html(text).encode("utf-8")


def render_sealed_html(
    result: QualityResult,
    mask: Mask | None,
    layout: QualityTableLayout | None = None,
    lang: str = "en",
    names: Mapping[str, str] | None = None,
    findings_cap: int | None = FINDINGS_CAP,
) -> bytes:
    """The report of a result already written (``dqm report``): masked, naming the digest
    ``results.json`` states, with its own digest."""
    stated = result.digest.value if result.digest is not None else None
    shown = with_digest_slot(result) if stated else result
    page = render_html(shown, layout, lang, names, mask, findings_cap=findings_cap)
    return sealed(page, mask, stated)


def write_outputs(
    result: QualityResult,
    out: Path,
    mask: Mask | None = None,
    layout: QualityTableLayout | None = None,
    lang: str = "en",
    names: Mapping[str, str] | None = None,
    findings_cap: int | None = FINDINGS_CAP,
    signer: Signer | None = None,
) -> dict[str, Path]:
    """``results.json``, ``report.html``, ``junit.xml`` and ``summary.md`` in ``out``; all four are
    rendered from the one ``result``, so they agree on every figure, and moved into place together
    (``layout``: the report's quality table, the profile's ``quality_table``; ``lang``: ``en`` or
    ``ko``, for what a person reads). Over ``findings_cap`` findings, ``findings.csv.gz`` joins
    the set; otherwise an earlier run's is removed with it, so the folder never holds a sidecar its
    report does not describe. ``results.json`` carries its content digest, the report names it and
    carries its own (:mod:`dqm.digest`); with a ``signer``, ``results.json.sig`` is written with
    them."""
    result, rendered = render_outputs(with_digest_slot(result), layout, lang, names, mask, findings_cap)
    return write_rendered(result, rendered, out, mask, signer)


def write_rendered(
    result: QualityResult,
    rendered: dict[str, str | bytes],
    out: Path,
    mask: Mask | None = None,
    signer: Signer | None = None,
) -> dict[str, Path]:
    """``result`` (as :func:`render_outputs` returned it, from a result :func:`with_digest_slot`)
    as ``results.json`` and the outputs it rendered, moved into ``out`` together (one set), each
    masked, then sealed with the digest of ``results.json`` (written as a stream:
    :mod:`reports.results_file`): the sidecars it rendered are written, an earlier run's that it
    did not are removed; with a ``signer``, ``results.json.sig`` too (an earlier run's is removed
    without one: it would sign other content)."""
    with OutputSet(out, mask) as outputs:
        target = outputs.stage(OUTPUTS["results"])
        with outputs.naming(OUTPUTS["results"]):  # a full disk names results.json, not its staged copy
            digest, canonical = write_results(result, target, mask, keep_canonical=signer is not None)
        paths = {"results": out / OUTPUTS["results"]}
        for role, data in rendered.items():
            if role in OUTPUTS and role != "results":
                paths[role] = outputs.write(OUTPUTS[role], sealed(data, mask, digest), binary=True)
        for role, name in SIDECARS.items():
            if role in rendered:
                paths[role] = outputs.write(name, rendered[role], compress=True)
            else:
                outputs.discard(name)
        if signer is not None:
            paths["signature"] = outputs.write(
                SIGNATURE, signer(canonical, digest).encode("ascii"), binary=True
            )
        else:
            outputs.discard(SIGNATURE)
        return paths
