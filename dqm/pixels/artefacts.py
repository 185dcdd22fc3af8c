"""Artefacts on a slide: pen marks, folds and dark tissue, air bubbles and coverslip edges, over-
and under-stained tissue, background debris (from the low-resolution image the probe already holds)
and blur (from a bounded sample of tissue tiles read at 10x or more).

:func:`measure` takes the probe's low-resolution RGB(A) image and its tissue mask, shrinks them to
a working image of at most :data:`WORK_SIDE` pixels a side, and gives an :class:`Artefacts`: one
bit per kind and working pixel (:data:`KINDS`), each kind's share of the tissue, and the blur
sample. Nothing here opens a file: tiles for the blur measure come through a :class:`TileSource`
the slide I/O hands in. Every threshold is a module constant, documented where it is defined and
chosen on the tuning half of ``benchmarks/bench_artefacts.py`` (GlaS train images and regions of
two real slides; its other half is held out); the checks compare the shares with the profile's
thresholds (``validators/artefacts.py``).

Shares are of the *tissue*: the probe's tissue mask together with the artefact pixels it missed
(a black pen mark is not saturated, so the tissue mask leaves it out). Debris lies off the tissue
by definition; its share is its area over the tissue's area, too.
"""

from __future__ import annotations

import base64
import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dqm.budget import Budget
from dqm.coords import PLAUSIBLE_MPP
from dqm.model import ArtefactFacts
from dqm.pixels.masks import dilate, grey_closing, shifted
from dqm.pixels.order import order_statistics

KINDS = ("pen", "fold", "bubble", "overstain", "understain", "debris", "blur")
"""Artefact kinds, in the order of their bits in :attr:`Artefacts.flags`."""
LESION_KINDS = ("pen", "fold", "bubble", "debris")
"""Kinds a lesion should not be drawn over: a lesion on one is a labelling problem."""
PEN_COLOURS = ("blue", "green", "red", "black")
WORK_SIDE = 512
"""The working image's longest side (block means of the probe's image)."""
FACTS_SIDE = 128
"""The longest side of the flag map an item record keeps (for thumbnails)."""
SMOOTH = 1.0
"""Gaussian sigma (working pixels) before the colour rules: nuclei are not pen marks."""
MIN_REGION = 0.0005
"""Connected regions under this share of the working image are dropped (noise, single nuclei)."""
FOLD_MIN_MPP = 1.2
"""The finest working resolution (µm per working pixel) the fold rules judge at where the slide's
resolution is known: a finer working image is block-averaged down to it for them (the other kinds
keep the working image). The finest their tuning set held: GlaS at 0.62 µm/px shrunk twice,
1.24 µm (CMU-1's regions 1.5, the skin photograph 3, real slides' overview levels coarser); at
0.25 µm per working pixel a cluster of nuclei is as many pixels as a fold's band at 1.2 µm. On the
external set (``benchmarks/bench_artefacts.py --sites``) the block-averaging alone took the clean
slides flagged for a fold from 13 to 4 of 110 (PanNuke's 64 µm patches 8 to 0, Lizard 1 to 0: the
remaining 4 are EBHI's, of unknown resolution), at a recall of 85 instead of 94 of 110 injected
folds (PanNuke 10 to 2). The bubble rules keep the working image: block-averaged alike they found
98 instead of 168 of 220 injected rims and edges, with the same clean slides flagged. No field of
view is too small to judge: a limit of 100 µm on folds and bubbles (tried) removed no false
positive and cost 3 folds and 20 bubbles found (PanNuke's 16 of 20 rims among them), and a limit
chosen on the other sites was 0 for every site left out."""
MPP_SOURCES = ("header", "annotation", "stated", "profile", "objective")
"""Where a slide probe's level-0 resolution comes from: the slide header's mpp, the annotation
file's declared one (when it fits the image), the manifest's ``mpp``, the profile's ``image_mpp``,
or 10 µm over the header's objective power."""
FOLD_MIN_SIDE = 16
"""The fewest pixels a side the fold rules' block-averaged image may have where the resolution is
known (a fold is told from dense tissue by the tissue beside it): on fewer, folds are not measured,
and :attr:`Artefacts.unmeasured` says so (never a silent pass; ``artefacts.slide`` reports it as an
error). 16 pixels at :data:`FOLD_MIN_MPP` are about 19 µm; the smallest image of the benches,
PanNuke's 64 µm patches, gives 53."""


# Ruifrok & Johnston (Anal Quant Cytol Histol 2001), rows: haematoxylin, eosin, and their cross
# product as the third (residual) stain; the rows are normalised to unit length.
_HE = np.array([[0.650, 0.704, 0.286], [0.072, 0.990, 0.105]])
_HE = _HE / np.linalg.norm(_HE, axis=1, keepdims=True)
STAIN_MATRIX = np.vstack([_HE, np.cross(_HE[0], _HE[1]) / np.linalg.norm(np.cross(_HE[0], _HE[1]))])
UNMIX = np.linalg.inv(STAIN_MATRIX)
"""Optical density ``-log10((I + 1) / 256)`` per channel (1x3) @ UNMIX = concentrations of
haematoxylin, eosin, residual."""

