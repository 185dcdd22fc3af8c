"""Study (session 24, issue 15 §1): can a region-level test tell blood, read as red ink, from a red
stroke? Negative so far: docs/formats.md, "Blood read as red ink".

    PYTHONPATH=. python benchmarks/red_ink_regions.py collect SOURCE OUT.json [NAME_PART]
    PYTHONPATH=. python benchmarks/red_ink_regions.py table OUT.json [OUT.json ...]

``collect``: ``SOURCE`` is ``tuning`` (GlaS tuning slides and the real regions) or an external set's
folder (``bench_artefacts.external_slides``); ``NAME_PART`` keeps only the slides whose name holds
it. Each slide is read clean and with the bench's pen injection (its seed + 77777, as
``bench_red_ink.py``) in two red inks, the bench's (225, 35, 45) and the lighter (235, 80, 90).
Only the pen rules run (``artefacts._pens`` on the working image, regions under ``MIN_REGION``
dropped as ``measure`` drops them), not the whole probe: the red share is exact, the slide's pen
share is the four inks' pixels over tissue and ink (the fold rule's inked rims left out). Each final
red region is stored with its features: area, half width (largest distance to its edge), edge
pixels, enclosed holes, texture (standard deviation of the unsmoothed red over its mean, and of
max(g, b) / r), its ring's (``PEN_EDGE`` beyond it) glass share and median colour off the glass,
its own median colour, and on an injected slide whether it is ink (under half of it red on the
clean slide).

``table``: per source, clean slides flagged (pen share over 0.005) and injected slides found, with
no test and with each candidate test dropping the regions it calls blood. Injected slides whose
clean picture is already flagged are left out of the found counts (their "recall" is the blood's).
"""

import collections
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).parent))
import bench_artefacts as ba

from dqm.pixels import artefacts as art
from dqm.pixels.masks import dilate
from dqm.slide_io import tissue_from_rgba

INKS = {"bench@0.9": (225, 35, 45), "(235,80,90)@0.9": (235, 80, 90)}
LIMIT = 0.005


def _median_colour(planes: tuple[np.ndarray, ...], where: np.ndarray) -> list[float]:
    return [float(np.median(c[where])) if where.any() else 0.0 for c in planes]


def regions(img: np.ndarray, tissue: np.ndarray) -> tuple[np.ndarray, list[dict], float]:
    """The final red mask on the working grid, its regions' features, the other inks' share."""
    rgb, tmask, valid, _f = art._shrink(img, tissue, np.ones(tissue.shape, bool))
    work = art._Work.of(rgb)
    min_px = max(4, int(art.MIN_REGION * tmask.size))
    found = art._pens(work.r, work.g, work.b, work.mx, work.sat, work.brown)
    pens = {c: art._drop_small(m & valid, min_px) for c, m in found.items()}
    red = pens["red"]
    pen = pens["blue"] | pens["green"] | pens["red"] | pens["black"]
    denom = max(1, int(np.count_nonzero(tmask | pen)))
    out: list[dict] = []
    if red.any():
        labels, _n = ndimage.label(red)
        dist = ndimage.distance_transform_edt(red)
        planes = tuple(work.raw.transpose(2, 0, 1))
        glass = work.sat < art.STAINED_MIN_SATURATION
        for i, box in enumerate(ndimage.find_objects(labels), 1):
            m = labels == i
            ring = dilate(m, art.PEN_EDGE) & ~m
            rr = planes[0][m]
            hue = np.maximum(planes[1][m], planes[2][m]) / (rr + 1.0)
            out.append(
                {
                    "area": int(m.sum()),
                    "share": float(m.sum() / denom),
                    "half_width": float(dist[m].max()),
                    "edge": int(np.count_nonzero(m & (dist <= 1.0))),
                    "holes": int(np.count_nonzero(ndimage.binary_fill_holes(m[box]) & ~m[box])),
                    "tex_r": float(rr.std() / max(float(rr.mean()), 1.0)),
                    "tex_hue": float(hue.std()),
                    "ring_glass": float(glass[ring].mean()) if ring.any() else 0.0,
                    "colour": _median_colour(planes, m),
                    "ring_colour": _median_colour(planes, ring & ~glass),
                }
            )
    return red, out, float(np.count_nonzero(pen & ~red) / denom)


