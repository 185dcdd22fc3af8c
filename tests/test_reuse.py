"""One pass, reused: an audit's result accepted or refused, and its run rebuilt from its records."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dqm.cli import app
from dqm.identifiers import Masker, load_mask_key
from dqm.profile import Profile, load_profile
from dqm.results import QualityResult, load_result
from dqm.reuse import audit_item_options, refusal, reused_run
from dqm.runner import Run, RunOptions, file_stat, run_batch

# `audited` is the fixture of test_cache_cli (a small batch and its audit), taken by the tests below
# ruff: noqa: F811
from tests.test_cache_cli import _result, audited  # noqa: F401

runner = CliRunner()


@pytest.fixture(scope="module")
def fresh(audited: tuple[Path, Path]) -> Run:
    return run_batch(audited[0], load_profile(None), RunOptions(workers=1))


def _masker(profile: Profile) -> Masker:
    """The masker the audit ran with (the key of this machine): it keys and masks the record cache."""
    return Masker(profile.deid, load_mask_key())


def _same_run(a: Run, b: Run) -> None:
    assert [o.to_dict() for o in a.outcomes] == [o.to_dict() for o in b.outcomes]
    assert a.findings == b.findings


def test_the_run_is_rebuilt_from_the_records_without_checking_again(audited, fresh):
    batch, out = audited
    result = load_result(out / "results.json")
    profile = load_profile(None)
    assert refusal(result, out / "results.json", batch, profile) is None
    reused = reused_run(
        result, batch, profile, out / ".dqm-cache", RunOptions(workers=1), mask=_masker(profile)
    )
    assert reused.rechecked == [] and reused.why == ""
    _same_run(reused.run, fresh)
    assert [o.annotation is not None for o in reused.run.outcomes] == [
        o.annotation is not None for o in fresh.outcomes
    ]


def test_items_the_cache_lacks_are_checked_again_and_named(audited, fresh, tmp_path):
    batch, out = audited
    cache = tmp_path / "cache"
    shutil.copytree(out / ".dqm-cache", cache)
    with sqlite3.connect(cache / "records.sqlite") as db:
        (n,) = db.execute("SELECT count(*) FROM records").fetchone()
        db.execute("DELETE FROM records WHERE rowid IN (SELECT rowid FROM records LIMIT 2)")
    result = load_result(out / "results.json")
    reused = reused_run(
        result, batch, load_profile(None), cache, RunOptions(workers=1), mask=_masker(load_profile(None))
    )
    assert len(reused.rechecked) == 2 and n == len(fresh.outcomes)
    assert "holds no record of them" in reused.why
    _same_run(reused.run, fresh)
    # the records checked again joined the cache: the next reuse checks nothing
    again = reused_run(
        result, batch, load_profile(None), cache, RunOptions(workers=1), mask=_masker(load_profile(None))
    )
    assert again.rechecked == []


def test_without_the_cache_every_item_is_checked_again_and_it_says_why(audited, fresh, tmp_path):
    batch, out = audited
    result = load_result(out / "results.json")
    reused = reused_run(result, batch, load_profile(None), tmp_path / "none", RunOptions(workers=1))
    assert sorted(reused.rechecked) == sorted(o.summary.slide_id for o in fresh.outcomes)
    assert "does not exist" in reused.why
    assert not (tmp_path / "none").exists()  # looking never creates a cache
    _same_run(reused.run, fresh)


def _other_profile(tmp_path: Path) -> Profile:
    text = (Path(__file__).parents[1] / "dqm/profiles/dermatopathology.yaml").read_text()
    path = tmp_path / "other.yaml"
    path.write_text(text.replace('version: "1.0"', 'version: "1.1"', 1))
    return load_profile(str(path))


def test_a_changed_batch_or_another_profile_is_refused(audited, tmp_path):
    batch, out = audited
    result = load_result(out / "results.json")
    why = refusal(result, out / "results.json", batch, _other_profile(tmp_path))
    assert why is not None and "was audited with profile dermatopathology" in why
    changed = tmp_path / "batch"
    shutil.copytree(batch, changed)
    ann = next((changed / "annotations").glob("*.json"))
    ann.write_bytes(ann.read_bytes() + b" ")
    why = refusal(result, out / "results.json", changed, load_profile(None))
    assert why is not None and "does not match the batch" in why


def _with_command(result: QualityResult, *command: str) -> QualityResult:
    return result.model_copy(update={"command": list(command)})


def test_the_audit_item_options_come_from_its_command_line(audited):
    result = load_result(audited[1] / "results.json")
    base = RunOptions(workers=1)
    got = audit_item_options(
        _with_command(result, "dqm", "audit", "b", "--slide-budget", "5", "--label-thumbnails"), base
    )
    assert (got.slide_budget_s, got.label_thumbnails, got.workers) == (5.0, True, 1)
    got = audit_item_options(_with_command(result, "dqm", "audit", "b", "--slide-budget=2.5"), base)
    assert (got.slide_budget_s, got.label_thumbnails) == (2.5, False)
    assert audit_item_options(_with_command(result, "dqm", "audit", "b", "--slide-budget", "x"), base) == base
    assert audit_item_options(_with_command(result, "dqm", "sample", "--label-thumbnails"), base) == base
    for full in (["--full-hashes"], ["--certify"], ["--sign-key", "k.pem"], ["--sign-key=k.pem"]):
        assert audit_item_options(_with_command(result, "dqm", "audit", "b", *full), base).full_hashes
    assert not audit_item_options(_with_command(result, "dqm", "audit", "b", "-j", "1"), base).full_hashes


def test_the_records_of_an_audit_with_full_hashes_are_reused(tmp_path):
    """Its records are cached under full_hashes: read under the default options, every one was
    missed and its item checked again ("holds no record of them under their current files")."""
    from dqm.synth import build_batch

    batch, out = tmp_path / "batch", tmp_path / "out"
    build_batch(batch, 3, seed=7, defect_rate=0.5, max_size=128)
    audit = ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", "--full-hashes"]
    assert runner.invoke(app, audit).exit_code in (0, 1)
    result = _with_command(load_result(out / "results.json"), "dqm", *audit)  # not pytest's command line
    profile = load_profile(None)
    reused = reused_run(
        result, batch, profile, out / ".dqm-cache", RunOptions(workers=1), mask=_masker(profile)
    )
    assert reused.rechecked == []


def test_an_audit_from_results_runs_the_diversity_stage_like_a_fresh_one(audited, tmp_path):
    batch, out = audited
    fresh, reused = tmp_path / "fresh", tmp_path / "reused"
    got = runner.invoke(app, ["audit", str(batch), "--out", str(fresh), "-j", "1", "--no-cache"])
    assert got.exit_code in (0, 1), got.output
    got = runner.invoke(
        app, ["audit", str(batch), "--out", str(reused), "-j", "1", "--results", str(out / "results.json")]
    )
    assert got.exit_code in (0, 1), got.output
    text = " ".join(got.output.split())
    assert "8 of 8 items taken from the audit" in text and "checked again" not in text
    assert not (reused / ".dqm-cache").exists()  # the audit's records were read where they are
    assert load_result(reused / "results.json").diversity is not None
    assert _result(fresh / "results.json") == _result(reused / "results.json")


def test_an_audit_from_results_refuses_a_changed_batch_and_another_profile(audited, tmp_path):
    batch, out = audited
    changed = tmp_path / "batch"
    shutil.copytree(batch, changed)
    ann = next((changed / "annotations").glob("*.json"))
    ann.write_bytes(ann.read_bytes() + b" ")
    results = ["--results", str(out / "results.json")]
    got = runner.invoke(app, ["audit", str(changed), "--out", str(tmp_path / "a"), *results])
    assert got.exit_code == 2
    assert "does not match the batch" in " ".join(got.output.split())
    assert not (tmp_path / "a" / "results.json").exists()
    other = tmp_path / "other.yaml"
    _other_profile(tmp_path)
    got = runner.invoke(
        app, ["audit", str(batch), "--out", str(tmp_path / "b"), "--profile", str(other), *results]
    )
    assert got.exit_code == 2
    assert "was audited with profile dermatopathology" in " ".join(got.output.split())
    got = runner.invoke(app, ["audit", str(batch), "--out", str(tmp_path / "c"), "--no-cache", *results])
    assert got.exit_code == 2 and "drop --no-cache" in got.output


def test_a_file_openslide_opens_besides_a_slide_changed_since_the_audit_is_refused(tmp_path):
    """The fingerprint left out a MIRAX slide's data files: one rewritten since the audit was
    accepted, and the item, its cache key changed, was checked again under the old result (the
    plan ``dqm sample`` draws, the findings ``validity`` joins) with a warning. It is refused as
    a changed slide is; a data file only touched (its stat, not its print, changed) is not. A
    result written before 1.15 is compared by the fingerprint it made, without those files."""
    from dqm.syntactic.accuracy import batch_fingerprint
    from dqm.verify import check_batch
    from tests.test_cache_certify import _mirax

    batch, out = tmp_path / "batch", tmp_path / "out"
    data = _mirax(batch)
    got = runner.invoke(app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic"])
    assert got.exit_code in (0, 1), got.output
    result, profile = load_result(out / "results.json"), load_profile(None)
    parts = {f.path: f for f in result.batch.files if f.role == "slide_part"}
    assert set(parts) == {"m/Slidedat.ini", "m/Index.dat", "m/Data0.dat"}
    assert parts["m/Data0.dat"].stat == [*file_stat(data)] and parts["m/Data0.dat"].quick_print
    assert refusal(result, out / "results.json", batch, profile) is None
    assert check_batch(result, batch, None).ok
    os.utime(data, ns=(1, 1))  # touched: its print is read again, and is the same
    assert refusal(result, out / "results.json", batch, profile) is None
    with data.open("r+b") as fh:
        fh.write(b"other")
    why = refusal(result, out / "results.json", batch, profile)
    assert why is not None and "does not match the batch" in why
    assert not check_batch(result, batch, None).ok
    before = result.batch.model_copy(update={"fingerprint": batch_fingerprint(batch, parts=False)})
    older = result.model_copy(update={"schema_version": "1.14", "batch": before})
    assert refusal(older, out / "results.json", batch, profile) is None


def _audited_mirax(root: Path, slidedat: bytes, *args: str) -> tuple[Path, Path, QualityResult]:
    """A MIRAX batch (``tests.test_cache_certify._mirax``) whose ``Slidedat.ini`` is ``slidedat``,
    audited (syntactic stage, ``args`` more): the batch, the output folder and its result."""
    from tests.test_cache_certify import _mirax

    batch, out = root / "batch", root / "out"
    _mirax(batch)
    (batch / "m" / "Slidedat.ini").write_bytes(slidedat)
    got = runner.invoke(
        app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", *args]
    )
    assert got.exit_code in (0, 1), got.output
    return batch, out, load_result(out / "results.json")


def test_a_file_besides_a_slide_that_is_an_annotation_too_leaves_an_unchanged_batch_accepted(tmp_path):
    """A ``Slidedat.ini`` naming the item's own annotation as a data file: the fingerprint holds
    that file's line twice, by its SHA-256 (annotation) and its quick print (a file besides the
    slide). The recorded prints were keyed by path alone, so the recheck took the annotation's
    SHA-256 for the quick print and refused the unchanged batch."""
    from dqm.verify import check_batch

    ini = b"[HIERARCHICAL]\nINDEXFILE=Index.dat\nFILE_0=Data0.dat\nFILE_1=../m.json\n"
    batch, out, result = _audited_mirax(tmp_path, ini, "--no-cache")
    assert {(f.path, f.role) for f in result.batch.files} >= {
        ("m.json", "annotation"),
        ("m/Data0.dat", "slide_part"),
    }
    assert refusal(result, out / "results.json", batch, load_profile(None)) is None
    assert check_batch(result, batch, None).ok
    (batch / "m.json").write_text((batch / "m.json").read_text() + " ")
    assert refusal(result, out / "results.json", batch, load_profile(None)) is not None


def test_a_file_besides_a_slide_named_by_bytes_not_utf8_is_fingerprinted_and_verified(tmp_path):
    """A ``Slidedat.ini`` naming ``\\xff\\xfe.dat`` (that file there): the audit crashed
    (UnicodeEncodeError, rc 4) hashing the fingerprint's lines, and results.json could not hold
    the name. The name is written with its bad bytes as ``\\xNN``; the batch is accepted by
    ``--results`` and ``dqm verify --batch``, and refused once that file changes."""
    ini = b"[HIERARCHICAL]\nINDEXFILE=Index.dat\nFILE_0=Data0.dat\nFILE_1=\xff\xfe.dat\n"
    odd = os.fsencode(tmp_path / "batch" / "m") + b"/\xff\xfe.dat"
    (tmp_path / "batch" / "m").mkdir(parents=True)
    with open(odd, "wb") as fh:
        fh.write(b"odd")
    batch, out, result = _audited_mirax(tmp_path, ini, "--no-cache")
    assert ("m/\\xff\\xfe.dat", "slide_part") in {(f.path, f.role) for f in result.batch.files}
    assert refusal(result, out / "results.json", batch, load_profile(None)) is None
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 0, got.output
    assert "by quick print only: slides and the files OpenSlide opens" in " ".join(got.output.split())
    with open(odd, "wb") as fh:
        fh.write(b"changed")
    assert refusal(result, out / "results.json", batch, load_profile(None)) is not None
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 1 and "m/\\xff\\xfe.dat: quick print" in got.output


def test_files_besides_a_slide_named_with_a_backslash_are_verified_as_named(tmp_path):
    """A ``Slidedat.ini`` naming ``\\xff.dat`` (four ASCII characters, a file of that name there)
    beside ``\xff.dat`` (one byte 0xff) and ``sub\\D.dat`` (a file named with a backslash, and a
    ``sub/D.dat`` besides): ``dqm verify --batch`` looked each up through the jail's normalising,
    which takes ``\\`` for a separator ("not in the batch any more"; ``sub/D.dat``'s print compared
    with the other's), and the first two were written under one name (one listed for two files).
    Each is listed once under its own name and the unchanged batch is verified; a change to any
    is refused."""
    ini = b"[HIERARCHICAL]\nINDEXFILE=Index.dat\nFILE_0=Data0.dat\nFILE_1=\\xff.dat\nFILE_2=\xff.dat\nFILE_3=sub\\D.dat\n"
    m = os.fsencode(tmp_path / "batch" / "m")
    (tmp_path / "batch" / "m" / "sub").mkdir(parents=True)
    named = {
        b"/\\xff.dat": b"literal",
        b"/\xff.dat": b"byte",
        b"/sub\\D.dat": b"backslash",
        b"/sub/D.dat": b"folder",
    }
    for name, data in named.items():
        with open(m + name, "wb") as fh:
            fh.write(data)
    batch, out, result = _audited_mirax(tmp_path, ini, "--no-cache")
    parts = {f.path for f in result.batch.files if f.role == "slide_part"}
    assert {"m/\\x5cxff.dat", "m/\\xff.dat", "m/sub\\x5cD.dat"} <= parts
    assert refusal(result, out / "results.json", batch, load_profile(None)) is None
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 0, got.output
    for name in (b"/\\xff.dat", b"/\xff.dat", b"/sub\\D.dat"):
        with open(m + name, "wb") as fh:
            fh.write(b"changed!!")
        assert refusal(result, out / "results.json", batch, load_profile(None)) is not None
        got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
        assert got.exit_code == 1, got.output
        with open(m + name, "wb") as fh:
            fh.write(named[name])


MIRAX_1_14 = Path(__file__).parent / "fixtures" / "mirax-1.14" / "results.json"
"""results.json written by dqm at 554a3a4 (results 1.14, before the files besides a slide were
fingerprinted) of ``tests.test_cache_certify._mirax``'s batch: ``dqm audit BATCH --stages syntactic
--no-cache -j 1``. Never regenerated."""


def test_a_mirax_result_written_before_1_15_is_compared_by_the_fingerprint_it_made(tmp_path):
    """A result of 1.14 fingerprinted a MIRAX slide by its ``.mrxs`` alone: ``--results`` and
    ``dqm verify --batch`` compare it so, not with the files besides the slide (which it does not
    list). The 1.14 case above builds its fingerprint with this code; this one was made by the
    dqm of 1.14, so a check that ignored the schema version fails here."""
    from dqm.verify import check_batch
    from tests.test_cache_certify import _mirax

    batch, out = tmp_path / "batch", tmp_path / "out"
    _mirax(batch)
    out.mkdir()
    shutil.copy(MIRAX_1_14, out / "results.json")
    result = load_result(out / "results.json")
    assert result.schema_version == "1.14" and {f.role for f in result.batch.files} == {"slide", "annotation"}
    # the profile the result was audited with (the built-in one has changed since)
    audited_with = load_profile(MIRAX_1_14.with_name("profile.yaml"))
    assert refusal(result, out / "results.json", batch, audited_with) is None
    assert check_batch(result, batch, None).ok
    got = runner.invoke(app, ["verify", str(out), "--batch", str(batch)])
    assert got.exit_code == 0 and "VERIFIED" in got.output, got.output
    (batch / "m.mrxs").write_bytes(b"\1" * 64)  # a file it did fingerprint: refused by both
    assert refusal(result, out / "results.json", batch, audited_with) is not None
    assert runner.invoke(app, ["verify", str(out), "--batch", str(batch)]).exit_code == 1


def test_the_run_keeps_one_copy_of_the_prints_and_stats_of_files_slides_share(tmp_path):
    """100 MIRAX slides each naming the same 1,000 files: each record kept its own 1,000 prints
    and stats (the Compactor left ``parts`` out), 0.78 MB a slide. Equal ones are shared now."""
    from tests.helpers import native_doc

    batch = tmp_path / "batch"
    (batch / "shared").mkdir(parents=True)
    for j in range(3):
        (batch / "shared" / f"d{j}").write_bytes(b"x")
    for name in ("m", "n"):
        (batch / name).mkdir()
        (batch / f"{name}.json").write_text(json.dumps(native_doc()))
        (batch / f"{name}.mrxs").write_bytes(b"\0" * 64)
        ini = "[HIERARCHICAL]\n" + "".join(f"FILE_{j}=../shared/d{j}\n" for j in range(3))
        (batch / name / "Slidedat.ini").write_text(ini)
    from dqm.runner import Compactor

    run = run_batch(batch, load_profile(None), RunOptions(workers=1))
    records = run.outcomes
    shared = [p for p in records.parts_of(0) if p.startswith("shared/")]
    assert (
        shared
        == [p for p in records.parts_of(1) if p.startswith("shared/")]
        == ["shared/d0", "shared/d1", "shared/d2"]
    )
    for part in shared:
        assert records.parts_of(0)[part] is records.parts_of(1)[part]
    keep = Compactor()  # records as a worker sends them back: their own copies
    m, n = (keep(run.record(k), run.discovery.items[k]) for k in (0, 1))
    for part in shared:
        assert m.parts[part] is n.parts[part] and m.stats[part] is n.stats[part]
        assert m.stats[part] == records.stat_of(0, part)


def test_past_the_bound_the_names_of_a_slidedat_are_not_resolved_and_verify_finds_them_once(
    tmp_path, monkeypatch
):
    """A ``Slidedat.ini`` of 1 MiB naming 55,000 files there: every name was resolved and stat'ed
    to keep the first :data:`~dqm.slide_refs.MAX_PARTS` (``--results`` and ``dqm verify
    --batch`` 1.2 → 15.5 s), and ``dqm verify --batch`` found them twice (the fingerprint and
    the files). Resolving stops one file past the bound; verify finds them once."""
    import dqm.slide_refs
    import dqm.syntactic.accuracy
    import dqm.verify
    from dqm.slide_refs import slide_parts
    from tests.test_cache_certify import _mirax

    root = tmp_path / "batch"
    _mirax(root)
    (root / "m" / "Slidedat.ini").write_text(
        "[HIERARCHICAL]\n" + "".join(f"FILE_{j}=d{j}\n" for j in range(50))
    )
    for j in range(50):
        (root / "m" / f"d{j}").write_bytes(b"")
    monkeypatch.setattr(dqm.slide_refs, "MAX_PARTS", 3)
    resolved: list[str] = []
    real = dqm.slide_refs._refused

    def spy(target: str, real_root: str) -> str | None:
        resolved.append(os.path.basename(target))
        return real(target, real_root)

    monkeypatch.setattr(dqm.slide_refs, "_refused", spy)
    assert slide_parts(str(root / "m.mrxs"), 64, root) == (["m/Slidedat.ini", "m/d0", "m/d1"], True)
    assert len(resolved) <= 6  # Slidedat.ini (twice: its own check), d0, d1, d2: not the 50
    found: list[str] = []
    for module in (dqm.verify, dqm.syntactic.accuracy):
        monkeypatch.setattr(
            module,
            "parts_of",
            lambda root, rel, since_1_16=True, real=module.parts_of: (
                found.append(rel) or real(root, rel, since_1_16)
            ),
        )
    result = load_result(MIRAX_1_14).model_copy(update={"schema_version": "1.15"})
    from dqm.verify import check_batch

    assert not check_batch(result, root, None).ok  # not this batch's result: the parts are looked for
    assert found == ["m.mrxs"]


def test_a_slide_naming_more_files_than_the_bound_is_said_without_a_cache_too(tmp_path):
    """Past :data:`~dqm.slide_refs.MAX_PARTS` files besides a slide, they are neither hashed by
    ``--certify`` nor fingerprinted: the warning came from the result cache's keys alone, so
    ``--no-cache`` wrote 1,000 ``slide_part`` rows and said nothing."""
    from tests.test_cache_certify import _mirax

    batch, out = tmp_path / "batch", tmp_path / "out"
    _mirax(batch)
    names = "".join(f"FILE_{j}=d{j}\n" for j in range(1_002))
    (batch / "m" / "Slidedat.ini").write_text("[HIERARCHICAL]\nINDEXFILE=Index.dat\n" + names)
    for j in range(1_002):
        (batch / "m" / f"d{j}").write_bytes(b"")
    got = runner.invoke(
        app, ["audit", str(batch), "--out", str(out), "-j", "1", "--stages", "syntactic", "--no-cache"]
    )
    assert got.exit_code in (0, 1), got.output
    said = " ".join(got.output.split())
    assert "1 slide(s) name more than 1,000 files that OpenSlide opens besides them" in said
    assert "a DICOM slide among them cannot be reviewed on the review server" in said
    rows = [f for f in load_result(out / "results.json").batch.files if f.role == "slide_part"]
    assert len(rows) == 1_000