PEN_MIN_DOMINANCE = {"blue": 45.0, "green": 15.0, "red": 90.0}
"""How far (0-255) the pen's channel must exceed the other two; H&E never has green on top, its
blue is purple (red over green), its red is pink (blue over green)."""
PEN_BLUE_MIN_HUE_RATIO = 2.0
"""Blue ink over tissue of a slide stained blue (its stained rest's median blue over red at least
PEN_BLUE_STAINED): blue over red at least this many times that median. Haematoxylin-dense nuclei of
such slides (UCSB's tissue-microarray cores, BreCaHAD) are 1.2 to 1.6 times their cytoplasm's, ink
about 3 times (the second external set's pen false positives, ``benchmarks/bench_artefacts.py``).
On a pink slide (median under PEN_BLUE_STAINED: nuclei are purple, never blue on top) every blue
pixel counts, as before the ratio: pale or faded ink, (150, 170, 220) over tissue, is only 1.7 times
a pink slide's median. On a blue slide, ink paler than the ratio is not found, on tissue or glass."""
PEN_BLUE_STAINED = 1.0
PEN_EDGE = 7
"""An ink's soft edge (blue or red candidates): the pixels within this many working pixels of the
candidates, left out of the stained rest they are judged against (a blurred stroke on a little
tissue made its own reference); the red rule's ring around a group is the next band as wide."""
PEN_RED_MAX_HUE_RATIO = 0.45
"""Red ink where the candidates are a stain (PEN_RED_STAIN_SHARE): a connected patch of red
candidates is ink when its median green-or-blue over red, max(g, b) / r, is at most this times the
median of the slide's stained rest (neither glass nor within PEN_EDGE of a candidate). Red ink
over a slide's nuclei and lacunae is 0.2 to 0.35 times them; an osteosarcoma slide's bone matrix,
(189, 66, 87), passed every red test and is 0.55 times its nuclei and lacunae (the third external
set's one clean pen flag). A lighter ink over ordinary H&E, (235, 80, 90), is near this ratio (judged
so on every slide, its strokes were found on 65 instead of 75 of 95 GlaS tuning slides and real
regions), and ink on the glass of an eosin-rich slide is 0.48: hence the gate below."""
PEN_RED_STAIN_SHARE = 0.5
"""The red candidates are judged against the slide's stain (PEN_RED_MAX_HUE_RATIO) only where they
are at least this share of the stained pixels (candidates included): a stain, not a stroke. The bone
slide's matrix is 0.81 of its stained pixels; on every other tuning slide, clean or with a red
stroke injected (``benchmarks/bench_red_ink.py``), the candidates were at most 0.26 (set 2). Any value
between separates them, left out site by site too: 0.5, near their geometric mean, is not fitted."""
PEN_RED_GLASS_RING = 0.9
"""Where the candidates are judged against the stain, a group of them (joined within
2 x PEN_EDGE) under PEN_RED_STAIN_SHARE of the stained pixels whose ring (PEN_EDGE to
2 x PEN_EDGE beyond them; where two rings meet, the later group's) is at least this share
glass (under STAINED_MIN_SATURATION) is ink whatever its hue: a stroke on the glass, its ring all
glass, whatever the slide's stain (a lighter ink there is as red as the bone matrix). A fragment of
the bone slide's matrix at the tissue's edge (4 % of its stained pixels) has a ring 0.8 glass: 0.9
lies between, chosen on that one slide, not cross-validated (no other slide reaches the gate)."""
BLACK_MAX_VALUE = 75.0
"""Black ink: brightest channel at most this (0-255) with saturation at most BLACK_MAX_SATURATION,
and, from BLACK_NEUTRAL_VALUE up, its channels within BLACK_MAX_SPREAD of each other: grey-black
marker is neutral, while the dense nuclei clusters of a dark purple slide (NuInsSeg's (70, 42, 70))
have red and blue 25-30 over green. Black ink at 75 % over pink tissue is that purple too, and
is not told from them."""
BLACK_NEUTRAL_VALUE = 62.0
BLACK_MAX_SPREAD = 12.0
BLACK_MAX_SATURATION = 0.45
BROWN_MIN_RED_OVER_GREEN = 10.0
BROWN_MAX_BLUE_OVER_GREEN = 8.0
"""Pigment and blood are brown to red: red over green by at least the first (0-255), blue over
green by less than the second. These margins in 0-255 also take in folded H&E darkened to near
black (blue and green both near 0): pen and over-staining use them as they are, the fold rules
keep only the brown that :func:`_pigment` tells from a fold by its optical densities."""
BLOOD_MAX_RED_OVER_GREEN = 0.5
"""Blood (eosin-stained red cells) absorbs green far more than red: red's optical density at most
this share of green's (0.17 to 0.41 for red cells from bright (200, 60, 80) to dark (90, 20, 25)),
while any density a fold adds keeps its tissue's share, haematoxylin's red absorption included
(0.53 to 0.72 on the oesophagus patches of the second external set, whose folds are near-black
purple; eosin alone 0.07, haematoxylin alone 0.92). 0.47 until session 22 left very dark blood,
(50, 8, 14), a fold (0.48); 0.5 takes it (with noise of 2 in 0-255) and keeps the near-black
folded mauve of the unit tests a fold (0.52 lost it). Of the brown pixels with blue under green
in the injected fold bands of the three external sets, 0.47 -> 0.5 moved 0-8 % more to blood
(BreakHis 100X pictures of set 3, pale pink, up to 12 %; none of set 2); see
``benchmarks/bench_artefacts.py`` for the recall it kept. Not chosen by cross-validation: the
one value between the dark blood and the folds measured."""
FOLD_RATIO = 2.2
"""Folded (doubled or tripled) and dark tissue: mean optical density of the three channels,
smoothed over FOLD_SMOOTH working pixels, at least this many times the slide's median over
stained tissue and at least FOLD_MIN_OD (a fold multiplies the density of what it folds) ..."""
FOLD_EOSIN_RATIO = 2.8
"""... with its eosin (unmixed) at least this many times the slide's median
eosin: a fold darkens both stains, while crowded nuclei (crypt bases, lymphocytes) are dense in
haematoxylin only and were the clean slides' false folds (a median under 0.02 counts as 0.02)."""
FOLD_MIN_OD = 0.35
FOLD_SMOOTH = 2.0
FOLD_LOCAL_RATIO = 2.2
"""A fold is also tissue whose haematoxylin and eosin (unmixed, each averaged over the stained
tissue within FOLD_LOCAL_SMOOTH of the image side) are both at least this many times the same
stain's mean over the stained tissue nearby (within FOLD_LOCAL_REACH of the side, leaving out
blocks already FOLD_LOCAL_EXCLUDE times denser than their surroundings): a pale section folded over
itself is darker than its neighbours in both stains without reaching FOLD_RATIO times the slide's
median, and crowded nuclei are denser in haematoxylin only. Measured on blocks of FOLD_LOCAL_STEP
working pixels (cheap). Chosen by 5-fold cross-validation on the tuning set of
``benchmarks/bench_artefacts.py`` (95 slides, folds by image) with folds injected as pleats of the
section (where a neighbouring strip is glass or lumen the band holds two layers, not three): 2.1 to
2.3 found 0.87-0.88 of the folds (2.2: 0.88 over 10 draws; 2.5, chosen when folds were injected as
the band's density tripled, 0.86), and no clean tuning slide's fold share rose above the threshold's
(2.0 and under: clean glands passed it)."""
FOLD_LOCAL_SMOOTH = 0.015
FOLD_LOCAL_REACH = 0.15
FOLD_LOCAL_EXCLUDE = 1.6
FOLD_LOCAL_STEP = 8
FOLD_LOCAL_MIN_TISSUE = 0.3
"""A block's smoothed share of stained tissue at least this (a band's edge over glass or lumen is
not compared)."""
FOLD_BAND_RATIO = 1.6
"""A fold is also a straight band: blocks whose haematoxylin and eosin (as FOLD_LOCAL_RATIO's) are
both at least this many times the denser of the two sides, FOLD_BAND_OFFSET of the side away across
the band (the sides' stains averaged over FOLD_BAND_SIDE_SMOOTH of the side), in one of four
directions, where at least FOLD_BAND_FILL of the blocks along the band's line within
FOLD_BAND_LENGTH of the side either way pass too. A side whose stained tissue (smoothed as the
band's, FOLD_LOCAL_SMOOTH) is under FOLD_BAND_MIN_SIDE (glass beyond the tissue's edge) is left out
and the band compared with the other alone: a sliver folded at the tissue's edge holds two layers,
about twice its inner neighbour, under FOLD_LOCAL_RATIO, and the surroundings there are mostly the
band itself. Crowded nuclei and dense glands reach twice their surroundings too, but as clusters
and rings, not as a straight run of a quarter of the image. Chosen by 5-fold cross-validation on
the tuning set of ``benchmarks/bench_artefacts.py`` (95 slides, folds by image, folds injected as
pleats; 10 draws): the folds found rose from 84 to 86 of 95, 0.884 to 0.905 cross-validated, no
clean tuning slide flagged, the profile's fold threshold unchanged. A narrow optimum, in a first
form whose sides' tissue was smoothed over 3 % with a minimum of 0.3 (0.905 as well): lengths of
0.125 to 0.16 and fills of 0.6 to 0.8 gave the same, a length of 0.1 and a ratio of 1.5 let
clean slides pass (0.86-0.87), 1.7 and an offset of 0.05 found fewer (0.88), an offset of 0.08
let a clean slide pass (0.86); in this form minimums of 0.5 to 0.9 give the same. The offset is
about the injected band's width (6 % of the slide's side): wider or narrower real folds are
compared with part of themselves or with tissue further off."""
FOLD_BAND_OFFSET = 0.06
FOLD_BAND_LENGTH = 0.125
FOLD_BAND_FILL = 0.7
FOLD_BAND_SIDE_SMOOTH = 0.03
FOLD_BAND_MIN_SIDE = 0.5
_BAND_NORMALS = ((0, 1), (1, 0), (1, 1), (1, -1))
"""The four directions (rows, columns) across which a band is sought."""
OVERSTAIN_MIN_OD = 1.3
"""Over-stained: tissue whose optical density in its darkest channel (the block means, before
smoothing) is over this, i.e. a channel under 5 of 255: stain so dense the scanner's range runs
out. A slide is over-stained when more of its tissue is than any clean tuning slide's (the
profile's share). The slide's own statistics cannot tell a slide stained three times too strongly
from a clean one (the whole distribution scales), and the mean density of clean tissue varies
3- to 4-fold between sections, while near-black pixels stay rare on clean H&E of any strength.
Chosen by 5-fold cross-validation on the tuning set of ``benchmarks/bench_artefacts.py`` (95 slides,
folds by image): 1.25 to 1.3 gave the most over-stained slides found with no clean one flagged."""
UNDERSTAIN_MAX_OD = 0.55
"""Under-stained: tissue (lumina included) whose optical density in its darkest channel is under
this (every channel over 72 of 255); a slide is under-stained when nearly all of its tissue is,
more than on any clean tuning slide (a pale section still has nuclei dense enough to pass it).
Chosen like OVERSTAIN_MIN_OD: 0.5 to 0.6 found every under-stained tuning slide and flagged no
clean one in most fold draws."""
STAINED_MIN_SATURATION = 0.06
"""Stained tissue (the fold's and the rims' reference): saturation at least this, not a lumen
(white) nor glass."""
EDGE_MIN_CONTRAST = 0.12
"""Bubble rims and coverslip edges: thin lines at least this much darker (0-1) than around them
(a black top-hat of EDGE_HAT working pixels), grey (each line's median saturation under
EDGE_MAX_SATURATION, no pixel over twice that: a rim joins the dark nuclei it crosses into one
line, and their colour, up to twice the limit, raised its mean over it while most of its pixels
were grey: set 4's SEED and PANDA bubbles)."""
EDGE_MAX_SATURATION = 0.18
EDGE_TISSUE_SATURATION = 0.7
"""... or under this share of the tissue's median saturation (a rim over tissue keeps some colour)."""
EDGE_INSIDE_SATURATION = 0.3
"""The inside of a closed rim is a bubble over tissue when its mean saturation is at least this
share of the tissue's median (a rim around glass is a gap in the tissue)."""
EDGE_MIN_DARKER = 0.15
"""... and at least this much darker (0-1) than the tissue's median grey level."""
EDGE_GREY_SHARE = 0.5
"""A rim pixel this much greyer than the tissue (saturation under this share of its median) ..."""
EDGE_GREY_DARKER = 0.05
"""... need only be this much darker (0-1) than the tissue's median grey level, not
EDGE_MIN_DARKER: on dense tissue (tightly packed nuclei, the median grey near 0.45) a bubble's
grey rim is hardly darker than the tissue's median, only greyer. How much darker than around it
such a pixel is, is asked of grey level plus saturation (the black top-hat of their sum): a rim
beside a nucleus as dark as it is still a valley, the nucleus being saturated."""
EDGE_GLASS_CONTRAST = 0.3
"""A grey pixel (saturation under the rim's limit) not EDGE_MIN_DARKER darker than the tissue's
median grey level, and up to EDGE_MIN_DARKER lighter than it, is a rim when it is at least this
much darker than around it (the black top-hat of grey): a rim crossing glass or a lumen is much
darker than the bright ground beside it, but, the working image smoothed, not than dark tissue
(set 4's DL4ETI fields laid on glass: an injected rim over the glass at grey 0.44, the tissue's
median 0.41, found only on its arc over the tissue and never closed). The tissue's own valleys are
saturated or shallower. Only a line that continues a rim found over the tissue counts
(:func:`_rim_over_glass`): a hair, a fibre or a pen stroke's edge alone on the glass is as deep.
Hand-set from those rims (0.5 deep on the glass): a sweep over 60 of set 4's slides flagged no
clean one at any value (its 25 DL4ETI bubbles found 21/18/16 at 0.2/0.3/0.4, 10 without the rule),
so there are no clean-side data to choose it by leave-one-dataset-out."""
EDGE_INK_MARGIN = 3
"""Working pixels around a pen mark: the grey rule's lines (:data:`EDGE_GREY_SHARE`) that come
this near are no rim (the ink's mask has gaps where it crosses dark nuclei, so the whole line is
dropped, not only its pixels this near): a
stroke's edge, its ink blended with the tissue by the scanner and the working image's resampling,
is grey and a little darker than the tissue, as a faint rim is (a GlaS tuning slide with green ink
injected: 513 of its 576 bubble pixels within 3 pixels of the ink, bubble share 0.0056 over the
threshold 0.005; a stroke faded over a 1.8-pixel Gaussian left a rim 3 pixels out)."""
EDGE_HAT = 9
"""Lines up to about half this many working pixels wide are taken as rims."""
EDGE_MIN_LENGTH = 0.04
"""A rim or edge line spans at least this share of the working image's longest side."""
COVERSLIP_MIN_LENGTH = 0.25
"""Coverslip edges: a straight run of thin grey valleys (the rim rule's contrast and greyness, on
the unsmoothed image) at least this share of the working image's longest side long ..."""
COVERSLIP_MIN_FILL = 0.5
"""... with valley pixels along at least this share of its length, gaps at most COVERSLIP_MAX_GAP
of the longest side (tissue the line crosses hides it in places) ..."""
COVERSLIP_MAX_GAP = 0.03
COVERSLIP_MIN_UNBROKEN = 0.08
"""... and one unbroken stretch (valley pixels at most COVERSLIP_STEP working pixels apart along
the line) at least this share of the longest side: a coverslip edge is a continuous line wherever
no tissue hides it, while the valleys of a camera picture's stroma, its nuclei and fibres aligned,
line up in short pieces (BreakHis, osteosarcoma: 17 to 26 pieces, the longest 0.017 to 0.056 of
the side). The injected edges' longest piece, its shortest per source: GlaS tuning 0.107 (CMU-1's;
GlaS's own 0.119), set 1 0.131, set 2 0.118, set 3 0.148. The margin is thin and on set 1 there is
none: EBHI's two clean slides flagged for a bubble hold lines of 0.243 and 0.113, longer than the
shortest injected edge, which no value removes without losing edges (both stay flagged). Chosen
with every clean line counted, for the fewest errors (injected edges lost + clean slides keeping a
line), the midpoint of the widest range of values as good: 0.082 on the full data (2 errors, no
edge lost; 0.113 to 0.118 also 2, one edge lost); held out one site at a time 0.082 on 16 of 18
sites, 0.062 without BreakHis, 0.115 without CMU-1, losing one of its two edges: 1 of 147 lost."""
COVERSLIP_STEP = 2.0
COVERSLIP_BAND = 0.015
"""... marked with a band this share of the longest side either side (the refraction band and the
mountant's edge beside the line)."""
COVERSLIP_MIN_GLASS = 0.1
"""... and at least this share of its valley pixels off the tissue: a coverslip edge crosses the
glass too (straight lines inside the tissue, such as layers of keratin, are not edges)."""
COVERSLIP_REACH = 2
"""The straight-line search's valleys, on the unsmoothed working image (a coverslip edge is a line
of one to three working pixels, which the smoothing for the colour rules washes out): pixels
darker than both pixels this far away on either side, in one of four directions."""
COVERSLIP_ANGLES = 360
"""Directions the straight-line (Hough) search tries: half a degree apart."""
DEBRIS_MIN_CONTRAST = 0.2
DEBRIS_MIN_SATURATION = 0.25
DEBRIS_REACH = 0.2
"""Debris: off the (dilated) tissue, at least DEBRIS_MIN_CONTRAST darker (0-1) than the glass's
median and than the glass's mean within DEBRIS_REACH of the longest side around it (the candidates
in regions smaller than that square left out of the mean: a clump would darken its own reference),
or more saturated than DEBRIS_MIN_SATURATION (a coloured speck): the candidates, of which
:func:`_dark_specks` keeps the neutral dark matter among them (DEBRIS_MIN_DARK, DEBRIS_TINT)."""
DEBRIS_STEP = 8
"""The glass's local mean is measured on blocks of this many working pixels a side (cheap)."""
DEBRIS_MIN_DARK = 0.31
"""... and of those, dark matter: pixels at least this much darker (0-1) than that local mean whose
colour, white-balanced against the local glass's own colour (each channel scaled by the glass's
grey over the glass's channel: a speck on yellow glass that keeps the glass's hue is neutral), is
either neutral (its channels' spread, 0-1, at most DEBRIS_TINT times that darkness) or unlike the
stain (green not the lowest channel by DEBRIS_STAIN of the spread: brown, olive, red, navy dirt or
pigment) and at least DEBRIS_COLOUR_DARK darker (:func:`_dark_specks`). Stained matter the tissue
mask leaves out (nuclei, tissue fragments: purple or pink) grows more coloured as it grows darker
(set 4's clean pictures flagged before, 0.3 to 0.5 darker, about 0.3 to 1 times that in colour;
the bench's black specks 0.14); a camera picture's olive background (DL4ETI, 0.31-0.36 darker)
and a false-colour teal one (ThyHisTer n_BN_1_1, mostly under 0.45) are paler than dirt (0.58
to 0.73 darker: brown, melanin, olive, navy, dark red). DEBRIS_MIN_DARK
and DEBRIS_TINT left one site out at a time (``benchmarks/debris_cv.py``: the least
DEBRIS_MIN_DARK with a DEBRIS_TINT that flags no clean slide and finds every injected one, one
step up, and the middle of those DEBRIS_TINT there); the folds chose 0.31 and 0.2 but for
ThyHisTer's (0.24, 0.15), whose grey scale bar, 0.26 to 0.32 darker, then counts."""
DEBRIS_TINT = 0.2
"""... see DEBRIS_MIN_DARK."""
DEBRIS_STAIN = 0.1
"""... see DEBRIS_MIN_DARK."""
DEBRIS_COLOUR_DARK = 0.48
"""... see DEBRIS_MIN_DARK. Left one site out at a time (``benchmarks/debris_cv.py``, the injected
specks in seven colours: the middle of the feasible ones at DEBRIS_TINT, 0.43 to 0.53 on all 18
sites): 16 folds chose 0.48, without SEED 0.49, without ThyHisTer 0.44, each right on its site.
DEBRIS_STAIN was set by hand, not cross-validated: ThyHisTer n_PTC_1_1's bluish-purple fragments
have green under red and blue by 0.12 to 0.18 of their spread (0.0008 of its tissue kept at 0.1)."""
DEBRIS_GROW = 0.8
"""A kept pixel's candidate neighbours (8-connected) at least this times as dark are kept too: a
speck of a few pixels, blurred by the smoothing, keeps its rim (dust 4.5 px on 1920 px: 400 specks
0.0048 without, 0.0090 with; BreakHis 10147-002's grey smudges stay 0.0036 at 0.8, 0.0075 at 0.5)."""

