"""A validity run from end to end: usable slides, folds, training, whole-slide Dice, the result.

:func:`validity_stage` is the audit stage ``(run, result, options) -> ValidityResult``;
:func:`run_validity` checks a batch first (syntactic accuracy decides which slides are usable).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dqm.coords import Frame
from dqm.i18n import N_, msg
from dqm.output import Mask, make_folder, write_file
from dqm.profile import Profile
from dqm.runner import Run
from dqm.validity.data import (
    DecodedCache,
    Excluded,
    SlideReader,
    SlideRecord,
    SlideRefused,
    decoded_cache_share,
    index_slide,
    rasterise,
    select_slides,
)
from dqm.validity.metrics import (
    by_institution,
    confusion_counts,
    lesion_dice,
    slide_dice,
    summarise_classes,
    summarise_pooled,
)
from dqm.validity.models import (
    ClassDice,
    ExcludedSlide,
    FoldSummary,
    Overlay,
    PixelCounts,
    SlideScore,
    SplitSummary,
    SubsetDice,
    SuspiciousSlide,
    Timing,
    ValidityResult,
    gated_figures,
)
from dqm.validity.overlay import overlay_uri, step_for
from dqm.validity.settings import ValidityProfile
from dqm.validity.split import Fold, make_folds
from dqm.validity.train import Reporter

RESULT_FILE = "validity.json"
CHECKPOINTS = "checkpoints"

METHOD = N_(
    "Slides with any syntactic error are left out. Tiles are read at {res:g} µm/px (the pyramid level "
    "at or below, resized) and masks rasterised from the lesion polygons (a pixel belongs to a lesion "
    "when its centre is inside it and outside its holes; where lesions overlap the smaller one wins; "
    "a label mask's regions are outlined at its pixel edges, so this samples the mask itself). "
    "Split: {split}; groups are patients (slides without patient_id are their own group), never tiles. "
    "Network: MONAI {net}, DiceCE loss, {epochs} epochs of {tiles} class-balanced tiles of {tile} px, "
    "seed {seed}. Each held-out slide is predicted whole with MONAI sliding_window_inference "
    "(overlap {overlap}, Gaussian blending) and scored with MONAI DiceMetric per class "
    "(include_background=False, ignore_empty=True: a class absent from a slide's annotation is NaN "
    "there). Mean slide Dice of a class = mean over the held-out slides annotated with it; pooled "
    "Dice = 2TP / (2TP + FP + FN) with the pixels summed over every held-out slide, so a class "
    "predicted on a slide annotated without it counts. {conf:.0%} percentile bootstrap over patients, "
    "each drawn with all its slides ({boot} resamples, stratified by class). "
    "Pass: every class has held-out slides and its {figure} ({gate}) reaches its target. "
    "Suspicion of a slide = 1 - its lesion Dice (all classes together) from a model that never saw it."
)


@dataclass(slots=True)
class ValidityOptions:
    """How to run the validity stage."""

    profile: ValidityProfile
    out: Path
    """Folder for ``validity.json`` and the checkpoints (created)."""
    device: str | None = None
    """``auto``, ``cpu`` or ``cuda``; None takes the profile's."""
    resume: bool = False
    """Continue from the checkpoints in ``out`` (they must match the settings and slides)."""
    reporter: Reporter = field(default_factory=Reporter)
    mask: Mask | None = None
    """The run's masker: ``validity.json`` names slides and classes from the batch."""


def fold_seed(seed: int, n: int) -> int:
    """The training seed of the ``n``-th fold (tiles, initial weights, augmentations)."""
    return seed + 7919 * n


def checkpoint_files(names: Sequence[str]) -> list[str]:
    """A checkpoint file name per fold name: its letters and digits, lower-cased (``holdout.pt``,
    ``fold-1-5.pt``); when two folds would share a file that way, or a name has no such character
    (every institution named in Korean: ``institution 서울대병원`` and ``institution 대구병원``),
    every name also carries the first 12 hex digits of its SHA-256, so no fold overwrites
    another's checkpoint (and ``--resume`` does not find another fold's)."""
    slugs = [re.sub(r"[^A-Za-z0-9]+", "-", n).strip("-").lower() for n in names]
    if all(slugs) and len(set(slugs)) == len(slugs):
        return [f"{s}.pt" for s in slugs]
    return [
        f"{s or 'fold'}-{hashlib.sha256(n.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}.pt"
        for s, n in zip(slugs, names, strict=True)
    ]


