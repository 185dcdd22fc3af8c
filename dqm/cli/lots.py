"""Lots and their suppliers: the options ``--lot-by`` / ``--history`` share, and ``dqm lots``
(each supplier's place in ISO 2859-1's switching rules, and resuming after corrective action)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dqm.cli.common import (
    LangOpt,
    MaskKeyOpt,
    ProfileOpt,
    load_profile_or_exit,
    out,
    reason,
    severity_word,
    start_masking,
    tr,
    usage_error,
)
from dqm.i18n import NP_, msg

lots_app = typer.Typer(  # registered after the review group (dqm.cli.__init__)
    help="Suppliers' lots: where each stands in ISO 2859-1's switching rules.",
    no_args_is_help=True,
    add_completion=False,
)

LotByOpt = Annotated[
    str | None,
    typer.Option(
        help="Split the batch into lots by this field (institution, diagnosis or a clinical field): each "
        "lot gets its own figures, ISO 2859-1 plan and gate."
    ),
]
HistoryOpt = Annotated[
    Path | None,
    typer.Option(
        help="The suppliers' lot history (SQLite) for ISO 2859-1's switching rules "
        "(default: dqm-lot-history.sqlite beside the output folder)."
    ),
]
ReducedOpt = Annotated[
    bool,
    typer.Option(
        "--reduced-allowed",
        help="Production is steady and the responsible authority approves reduced inspection (ISO 2859-1 9.3.3).",
    ),
]


def lot_field_or_exit(field: str, profile: Any) -> str:
    """``--lot-by``: diagnosis, institution or a clinical field of the profile, else a usage error."""
    field = field.strip()
    if field in ("diagnosis", "institution") or field in profile.clinical:
        return field
    raise usage_error(
        msg(
            "--lot-by {field}: use diagnosis, institution or a clinical field of the profile ({fields})",
            field=repr(field),
            fields=", ".join(profile.clinical),
        )
    )


def supplier(name: str, masker: Any) -> str:
    """How a lot's supplier is named in the history: masked when the name holds an identifier."""
    return masker(name) if masker is not None else name


def open_history_or_exit(path: Path) -> Any:
    """The lot history at ``path`` (created when absent), or a usage error that says why not."""
    from dqm.semantic.history import HistoryError, LotHistory

    try:
        return LotHistory(path)
    except HistoryError as exc:
        raise usage_error(reason(exc)) from None


def supplier_states(path: Path | None, names: list[str], masker: Any) -> dict[str, Any]:
    """Lot name → its supplier's state in the history at ``path`` (nothing when there is none)."""
    from dqm.semantic.history import HistoryError

    if path is None or not path.is_file():
        return {}
    with open_history_or_exit(path) as history:
        try:
            return {n: history.state(supplier(n, masker)) for n in names}
        except HistoryError as exc:
            raise usage_error(reason(exc)) from None


HistoryArg = Annotated[Path, typer.Argument(help="The lot history (dqm-lot-history.sqlite).")]


def _existing_history(history: Path, profile: str | None, mask_key: Path | None) -> Any:
    """An existing history, opened after the run's masking started (a usage error otherwise)."""
    start_masking(load_profile_or_exit(profile).deid, mask_key)
    if not history.is_file():
        raise usage_error(msg("no such lot history: {path}", path=history))
    return open_history_or_exit(history)


@lots_app.command("show")
def show(
    history: HistoryArg,
    name: Annotated[
        str | None, typer.Option("--supplier", help="Only this supplier (as the history names it).")
    ] = None,
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Each supplier's lots, the switching score and the severity its next lot is inspected at."""
    from dqm.semantic.history import HistoryError

    with _existing_history(history, profile, mask_key) as h:
        try:
            names = [name] if name is not None else h.suppliers()
            for s in names:
                state, recorded = h.replayed(s)
                out.print(
                    tr(
                        msg(
                            "{supplier}: {n} lots, next lot at {where}",
                            supplier=s,
                            n=len(recorded),
                            where=_where(state),
                        )
                    ),
                    highlight=False,
                )
                for r in recorded:
                    st = r.step
                    p = st.outcome.plan
                    line = f"  {r.recorded} {r.lot or '-'}: " + tr(
                        msg(
                            "{severity} {letter} n={n} Ac={ac} Re={re}, {bad} nonconforming, {decision}",
                            severity=severity_word(p.severity),
                            letter=p.code_letter,
                            n=p.sample_size,
                            ac=p.acceptance_number,
                            re=p.rejection_number,
                            bad=st.outcome.nonconforming,
                            decision=_accepted(st.outcome.accepted),
                        )
                    )
                    extra = "; ".join(tr(x) for x in (st.score_note, st.transition) if x)
                    out.print(line + (f" ({extra})" if extra else ""), highlight=False, soft_wrap=True)
        except HistoryError as exc:
            raise usage_error(reason(exc)) from None


SEVERITIES = (
    NP_("inspection severity", "normal"),
    NP_("inspection severity", "tightened"),
    NP_("inspection severity", "reduced"),
)
"""ISO 2859-1's inspection severities, as msgids (a history stores them in English)."""


def _where(state: Any) -> str:
    """Where a supplier's next lot is inspected, in the command's language."""
    if state.state == "discontinued":
        return tr(msg("DISCONTINUED (corrective action, then dqm lots resume)"))
    severity = severity_word(state.state)
    if state.state == "normal":
        return tr(msg("{severity} inspection, switching score {score}", severity=severity, score=state.score))
    return tr(msg("{severity} inspection", severity=severity))


def _accepted(accepted: bool) -> str:
    return tr(msg("accepted")) if accepted else tr(msg("NOT accepted"))


@lots_app.command("resume")
def resume_command(
    history: HistoryArg,
    name: Annotated[str, typer.Option("--supplier", help="The supplier, as the history names it.")],
    note: Annotated[str, typer.Option(help="The corrective action taken, for the record.")] = "",
    profile: ProfileOpt = None,
    mask_key: MaskKeyOpt = None,
    lang: LangOpt = "en",
) -> None:
    """After a supplier's corrective action, resume its discontinued inspection at tightened."""
    with _existing_history(history, profile, mask_key) as h:
        try:
            state = h.resume(name, note)
        except ValueError as exc:
            raise usage_error(reason(exc)) from None
    out.print(tr(msg("{supplier}: next lot at {where}", supplier=name, where=_where(state))), highlight=False)