BLUR_TILE = 256
BLUR_TILES = 8
"""Tiles sampled on tissue for the blur measure, at most."""
BLUR_MIN_MAGNIFICATION_MPP = 1.0
"""Blur is measured at this many µm per pixel or finer (10x or more)."""
BLUR_MAX_SHARPNESS = 0.03
"""A tile is blurred when the variance of its Laplacian over the variance of its grey levels is
under this (a contrast-free sharpness: pale and dark tiles compare). GlaS tiles of 256 px at 20x:
sharp 0.035 to 0.99 (5th percentile 0.14), blurred by a Gaussian of 1.5 px 0.002 to 0.05 (median
0.019), of 3 px under 0.009."""
BLUR_MIN_TISSUE = 0.5
"""A sampled tile lies at least this much over tissue."""
BUDGET_SPENT = {
    "work": "work budget spent",
    "cpu": "CPU time backstop passed (depends on the machine)",
    "wall": "wall-clock backstop passed (depends on the machine)",
}
"""The blur sample's note when its budget refused a tile, by what refused it (:mod:`dqm.budget`):
the work budget, the same on every machine, or a clock's backstop."""


@dataclass(frozen=True, slots=True)
class TileSource:
    """Where the blur measure reads tiles: ``read(x, y, side)`` gives an RGB array of ``side``
    pixels a side whose top-left corner is level-0 ``(x, y)``, at ``downsample`` level-0 pixels per
    tile pixel (or None when the read fails)."""

    read: Callable[[int, int, int], np.ndarray | None]
    downsample: float
    mpp: float | None
    """µm per tile pixel (None: unknown, and blur is not measured: 10x cannot be told)."""
    grid: tuple[int, int] | None = None
    """The stored tiles' width and height in tile pixels (None: not tiled, or unknown): a read
    whose corner lies on this grid decodes one stored tile where an unaligned one decodes four."""
    stored: tuple[int, int] | None = None
    """The stored tiles' size as the header states it, however large (None: unknown): what a read
    decodes, and so the work it takes (:func:`decoded_pixels`)."""


def decoded_pixels(x: float, y: float, w: int, h: int, stored: tuple[int, int] | None) -> int:
    """The pixels a read of ``w`` x ``h`` at ``(x, y)`` (that level's pixels) decodes: every stored
    tile it touches, whole (``stored``: their size; None: unknown, and the read's own pixels are
    counted). A 256-pixel read of a slide stored in 16,384-pixel tiles decodes 268M pixels."""
    if stored is None:
        return w * h
    (gx, gy), x0, y0 = stored, max(int(x), 0), max(int(y), 0)
    across = (x0 + w - 1) // gx - x0 // gx + 1
    down = (y0 + h - 1) // gy - y0 // gy + 1
    return across * gx * down * gy


@dataclass(frozen=True, slots=True)
class BlurSample:
    tiles: int
    blurred: int
    sharpness: tuple[float, ...]
    mpp: float | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Artefacts:
    """What :func:`measure` found on one slide.

    ``flags[r, c]`` has bit ``k`` set when working pixel ``(r, c)`` shows ``KINDS[k]``; it covers
    level-0 ``x in [c * downsample[0], (c + 1) * downsample[0])`` (and ``y`` likewise).
    """

    flags: np.ndarray
    downsample: tuple[float, float]
    tissue_px: int
    shares: dict[str, float]
    pens: dict[str, float]
    """Share of the tissue per pen colour."""
    blur: BlurSample | None
    elapsed_s: float
    """Wall-clock seconds since the measure's budget began (its own time when made for it)."""
    scale_mpp: float | None = None
    """µm per pixel of the image the fold rules judged (None: resolution unknown)."""
    unmeasured: dict[str, str] = field(default_factory=dict)
    """Kinds not measured on this slide, each with why (its share is 0 and says nothing)."""
    scale_note: str = ""
    """How the fold and bubble rules' scale was set (unknown resolution: the working image's; a
    plausible one coarser than 2 µm per pixel: judged at it)."""
    field_um: float | None = None
    """The image's longer side in µm (None: resolution unknown)."""
    mpp: tuple[float, float] | None = None
    """The level-0 resolution the measure was given, x and y µm per pixel (None: unknown)."""
    mpp_source: str = ""
    """Where that resolution came from (a key of :data:`MPP_SOURCES`; empty: unknown or not said)."""
    mpp_range: tuple[float, float] = PLAUSIBLE_MPP
    """The plausible level-0 resolutions (µm per pixel) it was held to (the profile's
    ``slide.header`` range for the source, :func:`dqm.slide_io.plausible_mpp`): outside, folds
    are not measured."""
    section: float | None = None
    """Share of the tissue that is a stained section, not ink (:func:`dqm.pixels.ink.section_share`,
    set by the probe; None: not measured)."""
    section_region: int | None = None
    """Pixels of the largest connected stained-section region at the working scale
    (:func:`dqm.pixels.ink.section_region`, set by the probe; None: not measured)."""
    all_ink: bool | None = None
    """Whether the slide's image is ink alone (:func:`dqm.pixels.ink.all_ink`), judged once by the probe
    beside :attr:`section_region`: the checks (:func:`validators.slide.said_all_ink`) and the item
    record (``items[].slide.all_ink``) read it (None: not judged, or nothing but background)."""
    spread: float | None = None
    """The largest channel's standard deviation (0 to 255) of the colours over what is not background
    (:func:`dqm.pixels.ink.colour_spread`, set by the probe; None: not measured)."""
    off_region: int | None = None
    """Pixels of the largest connected region that stands off the smooth shade of what is not
    background, at the working scale (:func:`dqm.pixels.ink.off_colour_region`, set by the probe where the
    :attr:`spread` is under :data:`dqm.pixels.ink.FLAT_SPREAD`; None: not measured)."""
    one_colour: bool | None = None
    """Whether the slide's image is one flat colour, not ink (:func:`dqm.pixels.ink.one_colour`),
    judged once by the probe beside :attr:`all_ink` and read as it is (None: not judged)."""

    def mask(self, *kinds: str) -> np.ndarray:
        """The pixels that show any of ``kinds``."""
        bits = sum(1 << KINDS.index(k) for k in kinds)
        return (self.flags & bits) != 0

    def facts(self) -> ArtefactFacts:
        """What an item record keeps: the shares and a flag map of at most :data:`FACTS_SIDE` a side."""
        h, w = self.flags.shape
        step = max(1, int(np.ceil(max(h, w) / FACTS_SIDE)))
        small = _block_or(self.flags, step)
        sh, sw = small.shape
        return ArtefactFacts(
            shares=dict(self.shares),
            pens=dict(self.pens),
            kinds=KINDS,
            map_shape=(sh, sw),
            map_downsample=(self.downsample[0] * w / sw, self.downsample[1] * h / sh),
            map_data=base64.b64encode(zlib.compress(small.tobytes(), 6)).decode("ascii"),
            blur_tiles=self.blur.tiles if self.blur is not None else 0,
            blur_note=self.blur.note if self.blur is not None else "",
            unmeasured=dict(self.unmeasured),
            scale_note=self.scale_note,
        )


