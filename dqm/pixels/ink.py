"""Whether a slide's image is ink alone: no section a lesion could lie on.

An all-black, all-blue or all-green image, a dark frame with noise, or an image of ink with white
strips at its borders reads to the artefact measure (:mod:`dqm.pixels.artefacts`) as "tissue"
that is pen ink or near-black (over-stained) throughout. Every share judged on that tissue would
read 100 % (pen marks, over-staining, blur), and every lesion would lie "on pen marks". The
judgement is made here, from the measure, once by the probe (``Artefacts.all_ink``): the item
record keeps it (``items[].slide.all_ink``), and ``slide.lesion_tissue``, ``artefacts.slide``,
``artefacts.lesion`` and ``artefacts.stain`` read it, so that such a slide gets one finding,
``SLIDE_ALL_INK``, and no pixel claim.

An image of one flat colour that is not ink (a blank scan of a tinted field, a placeholder image, a
colour card of one patch: uniform pink read as under-stained tissue, uniform violet as a clean
section) is no section either: :func:`one_colour` judges it from the spread of the working image's
colours over what is not background (:func:`colour_spread`), and the same checks say
``SLIDE_ONE_COLOUR`` of it instead of any pixel claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dqm.pixels.artefacts import Artefacts

ALL_INK = 0.96
"""Share of what is not background (the measure's tissue) that pen ink or near-black pixels must
reach for the slide to be :func:`all_ink` (with :data:`SECTION_MIN`). Measured with the detectors
of session 26 (``benchmarks/all_ink_sources.py``): dark frames with noise read 0.985 (each channel
0 to 39), 0.966 (0 to 49), 0.943 (0 to 59), 0.911 (0 to 79) and 0.795 (0 to 99). The fix round
took 0.9, and a second review found a real over-stained section under it: set 3's
``Case-48-P5-C18-17610-25605_104.jpg`` darkened x2.5 reads 0.904 ink and 0.0077 section, and lost
its ``OVERSTAINED`` to ``SLIDE_ALL_INK``; so 0.96, and frames of 0 to 59 and brighter read as
pen marks (a known limit: a brightness level cannot tell a darkened section from a dark frame,
a texture measure could). A section beside a black area reads above it too (0.959 to 0.971, a
60 px biopsy beside 60 to 80 % black), so the share cannot be the whole rule."""

SECTION_LEVEL = 100
"""Brightest channel a stained section's pixel reaches at least (dark frames 0 to 99 stay under)."""

GLASS_LEVEL = 220
"""Darkest channel a stained section's pixel stays under (the tissue mask's rim of glass does not)."""

SECTION_MIN = 0.01
"""Share of what is not background that is a stained section (:func:`section_share`, read from
:func:`stained_section`'s filtered mask, so a line or a box 1 or 2 px wide adds nothing) under
which the slide may be ink alone (with :data:`SECTION_REGION`, which a small section passes). Dark
frames with noise up to 0 to 99, images of one ink with or without white strips, a 1 px box
framing a black image 5 px in, two 1 px boxes and a 2 px box on a dark frame read 0 (0.011 to
0.017 before the filter, which kept them as sections); a 60 px biopsy beside 60 to 80 % black
reads 0.036 to 0.026, a 40 px one beside 80 % black 0.012 (the closing adds to a textured section:
0.034 to 0.025 and 0.011 unfiltered)."""


SECTION_REGION = 64
"""Pixels at the measure's working scale (:data:`dqm.pixels.artefacts.WORK_SIDE`, at most 512 a
side) of one connected stained-section region (:func:`section_region`, on :func:`stained_section`'s
filtered mask: a line 1 or 2 px wide is none) that keep the slide from being ink alone, whatever its
share. Measured (session 27, the probe's reading of each image as in
``benchmarks/all_ink_sources.py``; GlaS ``testA_1`` resized to a biopsy on a 400 x 300 image): a
24 px biopsy beside 80 to 95 % black reads 0.002 to 0.003 section, under :data:`SECTION_MIN`, but
one region of 316 to 275 px (a 28 px one 412 to 367, 40 px 698 to 612, 60 px 1,498 to 1,390; with
the opening alone, before the closing, 55 to 52, 66 to 63, 204 to 198 and 495 to 451: the 24 and
28 px ones read as ink alone); images of ink alone (dark frames 0 to 99, one-colour inks with and
without white strips, a black stroke on glass) read 0; a 1 or 2 px pink line or box outline across
black, PNG or JPEG, reads 0 (a 1 px line 360 px before the interior was required); the least of
the real sources' clean sections 28,574 px (GlaS ``train_67``; CMU-1-Small-Region 68,976), with an
injected artefact 1,597 (GlaS ``train_77`` over-stained; real 40,897).
Session 28 (a 2 x 2 opening before the closing: strokes 1 px wide dropped, a hatching's, a doubled
outline's): the 24 px biopsy beside 50 to 90 % black reads 200 px, 28 px 252, 40 px 393 to 394; the
least real section with an injected artefact 1,468 (GlaS) and 10,804 (real, CMU-1-Small-Region
over-stained); ink alone 0.
64 (an 8 x 8 px square) stands 3 times under the 24 px biopsy; on a whole slide's 512 px working
image (about 40 to 50 µm a pixel) it is 0.1 to 0.16 mm², under any biopsy core. A section darkened
so that no pixel reaches :data:`SECTION_LEVEL` reads 0 here (the real sources darkened x3 all do):
this rule cannot keep it."""


HATCH_INK = 0.2
"""Share of a connected region of :func:`stained_section`'s mask (after its closing and opening) that
is pen ink or near-black at or over which the region is no section. Measured (session 28, a probe on
``benchmarks/all_ink_sources.py``'s images): a hatching on black of strokes 2 px wide 1 or 2 px
apart, horizontal or vertical, PNG or JPEG (q 75), reads 0.32 to 0.49 (one region of about 5,800
px, a section before this rule), of 3 px strokes 0.25 and 0.38; the made biopsies beside black
(GlaS ``testA_1`` resized to 24 to 60 px, and the tests' textured biopsy whose gaps are glass) 0,
GlaS darkened (gamma 2.5 to 5) 0.009 to 0.015, GlaS ``train_1`` darkened (gamma 3) beside 90 %
black 0.049. A fill ratio (stained before the closing) cannot tell them: the textured biopsy reads
0.57, a 2 px hatching 0.51 to 0.68.
The pieces of ink :func:`stained_section` fills as darkened nuclei (:data:`NUCLEI_HOLE`) count as ink
here (review of allink5: left out, a grid of strokes 1 or 2 px wide on black, its cells filled,
read as one section of 704 to 1,200 px; the over-stained GlaS biopsies fill 0 to 1 % of their region,
grids 21 to 53 %). A grid of strokes 3 px wide around cells of 49 px is ink alone with it too."""


NUCLEI_HOLE = 64
"""Pixels (working scale) under which a connected piece of pen ink or near-black wholly enclosed by
stained pixels counts as the section's own (darkened nuclei) in :func:`stained_section`. Measured
(session 29, ``/tmp/allink5/probe.py``): GlaS ``testA_1`` whose darkest 20, 30 or 50 % of pixels are
made near-black (x 0.15) read one section region of 561, 193 and 0 px without it (13,289 at 10 %), and a
60 px biopsy of it beside 90 % black read all ink from 30 %; ..."""


FLAT_SPREAD = 4.5
"""Standard deviation (0 to 255, the largest of the three channels') of the working image's colours
over what is not background (:func:`colour_spread`) under which the slide is :func:`one_colour`.
Measured (session 28, ``benchmarks/all_ink_sources.py``'s spread column; the probe's reading of
each image, pixel by pixel off the median colour then): one flat colour (pinks, a violet, a
lavender) reads 0, saved as JPEG (quality 75) 0 to 0.34, with sensor noise of sigma 2 about 2.0 (a
grey 2.3), both together 0.5 to 2.0; the least of the real sources' sections 30.4 (GlaS
``train_14``; the skin photograph 39.7). The limit was 6 then.
Session 29: each working pixel is read as the mean of its 3 x 3 neighbours (sensor noise spreads a
third as much) off the image's smooth shade (:func:`_shade`, a surface of degree 2: a vignette or
light from one side spreads nothing). Measured (``/tmp/allink5/probe2.py``): flat colours with noise
of sigma 2, 6, 8 and 10 read 0.7, 2.0, 2.7 and 3.4 (pixel by pixel 2, 6, 8 and 10: sigma 6 was a
section), a pink or violet field shaded by 10 to 60 levels, with or without noise of sigma 2, 0.1 to
0.7 (2 to 13 before: shaded by 40 levels and noisy, or by 60, a section).
Its review found that the 3 x 3 means soften a faded section's texture too (1 to 3 px): GlaS
``testA_1`` blended 85 % toward white read 4.4 (6.3 pixel by pixel), ``testB_5`` and ``testA_30``
blended 85 % and out of focus 5.7 and 5.9, one colour; so the spread is the larger of that and the
pixels' own spread less sensor noise (:func:`_shared_spread`: what two neighbours share), and the
limit 4.5. Measured (fix round, ``/tmp/allink5f/pale.py``): those three read 5.0, 6.0 and 6.2, GlaS
``train_14`` at 80 % 5.0 (a section now; one colour before session 29 too: 5.9 under 6; at 85 % 4.2, one colour as before); blank pink, lavender and
grey slides under vignettes of 30 and 80 levels or a cubic fall-off of 60, with noise of sigma 2 or
6, JPEG (quality 50) or not, 0.6 to 2.1, with 30 dust specks of 4 px 1.9 to 3.8; a flat grey with
noise of sigma 6 under a tissue mask of a few small blobs at most 3.8 (300 random masks,
``/tmp/allink5f/cond6.py``; 8.6 before :data:`SHADE_SAMPLES`); flat colours with noise of sigma 10
about 3.4, saved as JPEG (quality 75) 3.4. ``benchmarks/all_ink_sources.py``: see its docstring
(the grey with noise of sigma 2 whose tissue mask is scattered pixels reads 1.07: its shade is
the mean colour)."""


OFF_COLOUR = 18.0
"""Levels (0 to 255, in the channel that differs most) by which a pixel (read alone) stands off the
smooth shade of what is not background (:func:`_shade`; the median colour before session 29) to count
toward :func:`off_colour_region`. Sensor noise of sigma 2 reaches it at 9 sigma (never), of sigma 4 at
4.5 sigma (single pixels, no region), of sigma 6, 8 and 10 in regions of at most 3, 9 and 40 px
(under :data:`SECTION_REGION`; sigma 12 and more is not caught); a section on a flat field differs
from it by far more (measured, session 28: see :data:`FLAT_SPREAD`; a 40 px GlaS section on a pink
field 1,558 px, on it with noise of sigma 6 1,552)."""


SHADE_STEP = 8
"""Every how many rows and columns of the working image :func:`_shade` fits its surface on (a
sixty-fourth of the pixels: the surface's six terms need few; every pixel where that gives under
:data:`SHADE_SAMPLES`)."""


SHADE_SAMPLES = 64
"""Pixels under which :func:`_shade` fits no surface (the mean colour instead), and samples at
:data:`SHADE_STEP` under which it fits on every pixel inside. Measured (session 29, review of allink5):
a tissue mask of 1 to 5 small blobs (8 to 17 samples at step 8) gave a surface swinging 20 to 40
levels over a flat grey with noise of sigma 6, which then read a spread of 6.1 to 8.6 (a section);
fitted on every pixel of the blobs, at most 3.8 (300 random masks, ``/tmp/allink5f/cond6.py``)."""


LIT_SPREAD = 20.0
"""Spread (:func:`colour_spread`, off the image's one smooth shade) under which a slide that is not
flat is read again as parts of light (:func:`_lit_parts`): a blank slide under a sharp step or a band
of light is two or three flat fields at different levels, which no surface of degree 2 follows.
Measured (session 30, ``/tmp/allink6/step.py``): steps and bands of 20 and 40 levels on pink,
lavender and violet fields (800 x 600) with noise of sigma 2 or 6 read 4.2 to 12 off one shade
(sections), 0.7 to 2.6 as fields (one colour), but where the tissue mask takes only part of the image
(a step of 40 levels with noise of sigma 2: the bright side read as glass), which stays a section; the
real sources' sections read 26.7 and more, faded GlaS sections (``/tmp/allink5f/pale.py``) as before.
The parts are read only on a slide under this that is not flat (and by :func:`off_colour_region` on any
slide under it)."""


TEXTURE_SPREAD = 7.0
"""Levels of spread (:func:`colour_spread`) a level of texture at the tissue scale counts for
(:func:`_texture`: the median over what is not background of a band-pass of the working image's
grey, the difference of its Gaussian means of :data:`TEXTURE_SIGMA` and three times that, so the
spread of a slide under :data:`FLAT_SPREAD` is at least this times its texture. Nuclei and glands are
blobs of 3 to 15 working pixels everywhere on a section, even faded; sensor noise is pixel-scale
(the band-pass keeps a twentieth of it), dust specks are few (the median leaves them out) and
light changes slowly (left out too). Measured (session 31, ``/tmp/allink7/probe.py``: GlaS
``testA_1``, ``train_14``, ``testB_5``, ``train_1`` and ``testA_30`` blended 50 to 90 % toward white,
and 70 and 85 % out of focus; blank pink, lavender and grey slides under vignettes, a cubic fall-off,
noise of sigma 2 to 10, JPEG, mottled noise, dust specks): blanks' texture at most 0.47 (noise of
sigma 10, and mottled noise), the faded sections that were sections at least 0.86 (``train_14`` at
80 %: spread 4.95, which the dust specks' 3.79 stood 1.3 times under; texture 1.8 times), and three
that were one colour 0.70 to 0.91 (``train_14`` at 85 %, ``testA_1`` at 85 % out of focus, ``train_1``
at 90 %: sections now, 4.9 to 6.4). 7 sets the limit of texture at 0.64, midway (geometrically)
between 0.47 and 0.86: the blanks read at most 3.3 from it. Three paler ones whose tissue mask keeps
under :data:`TEXTURE_CORE` pixels read none and stay one colour. Read only on a slide that spreads
under :data:`FLAT_SPREAD` (about 27 ms CPU a slide there, on a working image of 400 x 300)."""


TEXTURE_SIGMA = 2.0
"""Working pixels: the narrower Gaussian of :func:`_texture`'s band-pass (the wider is three times
it); at 1 and 1.5 px the blanks' noise read 2 and 1.4 times more against the faded sections' texture."""


TEXTURE_CORE = 256
"""Working pixels with both of :func:`_texture`'s windows at least half inside under which it reads no
texture (0): a tissue mask of scattered pixels or a few small blobs leaves too little to average, so
noise passes the band-pass (a grey blank with noise of sigma 2 saved as JPEG, whose mask is scattered
pixels, read 3.7 from it; a blob of radius 4 on a grey with noise of sigma 6, 4.0)."""


RIM = 2
"""Working pixels in from the tissue mask's edge (the image's edge is no edge) under which
:func:`off_colour_region` reads no pixel: the mask's rim, which takes a line of what beside it is
glass or a paler field (session 31, ``/tmp/allink7/stripes.py``: 6 noiseless stripes 20 levels apart
on pink, the mask keeping the darker 3 and 2 px of the paler beside each: lines of 600 px off the
shade, a section; none now, one colour)."""


PART_MIN = 0.02
"""Share of what is not background that a part of one level of light (:func:`_lit_parts`) holds at
least to be a field of its own; pixels in smaller pieces must stay under :data:`PART_REST` of it."""


PART_REST = 0.005
"""Share of what is not background in pieces under :data:`PART_MIN` (a section's texture cut at one
level falls into many; a step's two fields into none) over which the slide is no parts of light."""


PART_SEAM = 0.1
"""Share of what is not background within 2 px of two fields of light (:func:`_lit_parts`) over which
they are no fields: a step of light across a 400 x 300 image is seamed over about 2 %, a band over 4 %;
the tiny batch's checkerboard of 8 px squares (whose corners join each level into one piece) over
most of it."""


def ink_share(found: Artefacts | None) -> float | None:
    """The share of the slide's non-background pixels under pen ink or near-black (over-stained)
    pixels; None where the measure did not run or found nothing but background."""
    if found is None or found.tissue_px <= 0:
        return None
    return min(1.0, float(np.count_nonzero(found.mask("pen", "overstain"))) / found.tissue_px)


def stained_section(
    rgba: np.ndarray, tissue: np.ndarray, found: Artefacts | None, level: int | None = None
) -> np.ndarray | None:
    """The stained-section pixels at the measure's working scale, read from ``rgba`` and its tissue
    mask (same shape): tissue, not pen ink, not near-black, with a brightest channel of at least
    ``level`` (default :data:`SECTION_LEVEL`) and a darkest one under :data:`GLASS_LEVEL` (the
    tissue mask's rim of glass is no section), then opened with a 2 x 2 square (a stroke 1 px wide
    dropped: a hatching with gaps of 1 or 2 px, a doubled outline), closed and opened with a 3 x 3
    one: a pixel stays only inside a 3 x 3 square wholly stained once gaps of 1 or 2 px are filled,
    so a textured section (nuclei, lumens) keeps its size and a line or an outline 1 or 2 px wide is
    dropped; last, a connected region of which :data:`HATCH_INK` or more is ink or near-black (a
    hatching of strokes 2 px wide on ink, welded into a band) is dropped. None where the measure did
    not run or found nothing but background. Built once per slide: :func:`section_share` and
    :func:`section_region` read it."""
    grid = _working_grid(tissue, found)
    if grid is None or found is None:
        return None
    rows, cols = grid
    rgb = rgba[rows, cols, :3]
    bright = rgb.max(axis=2) >= (SECTION_LEVEL if level is None else level)
    inked = found.mask("pen", "overstain")
    raw = bright & (rgb.min(axis=2) < GLASS_LEVEL) & tissue[rows, cols] & ~inked
    from scipy import ndimage

    # near-black ink wholly inside stained pixels, in pieces under SECTION_REGION (an over-stained
    # section's darkened nuclei, :data:`NUCLEI_HOLE`), is part of the section: without them a section
    # a fifth or more near-black fell apart into fragments the closing could not join; a hatching's gaps
    # run out to the ink around it, and a doubled outline's ring is larger, so neither is filled; a
    # grid's closed cells are, so they still count as ink in the HATCH_INK test below
    holes = _small_parts(ndimage.binary_fill_holes(raw) & ~raw & inked, NUCLEI_HOLE)
    raw |= holes

    # Opened 2 x 2 first (a pixel kept only inside a 2 x 2 square wholly stained: a stroke 1 px wide,
    # a hatching's or a doubled outline's, is dropped before the closing could join it into a band),
    # then closed (a textured section's gaps of 1 or 2 px between nuclei filled), then opened 3 x 3 (a
    # pixel kept only inside a 3 x 3 square wholly stained): a line or an outline 1 or 2 px wide stays
    # no section, a small textured biopsy keeps its size. The image's outermost pixels are never kept
    # (the closing's erosion reads outside as unstained): a line along the edge is none.
    square = np.ones((3, 3), bool)
    thick = ndimage.binary_opening(raw, structure=np.ones((2, 2), bool))
    kept = ndimage.binary_opening(ndimage.binary_closing(thick, structure=square), structure=square)
    # a region the closing welded out of strokes 2 px wide on ink (a hatching) is a third to a half ink
    # between them; a section's gaps (nuclei, lumens, glass) are not ink (HATCH_INK)
    labels, n = ndimage.label(kept, structure=square)
    if not n:
        return kept
    size = np.bincount(labels.ravel(), minlength=n + 1)
    ink_in = np.bincount(labels.ravel(), weights=inked.ravel(), minlength=n + 1)
    section = ink_in < HATCH_INK * size
    section[0] = False
    return section[labels]


def _small_parts(mask: np.ndarray, under: int) -> np.ndarray:
    """``mask``'s connected (8-neighbour) parts of fewer than ``under`` pixels."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if not n:
        return mask
    small = np.bincount(labels.ravel(), minlength=n + 1) < under
    small[0] = False
    return small[labels]


def section_share(stained: np.ndarray | None, found: Artefacts | None) -> float | None:
    """The share of the slide's non-background pixels that are a stained section
    (:func:`stained_section`'s pixels); None where the measure did not run or found nothing but
    background."""
    if stained is None or found is None or found.tissue_px <= 0:
        return None
    return min(1.0, float(np.count_nonzero(stained)) / found.tissue_px)


def section_region(stained: np.ndarray | None) -> int | None:
    """The largest connected (8-neighbour) region of stained-section pixels (:func:`stained_section`'s
    filtered mask: a line or an outline 1 or 2 px wide in a section's colour, a drawn line, a
    region-of-interest box, is none), in pixels at the measure's working scale. None where the
    measure did not run or found nothing but background."""
    if stained is None:
        return None
    from scipy import ndimage

    labels, n = ndimage.label(stained, structure=np.ones((3, 3), bool))
    return int(np.bincount(labels.ravel())[1:].max()) if n else 0


def _working_grid(tissue: np.ndarray, found: Artefacts | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows and columns of ``tissue`` (an image's shape) at the measure's working grid, to index
    it or its image with (each working pixel's nearest pixel of the image); None where the measure
    did not run or found nothing but background."""
    if found is None or found.tissue_px <= 0 or found.flags.size == 0 or tissue.size == 0:
        return None
    fh, fw = found.flags.shape
    h, w = tissue.shape
    return (np.arange(fh) * h // fh)[:, None], (np.arange(fw) * w // fw)[None, :]


def _working_colours(
    rgba: np.ndarray, tissue: np.ndarray, found: Artefacts | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """``rgba``'s colours at the measure's working scale (every pixel of the working grid: a regular
    subsample, every other pixel, reads a pattern of its own period as one flat colour) and what of
    them is not background (the tissue mask, same shape as ``rgba``, and the measure's pen ink, folds
    and bubbles); None where the measure did not run or found nothing but background."""
    grid = _working_grid(tissue, found)
    if grid is None or found is None:
        return None
    rows, cols = grid
    inside = tissue[rows, cols] | found.mask("pen", "fold", "bubble")
    if not inside.any():
        return None
    return rgba[rows, cols, :3], inside


def _shade(rgb: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The smooth shade of ``rgb`` (working colours) over ``inside``: each channel's least-squares
    surface of degree 2 in the pixel's row and column (float32, ``rgb``'s shape), fitted on every
    :data:`SHADE_STEP`-th row and column of what is inside. A tinted field under uneven light (a
    vignette, a shade from one side) is that surface and sensor noise; a section is far from it."""
    h, w = inside.shape
    step = SHADE_STEP
    ys, xs = np.nonzero(inside[::step, ::step])
    if ys.size < SHADE_SAMPLES:  # a small mask (a few blobs): every pixel of it, or a few noisy
        step = 1  # samples give the six terms a surface that swings tens of levels over a flat field
        ys, xs = np.nonzero(inside)
    y = ys * (step / max(h, 1))
    x = xs * (step / max(w, 1))
    terms = np.stack([np.ones_like(y), y, x, y * y, x * y, x * x], axis=1)
    sample = rgb[::step, ::step][ys, xs].astype(np.float64)
    # the normal equations (6 x 6: a least-squares solver's threads cost more than the fit)
    gram = terms.T @ terms
    if ys.size < SHADE_SAMPLES or abs(np.linalg.det(gram)) < 1e-9:
        # too few pixels inside, or all on one line, to fit a surface: their mean colour
        return np.broadcast_to(rgb[inside].mean(axis=0).astype(np.float32), rgb.shape)
    a, b, c, d, e, f = np.linalg.solve(gram, terms.T @ sample).astype(np.float32)  # each (3,)
    gy = (np.arange(h, dtype=np.float32) / max(h, 1))[:, None, None]
    gx = (np.arange(w, dtype=np.float32) / max(w, 1))[None, :, None]
    # a + b y + c x + d y² + e x y + f x², by rows and columns: (a + b y + d y²) + x (c + e y + f x)
    return (a + gy * (b + d * gy)) + gx * ((c + e * gy) + f * gx)


def colour_spread(rgba: np.ndarray, tissue: np.ndarray, found: Artefacts | None) -> float | None:
    """The largest of the three channels' standard deviations (0 to 255) of ``rgba`` over what is not
    background (its tissue mask, same shape, and the measure's pen ink, folds and bubbles), read at
    the measure's working scale (the working grid's pixels, as :func:`stained_section` reads them: an
    image larger than the working size is point-sampled), each pixel the mean of its 3 x 3
    neighbours inside (sensor noise of sigma 6 reads sigma 2) and read off the image's smooth shade
    (:func:`_shade`: a vignette or a shade from one side is no spread), or, where larger, the same
    pixels read alone off that shade less what neighbours do not share (:func:`_shared_spread`:
    sensor noise is left out, a faded section's fine texture is not). Where that is not flat but under
    :data:`LIT_SPREAD`, the image is read again as fields of light (:func:`_lit_parts`: a sharp step
    or a band of light on a blank slide), and where each field is flat off its own shade, the largest
    of their spreads. Where still under :data:`FLAT_SPREAD`, at least :data:`TEXTURE_SPREAD` times its
    texture at the tissue scale (:func:`_texture`: a faded section's nuclei). None where the measure did
    not run or found nothing but background."""
    read = colour_readings(rgba, tissue, found, region=False)
    return None if read is None else read[0]


def colour_readings(
    rgba: np.ndarray, tissue: np.ndarray, found: Artefacts | None, *, region: bool | None = None
) -> tuple[float, int | None] | None:
    """:func:`colour_spread` and :func:`off_colour_region` from one reading of the image (the working
    colours, their means and shade, the fields of light read once): the region is read off the
    fields' shades where :func:`_lit_parts` finds fields of light under :data:`LIT_SPREAD` (a flat
    slide too: a band of light may spread under :data:`FLAT_SPREAD` yet stand off one shade), else
    off the image's one shade, where ``region`` is True, or where it is None (the probe's reading)
    only where the spread is under :data:`FLAT_SPREAD` (elsewhere the region judges nothing), else
    None. None where the measure did not run or found nothing but background."""
    read = _working_colours(rgba, tissue, found)
    if read is None:
        return None
    rgb, inside = read
    mean = _means(rgb, inside)
    shade = _shade(rgb, inside)
    spread = _read_spread(rgb, inside, mean, shade)
    lit = None
    if spread < LIT_SPREAD and (spread >= FLAT_SPREAD or region is not False):
        lit = _lit_parts(rgb, inside, mean, shade)
    if lit is not None:  # fields of light, each flat: every pixel read off its own field's shade
        spread, shade = (lit[0] if spread >= FLAT_SPREAD else spread), lit[1]
    if spread < FLAT_SPREAD:  # a faded section spreads little, but its nuclei still stand out as blobs
        spread = max(spread, TEXTURE_SPREAD * _texture(rgb, inside))
    if region is False or (region is None and spread >= FLAT_SPREAD):
        return spread, None
    return spread, _off_region(rgb, inside, shade)


def _means(rgb: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Each working pixel as the mean of its 3 x 3 neighbours ``inside`` (float32, ``rgb``'s shape):
    glass at the border does not bleed in."""
    from scipy import ndimage

    weight = ndimage.uniform_filter(inside.astype(np.float32), 3)
    mean = np.empty(rgb.shape, np.float32)
    for c in range(3):
        mean[..., c] = ndimage.uniform_filter(np.where(inside, rgb[..., c], 0).astype(np.float32), 3)
    mean /= np.maximum(weight, 1e-6)[..., None]
    return mean


def _read_spread(rgb: np.ndarray, inside: np.ndarray, mean: np.ndarray, shade: np.ndarray) -> float:
    """:func:`colour_spread`'s reading of the pixels ``inside``: the 3 x 3 means (``mean``) off
    ``shade``, or, where larger, the pixels alone off it less what neighbours do not share."""
    off = mean - shade
    off *= inside[..., None]  # zeroed outside, read in place (no copy of the pixels inside)
    smoothed = _spread(off, int(np.count_nonzero(inside)))
    # a faded section's texture lies at 1 to 3 px, which the 3 x 3 means soften too: read it also pixel
    # by pixel, less what neighbours do not share (sensor noise, independent from pixel to pixel, adds
    # to each pixel's variance and nothing to the covariance of two neighbours)
    return max(smoothed, _shared_spread(rgb.astype(np.float32) - shade, inside))


def _lit_parts(
    rgb: np.ndarray, inside: np.ndarray, mean: np.ndarray, shade: np.ndarray
) -> tuple[float, np.ndarray] | None:
    """A blank slide under a sharp step or a band of light read as its fields: what is ``inside`` cut
    at the level halfway between its 2nd and 98th percentile (the 3 x 3 means ``mean``, channels
    summed: off one smooth shade, a step leaves a slope on either side) into connected pieces; where 2 to 6 of them hold
    :data:`PART_MIN` or more each, the rest under :data:`PART_REST` (a section's texture falls into
    many small pieces), their seams under :data:`PART_SEAM`, and each is flat (under :data:`FLAT_SPREAD`) off its own shade (:func:`_shade`)
    away from the seams (2 px either side of a cut between two fields): the largest of their spreads and the shade by
    fields (``shade`` on the small pieces; the seams too, each pixel off its own field's: a small section
    across a step lies mostly in the seam, session 30's review). None where the image is not so."""
    from scipy import ndimage

    level = mean.sum(axis=2)
    n = int(np.count_nonzero(inside))
    low, high = np.percentile(level[inside], (2, 98))
    upper = inside & (level > (low + high) / 2)
    lower = inside & ~upper
    square = np.ones((3, 3), bool)
    up, n_up = ndimage.label(upper, structure=square)
    down, n_down = ndimage.label(lower, structure=square)
    labels = np.where(upper, up, np.where(lower, down + n_up, 0))
    sizes = np.bincount(labels.ravel(), minlength=n_up + n_down + 1)
    sizes[0] = 0
    fields = np.flatnonzero(sizes >= PART_MIN * n)
    if not 2 <= fields.size <= 6 or sizes.sum() - sizes[fields].sum() > PART_REST * n:
        return None
    # the seams between fields only: a small section's pieces (upper and lower, side by side) are read
    in_field = np.isin(labels, fields)
    seam = ndimage.binary_dilation(upper & in_field, square, iterations=2) & ndimage.binary_dilation(
        lower & in_field, square, iterations=2
    )
    keep = inside & ~seam
    if np.count_nonzero(seam & inside) > PART_SEAM * n:  # a lattice (a checkerboard, a texture): no fields
        return None
    field_shade = np.array(shade, np.float32)
    worst = 0.0
    for k in fields:
        part = labels == k
        own = _shade(rgb, part)
        field_shade[part] = own[part]
        read = part & keep
        if not read.any():
            return None
        worst = max(worst, _read_spread(rgb, read, mean, own))
        if worst >= FLAT_SPREAD:
            return None
    return worst, field_shade


def _texture(rgb: np.ndarray, inside: np.ndarray) -> float:
    """The median over ``inside`` of the absolute band-pass of ``rgb``'s grey (the channels' mean):
    its Gaussian mean over ``inside`` of :data:`TEXTURE_SIGMA` less that of three times it (each
    weighted by what of its window is inside, so glass at the border does not bleed in), read where
    both windows are at least half inside. 0 where under :data:`TEXTURE_CORE` pixels are (a scattered
    or small tissue mask: few pixels to average, so noise passes the band)."""
    from scipy import ndimage

    if not inside.any():
        return 0.0
    grey = np.where(inside, rgb.astype(np.float32).mean(axis=2), np.float32(0))
    weight = inside.astype(np.float32)
    band = np.zeros(inside.shape, np.float32)
    core = inside
    for sigma, sign in ((TEXTURE_SIGMA, 1.0), (3 * TEXTURE_SIGMA, -1.0)):
        share = ndimage.gaussian_filter(weight, sigma)
        band += sign * ndimage.gaussian_filter(grey, sigma) / np.maximum(share, 1e-6)
        core = core & (share >= 0.5)
    if np.count_nonzero(core) < TEXTURE_CORE:
        return 0.0
    return float(np.median(np.abs(band[core])))


def _spread(off: np.ndarray, n: int) -> float:
    """The largest of the channels' standard deviations of the ``n`` pixels of ``off`` (rows, columns,
    channels) that are not zero-filled (every other pixel is 0 in every channel)."""
    total = np.einsum("ijc->c", off, dtype=np.float64)
    squares = np.einsum("ijc,ijc->c", off, off, dtype=np.float64)
    return float(np.sqrt(np.maximum(squares / n - (total / n) ** 2, 0.0)).max())


def _shared_spread(off: np.ndarray, inside: np.ndarray) -> float:
    """The largest of the channels' square roots of the covariance of ``off`` (rows, columns,
    channels) between neighbouring pixels both ``inside`` (across and down, pooled): the variance of
    what two neighbours share (a section's texture), sensor noise left out. 0 where no two neighbours
    are inside. Read on shifted views of one copy of ``off``, channels first and zeroed outside
    (session 30: a copy of every pair cost about 30 ms a slide)."""
    kept = np.where(inside, np.moveaxis(off, 2, 0).astype(np.float64), 0.0)  # channels, rows, columns
    weight = inside.astype(np.float64)
    n = 0
    products = np.zeros(kept.shape[0])
    first = np.zeros(kept.shape[0])
    second = np.zeros(kept.shape[0])
    for one, other in (
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),  # across
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),  # down
    ):
        # zeroed outside: a product counts only where both neighbours are inside, and a sum of one
        # side's values only where the other side is inside too
        n += int(np.count_nonzero(inside[one] & inside[other]))
        for c, channel in enumerate(kept):
            products[c] += np.einsum("ij,ij->", channel[one], channel[other])
            first[c] += np.einsum("ij,ij->", channel[one], weight[other])
            second[c] += np.einsum("ij,ij->", channel[other], weight[one])
    if not n:
        return 0.0
    cov = products / n - (first / n) * (second / n)
    return float(np.sqrt(np.maximum(cov, 0.0)).max())


def off_colour_region(rgba: np.ndarray, tissue: np.ndarray, found: Artefacts | None) -> int | None:
    """The largest connected (8-neighbour) region of pixels not background (as :func:`colour_spread`
    reads them) whose colour stands more than :data:`OFF_COLOUR` in a channel off the smooth shade of
    what is not background (:func:`_shade`; where :func:`colour_spread` read fields of light, each
    pixel off its own field's shade, the seams between fields too), :data:`RIM` px or more in from the
    tissue mask's edge, in pixels at the measure's
    working scale: a small section on a flat tinted field, shaded or not (:func:`one_colour`); None
    where the measure did not run or found nothing but background."""
    read = colour_readings(rgba, tissue, found, region=True)
    return None if read is None else read[1]


def _off_region(rgb: np.ndarray, inside: np.ndarray, shade: np.ndarray) -> int:
    """:func:`off_colour_region`'s reading of the pixels ``inside`` off ``shade``."""
    from scipy import ndimage

    # read 2 px in from the tissue mask's edge (not the image's): the mask takes a rim of glass or of a
    # paler stripe beside what it keeps, a line of pixels off the shade along each edge (session 31: 6
    # stripes 20 levels apart on pink, the mask keeping the darker 3 and 2 px of the paler beside each,
    # read a region of 600 px there and so a section)
    core = ndimage.binary_erosion(inside, np.ones((3, 3), bool), iterations=RIM, border_value=1)
    off = (np.abs(rgb - shade).max(axis=2) > OFF_COLOUR) & core
    if not off.any():
        return 0

    labels, n = ndimage.label(off, structure=np.ones((3, 3), bool))
    return int(np.bincount(labels.ravel())[1:].max()) if n else 0


def one_colour(found: Artefacts | None) -> bool | None:
    """Whether the slide's image is one flat colour and not ink alone (:func:`all_ink` takes that):
    what is not background spreads under :data:`FLAT_SPREAD` (:attr:`Artefacts.spread`) and no region
    off its smooth shade reaches :data:`SECTION_REGION` (:attr:`Artefacts.off_region`: a small
    section on a flat tinted field barely moves the spread; None, an older record: not taken into
    account); None where either of the first two is unmeasured (the measure did not run, nothing but
    background, an older record)."""
    ink = all_ink(found)
    if ink is None or found is None or found.spread is None:
        return None
    region = found.off_region is not None and found.off_region >= SECTION_REGION
    return bool(not ink and found.spread < FLAT_SPREAD and not region)


def all_ink(found: Artefacts | None) -> bool | None:
    """Whether the slide's image is ink alone: :data:`ALL_INK` of what is not background, under
    :data:`SECTION_MIN` of it a stained section and no section region of :data:`SECTION_REGION`
    pixels (either measure None: not taken into account); None where the measure did not run or
    found nothing but background (blank glass: ``NO_TISSUE``)."""
    share = ink_share(found)
    if share is None or found is None:  # found is None gives no share: said for the type checker
        return None
    section = found.section is not None and found.section >= SECTION_MIN
    region = found.section_region is not None and found.section_region >= SECTION_REGION
    return bool(share >= ALL_INK and not section and not region)