def collect(src: str, dest: str, only: str = "") -> None:
    if src == "tuning":
        slides = [s for s in ba.numbered(32, True, False) if s[1] != "test"]
    else:
        ext, _ = ba.external_slides(Path(src))
        slides = ba.numbered(0, False, False, ext)
    rows = []
    for n, _side, name, img in slides:
        if only not in name:
            continue
        tissue, _ = tissue_from_rgba(img)
        clean_red, found, other = regions(img, tissue)
        rows.append({"slide": name, "variant": "clean", "other_pen": other, "regions": found})
        for variant, colour in INKS.items():
            ba.INKS["redx"] = colour
            dirty, _ = ba.inject(img, "pen", np.random.default_rng(ba.SEED + n + 77777), "redx")
            red, found, other = regions(dirty, tissue)
            labels, _k = ndimage.label(red)
            for i, reg in enumerate(found, 1):
                m = labels == i
                reg["ink"] = bool(np.count_nonzero(m & clean_red) < 0.5 * np.count_nonzero(m))
            rows.append({"slide": name, "variant": variant, "other_pen": other, "regions": found})
    Path(dest).write_text(json.dumps(rows))
    print(src, len(rows), "rows")


def _ratio(r: dict, c: int) -> float:
    """A region's median channel ``c`` over its ring's (0 where the ring is all glass)."""
    return r["colour"][c] / r["ring_colour"][c] if r["ring_colour"][c] > 0 else 0.0


def _ragged(r: dict) -> float:
    """Edge pixels times half width over area: about 1 for a stroke, 2 for a disc, more when torn."""
    return r["edge"] * r["half_width"] / r["area"]


RULES: dict[str, Callable[[dict], bool]] = {
    "none": lambda r: False,
    "hue texture > 0.04": lambda r: r["tex_hue"] > 0.04,
    "hue texture > 0.06": lambda r: r["tex_hue"] > 0.06,
    "red/ring > 1.03, green/ring > 0.8": lambda r: _ratio(r, 0) > 1.03 and _ratio(r, 1) > 0.8,
    "red/ring > 1.1, green/ring > 0.8": lambda r: _ratio(r, 0) > 1.1 and _ratio(r, 1) > 0.8,
    "ragged > 2.0": lambda r: _ragged(r) > 2.0,
    "holes > 0.02 of area": lambda r: r["holes"] > 0.02 * r["area"],
    "ragged > 2.0, red/ring > 1.0": lambda r: _ragged(r) > 2.0 and _ratio(r, 0) > 1.0,
    "holes > 0.02, red/ring > 1.0": lambda r: r["holes"] > 0.02 * r["area"] and _ratio(r, 0) > 1.0,
}


WRAPPERS = {"ImageMask", "Dataset", "TensorFlow", "Tensorflow", "FlexUNet", "Image", "Segmentation", "Tiled"}
"""Words of the external sets' folder names that name the wrapping repository, not the source."""


def _source(slide: str) -> str:
    if "__" not in slide:
        return "tuning"
    words = slide.split("__")[0].replace("EfficientNet-", "").split("-")
    return "-".join(w for w in words if w not in WRAPPERS)


def table(paths: list[str]) -> None:
    rows = [row for p in paths for row in json.loads(Path(p).read_text())]

    def share(row: dict, drop: Callable[[dict], bool]) -> float:
        return sum(r["share"] for r in row["regions"] if not drop(r)) + row["other_pen"]

    flagged = {
        row["slide"] for row in rows if row["variant"] == "clean" and share(row, RULES["none"]) > LIMIT
    }
    before: dict[tuple[str, str], int] = {}
    for name, drop in RULES.items():
        counts: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
        for row in rows:
            if row["variant"] != "clean" and row["slide"] in flagged:
                continue
            c = counts[(_source(row["slide"]), "clean" if row["variant"] == "clean" else "ink")]
            c[0] += 1
            c[1] += share(row, drop) > LIMIT
        before = before or {key: v[1] for key, v in counts.items()}
        total = {
            k: [sum(v[i] for key, v in counts.items() if key[1] == k) for i in (1, 0)]
            for k in ("clean", "ink")
        }
        moved = {
            k: ", ".join(
                f"{s[:24]} {before[(s, kk)]}->{v[1]}"
                for (s, kk), v in sorted(counts.items())
                if kk == k and v[1] != before[(s, kk)]
            )
            for k in ("clean", "ink")
        }
        print(
            f"{name:34} clean flagged {total['clean'][0]}/{total['clean'][1]} ({moved['clean'] or '-'}),"
            f" ink found {total['ink'][0]}/{total['ink'][1]} ({moved['ink'] or '-'})"
        )


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        collect(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    else:
        table(sys.argv[2:])
