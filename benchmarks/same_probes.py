"""Same probe, to the bit, before and after a speed-up of the slide probe: every field of
``probe_slide`` on a fixed set of slides, digested, so two checkouts' probes can be compared.

    .venv/bin/python benchmarks/same_probes.py build INPUTS [--lot DIR] [--lot-count 200] [--glas 16]
    PYTHONPATH=CHECKOUT .venv/bin/python benchmarks/same_probes.py snapshot INPUTS OUT.json
    .venv/bin/python benchmarks/same_probes.py compare OLD.json NEW.json   # exit 1 and a diff if they differ

``build`` gathers the inputs once, so that both checkouts probe the same files: the first
``--lot-count`` slides of a ``bench_slides.py`` lot (``--lot``: its ``slides`` folder), every file
of ``../shared/data/real/slides``, a ``dqm synth`` batch with defects (24 slides, seed 3), and
``--glas`` GlaS images per side on glass, each clean and with one injected artefact of every kind
of ``bench_artefacts.py`` (written as PNG; their µm per pixel in ``mpp.json``). ``snapshot`` probes
each with the checkout on ``PYTHONPATH`` (in this process) and writes a digest of every field:
numbers exactly (``float.hex``), arrays by dtype, shape and SHA-256 of their bytes, the probe's CPU
seconds left out (the only field that changes between runs).

It is the check for a change that must keep every probe field to the bit. A change allowed to move
the pixel measures' numbers but not the findings (float32 arithmetic, a sample; issue 13 §4's
fifth round) differs here by design: it is held to ``same_findings.py --tolerance REL`` on the
audits' results instead, which names each field that moved and by how much.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL_SLIDES = ROOT.parent / "shared" / "data" / "real" / "slides"
TIMES = ("elapsed_s",)
"""Fields that hold a run's own seconds: not compared."""


def build(inputs: Path, lot: Path | None, lot_count: int, glas: int) -> None:
    """Gather the inputs under ``inputs`` (removed first)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_artefacts import GLAS_MPP, INJECTED, MPP, SEED, clean_slides, inject
    from PIL import Image

    from dqm.synth import build_batch

    if inputs.exists():
        shutil.rmtree(inputs)
    (inputs / "lot").mkdir(parents=True)
    if lot is not None:
        for path in sorted(lot.iterdir())[:lot_count]:
            shutil.copy(path, inputs / "lot" / path.name)
    shutil.copytree(REAL_SLIDES, inputs / "real")
    build_batch(inputs / "demo", 24, seed=3, defect_rate=0.5, max_size=1536)
    (inputs / "glas").mkdir()
    rng = np.random.default_rng(SEED)
    mpp: dict[str, float] = {}
    for k, (_side, name, img) in enumerate(clean_slides(glas)):
        source_mpp = next((v for key, v in MPP.items() if name.startswith(key)), GLAS_MPP)
        for kind in ("clean", *INJECTED):
            out = img if kind == "clean" else inject(img, kind, rng)[0]
            file = f"{k:03d}-{kind}.png"
            Image.fromarray(out).save(inputs / "glas" / file, compress_level=1)
            mpp[file] = source_mpp
    (inputs / "glas" / "mpp.json").write_text(json.dumps(mpp, indent=1))


def digest(value: Any) -> Any:
    """A JSON-able form of a probe field that differs when any bit of it does."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: digest(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in TIMES
        }
    if isinstance(value, np.ndarray):
        return (
            f"{value.dtype}{value.shape}:{hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}"
        )
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): digest(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [digest(v) for v in value]
    if hasattr(value, "__struct_fields__"):  # a msgspec record (the stain summary)
        return {name: digest(getattr(value, name)) for name in value.__struct_fields__}
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return repr(value)


def snapshot(inputs: Path, out: Path) -> None:
    """Probe every input with the ``dqm`` this process imports; write the digests to ``out``."""
    from dqm.slide_io import ProbeOptions, keep_freed_memory, probe_slide

    keep_freed_memory()
    glas_mpp = json.loads((inputs / "glas" / "mpp.json").read_text())
    found: dict[str, Any] = {}
    for part in ("lot", "real", "demo/slides", "glas"):
        for path in sorted((inputs / part).iterdir()):
            if path.name == "mpp.json":
                continue
            options = ProbeOptions(mpp=glas_mpp[path.name]) if part == "glas" else ProbeOptions()
            found[f"{part}/{path.name}"] = digest(probe_slide(path, path.name, options))
    out.write_text(json.dumps(found, indent=1, sort_keys=True))
    print(f"{len(found)} probes digested into {out}")


def compare(old: Path, new: Path) -> int:
    a, b = (json.loads(p.read_text()) for p in (old, new))
    differ = [name for name in sorted(a.keys() | b.keys()) if a.get(name) != b.get(name)]
    for name in differ:
        fields = sorted(
            k
            for k in (a.get(name) or {}).keys() | (b.get(name) or {}).keys()
            if a[name].get(k) != b[name].get(k)
        )
        print(f"{name}: {', '.join(fields)}")
    print(f"{len(a)} and {len(b)} probes, {len(differ)} differ")
    return 1 if differ or not a else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("inputs", type=Path)
    b.add_argument("--lot", type=Path)
    b.add_argument("--lot-count", type=int, default=200)
    b.add_argument("--glas", type=int, default=16)
    s = sub.add_parser("snapshot")
    s.add_argument("inputs", type=Path)
    s.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = ap.parse_args()
    if args.command == "build":
        build(args.inputs, args.lot, args.lot_count, args.glas)
    elif args.command == "snapshot":
        snapshot(args.inputs, args.out)
    else:
        sys.exit(compare(args.old, args.new))


if __name__ == "__main__":
    main()