def _unit(records: Sequence[SlideRecord]) -> str:
    with_patient = sum(r.patient != r.slide_id for r in records)
    if with_patient == len(records):
        return "patient"
    return "slide" if with_patient == 0 else "patient (slide where patient_id is missing)"


def score_slide(
    record: SlideRecord, fold: str, pred: np.ndarray, truth: np.ndarray, classes: Sequence[str]
) -> SlideScore:
    """One held-out slide's Dice per class (MONAI), lesion Dice and suspicion score."""
    dice = slide_dice(pred, truth, len(classes) + 1)
    counts = confusion_counts(pred, truth, len(classes) + 1)
    ld = lesion_dice(pred, truth)
    return SlideScore(
        slide_id=record.slide_id,
        fold=fold,
        institution=record.institution,
        diagnosis=record.diagnosis,
        dice={c: float(d) for c, d in zip(classes, dice, strict=True) if not np.isnan(d)},
        lesion_dice=ld,
        suspicion=0.0 if ld is None else 1.0 - ld,
        annotated_px=int(np.count_nonzero(truth)),
        predicted_px=int(np.count_nonzero(pred)),
        pixels={
            c: PixelCounts(tp=int(tp), fp=int(fp), fn=int(fn))
            for c, (tp, fp, fn) in zip(classes, counts, strict=True)
            if tp + fp + fn
        },
        group=record.group,
        split_value=record.split_value,
    )


GATED_FIGURE = {
    "pooled": N_("pooled Dice"),
    "per_slide": N_("mean slide Dice"),
    "both": N_("pooled and mean slide Dice"),
}


@dataclass(frozen=True, slots=True)
class Decision:
    """The class figures of the held-out slides and the decision on them."""

    dice_per_class: dict[str, ClassDice]
    """Mean slide Dice per class, each with its pooled Dice."""
    mean: tuple[float | None, float | None, float | None]
    """Mean slide Dice over classes, with its interval."""
    pooled_mean: tuple[float | None, float | None, float | None]
    passed: bool
    """Every class has held-out slides and each figure ``gate_dice`` names reaches its target."""


def decide(scores: Sequence[SlideScore], classes: Sequence[str], prof: ValidityProfile) -> Decision:
    """Per-class Dice (mean over slides, and pooled) with intervals, and the gate on them."""
    ev = prof.evaluation
    targets = {c: prof.target_for(c) for c in classes}
    args = (scores, classes, targets, ev.bootstrap, ev.confidence, prof.seed, ev.gate_on)
    slides = summarise_classes(*args, gated=ev.gate_dice != "pooled")
    pooled = summarise_pooled(*args, gated=ev.gate_dice != "per_slide")
    per_class = {c: d.model_copy(update={"pooled": pooled[0][c]}) for c, d in slides[0].items()}
    gates = gated_figures(per_class)
    return Decision(
        dice_per_class=per_class,
        mean=slides[1:],
        pooled_mean=pooled[1:],
        passed=bool(gates) and all(g.passed for g in gates),
    )


def by_test_set(
    scores: Sequence[SlideScore], classes: Sequence[str], prof: ValidityProfile
) -> list[SubsetDice]:
    """Dice per class over the held-out slides of each test value of a ``column`` split, with the
    run's intervals (reported, not gated)."""
    out = []
    for value in prof.split.test_values:
        subset = [sc for sc in scores if sc.split_value == value]
        if not subset:
            continue
        d = decide(subset, classes, prof)
        out.append(
            SubsetDice(
                name=value,
                n_slides=len(subset),
                n_groups=len({sc.group or sc.slide_id for sc in subset}),
                dice_per_class=d.dice_per_class,
                mean_dice=d.mean[0],
                pooled_mean_dice=d.pooled_mean[0],
            )
        )
    return out