def _block_or(flags: np.ndarray, step: int) -> np.ndarray:
    """Bitwise OR over ``step`` x ``step`` blocks (a thin pen line survives the shrink): the rows of
    each block ORed together, then its columns (``2 * step`` ORs of strided views, not ``step**2``;
    a reduction over an axis of two to four elements costs numpy several times more). The image is
    padded with zeros to whole blocks."""
    if step == 1:
        return flags.copy()
    h, w = flags.shape
    padded = flags
    if h % step or w % step:
        padded = np.zeros((h + -h % step, w + -w % step), flags.dtype)
        padded[:h, :w] = flags
    rows = padded[::step].copy()
    for i in range(1, step):
        rows |= padded[i::step]
    out = rows[:, ::step].copy()
    for j in range(1, step):
        out |= rows[:, j::step]
    return out


def flag_map(facts: ArtefactFacts) -> np.ndarray:
    """The record's flag map as a ``uint8`` array (bits in ``facts.kinds`` order)."""
    raw = zlib.decompress(base64.b64decode(facts.map_data))
    return np.frombuffer(raw, dtype=np.uint8).reshape(facts.map_shape)


def _shrink(
    rgb: np.ndarray, mask: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Block means down to at most :data:`WORK_SIDE` a side; ``f`` the integer factor."""
    h, w = mask.shape
    f = max(1, int(np.ceil(max(h, w) / WORK_SIDE)))
    if f == 1:
        return rgb.astype(np.float32), mask, valid, f
    h2, w2 = h // f, w // f
    if h2 == 0 or w2 == 0:
        return rgb.astype(np.float32), mask, valid, 1

    def mean(a: np.ndarray) -> np.ndarray:
        # strided sums: much faster than a mean over the axes of a reshaped view
        out = np.zeros((h2, w2, *a.shape[2:]), np.float32)
        for i in range(f):
            for j in range(f):
                out += a[i : h2 * f : f, j : w2 * f : f]
        return out / (f * f)

    return mean(rgb), mean(mask) > 0.5, mean(valid) > 0.5, f


def _saturation(r: np.ndarray, g: np.ndarray, b: np.ndarray, mx: np.ndarray | None = None) -> np.ndarray:
    """``(max - min) / max`` per pixel of channels ``r``, ``g``, ``b`` (0 where black); ``mx``: the
    brightest channel, when known."""
    if mx is None:
        mx = np.maximum(np.maximum(r, g), b)  # channel-wise: faster than a reduction over axis=-1
    mn = np.minimum(np.minimum(r, g), b)
    return np.divide(mx - mn, mx, out=np.zeros_like(mx), where=mx > 0)


def _median(values: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-D float array without NaN (the probe's measures make none): its
    middle value, or the mean of its two middle values in the array's float type, from
    :func:`order_statistics`, without the partitions and checks for NaN of ``np.median`` (numpy's
    partition is slow on the values of a slide, which repeat: 1.2 ms for the median of a glass's
    27,554 grey values, 0.04 ms now). Which of two equal zeros of opposite sign it returns is
    arbitrary, as numpy's; the probe's arrays hold zeros of one sign."""
    half = values.size // 2
    if values.size % 2:
        return float(order_statistics(values, (half,))[0])
    lower, upper = order_statistics(values, (half - 1, half))
    return float((lower + upper) / 2)


def _drop_small(mask: np.ndarray, min_px: int) -> np.ndarray:
    from scipy import ndimage

    if not mask.any():
        return mask
    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_px
    keep[0] = False
    return keep[labels]


def _pens(
    r: np.ndarray, g: np.ndarray, b: np.ndarray, mx: np.ndarray, sat: np.ndarray, brown: np.ndarray
) -> dict[str, np.ndarray]:
    """Each ink's pixels: its first condition over the whole image, the others only where that one
    holds somewhere (most slides carry no ink, and an empty first condition settles the colour)."""
    found = {
        "blue": b - np.maximum(r, g) > PEN_MIN_DOMINANCE["blue"],
        "green": g - np.maximum(r, b) > PEN_MIN_DOMINANCE["green"],
        "red": r - np.maximum(g, b) > PEN_MIN_DOMINANCE["red"],
        "black": mx < BLACK_MAX_VALUE,
    }
    mn = np.minimum(np.minimum(r, g), b) if found["black"].any() else mx
    rest: dict[str, Callable[[], np.ndarray]] = {
        "blue": lambda: (g >= r - 10) & (sat > 0.3),
        "green": lambda: sat > 0.2,
        "red": lambda: (np.abs(g - b) < 40) & (sat > 0.55),
        "black": lambda: (
            (sat < BLACK_MAX_SATURATION)
            & ~brown
            & ((mx < BLACK_NEUTRAL_VALUE) | (mx - mn <= BLACK_MAX_SPREAD))
        ),
    }
    for colour, mask in found.items():
        if mask.any():
            mask &= rest[colour]()
    if found["blue"].any():
        found["blue"] = _bluer_than_stain(found["blue"], r, b, sat)
    if found["red"].any():
        found["red"] = _redder_than_stain(found["red"], r, g, b, sat)
    return found


def _bluer_than_stain(blue: np.ndarray, r: np.ndarray, b: np.ndarray, sat: np.ndarray) -> np.ndarray:
    """The blue pixels that are ink: all of them on a pink slide; on a slide stained blue
    (:data:`PEN_BLUE_STAINED`), those whose blue over red is at least PEN_BLUE_MIN_HUE_RATIO times
    the median of the stained rest (neither glass nor within PEN_EDGE of a blue pixel: a
    stroke's soft edge is ink too). Not by shape: a length rule lost real strokes broken in pieces
    and short marks (docs/formats.md, session 22)."""
    near = dilate(blue, PEN_EDGE)
    rest = ~near & (sat >= STAINED_MIN_SATURATION)
    ref = _median(b[rest] / (r[rest] + 1.0)) if rest.any() else 0.0
    if ref < PEN_BLUE_STAINED:
        return blue
    return blue & (b >= PEN_BLUE_MIN_HUE_RATIO * ref * (r + 1.0))


def _redder_than_stain(
    red: np.ndarray, r: np.ndarray, g: np.ndarray, b: np.ndarray, sat: np.ndarray
) -> np.ndarray:
    """The red candidates that are ink: all of them where they are under
    :data:`PEN_RED_STAIN_SHARE` of the stained pixels (a stroke); else those on the glass
    (:data:`PEN_RED_GLASS_RING`), each connected patch whose median max(g, b) / r is at most
    :data:`PEN_RED_MAX_HUE_RATIO` times the stained rest's, and in the other patches (a slide's own
    eosin, a stroke run into it) the pixels that are so themselves; all of them where no stained
    rest is left (nothing to tell the ink from)."""
    from scipy import ndimage

    stained = sat >= STAINED_MIN_SATURATION
    gate = PEN_RED_STAIN_SHARE * np.count_nonzero(stained | red)
    if np.count_nonzero(red) < gate:
        return red
    near = dilate(red, PEN_EDGE)
    rest = ~near & stained
    if not rest.any():
        return red
    hue = np.maximum(g, b) / (r + 1.0)
    limit = PEN_RED_MAX_HUE_RATIO * _median(hue[rest])
    labels, n = ndimage.label(red)
    keep = np.zeros(n + 1, bool)
    for i, box in enumerate(ndimage.find_objects(labels), 1):
        keep[i] = _median(hue[box][labels[box] == i]) <= limit
    groups, m = ndimage.label(near)
    spread = groups.copy()  # each group's label carried PEN_EDGE pixels beyond it: its ring
    for _ in range(PEN_EDGE):
        grown = spread.copy()
        np.maximum(grown[1:], spread[:-1], out=grown[1:])
        np.maximum(grown[:-1], spread[1:], out=grown[:-1])
        np.maximum(grown[:, 1:], spread[:, :-1], out=grown[:, 1:])
        np.maximum(grown[:, :-1], spread[:, 1:], out=grown[:, :-1])
        spread = grown
    ring = spread[~near]
    glassy = np.bincount(ring[~stained[~near]], minlength=m + 1)
    size = np.bincount(groups[red], minlength=m + 1)
    on_glass = (glassy >= PEN_RED_GLASS_RING * np.bincount(ring, minlength=m + 1)) & (size < gate)
    on_glass[0] = False
    return keep[labels] | (red & on_glass[groups]) | (red & (hue <= limit))


def _local_glass(grey: np.ndarray, glass: np.ndarray, fallback: float) -> np.ndarray:
    """The glass's mean grey level within DEBRIS_REACH of the image's longest side (``fallback``
    where none lies that near): a darker shade of glass (another part of the slide, a scanner's
    background) is not debris, a speck darker than the glass around it is (``glass``: without
    :func:`_clumps`). Measured on blocks of DEBRIS_STEP pixels (a 512-pixel image: 64 x 64 block
    means, then a box of 13 blocks: 2 ms, 9.4 ms as two box filters of 103 pixels)."""
    k = DEBRIS_STEP
    mean = _glass_blocks(grey[None], glass, fallback)[0]
    return np.repeat(np.repeat(mean, k, 0), k, 1)[: grey.shape[0], : grey.shape[1]]


def _glass_blocks(planes: np.ndarray, glass: np.ndarray, fallback: float) -> np.ndarray:
    """:func:`_local_glass` of each of ``planes`` (n, h, w), per block of DEBRIS_STEP pixels."""
    from scipy import ndimage

    k = DEBRIS_STEP
    h, w = -(-glass.shape[0] // k) * k, -(-glass.shape[1] // k) * k
    pad = ((0, h - glass.shape[0]), (0, w - glass.shape[1]))
    near = _block_mean(np.pad(glass.astype(np.float32), pad), (k, k))
    size = max(3, int(DEBRIS_REACH * max(glass.shape) / k) | 1)
    near = ndimage.uniform_filter(near, size, mode="constant")
    out = []
    for plane in planes:
        total = _block_mean(np.pad(np.where(glass, plane, 0.0).astype(np.float32), pad), (k, k))
        total = ndimage.uniform_filter(total, size, mode="constant")
        out.append(np.where(near > 0.05, total / np.maximum(near, 0.05), fallback))
    return np.stack(out)


def _dark_specks(debris: np.ndarray, darker: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The debris pixels that are debris rather than pale or stained tissue: at least
    DEBRIS_MIN_DARK darker than the glass around it (``darker``: the local glass mean minus the
    grey level) and either near-neutral (``colour``: the channels (3, h, w), white-balanced
    against the local glass; their spread, 0-1, at most DEBRIS_TINT times that darkness) or of a
    colour unlike the stain's (green not the lowest channel by DEBRIS_STAIN of the spread) and
    DEBRIS_COLOUR_DARK darker; then their candidate neighbours DEBRIS_GROW times as dark. Judged by
    the pixel, not by a region's average: a speck touching pale matter is kept by its own pixels,
    and the pale matter beside it stays out."""
    from scipy import ndimage

    ys, xs = np.nonzero(debris & (darker >= DEBRIS_MIN_DARK))  # read where it can count alone
    r, g, b = colour[:, ys, xs]
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    d = darker[ys, xs]
    keep = (spread <= 255.0 * DEBRIS_TINT * d) | (
        (np.minimum(r, b) - g < DEBRIS_STAIN * spread) & (d >= DEBRIS_COLOUR_DARK)
    )
    kept = np.zeros_like(debris)
    kept[ys[keep], xs[keep]] = True
    near = ndimage.maximum_filter(np.where(kept, darker, 0.0), size=3)
    return kept | (debris & (near > 0) & (darker >= DEBRIS_GROW * near))


def _clumps(candidates: np.ndarray) -> np.ndarray:
    """The debris candidates in regions smaller than DEBRIS_REACH's square: left out of the glass
    they are compared with (a clump would darken its own reference), while a larger darker shade
    of glass stays its own reference."""
    reach = DEBRIS_REACH * max(candidates.shape)
    return candidates & ~_drop_small(candidates, int(reach * reach))


def _local_fold(od: np.ndarray, stained: np.ndarray) -> np.ndarray:
    """Stained pixels in blocks whose haematoxylin and eosin are both :data:`FOLD_LOCAL_RATIO` times
    their surroundings' (normalised convolutions over the stained tissue: blur(stain x mask) /
    blur(mask))."""
    step = FOLD_LOCAL_STEP
    h, w = stained.shape
    h2, w2 = h // step, w // step
    out = np.zeros_like(stained)
    if h2 < 2 or w2 < 2 or not stained.any():
        return out

    def blocks(a: np.ndarray) -> np.ndarray:  # block sums, one axis at a time
        a = a[: h2 * step].reshape(h2, step, w, *a.shape[2:]).sum(1, dtype=np.float32)
        a = a[:, : w2 * step].reshape(h2, w2, step, *a.shape[2:])
        # numpy sums this axis (not the innermost) one element after another: the same additions
        # as a.sum(2), without its iteration over many short runs
        out = a[:, :, 0] + a[:, :, 1]
        for i in range(2, step):
            out += a[:, :, i]
        return out

    stained_f = stained.astype(np.float32)  # multiplies faster than the boolean, to the same bits
    tissue = blocks(stained_f)[..., None]
    stains = blocks(od * stained_f[..., None]) @ UNMIX[:, :2]  # sums per block: (h2, w2, 2)
    side = max(h2, w2)

    def blur(a: np.ndarray, reach: float) -> np.ndarray:
        return _gaussian_2d(a, reach * side, truncate=2.0)

    def local(values: np.ndarray, weight: np.ndarray, reach: float) -> np.ndarray:
        return blur(values, reach) / np.maximum(blur(weight, reach), 1e-3)

    smooth_tissue = blur(tissue, FOLD_LOCAL_SMOOTH)  # one smoothing for the three uses below
    near = blur(stains, FOLD_LOCAL_SMOOTH) / np.maximum(smooth_tissue, 1e-3)
    both = stains[..., :1] + stains[..., 1:]  # a sum over an axis of two costs numpy several times more
    usual = tissue * (both < FOLD_LOCAL_EXCLUDE * tissue * local(both, tissue, FOLD_LOCAL_REACH))
    ref = np.maximum(local(stains * (usual > 0), usual, FOLD_LOCAL_REACH), 0.02)
    dense = _both(near > FOLD_LOCAL_RATIO * ref)
    enough = smooth_tissue[..., 0] > FOLD_LOCAL_MIN_TISSUE * step * step
    sides = local(stains, tissue, FOLD_BAND_SIDE_SMOOTH)
    side_tissue = smooth_tissue[..., 0] >= FOLD_BAND_MIN_SIDE * step * step
    dense = (dense | _band(near, sides, side_tissue, enough, side)) & enough
    out[: h2 * step, : w2 * step] = np.repeat(np.repeat(dense, step, 0), step, 1)
    return out & stained


def _both(passed: np.ndarray) -> np.ndarray:
    """Where both stains (the last axis: haematoxylin, eosin) pass: ``np.all(passed, axis=-1)``
    without numpy's reduction over an axis of two (about 30 µs more a call on a slide's blocks)."""
    return passed[..., 0] & passed[..., 1]


@functools.lru_cache(maxsize=256)
def _gaussian_weights(sigma: float, radius: int) -> np.ndarray:
    """The weights ``ndimage.gaussian_filter1d`` correlates with: its response to one impulse
    (every other term of its sums is a zero, so the response is the weights to the bit)."""
    from scipy import ndimage

    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    weights = ndimage.gaussian_filter1d(impulse, sigma, mode="constant", radius=radius)
    weights.flags.writeable = False
    return weights


def _gaussian_2d(a: np.ndarray, sigma: float, truncate: float) -> np.ndarray:
    """``ndimage.gaussian_filter(a, (sigma, sigma, 0, ...), truncate=truncate)``, ``sigma > 0``: the
    same two correlations (rows, then columns, in ``a``'s type), without working out the kernel and
    options on each call (most of the cost on the fold's block images of a few hundred blocks)."""
    from scipy import ndimage

    weights = _gaussian_weights(float(sigma), int(truncate * float(sigma) + 0.5))
    out = ndimage.correlate1d(a, weights, 0, mode="reflect")
    return ndimage.correlate1d(out, weights, 1, output=out, mode="reflect")


def _band(
    near: np.ndarray, sides: np.ndarray, side_tissue: np.ndarray, enough: np.ndarray, side: int
) -> np.ndarray:
    """Blocks of a straight band (:data:`FOLD_BAND_RATIO`): ``near`` and ``sides`` are the blocks'
    haematoxylin and eosin, smoothed a little and more, ``side_tissue`` where a side has stained
    tissue enough to compare with, ``enough`` the blocks with stained tissue enough to be judged,
    ``side`` the longer side in blocks."""
    from scipy import ndimage

    offset = max(1, round(FOLD_BAND_OFFSET * side))
    reach = max(1, round(FOLD_BAND_LENGTH * side))
    need = FOLD_BAND_FILL * (2 * reach + 1) - 1e-6
    out = np.zeros(near.shape[:2], bool)
    for dy, dx in _BAND_NORMALS:
        one, other = shifted(sides, offset * dy, offset * dx), shifted(sides, -offset * dy, -offset * dx)
        has_one = shifted(side_tissue, offset * dy, offset * dx)[..., None]
        has_other = shifted(side_tissue, -offset * dy, -offset * dx)[..., None]
        # the denser side where both are tissue, else the one that is (neither: nothing to compare)
        beside = np.where(has_one, np.where(has_other, np.maximum(one, other), one), other)
        dense = _both(near > FOLD_BAND_RATIO * np.maximum(beside, 0.02))
        dense &= enough & (has_one[..., 0] | has_other[..., 0])
        if not dense.any():
            continue
        line = np.zeros((2 * reach + 1, 2 * reach + 1), np.float32)  # along the band: across (dy, dx)
        steps = np.arange(-reach, reach + 1)
        line[reach + steps * dx, reach - steps * dy] = 1.0
        run = dense & (ndimage.correlate(dense.astype(np.float32), line, mode="constant") >= need)
        if run.any():  # the whole run's line, where its blocks pass
            out |= dense & (ndimage.correlate(run.astype(np.float32), line, mode="constant") > 0)
    return out


def _touching(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected regions of ``mask`` that touch ``seed``."""
    from scipy import ndimage

    if not (seed & mask).any():  # most slides: no ink on dark tissue, nothing to label
        return np.zeros_like(mask)
    labels, _ = ndimage.label(mask)
    hit = np.unique(labels[seed & mask])
    return np.isin(labels, hit[hit > 0])


def _brown(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Red well over green, blue not well over green (0-255): pigment (melanin, haemosiderin) and
    blood, never a pen mark; H&E is pink to purple, blue well over green, but its folds darkened to
    near black fall within these margins too (the fold rules ask :func:`_pigment`)."""
    return (r > g + BROWN_MIN_RED_OVER_GREEN) & (b < g + BROWN_MAX_BLUE_OVER_GREEN)


def _edges(
    grey: np.ndarray, sat: np.ndarray, tissue_sat: float, tissue_grey: float, min_px: int, ink: np.ndarray
) -> np.ndarray:
    """Bubble rims and coverslip edges: thin lines darker than around them and than most tissue
    (``tissue_grey``: its median grey level; a pixel much greyer than the tissue need be only
    slightly darker, :data:`EDGE_GREY_SHARE`, unless it lies on a line that comes within
    :data:`EDGE_INK_MARGIN` of ``ink``: a pen stroke's edge, its colour blended with the tissue's,
    is as grey and as slightly darker; a grey pixel up to EDGE_MIN_DARKER lighter than that median
    only when much darker than around it, :data:`EDGE_GLASS_CONTRAST`, and joined to those lines:
    a rim crossing from the tissue onto glass), greyer than
    the tissue (``tissue_sat``: its median saturation), long enough; a closed rim is filled (the
    bubble's inside is what is lost).
    How much darker than around it a pixel is (the black top-hat of ``grey``) is asked only of
    the few grey, dark pixels (:func:`_top_hat_near`)."""
    from scipy import ndimage

    limit = max(EDGE_MAX_SATURATION, EDGE_TISSUE_SATURATION * tissue_sat)
    dark = (sat < 2 * limit) & (grey < tissue_grey - EDGE_MIN_DARKER)
    greyer = (sat < EDGE_GREY_SHARE * tissue_sat) & (grey < tissue_grey - EDGE_GREY_DARKER)
    lines = np.zeros_like(dark)
    if dark.any():
        lines = dark & (_top_hat_near(grey, dark) > EDGE_MIN_CONTRAST)
    if greyer.any():  # darker than around it with the nuclei beside it counted lighter (saturated)
        faint = greyer & (_top_hat_near(grey + sat, greyer) > EDGE_MIN_CONTRAST)
        if ink.any():  # a pen stroke's blended edge, and the lines running on from it
            faint &= ~_touching(faint, dilate(ink, EDGE_INK_MARGIN))
        lines |= faint
    beside = (sat < limit) & (grey < tissue_grey + EDGE_MIN_DARKER) & ~dark & ~lines
    if beside.any() and lines.any():  # a rim over glass or a lumen: darker than the bright ground
        lines |= _rim_over_glass(beside & (_top_hat_near(grey, beside) > EDGE_GLASS_CONTRAST), lines, ink)
    if not lines.any():
        return lines
    labels, n = ndimage.label(lines, structure=np.ones((3, 3), bool))
    min_len = EDGE_MIN_LENGTH * max(grey.shape)
    keep = np.zeros(n + 1, bool)
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) < min_len:
            continue
        # the median over the few long lines only (over every short speck too it cost 8 x the mean)
        keep[k] = bool(np.median(sat[sl][labels[sl] == k]) < limit)
    lines = keep[labels]
    if not lines.any():
        return lines
    closed = ndimage.binary_closing(lines, structure=np.ones((3, 3), bool), iterations=2)  # bridge gaps
    inside, n = ndimage.label(ndimage.binary_fill_holes(closed) & ~closed)
    if not n:
        return _drop_small(lines, min_px)
    # a rim around a gap in the tissue is its edge, not a bubble: a bubble's inside is tissue
    tissue_like = ndimage.mean(sat, inside, np.arange(n + 1)) >= EDGE_INSIDE_SATURATION * tissue_sat
    tissue_like[0] = False
    return _drop_small(lines | tissue_like[inside], min_px)


def _rim_over_glass(glassy: np.ndarray, lines: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The lines of ``glassy`` (grey, much darker than the glass beside them) that continue a rim
    the tissue rules found (``lines``): joined to it, 8-connected, once gaps are bridged as the rim
    is closed, and not within :data:`EDGE_INK_MARGIN` of ``ink``. A bubble's rim crosses from the
    tissue onto the glass; a hair, a fibre or a pen stroke's edge on the glass stands alone."""
    from scipy import ndimage

    if ink.any():  # a pen stroke's blended edge on the glass, and the lines running on from it
        glassy = glassy & ~_touching(glassy, dilate(ink, EDGE_INK_MARGIN))
    if not glassy.any():
        return glassy
    joined = ndimage.binary_closing(glassy | lines, structure=np.ones((3, 3), bool), iterations=2)
    labels, _ = ndimage.label(joined, structure=np.ones((3, 3), bool))
    hit = np.unique(labels[lines])
    return glassy & np.isin(labels, hit[hit > 0])


def _top_hat_near(grey: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``grey_closing(grey, EDGE_HAT) - grey`` (the black top-hat) at the pixels ``where`` holds
    (at least one; elsewhere 0 or not the top-hat): the closing taken on the box around them only,
    widened by the closing's reach (its maximum and its minimum each look half a window away), so
    each of them sees the same pixels as in the whole image, or the same mirrored edge where the
    box meets the image's. On a slide the pixels asked about are a few scattered dark grey specks
    (0.05 % of a lot slide's image; their box, widened, 8 % of it)."""
    reach = 2 * (EDGE_HAT // 2)
    rows, cols = np.flatnonzero(where.any(axis=1)), np.flatnonzero(where.any(axis=0))
    box = (
        slice(max(int(rows[0]) - reach, 0), int(rows[-1]) + reach + 1),
        slice(max(int(cols[0]) - reach, 0), int(cols[-1]) + reach + 1),
    )
    hat = np.zeros_like(grey)
    hat[box] = grey_closing(grey[box], EDGE_HAT) - grey[box]
    return hat


def _thin_valleys(grey: np.ndarray) -> np.ndarray:
    """How much darker each pixel is than both its neighbours :data:`COVERSLIP_REACH` pixels away
    across it, in the direction where that is most (0 at the border): a thin line's depth, without
    the cost of a morphological closing."""
    k = COVERSLIP_REACH
    h, w = grey.shape
    padded = np.pad(grey, k, mode="edge")
    depth = np.zeros_like(grey)
    for dy, dx in ((0, k), (k, 0), (k, k), (k, -k)):
        one = padded[k + dy : k + dy + h, k + dx : k + dx + w]
        other = padded[k - dy : k - dy + h, k - dx : k - dx + w]
        np.maximum(depth, np.minimum(one, other) - grey, out=depth)
    return depth


def _straight_edges(valleys: np.ndarray, tissue: np.ndarray) -> np.ndarray:
    """Coverslip edges: long, dense, straight runs of ``valleys`` (a Hough transform: every valley
    pixel votes for the lines through it; the best-supported lines are kept when a long enough
    stretch of them is dense and holds one unbroken piece, :data:`COVERSLIP_MIN_UNBROKEN`), each widened by :data:`COVERSLIP_BAND`."""
    out = np.zeros_like(valleys)
    ys, xs = np.nonzero(valleys)
    side = max(valleys.shape)
    min_len = COVERSLIP_MIN_LENGTH * side
    if ys.size < COVERSLIP_MIN_FILL * min_len:
        return out
    theta = np.linspace(0, np.pi, COVERSLIP_ANGLES, endpoint=False, dtype=np.float32)
    cos, sin = np.cos(theta), np.sin(theta)
    diag = int(np.ceil(np.hypot(*valleys.shape)))
    rho = np.rint(np.outer(cos, xs) + np.outer(sin, ys)).astype(np.int32) + diag
    votes = np.bincount((np.arange(theta.size)[:, None] * (2 * diag + 1) + rho).ravel())
    if votes.max() < COVERSLIP_MIN_FILL * min_len:  # most slides: no line has the support
        return out
    yy, xx = np.mgrid[: valleys.shape[0], : valleys.shape[1]]
    band = max(2.0, COVERSLIP_BAND * side)
    top = np.argpartition(votes, -4)[-4:]
    for best in top[np.argsort(votes[top])[::-1]]:
        if votes[best] < COVERSLIP_MIN_FILL * min_len:
            break
        a, r = divmod(int(best), 2 * diag + 1)
        near = np.flatnonzero(np.abs(rho[a] - r) <= 1)
        order = np.argsort(-sin[a] * xs[near] + cos[a] * ys[near])
        near = near[order]
        t = -sin[a] * xs[near] + cos[a] * ys[near]
        # the longest stretch without a gap wider than COVERSLIP_MAX_GAP
        breaks = np.flatnonzero(np.diff(t) > COVERSLIP_MAX_GAP * side)
        starts, ends = np.r_[0, breaks + 1], np.r_[breaks, t.size - 1]
        k = int(np.argmax(t[ends] - t[starts]))
        t0, t1 = t[starts[k]], t[ends[k]]
        run = near[starts[k] : ends[k] + 1]
        if t1 - t0 < min_len or run.size < COVERSLIP_MIN_FILL * (t1 - t0):
            continue
        steps = np.flatnonzero(np.diff(t[starts[k] : ends[k] + 1]) > COVERSLIP_STEP)
        first, last = np.r_[0, steps + 1], np.r_[steps, run.size - 1]
        if (t[starts[k] + last] - t[starts[k] + first]).max() < COVERSLIP_MIN_UNBROKEN * side:
            continue
        if (~tissue[ys[run], xs[run]]).mean() < COVERSLIP_MIN_GLASS:
            continue
        along = -sin[a] * xx + cos[a] * yy
        out |= (np.abs(cos[a] * xx + sin[a] * yy - (r - diag)) <= band) & (along >= t0) & (along <= t1)
    return out


@dataclass(frozen=True, slots=True)
class _Work:
    """A working image and what the rules read of it: the block means (``raw``), their smoothing
    (:data:`SMOOTH`) by channel, brightest channel, saturation, grey level (0-1), optical density
    per channel and its mean, and the brown pixels."""

    raw: np.ndarray
    r: np.ndarray
    g: np.ndarray
    b: np.ndarray
    mx: np.ndarray
    sat: np.ndarray
    grey: np.ndarray
    od: np.ndarray
    od_mean: np.ndarray
    brown: np.ndarray

    @classmethod
    def of(cls, raw: np.ndarray) -> _Work:
        from scipy import ndimage

        rgb = ndimage.gaussian_filter(raw, sigma=(SMOOTH, SMOOTH, 0))
        r, g, b = rgb.transpose(2, 0, 1).copy()  # each channel contiguous: the rules' passes run faster
        mx = np.maximum(np.maximum(r, g), b)
        od = rgb + 1.0  # -log10((rgb + 1) / 256), each step in place
        od /= 256.0
        np.log10(od, out=od)
        np.negative(od, out=od)
        od_mean = (od[..., 0] + od[..., 1] + od[..., 2]) / 3
        grey = (r + g + b) / (3 * 255.0)
        return cls(raw, r, g, b, mx, _saturation(r, g, b, mx), grey, od, od_mean, _brown(r, g, b))


@dataclass(frozen=True, slots=True)
class _Scale:
    """Where the fold rules judge: ``factor`` (x, y) working pixels per pixel of theirs, at ``mpp``
    µm per pixel (the coarser axis; None: unknown), the field of view ``field_um`` (None: unknown),
    the kinds not measured with why, and a note when the scale is not known."""

    factor: tuple[int, int]
    mpp: float | None
    field_um: float | None
    unmeasured: dict[str, str]
    note: str


def _pair(mpp: float | tuple[float, float] | None) -> tuple[float, float] | None:
    """A level-0 resolution as (x, y) µm per pixel (None: unknown, or not a positive number)."""
    if mpp is None:
        return None
    x, y = (mpp, mpp) if isinstance(mpp, (int, float)) else mpp
    ok = all(v is not None and np.isfinite(v) and v > 0 for v in (x, y))
    return (float(x), float(y)) if ok else None


def plausible(mpp: tuple[float, float], bounds: tuple[float, float] = PLAUSIBLE_MPP) -> bool:
    """Whether both axes of a level-0 resolution lie in ``bounds`` (µm per pixel; default
    :data:`dqm.coords.PLAUSIBLE_MPP`, the ``slide.header`` check's default range for the header's)."""
    low, high = bounds
    return all(low <= v <= high for v in mpp)


def fold_blocks(mpp: tuple[float, float], ds: tuple[float, float]) -> tuple[int, int]:
    """The (x, y) working pixels the fold rules average into one of theirs at level-0 resolution
    ``mpp`` and ``ds`` level-0 pixels per working pixel: down to :data:`FOLD_MIN_MPP`, never finer
    ((1, 1): judged at the working image's own scale)."""
    kx, ky = (max(1, int(np.ceil(FOLD_MIN_MPP / (m * d) - 1e-6))) for m, d in zip(mpp, ds, strict=True))
    return kx, ky


def _scale(
    mpp: float | tuple[float, float] | None,
    ds: tuple[float, float],
    shape: tuple[int, int],
    bounds: tuple[float, float] = PLAUSIBLE_MPP,
) -> _Scale:
    """The fold rules' scale on a working image of ``shape`` at ``ds`` level-0 pixels per pixel,
    the level-0 resolution ``mpp`` (µm per pixel, one for both axes or (x, y); None or not
    positive: unknown). A resolution outside ``bounds`` (the plausible range: the profile's
    ``slide.header`` one, default :data:`~dqm.coords.PLAUSIBLE_MPP`), or one that leaves fewer than
    :data:`FOLD_MIN_SIDE` pixels a side at the fold rules' scale, leaves folds unmeasured. One
    plausible but coarser than :data:`~dqm.coords.PLAUSIBLE_MPP` (a 4x objective's 2.5 µm) is
    judged at and the note says so."""
    pair = _pair(mpp)
    if pair is None:
        return _Scale((1, 1), None, None, {}, "resolution unknown: folds judged at the working image's scale")
    (mx, my), (h, w) = pair, shape
    field_um = max(h * ds[1] * my, w * ds[0] * mx)
    if not plausible(pair, bounds):
        low, high = bounds
        why = f"not measured: {mx:g} x {my:g} µm per pixel lies outside the plausible {low:g}-{high:g}"
        return _Scale((1, 1), None, field_um, {"fold": why}, "")
    work = (mx * ds[0], my * ds[1])
    kx, ky = fold_blocks(pair, ds)
    if min(w // kx, h // ky) < FOLD_MIN_SIDE:
        at = f"{w} x {h} pixels at {work[0]:.3g} x {work[1]:.3g} µm"
        size = (
            f"block-averaged to {FOLD_MIN_MPP:g} µm, leave {w // kx} x {h // ky}"
            if (kx, ky) != (1, 1)
            else ""
        )
        why = (
            f"not measured: {at}, {size}, under {FOLD_MIN_SIDE}"
            if size
            else f"not measured: {at}, under {FOLD_MIN_SIDE}"
        )
        return _Scale((kx, ky), None, field_um, {"fold": why}, "")
    scale_mpp = max(work[0] * kx, work[1] * ky)
    note = ""
    if max(mx, my) > PLAUSIBLE_MPP[1]:  # plausible by the profile's range, coarser than a scanner's
        note = (
            f"level-0 resolution {mx:g} x {my:g} µm per pixel, coarser than {PLAUSIBLE_MPP[1]:g}: "
            f"folds judged at {scale_mpp:.3g} µm per pixel"
        )
    return _Scale((kx, ky), scale_mpp, field_um, {}, note)


def _block_mean(a: np.ndarray, k: tuple[int, int]) -> np.ndarray:
    """Means over ``k`` = (x, y) blocks (the last partial row and column of blocks dropped)."""
    kx, ky = k
    h, w = a.shape[0] // ky, a.shape[1] // kx
    out = np.zeros((h, w, *a.shape[2:]), np.float32)
    for i in range(ky):
        for j in range(kx):
            out += a[i : h * ky : ky, j : w * kx : kx]
    return out / (kx * ky)


def _grown(mask: np.ndarray, k: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """``mask`` of ``k`` = (x, y) blocks back on a grid of ``shape`` (the edge rows and columns
    the blocks left out: False)."""
    out = np.zeros(shape, bool)
    big = np.repeat(np.repeat(mask, k[1], 0), k[0], 1)
    out[: big.shape[0], : big.shape[1]] = big
    return out


def _pigment(brown: np.ndarray, od: np.ndarray) -> np.ndarray:
    """The ``brown`` pixels (:func:`_brown`) that are pigment or blood, not a fold (optical density
    ``od``): those that absorb blue at least as much as green (melanin, haemosiderin), and those
    whose red absorbs at most :data:`BLOOD_MAX_RED_OVER_GREEN` of green's (red cells, whose blue
    may absorb a little less than green). Brown's margins are in 0-255, so the purple of folded
    H&E, darkened two or three layers deep, falls within them (blue and green both near 0), while
    its green stays the most absorbed channel and its red keeps haematoxylin's share."""
    if not brown.any():
        return brown
    green = od[..., 1]
    return brown & ((od[..., 2] >= green) | (od[..., 0] <= BLOOD_MAX_RED_OVER_GREEN * green))


def _folds_and_rims(
    work: _Work, tmask: np.ndarray, valid: np.ndarray, pen: np.ndarray, min_px: int, rims: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Folds, bubbles and coverslip edges (``rims`` False: none sought) on one working image, and
    the dark tissue touching ink (``inked``: the ink's, not a fold)."""
    from scipy import ndimage

    od, od_mean, sat, grey, raw = work.od, work.od_mean, work.sat, work.grey, work.raw
    brown = _pigment(work.brown, od)
    stained = tmask & ~pen & (sat >= STAINED_MIN_SATURATION)
    ref = _median(od_mean[stained]) if stained.any() else 0.0
    dark_od = max(FOLD_MIN_OD, FOLD_RATIO * ref)
    # the smoothing (weights that sum to one, none negative) never exceeds the image's largest
    # density, so where that is not over the limit no pixel is dark: most slides skip it
    if od_mean.max() > dark_od:
        dark = stained & ~brown & (ndimage.gaussian_filter(od_mean, FOLD_SMOOTH) > dark_od)
    else:
        dark = np.zeros_like(stained)
    inked = _touching(dark, dilate(pen, 2))  # ink over tissue, not a fold
    stained &= ~inked
    fold = dark & ~inked
    if fold.any():  # eosin (unmixed) where it matters: the dark pixels, and the slide's median
        ref_eosin = max(_median(od[stained] @ UNMIX[:, 1]), 0.02)
        fold[fold] = od[fold] @ UNMIX[:, 1] > FOLD_EOSIN_RATIO * ref_eosin
    fold = _drop_small(fold | _local_fold(od, stained & ~brown), min_px)
    if not rims:
        return fold, np.zeros_like(fold), inked
    tissue_sat = _median(sat[stained]) if stained.any() else 0.0
    tissue_grey = _median(grey[stained]) if stained.any() else 1.0
    raw_grey = (raw[..., 0] + raw[..., 1] + raw[..., 2]) / (3 * 255.0)
    valleys = _thin_valleys(raw_grey) > EDGE_MIN_CONTRAST
    # grey enough: the saturation of the few valley pixels only, not of the whole image
    valleys[valleys] = _saturation(*raw[valleys].T) < max(
        EDGE_MAX_SATURATION, EDGE_TISSUE_SATURATION * tissue_sat
    )
    bubble = (
        (
            _edges(grey, sat, tissue_sat, tissue_grey, min_px, pen | inked)
            | _straight_edges(valleys & valid, tmask)
        )
        & valid
        & ~(pen | inked)
    )
    return fold, bubble, inked


def measure(
    rgba: np.ndarray,
    tissue: np.ndarray,
    downsample: tuple[float, float],
    tiles: TileSource | None = None,
    budget: Budget | None = None,
    mpp: float | tuple[float, float] | None = None,
    mpp_source: str = "",
    mpp_range: tuple[float, float] = PLAUSIBLE_MPP,
) -> Artefacts:
    """Artefacts of one slide from its low-resolution image and tissue mask (same shape).

    ``downsample`` is level-0 pixels per pixel of ``rgba``; ``tiles`` (optional) gives the blur
    sample, within ``budget`` (:mod:`dqm.budget`: each tile takes the pixels it decodes, :func:`decoded_pixels`;
    default: a budget of 1 s from the call). ``mpp``: level-0 µm per pixel (one for both axes, or
    x and y), when known, and where it came from (``mpp_source``, kept in :attr:`Artefacts.mpp_source`):
    folds are then judged at :data:`FOLD_MIN_MPP` or coarser; a resolution outside ``mpp_range``
    (default :data:`~dqm.coords.PLAUSIBLE_MPP`), or one that leaves fewer than :data:`FOLD_MIN_SIDE` pixels a
    side so, leaves them unmeasured (:attr:`Artefacts.unmeasured`); unknown, they are judged at the
    working image's scale (:attr:`Artefacts.scale_note`). An image without tissue gives zero shares;
    an empty image gives an empty flag map.
    """

    budget = Budget(1.0) if budget is None else budget
    valid = rgba[..., 3] > 0 if rgba.shape[-1] == 4 else np.ones(tissue.shape, bool)
    rgb, tmask, valid, f = _shrink(rgba[..., :3], tissue, valid)
    ds = (float(downsample[0]) * f, float(downsample[1]) * f)
    if rgb.size == 0:
        return Artefacts(np.zeros(tmask.shape, np.uint8), ds, 0, dict.fromkeys(KINDS, 0.0), {}, None, 0.0)
    work = _Work.of(rgb)
    raw, r, g, b, mx, sat, grey, brown = (
        work.raw,
        work.r,
        work.g,
        work.b,
        work.mx,
        work.sat,
        work.grey,
        work.brown,
    )
    min_px = max(4, int(MIN_REGION * tmask.size))
    pens = {c: _drop_small(m & valid, min_px) for c, m in _pens(r, g, b, mx, sat, brown).items()}
    pen = pens["blue"] | pens["green"] | pens["red"] | pens["black"]
    scale = _scale(mpp, ds, tmask.shape, mpp_range)
    fold, bubble, inked = _folds_and_rims(work, tmask, valid, pen, min_px)
    # folds judged at FOLD_MIN_MPP or coarser, then back on the working grid
    if scale.factor != (1, 1) and not scale.unmeasured:
        blocks = scale.factor
        coarse = _Work.of(_block_mean(raw, blocks))
        small = _block_mean(tmask, blocks) > 0.5
        found = _folds_and_rims(
            coarse,
            small,
            _block_mean(valid, blocks) > 0.5,
            _block_mean(pen, blocks) > 0,
            max(4, int(MIN_REGION * small.size)),
            rims=False,
        )
        fold = _grown(found[0], blocks, tmask.shape) & tmask & ~inked
    fold &= "fold" not in scale.unmeasured
    pen |= inked
    raw_r, raw_g, raw_b = raw.transpose(2, 0, 1)
    plain = tmask & ~pen & ~bubble  # a fold is dense tissue too: it counts in the stain strength
    # the darkest channel's optical density over OVERSTAIN_MIN_OD (under UNDERSTAIN_MAX_OD) is that
    # channel's block mean under (over) a level: no logarithm per pixel
    darkest = np.minimum(np.minimum(raw_r, raw_g), raw_b)
    over = plain & ~brown & (darkest < 256.0 * 10.0**-OVERSTAIN_MIN_OD - 1.0)  # melanin is near-black too
    under = plain & (darkest > 256.0 * 10.0**-UNDERSTAIN_MAX_OD - 1.0)
    glass = valid & ~tmask & ~pen & ~bubble
    glass_grey = _median(grey[glass]) if np.count_nonzero(glass) >= min_px else 1.0
    debris = glass & ((grey < glass_grey - DEBRIS_MIN_CONTRAST) | (sat > DEBRIS_MIN_SATURATION))
    debris = debris & ~dilate(tmask, 2)
    if debris.any():
        near = glass & ~_clumps(debris)
        darker = _local_glass(grey, near, glass_grey) - grey
        debris &= (sat > DEBRIS_MIN_SATURATION) | (darker > DEBRIS_MIN_CONTRAST)
        # the colour white-balanced against the local glass's, where it is read (:func:`_dark_specks`)
        ys, xs = np.nonzero(debris & (darker >= DEBRIS_MIN_DARK))
        tinge = _glass_blocks(np.stack((r, g, b)), near, 255.0 * glass_grey)[
            :, ys // DEBRIS_STEP, xs // DEBRIS_STEP
        ]
        colour = np.zeros((3, *grey.shape), np.float32)
        colour[:, ys, xs] = np.stack((r[ys, xs], g[ys, xs], b[ys, xs])) * (
            tinge.mean(0) / np.maximum(tinge, 1.0)
        )
        debris = _dark_specks(debris, darker, colour)

    masks = {
        "pen": pen,
        "fold": fold,
        "bubble": bubble,
        "overstain": over,
        "understain": under,
        "debris": debris,
    }
    base = tmask | pen | fold | bubble
    tissue_px = int(np.count_nonzero(base))  # counted: faster than a sum of booleans
    blur_sample, blur_mask = None, np.zeros_like(tmask)
    if tiles is not None and tissue_px:
        blur_sample, blur_mask = _blur(tiles, tmask & ~pen & ~fold & ~bubble, ds, budget)
    masks["blur"] = blur_mask & tmask
    flags = np.zeros(tmask.shape, np.uint8)
    denom = max(tissue_px, 1)
    shares = dict.fromkeys(KINDS, 0.0)
    for k, kind in enumerate(KINDS):
        if masks[kind].any():  # most slides show one kind or none: the others add nothing
            flags |= masks[kind].view(np.uint8) << k  # a boolean is the byte 0 or 1
            shares[kind] = int(np.count_nonzero(masks[kind] & base)) / denom if tissue_px else 0.0
    shares["debris"] = int(np.count_nonzero(debris)) / denom if tissue_px else 0.0
    if blur_sample is not None:
        shares["blur"] = blur_sample.blurred / blur_sample.tiles if blur_sample.tiles else 0.0
    pen_shares = {c: int(np.count_nonzero(m)) / denom if tissue_px else 0.0 for c, m in pens.items()}
    return Artefacts(
        flags,
        ds,
        tissue_px,
        shares,
        pen_shares,
        blur_sample,
        budget.wall_s,
        scale.mpp,
        scale.unmeasured,
        scale.note,
        scale.field_um,
        _pair(mpp),
        mpp_source if _pair(mpp) is not None else "",
        mpp_range,
    )


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image over the grey image's variance (0 when flat).

    The ratio does not change when grey is scaled, so it is taken on the channel sum in integers
    (the 5-point Laplacian, edges mirrored as :func:`scipy.ndimage.laplace` does): exact, and a
    few times faster than on floats. Three 8-bit channels sum to at most 765 and their Laplacian
    stays within 4 x 765, so both are held in 16 bits: the same values as in 32, in half the memory
    traffic (the variances, taken in float64 either way, are the same to the bit).
    """
    wide = np.int16 if rgb.dtype == np.uint8 else np.int32 if rgb.dtype.kind in "ui" else np.float64
    total = rgb[..., 0].astype(wide) + rgb[..., 1] + rgb[..., 2]  # not .sum(axis=2): slow over 3 values
    var = float(total.var())
    if var < 9.0:  # the grey image's variance under 1
        return 0.0
    return float(_laplacian(total).var()) / var


def _laplacian(image: np.ndarray) -> np.ndarray:
    """The 5-point Laplacian of a 2-D array, edges mirrored (``np.pad(mode="symmetric")``: the pixel
    beyond an edge is the edge's own), by shifted in-place sums: no padded copy."""
    lap = -4 * image
    lap[1:] += image[:-1]
    lap[0] += image[0]
    lap[:-1] += image[1:]
    lap[-1] += image[-1]
    lap[:, 1:] += image[:, :-1]
    lap[:, 0] += image[:, 0]
    lap[:, :-1] += image[:, 1:]
    lap[:, -1] += image[:, -1]
    return lap


def _grid_step(grid: int, side: int) -> int:
    """Step of the read corners in tile pixels for stored tiles ``grid`` wide: the read size when
    it divides a stored tile (each read then decodes one tile), else the stored tile."""
    return side if grid >= side and grid % side == 0 else grid


def _tile_origins(
    mask: np.ndarray, ds: tuple[float, float], side0: float, n: int, step0: tuple[float, float] | None = None
) -> list[tuple[int, int]]:
    """Up to ``n`` level-0 tile corners over tissue, spread over it (every k-th of the tissue
    pixels in reading order, each tile at least :data:`BLUR_MIN_TISSUE` over tissue); ``step0``
    (level-0 pixels) puts the corners on the stored tiles' grid."""
    flat = np.flatnonzero(mask)  # the tissue pixels in reading order
    if flat.size == 0:
        return []
    th = max(1, round(side0 / ds[1]))
    tw = max(1, round(side0 / ds[0]))
    picked = np.linspace(0, flat.size - 1, num=min(flat.size, 8 * n)).astype(int)
    rows, cols = np.divmod(flat[picked], mask.shape[1])
    r0s = np.maximum(0, rows - th // 2)
    c0s = np.maximum(0, cols - tw // 2)
    if step0 is None:
        xs, ys = (c0s * ds[0]).astype(np.int64), (r0s * ds[1]).astype(np.int64)
    else:  # the grid corner nearest each candidate's
        xs = (np.round(c0s * ds[0] / step0[0]) * step0[0]).astype(np.int64)
        ys = (np.round(r0s * ds[1] / step0[1]) * step0[1]).astype(np.int64)
        c0s = np.minimum(np.round(xs / ds[0]).astype(np.int64), mask.shape[1] - 1)
        r0s = np.minimum(np.round(ys / ds[1]).astype(np.int64), mask.shape[0] - 1)
    r1s, c1s = np.minimum(r0s + th, mask.shape[0]), np.minimum(c0s + tw, mask.shape[1])
    # tissue pixels under each candidate tile from a summed-area table: the slices' exact counts
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    table[1:, 1:] = mask
    np.cumsum(table, axis=0, out=table)  # in place: no boolean-to-integer cast per step, no temporaries
    np.cumsum(table, axis=1, out=table)
    counts = table[r1s, c1s] - table[r0s, c1s] - table[r1s, c0s] + table[r0s, c0s]
    covered = counts / ((r1s - r0s) * (c1s - c0s)) >= BLUR_MIN_TISSUE
    out: list[tuple[int, int]] = []
    for corner in zip(xs[covered].tolist(), ys[covered].tolist(), strict=True):
        if all(abs(corner[0] - x) >= side0 / 2 or abs(corner[1] - y) >= side0 / 2 for x, y in out):
            out.append(corner)
            if len(out) == n:
                break
    return out


def _blur(
    tiles: TileSource, mask: np.ndarray, ds: tuple[float, float], budget: Budget
) -> tuple[BlurSample, np.ndarray]:
    footprint = np.zeros_like(mask)
    if tiles.mpp is None:
        return BlurSample(0, 0, (), None, "resolution unknown (no mpp): blur not measured"), footprint
    if tiles.mpp > BLUR_MIN_MAGNIFICATION_MPP * 1.01:
        note = f"the finest level is {tiles.mpp:.2g} µm/px, coarser than 10x: blur not measured"
        return BlurSample(0, 0, (), tiles.mpp, note), footprint
    side0 = BLUR_TILE * tiles.downsample
    step0 = None
    if tiles.grid is not None:
        step0 = (
            _grid_step(tiles.grid[0], BLUR_TILE) * tiles.downsample,
            _grid_step(tiles.grid[1], BLUR_TILE) * tiles.downsample,
        )
    scores: list[float] = []
    blurred = 0
    note = ""
    for x, y in _tile_origins(mask, ds, side0, BLUR_TILES, step0):
        units = decoded_pixels(x / tiles.downsample, y / tiles.downsample, BLUR_TILE, BLUR_TILE, tiles.stored)
        if meter := budget.take(units):
            note = f"{BUDGET_SPENT[meter]} after {len(scores)} tiles"
            break
        tile = tiles.read(x, y, BLUR_TILE)
        if tile is None:
            continue
        s = sharpness(tile)
        scores.append(round(s, 4))
        if s < BLUR_MAX_SHARPNESS:
            blurred += 1
            r0, c0 = int(y / ds[1]), int(x / ds[0])
            footprint[r0 : r0 + int(np.ceil(side0 / ds[1])), c0 : c0 + int(np.ceil(side0 / ds[0]))] = True
    if not scores and not note:
        note = "no tile of at least half tissue to sample"
    return BlurSample(len(scores), blurred, tuple(scores), tiles.mpp, note), footprint