@dataclass(slots=True)
class Evaluated:
    """Held-out slides scored by one model."""

    scores: list[SlideScore] = field(default_factory=list)
    small: dict[str, tuple[int, np.ndarray, np.ndarray]] = field(default_factory=dict)
    """slide id -> (subsampling step, predicted labels, annotated labels), for the overlays."""
    unreadable: list[Excluded] = field(default_factory=list)


def run_cache(prof: ValidityProfile) -> DecodedCache:
    """The decoded plain images the run's own process keeps while it indexes, predicts and draws
    the slides: one process's share of ``training.decoded_cache_mib``, as a training process's
    (:func:`~dqm.validity.data.decoded_cache_share`). Its readers read one slide at a time, each
    forgotten when closed: a reader made alone kept 512 MiB of its own, outside the budget. An
    image larger than the share is held while its slide is read (``hold_larger``): predicting it
    decoded it again for each block."""
    t = prof.training
    share = decoded_cache_share(t.decoded_cache_mib, t.loader_workers, t.processes)
    return DecodedCache(share, hold_larger=True)


def decoded_over_share(decoded: Sequence[int], prof: ValidityProfile) -> str | None:
    """What a run says once (before training) of its plain images that decode to more than one
    process's share of ``training.decoded_cache_mib`` (``decoded``: each usable slide's bytes
    decoded, :meth:`~dqm.validity.data.SlideReader.check`; 0 for a slide OpenSlide reads): a
    training process keeps none of them, and decodes one whole again for each batch of tiles
    read from it (once a tile before batches were read slide by slide), which nothing said. None
    when every one fits. Names counts and sizes only (no slide), and the setting that keeps them
    all: their sum in each process that reads tiles."""
    t = prof.training
    readers = max(1, t.loader_workers) * max(1, t.processes)
    share = decoded_cache_share(t.decoded_cache_mib, t.loader_workers, t.processes)
    over = [b for b in decoded if b > share]
    if not over:
        return None
    mib = 1 << 20
    return msg(
        "{n} plain images decode to more than a training process's share of training.decoded_cache_mib "
        "({share:,.4g} MiB: {budget:,} MiB among {readers} processes reading tiles; the largest decodes to "
        "{largest:,} MiB): such an image is decoded whole again for each batch of training tiles read from it. "
        "training.decoded_cache_mib: {needed:,} keeps every plain image decoded (or fewer loader_workers)",
        n=len(over),
        share=share / mib,
        budget=t.decoded_cache_mib,
        readers=readers,
        largest=_mib_up(max(over)),
        needed=-(-sum(decoded) // mib) * readers,
    )


def _mib_up(n: int) -> float:
    """``n`` bytes in MiB, rounded up to one decimal below 10 MiB, to a whole MiB above: an image
    of 0.6 MiB over a 0.5 MiB share read "the largest decodes to 1 MiB" beside it. A whole number
    is an int, printed without a decimal (exactly 1 MiB read "1.0 MiB", just under 10 "10.0")."""
    mib = 1 << 20
    if n >= 10 * mib:
        return -(-n // mib)
    tenths = -(-n * 10 // mib)
    return tenths // 10 if tenths % 10 == 0 else tenths / 10


def evaluate_slides(
    model: Any,
    records: Sequence[SlideRecord],
    fold: str,
    prof: ValidityProfile,
    classes: Sequence[str],
    device: str,
    reporter: Reporter | None = None,
    cache: DecodedCache | None = None,
) -> Evaluated:
    """Predict each slide whole and score it against its annotation; unreadable slides are listed.
    ``cache``: the run's (:func:`run_cache`), made from ``prof`` when not given."""
    from dqm.validity.infer import predict_slide

    ev = prof.evaluation
    out = Evaluated()
    cache = cache if cache is not None else run_cache(prof)
    for k, rec in enumerate(records):
        reader = SlideReader(rec.path, root=rec.root, cache=cache, first=rec.first)
        try:
            pred = predict_slide(
                model,
                reader,
                rec,
                resolution_um=prof.resolution_um,
                tile=prof.tile,
                overlap=ev.overlap,
                sw_batch_size=ev.sw_batch_size,
                block=ev.block,
                device=device,
                amp=prof.training.amp,
            )
        except Exception as exc:  # an unreadable slide is left out with its reason, not a crash
            out.unreadable.append(_unreadable(rec, exc))
            continue
        finally:
            reader.close()
        truth = rasterise(rec.lesions, Frame(downsample=rec.downsample(prof.resolution_um)), pred.shape)
        out.scores.append(score_slide(rec, fold, pred, truth, classes))
        step = step_for(*pred.shape)
        out.small[rec.slide_id] = (step, pred[::step, ::step].copy(), truth[::step, ::step].copy())
        if reporter is not None:
            reporter.slide_done(k + 1, len(records))
    return out


def _fold_summary(fold: Fold, records: Sequence[SlideRecord]) -> FoldSummary:
    return FoldSummary(
        name=fold.name,
        train=[records[i].slide_id for i in fold.train],
        test=[records[i].slide_id for i in fold.test],
        held_out_institution=fold.held_out_institution,
        train_groups=len({records[i].group for i in fold.train}),
        test_groups=len({records[i].group for i in fold.test}),
        shared_groups=len({records[i].group for i in fold.train} & {records[i].group for i in fold.test}),
    )


def validity_stage(run: Run, result: Any, options: ValidityOptions) -> ValidityResult:
    """Train and score on the usable slides of ``run``; write ``validity.json`` and checkpoints.

    ``result`` (the audit's :class:`~dqm.results.QualityResult` so far) is not needed by this
    stage and may be None. Raises ``ValueError`` for a CUDA request without a GPU and
    :class:`~dqm.validity.train.CheckpointMismatch` when resuming from foreign checkpoints.
    """
    import monai
    import torch

    from dqm.validity.train import cpu_threads, reproducible, resolve_device, train_fold

    prof = options.profile
    dataset_profile: Profile = run.profile
    classes = list(dataset_profile.class_ids)
    prof.check_classes(classes)
    colours = [dataset_profile.class_def(c).colour for c in classes]
    device = resolve_device(options.device or prof.device)
    out = options.out
    make_folder(out)
    rep = options.reporter
    t_start = time.perf_counter()

    rep.stage(msg("reading slides"))
    split_column = prof.split.column if prof.split.mode == "column" else None
    records, excluded = select_slides(run, dataset_profile, split_column)
    kept: list[SlideRecord] = []
    for r in records:
        rows, cols = r.size_at(prof.resolution_um)
        if rows * cols > prof.max_slide_pixels:
            excluded.append(_too_large(r, rows, cols, prof.max_slide_pixels))
            continue
        kept.append(r)
    records = kept
    rng = np.random.default_rng(prof.seed)
    indices = []
    usable: list[SlideRecord] = []
    cache = run_cache(prof)
    decoded: list[int] = []  # each usable slide's bytes decoded (plain images)
    for r in records:
        reader = SlideReader(r.path, root=r.root, cache=cache, recorded=r.recorded)
        try:
            # a plain image is decoded whole: refused here, before its index, if it cannot be read
            # at the working resolution (the training tiles and the prediction read it there)
            size = reader.check(r.downsample(prof.resolution_um), (r.width, r.height))
            indices.append(index_slide(r, reader, prof.resolution_um, prof.index_factor, rng))
            r.first = reader.first  # the baseline of every later reader of it (loader workers')
            usable.append(r)
            decoded.append(size)
        except Exception as exc:  # an unreadable slide is left out with its reason, never a crash
            excluded.append(_unreadable(r, exc))
        finally:
            reader.close()
    records = usable
    if (note := decoded_over_share(decoded, prof)) is not None:
        rep.warn(note)
    s = prof.split
    folds = make_folds(records, s.mode, prof.seed, s.test_fraction, s.folds, s.test_values)
    t_prepared = time.perf_counter()

    scores: list[SlideScore] = []
    small: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}
    curve = []
    checkpoints = []
    train_s = infer_s = 0.0
    tiles = 0
    epoch_s: list[float] = []
    unreadable_tiles: dict[str, int] = {}
    ev = prof.evaluation
    files = checkpoint_files([f.name for f in folds])
    with reproducible(device, prof.training.cpu_threads):
        for n, fold in enumerate(folds):
            rep.stage(msg("training {fold}", fold=fold.name))
            ckpt = out / CHECKPOINTS / files[n]
            trained = train_fold(
                profile=prof,
                fold_name=fold.name,
                fold_seed=fold_seed(prof.seed, n),
                records=records,
                indices=indices,
                train_ids=fold.train,
                classes=classes,
                device=device,
                checkpoint=ckpt,
                resume=options.resume,
                reporter=rep,
            )
            checkpoints.append(ckpt.relative_to(out).as_posix())
            curve.extend(trained.curve)
            train_s += trained.seconds
            tiles += trained.tiles
            epoch_s.extend(trained.epoch_seconds)
            for sid, n_bad in trained.unreadable_tiles.items():
                unreadable_tiles[sid] = unreadable_tiles.get(sid, 0) + n_bad
            rep.stage(msg("predicting {fold}", fold=fold.name))
            t0 = time.perf_counter()
            evaluated = evaluate_slides(
                trained.model, [records[i] for i in fold.test], fold.name, prof, classes, device, rep, cache
            )
            scores.extend(evaluated.scores)
            small.update(evaluated.small)
            excluded.extend(evaluated.unreadable)
            infer_s += time.perf_counter() - t0

    decision = decide(scores, classes, prof)
    ranked = sorted(scores, key=lambda sc: (-sc.suspicion, sc.slide_id))
    sus = prof.suspicious
    suspicious = [
        SuspiciousSlide(slide_id=sc.slide_id, score=sc.suspicion, fold=sc.fold, diagnosis=sc.diagnosis)
        for sc in ranked
        if sc.suspicion >= sus.threshold
    ][: sus.top]
    overlays = _overlays(ranked, records, small, colours, prof, cache)
    total = time.perf_counter() - t_start
    res = ValidityResult(
        dice_per_class=decision.dice_per_class,
        mean_dice=decision.mean[0],
        mean_ci_low=decision.mean[1],
        mean_ci_high=decision.mean[2],
        pooled_mean_dice=decision.pooled_mean[0],
        pooled_mean_ci_low=decision.pooled_mean[1],
        pooled_mean_ci_high=decision.pooled_mean[2],
        target=ev.target,
        gate_on=ev.gate_on,
        gate_dice=ev.gate_dice,
        passed=decision.passed,
        classes=classes,
        n_slides=len(run.outcomes),
        n_used=len(records),
        n_scored=len(scores),
        excluded=[ExcludedSlide(slide_id=e.slide_id, reason=e.reason, codes=list(e.codes)) for e in excluded],
        unreadable_tiles=unreadable_tiles,
        training_tiles=tiles,
        split=SplitSummary(
            mode=s.mode,
            unit=_unit(records),
            seed=prof.seed,
            folds=[_fold_summary(f, records) for f in folds],
        ),
        profile=prof,
        seeds={
            "seed": prof.seed,
            "split": prof.seed,
            "bootstrap": prof.seed,
            **{f"training {f.name}": fold_seed(prof.seed, n) for n, f in enumerate(folds)},
        },
        device=device,
        cpu_threads=cpu_threads(prof.training.cpu_threads) if device == "cpu" else None,
        versions={"torch": torch.__version__, "monai": monai.__version__},
        curve=curve,
        per_slide=sorted(scores, key=lambda sc: sc.slide_id),
        by_institution=by_institution(scores, classes),
        by_test_set=by_test_set(scores, classes, prof) if s.mode == "column" else [],
        suspicious=suspicious,
        overlays=overlays,
        checkpoints=checkpoints,
        timing=Timing(
            prepare_s=t_prepared - t_start,
            train_s=train_s,
            infer_s=infer_s,
            total_s=total,
            tiles_per_s=tiles / train_s if train_s > 0 else None,
            epoch_s=float(np.mean(epoch_s)) if epoch_s else None,
        ),
        method=msg(
            METHOD,
            res=prof.resolution_um,
            split=_split_text(prof),
            net=prof.network.kind,
            epochs=prof.training.epochs,
            tiles=prof.training.tiles_per_epoch,
            tile=prof.tile,
            seed=prof.seed,
            overlap=ev.overlap,
            conf=ev.confidence,
            boot=ev.bootstrap,
            figure=GATED_FIGURE[ev.gate_dice],
            gate=N_("point estimate") if ev.gate_on == "dice" else N_("interval's lower end"),
        ),
    )
    write_file(out / RESULT_FILE, res.model_dump_json(indent=1), options.mask)
    return res


def _split_text(prof: ValidityProfile) -> str:
    s = prof.split
    if s.mode == "holdout":
        return msg("one hold-out of about {share:.0%} of each class's patients", share=s.test_fraction)
    if s.mode == "kfold":
        return msg("{folds}-fold cross-fitting (every slide held out once)", folds=s.folds)
    if s.mode == "column":
        return msg(
            "the delivery's own split: {column} in {{{values}}} held out",
            column=s.column,
            values=", ".join(s.test_values),
        )
    return N_("leave one institution out, for each institution")


def _too_large(r: SlideRecord, rows: int, cols: int, limit: int) -> Excluded:
    return Excluded(
        r.slide_id,
        msg(
            "{cols}x{rows} px at the working resolution is over max_slide_pixels ({limit})",
            cols=cols,
            rows=rows,
            limit=limit,
        ),
        ("SLIDE_TOO_LARGE",),
    )


def _unreadable(r: SlideRecord, exc: Exception) -> Excluded:
    if isinstance(exc, SlideRefused):  # read outside the batch, waited, or decoded too much
        return Excluded(r.slide_id, exc.why, (exc.code,))
    error = f"{type(exc).__name__}: {exc}"
    return Excluded(r.slide_id, msg("cannot read the slide: {error}", error=error), ("SLIDE_UNREADABLE",))


def _overlays(
    ranked: Sequence[SlideScore],
    records: Sequence[SlideRecord],
    small: dict[str, tuple[int, np.ndarray, np.ndarray]],
    colours: Sequence[str],
    prof: ValidityProfile,
    cache: DecodedCache,
) -> list[Overlay]:
    n = prof.evaluation.overlays
    with_lesions = [s for s in ranked if s.lesion_dice is not None]
    worst = list(with_lesions[:n])
    best = [s for s in reversed(with_lesions) if s not in worst][:n]
    by_id = {r.slide_id: r for r in records}
    out = []
    for kind, chosen in (("best", best), ("worst", worst)):
        for sc in chosen:
            rec = by_id[sc.slide_id]
            step, pred, truth = small[sc.slide_id]
            reader = SlideReader(rec.path, root=rec.root, cache=cache, first=rec.first)
            try:
                rgb = reader.read(
                    0, 0, pred.shape[0], pred.shape[1], rec.downsample(prof.resolution_um) * step
                )
            except Exception:  # the slide was read moments ago; if it fails now, show no picture
                continue
            finally:
                reader.close()
            out.append(
                Overlay(
                    slide_id=sc.slide_id,
                    kind=kind,  # type: ignore[arg-type]
                    lesion_dice=sc.lesion_dice,
                    image=overlay_uri(rgb, truth, pred, colours),
                )
            )
    return out


def run_validity(
    batch: Path, dataset_profile: Profile, options: ValidityOptions, workers: int | None = None
) -> ValidityResult:
    """Check ``batch`` (syntactic accuracy decides the usable slides), then run the validity stage."""
    from dqm.runner import RunOptions, run_batch

    run = run_batch(batch, dataset_profile, RunOptions(workers=workers, whole_records=True))
    return validity_stage(run, None, options)
