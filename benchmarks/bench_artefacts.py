"""Artefact detection on real H&E, held out: thresholds from a tuning set, recall per injected
artefact and false positives on a separate test set, and what the measure costs per slide.

    .venv/bin/python benchmarks/bench_artefacts.py [--glas 32] [--out shares.json]
    .venv/bin/python benchmarks/bench_artefacts.py --shares shares.json   # re-tabulate, no probing
    .venv/bin/python benchmarks/bench_artefacts.py --tuning-only          # develop: no test slide
    .venv/bin/python benchmarks/bench_artefacts.py --fold-injection scale # folds as the former x 3
    .venv/bin/python benchmarks/external_he.py --out /tmp/external-he     # other sites' H&E, then:
    .venv/bin/python benchmarks/bench_artefacts.py --external /tmp/external-he --only external
    .venv/bin/python benchmarks/bench_artefacts.py --external /tmp/external-he --only external \
        --injections fold,bubble,coverslip --sites --out ext.json   # folds and bubbles by site
    .venv/bin/python benchmarks/bench_artefacts.py --tuning-only --glas 8 --no-extra \
        --injections fold,bubble,coverslip --sites --out tune.json
    .venv/bin/python benchmarks/stain_shares.py --external /tmp/external-he --out stain.json
    .venv/bin/python benchmarks/bench_artefacts.py --shares stain.json --stain-only  # staining alone

Clean slides, split by source image so that no image's variants lie on both sides:

- tuning (95): all 85 GlaS *train* images, 6 regions of CMU-1-Small-Region, 4 of the skin
  photograph (``--no-extra``: only the 32 drawn train images and the first 3 and 2 regions, the
  tuning set of the first measurement);
- test (36): 32 GlaS *testA/testB* images, 3 regions of the TCGA slide, the OS-1 detail (an
  OME-TIFF). It is the same set, glass and injections as in the first measurement: the extra
  tuning slides have their own random stream (:func:`extra_tuning_slides`);
- fresh (48): the GlaS *testA/testB* images the test set's draw left out, all of them by rule
  (:func:`fresh_slides`), glass and injections from their own random stream. The test set had
  been looked at twice while the detectors were developed; the fresh set was first measured by
  the final run of issue 15 §1 (not measured with ``--tuning-only``), and a second time by the
  final run after folds were injected as pleats.
- external (97, ``--external DIR``): real H&E of other sites and organs that
  ``benchmarks/external_he.py`` assembles from public repositories by a rule fixed before any was
  probed (TCGA via MoNuSeg, MoNuSAC, BCSS and PanNuke; TNBC breast; OCDC oral; DigestPath colon;
  EBHI-Seg colorectal), glass and injections made as for the fresh set from their own random
  stream (:func:`external_slides`), measured with the built-in profile's thresholds and never used
  to tune anything. ``--only external`` measures it alone.

``--glas`` GlaS images per side are drawn with a fixed seed. GlaS's train and test folders hold
different images, but mostly of the same patients (11 of the 12 test patients also have train
images): stain batches are shared, so the GlaS part of the test set is easier than a new site.
Each clean image is laid on a margin of glass (16 % of its side, light grey with noise) as a slide
has. Into a copy of each clean slide one artefact per kind is injected with a known mask
(:func:`inject`), and every slide goes through the real path: written as PNG, ``probe_slide``
(Pillow backend: tissue mask, artefacts, blur tiles at level 0), then the shares against
thresholds. A slide is flagged for a kind when its share passes the threshold; a clean slide with
any kind flagged is a false positive. A coverslip edge is reported as ``bubble`` (one code covers
bubbles and edges). Mask recall: the share of the injected mask's working pixels the detector
marked with the kind (pen, fold, bubble, coverslip, debris; the others are global).

Thresholds come from the tuning set only (:func:`tune`): per kind, the smallest that no clean
tuning slide passes, with a margin (:func:`choose_margins`: 1.25, or a larger one where
cross-validation inside the tuning set shows it flags fewer held-out clean slides at a recall of
at least 0.95), and never under the kind's floor (:data:`FLOORS`). The
built-in profile carries these; the test set is then measured with the profile's thresholds and
never used to choose them. The detectors' own constants were chosen by 5-fold cross-validation
inside the tuning set (folds by image, :func:`cross_validate`, printed for three fold draws): each
tuning slide judged by thresholds tuned on the other folds.

Figures of the final run after the straight-band fold rule (``FOLD_BAND_RATIO``, chosen on the
tuning set alone; looks: the test set 5, the fresh set 3): fold recall 32/36 = 0.89 on the test set
(mask recall 0.41), 45/48 = 0.94 on the fresh set (0.45), 86/95 tuning and 0.905 cross-validated
(0.884 before); every other kind and the false positives as below (2/36 test, 2/48 fresh, 0 to 2
of 95 tuning held out). The test set's fold recall is still under 0.9.

Figures of the final run with folds injected as pleats (``--out shares.json``; the fold's
neighbourhood ratio re-chosen on the tuning set alone, 2.5 to 2.2, then this one run; looks: the
test set 4, the fresh set 2; details in docs/formats.md): fold recall 31/36 = 0.86 on the test set
(mask recall 0.39), 44/48 = 0.92 on the fresh set (0.42), 84/95 tuning and 0.88 cross-validated
(the detector before the change: 81/95, 0.85-0.86); every other kind and the false positives as in
the previous final run, which injected folds at 3 x (fold 30/36 = 0.83 test, 44/48 = 0.92 fresh,
88/95 tuning, 0.94 cross-validated): every other kind at least 0.91 on each set (bubble 0.92 test,
0.94 fresh; coverslip 0.97, 0.94); false positives 2/36 = 5.6 % on the test set (OS-1 detail pen,
testA_13 over-stain), 2/48 = 4.2 % on the fresh set (testA_24 over-stain, testA_30 debris). Held
out in the cross-validation draws, 0 to 2 of 95 clean tuning slides are flagged (train_43,
train_50, stain; 0 to 4 with the ratio 2.5, skin#2 and train_20 for a fold besides).

Figures of the external set's first and only run (looks: 1; ``--external DIR --only external
--out``, 445 s CPU (311 user, 134 system) and 42 min wall under a load of 10 to 15 on 2 cores, peak
2.0 GB): recall pen 86/97 = 0.89 (mask recall 0.85), fold 82/97 = 0.85 (0.46), bubble 61/97 = 0.63
(0.03), coverslip 84/97 = 0.87 (0.95), overstain 86/97 = 0.89, understain 80/97 = 0.82, debris
97/97, blur 94/97 = 0.97; false positives 35/97 = 36 %: on the TCGA images (MoNuSeg, MoNuSAC, BCSS)
5/46 (pen 2, debris 2, overstain 1), Lizard's crops (DigestPath 14, PanNuke 1) 2/15, OCDC 0/2, but
PanNuke 9/10 (fold 8: its 256 px patches resized to 512, dense nuclei filling the field), TNBC 6/6
(understain: pale 40x patches, resized), EBHI 13/18 (overstain 11, bubble 8: dark biopsy crops
resized from 224 px). No detector, constant, threshold or injection was changed after it; issue 15
§1's targets are not met on other sites. How the set differs from the GlaS sets: patches of slides
with no glass of their own (the margin is laid around each, so debris and coverslip edges fall on
that margin), most re-encoded as JPEG, some resized, at 20x to 40x objectives by repository (EBHI's
'400x': 40x through a 10x eyepiece; ``external_he.SOURCES`` gives the µm per pixel), each site's own
stain batches.

Figures of the second external set's one run (``external_he2.py --out DIR``, then ``--external DIR
--only external --out``; 88 images of CAMELYON, BreCaHAD, UCSB, NuInsSeg and BCNB, after the stain
and scale changes, looks: 1; 694 s CPU, 14 min wall, 3.0 GB peak): recall pen 83/88 = 0.94, fold
71/88 = 0.81, bubble 54/88 = 0.61, coverslip 82/88 = 0.93, overstain 78/88 = 0.89, understain 88/88,
debris 88/88, blur 0/88 (no dataset states a resolution: not measured); false positives 13/88 =
14.8 % (pen 8: UCSB's tissue microarrays 6; BCNB 5 of 5, judged by the absolute stain rule as a
group of 5). docs/formats.md has the table. The stain judgement since (session 21, its stored
shares re-tabulated with ``--shares /tmp/final-heldout.json --stain-only``, each site a batch): clean
flagged for staining 0 of 88 (BCNB 0 of 5: a batch of 5 is too small to judge under-staining by
the pale share, ``STAIN_NOT_COMPARED``), overstain 78/88 = 0.89, understain 84/88 = 0.95 (BCNB 5 of
5; NuInsSeg 0 of 4: its copies at optical density 0.31, a batch of 4 too small to compare).

Figures of the third external set's one run (``external_he3.py --out DIR``, then ``--external DIR
--only external --out``; 66 images of BreakHis, osteosarcoma, LC25000, an oral set and AMIDA13, after
issue 15 §1's sixth stop's changes, looks: 1; 275 s CPU, 7 min wall, 0.86 GB peak): recall pen 63/66
= 0.95, fold 36/66 = 0.55, bubble 62/66 = 0.94, coverslip 61/66 = 0.92, overstain 48/66 = 0.73,
understain 58/66 = 0.88, debris 66/66, blur 0/66 (no resolution stated); false positives 16/66 =
24.2 % (debris 5, bubble 4, understain 4, overstain 2, fold 2, pen 1). docs/formats.md has the table.
Three of its bubbles were the coverslip rule's line through aligned stroma; with one unbroken stretch
required (``COVERSLIP_MIN_UNBROKEN``; ``coverslip_study.py``, docs/formats.md) set 3's clean bubble
flags 4 -> 1, coverslip and bubble recall unchanged on set 3 and on the third of sets 1, 2 and the
GlaS tuning slides sampled (one in three; the rest not measured). The margin is thin: the shortest
injected edge's unbroken stretch 0.107 of the side (CMU-1), and set 1's EBHI clean lines (0.243,
0.113) are longer than that, so its two clean bubble flags stay.

Why the third set's folds are missed (session 22, tuning data; its stored shares ``/tmp/s21/set3.json``
per source, and the injected bands looked at, ``/tmp/fold/diag.py``-style scripts outside the bench):
BreakHis 27/48 found (14 with no fold at all), osteosarcoma 3/8, oral 0/3, LC25000 4/5, AMIDA13
2/2; mask recall median 0.15 on BreakHis. The injection is fair there: a pleat 6 % of the long side
wide (55 px of a 700 x 460 picture on its glass margin) whose median optical density is 2.0-2.4
times the slide's, as on GlaS. The detector misses it for two reasons. (1) The pen rules take the
band (5 of the 30 misses, pen share 0.011-0.099 on the injected copy, 0 on the clean one): folded
bone, eosin alone, is red enough for red ink, and the oral set's near-black purple band black ink;
then the fold rules leave it out as ink (a clean osteosarcoma picture is 0.81 pen as it is). That
is the pen rules' to fix, not changed here. (2) On BreakHis the Ruifrok-Johnston vectors unmix the
pink as almost all haematoxylin (eosin 0.02-0.03 over tissue, negative in a tenth of it), so the
band is no denser in eosin than its sides (0.018 both on PT-29315EF 001) and every "both stains"
rule fails; in haematoxylin the band is only 1.2 times the denser side the band rule compares it
with, not the 1.6 it needs (the sides, 6 % away and smoothed over 3 %, reach into the band). Judging
a band by one stain where the other is under 0.05 beside it was tried: it found no band more on
the BreakHis misses, for (2)'s second half; the sides smoothed over 1.5 % instead of 3 % found 28
instead of 27 of BreakHis's 48 (no clean one flagged): not the cause, not shipped.
Blood's limit 0.47 -> 0.5 (very dark blood, (50, 8, 14), is no fold): the fold shares of the 13
set-3 slides whose injected bands hold brown pixels, and of set 1's 2 (``TCGA-DW-7838``,
``hflipped_1004``), clean and injected, are the same to 4 digits.
The fold rules' lengths stay fractions of the image side. On GlaS (0.62 µm/px on its glass margin,
1023 px: a working image at 1.24 µm, 63 blocks of 9.9 µm) they are: the band's sides 4 blocks
= 40 µm away, its line 17 blocks = 169 µm of which 70 % (118 µm) must pass, the band's smoothing
1.5 % = 9 µm, the surroundings' 15 % = 94 µm: a real fold's length (100 µm up) and width (tens of
µm). Stated in µm they would give GlaS the same blocks, and no slide of sets 2 and 3 states its
resolution, so no measured figure could change; not done.

Figures of the GlaS sets after the same changes (``--out``; looks: the test set 6, the fresh set 4;
707 s CPU, 40 min wall niced beside a CI run, 0.75 GB): false positives 2/36 = 5.6 % on the test set
(as before), 3/48 = 6.2 % on the fresh set (was 2/48: staining against the batch flags one more,
and misses 2 of its 48 under-stained copies, GlaS's stain spreading widest), 1/95 tuning; recall at
least 0.89 for every kind on each set (fold 32/36 test, 45/48 fresh, 86/95 tuning, as before).

Pen and debris after the blue ratio was kept to slides stained blue and black went back to 75
where neutral (session 21; ``--external SUBSET --only external --injections pen,debris --out``,
subsets of 19 second-set images (UCSB ytma49 072303/111003/111303, BreCaHAD 10034, NuInsSeg 18 and
12 drawn) and 16 first-set images, and ``--tuning-only --glas 6 --no-extra``; before -> after,
shares re-tabulated outside the bench, whose tables need every kind): second set pen found blue
5/5, green 4/5, red 4/5, black 4/4 both (NuInsSeg 18's red stroke missed both times); clean pen
false positives as before, UCSB 072303 malignant1 0.0075 -> 0.0075 and malignant2 0.0396 -> 0.0396
(blue 0.0153 -> 0.0158, the rest the fold rules' dark tissue touching ink), 111003 0.0045 and
0.0042 -> 0.0046 and 0.0042, under the limit; debris 19/19, no false one. First set: green 3/4 -> 4/4, the other inks and debris as before (16/16, one clean Lizard
crop over the debris limit both times). GlaS: as before (no clean pen or debris).

Folds and bubbles by site (``--sites``; issue 15 §1's physical scale): the external set is tuning
data since its one look. Each slide is probed with its µm per pixel (the external manifest's
``mpp``; unstated is unknown, not 0.5) and again as of unknown resolution (the rules at the working
image's scale, as before), every kind measured whatever the field of view, as dqm does. A field
limit (a fold or bubble not measured on a smaller image) is tried on the shares (:func:`_gated`):
100 µm (:data:`TRIED_FIELD_UM`), and the one :func:`choose_field` picks, checked by leaving one
site out at a time (site: GlaS, each real slide or image, each external ``site``;
:func:`leave_one_site_out`), so that a constant chosen on some sites is measured on another. It
picks 0 on all sites and on every site left out, and 100 µm removed no false positive: dqm ships
no field limit.
Figures (``--sites`` on the external set and on ``--tuning-only --glas 8 --no-extra``, fold, bubble
and coverslip injected; the bubble shares of the final rule are the unknown-resolution probe's, as
the bubble rule no longer depends on the resolution): docs/formats.md, "Artefacts". The bench's
threshold rule (the largest clean share times a margin) does not transfer between sites: left out
one at a time, fold recall 7/110 before and 14/110 after, bubble 51/220 both.

Bubbles on densely packed nuclei (session 21): the external sets' missed bubbles were mostly on
TCGA's dense patches, the grey rim there not 0.15 darker than the tissue's median and no valley of
grey level beside a nucleus as dark as it, so never closed nor filled (the detector's fault: the
rim is plain to see; the injection stays). A pixel with under half the tissue's median saturation
now needs to be only 0.05 darker, its contrast the top-hat of grey plus saturation. Figures (every
third slide of each external set, the 13 ``--no-extra`` tuning slides, bubble injected as here,
probed with the change by ``benchmarks/bubble_study.py``, the before figures the shares this bench
stored, not re-probed; constants set from the missed slides, not cross-validated; three of the ten
new finds, MoNuSeg 3000 and 3006 and CAMELYON 3012, are rim fragments just over the threshold):
bubble found, first set 21 -> 26 of 33,
second set 20 -> 25 of 30, tuning 11 -> 12 of 13; clean slides flagged for a bubble 2 -> 2, 0 -> 0,
0 -> 0; real slides and every sixth GlaS train image 0 of 23 both (docs/formats.md has the sites).
Still missed: a rim lying half on the added glass margin (Lizard, EBHI: on glass the rim is
lighter than on tissue, and both tests compare it with the tissue's median grey).

Over- and under-staining are judged against the slide's batch (:func:`stain_tables`, as
``artefacts.stain`` does, :mod:`dqm.pixels.stain_batch`): each source is a batch (GlaS, each real
slide's regions, each external site), and every slide, clean or injected, is compared with the
*clean* slides of its group, its own image left out; the tables above count staining so. The
external set is tuning data for this (looked at once before). Figures (``stain_shares.py`` on the
tuning and external sets, 192 slides, then ``--shares --stain-only``): clean slides flagged for
staining 19 before (the absolute rule: EBHI 11, TNBC 6) and 3 after; over-stained found 177 and
172, under-stained 175 and 191; with the constants chosen on the other folds (5 by image, three
draws) over 0.90, under 0.99, clean flagged 1.6 %; leaving one group out over 0.68, under 0.85,
clean flagged 4.2 % (docs/formats.md, "Staining against the batch", has the table per group).
With the near-black share also judged against the peers' (:func:`stain_batch.by_share`, session
20): the same 3 clean slides flagged (all under-stained, none by it), over-stained found 180 of
192 (172 without it), by image over 0.94, under 0.99, clean 1.6 %; leaving one group out over
0.89, under 0.98, clean 4.2 %.

**Where the 0.9 recall target is missed** (session 21, after the small-batch rule and a small
institution compared with the whole batch; ``--shares F --stain-only --tuning-only`` on the stored
shares, the same figures before and after the latter, which changes nothing where no slide has an
institution): second external set (``/tmp/final-heldout.json``) leaving one group out overstain
66/88 = 0.75, **understain 70/88 = 0.80** (74 before the small-batch rule; NuInsSeg 4 -> 0),
NuInsSeg's understain 0/4 in every tabulation; first set (``/tmp/stain-ext1.json``) leaving one
group out overstain 83/97 = 0.86 (understain 93/97 = 0.96, clean 2/97); tuning slides
(``/tmp/final-glas.json``) leaving one group out overstain 65/95 = 0.68, understain 34/95 = 0.36
(three groups: constants chosen on 10 slides for GlaS's 85). By image (5 folds) every set stays
at or over 0.94 for both kinds. The batch rule is not at target where a site's constants are
chosen without it, nor for a batch under ``min_peers`` + 1 slides.

**The nuclei's density as a second descriptor** (session 22, ``stain_batch.verdict``: the mean of
the spreads of the tissue's mean density and of ``h_p99``; :func:`stain_parts` keeps both). The
GlaS tuning side of ``/tmp/final-glas.json``, ``/tmp/stain-ext1.json``, ``/tmp/s21/set2.json`` and
``set3.json`` joined (``side`` set to the source, 346 slides), ``--shares --stain-only`` at 8d94b8b
and after, the library's constants: clean flagged 9 -> 3 (tuning 1 -> 0, set 1 2 -> 2, set 2 0 ->
0, set 3 6 -> 1), over-stained 306 -> 314, under-stained 333 -> 328; leaving one group out over
0.86 -> 0.95, under 0.95 -> 0.96, clean 9 -> 9 of 346 (docs/formats.md has the groups).

**Set 4 and pen ink in the nuclei's density** (session 23). The same pool with set 4
(``/tmp/s22/set4.json``, side ``set4``: 477 slides), ``--shares --stain-only``. Its 8 clean slides
flagged: SEED's 4 by the near-black share against their peers' (:func:`stain_batch.by_share`; 7-25 %
near-black against a median of 1.6 %: lymphocyte sheets and hyperchromatic clusters at high
magnification, tissue not stain), ThyHisTer's n_BN_1_0/_1 by nuclei 3.7 and 4.0 times their peers'
(their false-colour blocks, pen share 0.07 and 0.20: ink in ``h_p99``), n_FTC_12_1 and n_PTC_1_0
under-stained (colloid and stroma with next to no nuclei: both measures paler). Leaving one group
out *within set 4 alone* gave over 61/131 and under 39/131 because each fold chose its constants on
the other three sites, whose 4-8 clean flags exceed :data:`STAIN_MAX_FLAGGED` (2 %) at every
constant that finds much: the fold falls back to the most cautious (``max_z`` 5, ``min_spread``
0.4); on the pool set 4's sites left out give over 119/131, under 124/131. With
``stain_batch.nuclei_of`` (``h_p99`` left out past ``NUCLEI_MAX_PEN``, now the profile's pen share, of pen ink), library
constants, clean / over / under per source before -> after: tuning 0/88/95 both, set 1 2/91/93
both, set 2 0/82/83 both, set 3 1/53/57 -> 1/54/57, set 4 8/125/128 -> 6/125/128; leaving one
group out over 405 -> 431 of 477 (0.85 -> 0.90), under 396 -> 456 (0.83 -> 0.96), clean 11 -> 9
(the two ink-flagged patches had put most training folds over the 2 % budget); set 4 alone
(``--shares /tmp/s22/set4.json --stain-only``) leaving one group out over 61 -> 61, under 39 -> 44
of 131, clean 3 -> 3 (SEED's 4 still put every fold over the budget). Tried and dropped: the
density judging alone past 2.5 spreads whatever the nuclei (an eosin-only slide 3.8 times darker,
2.9 spreads on its density, 1.45 on the mean, is missed): no verdict changes with the library's
constants (nor at any value 2.3-3.0), but leaving one group out falls from over 431 / under 456 to
421 / 440 of 477 (folds choosing a smaller floor flag clean slides by it). Not fixed: SEED's 4 (on
the pooled rows the over-stained copies the share rule finds lie 0.7-1.5 spreads over their peers
on the density and 5-48 % near-black, the four clean slides 0.7-1.5 and 7-25 %: no line between),
ThyHisTer's two pale patches, and ink in ``h_p99`` itself (the probe takes the stain descriptors
before the artefact masks; leaving ink pixels out there changes every described slide's record,
and 107 of the pooled over-stained copies have pen pixels, mostly near-black tissue the black-pen
rule takes: not measured without probing them all again).

How injected artefacts differ from real ones: pens are one stroke of a translucent ink colour
multiplied into the image (real ink pools, fades and changes hue over tissue); folds are a band
made as a pleat of the section (:func:`_pleat`: the band's own layer and the strips beside it
folded over it, optical densities added; a real Z-fold also displaces the tissue beyond it, creases
at its edges and lies partly out of focus; ``--fold-injection scale``, the former injection, triples
the band's own optical density, which leaves a band over a lumen or glass nothing to darken); bubbles
are a grey rim with a lightened inside (real rims refract unevenly and bubbles are rarely round);
coverslip edges are one straight dark line with a bright refraction band on one side (real edges
also carry dried mountant and a change of focus beyond them); staining is a change of the
tissue's optical density as a whole (real mis-staining is often one stain only, or uneven);
debris is dark specks (real debris also includes fibres and hair); blur is a Gaussian blur of the
whole slide (real focus loss is often local, and the probe samples only 8 tiles). The stain rules
lean on what the injection does (× 3 drives dense pixels to the scanner's floor, × 0.25 leaves no
pixel as dense as a nucleus), and the pen strokes, 2 % of the image side, are about a nucleus
wide at these magnifications where a real marker line is hundreds of µm.

Over-staining read as ink (review of stain4): re-probing the 72 pooled rows of sets 1-4 whose clean
or over-stained copy had pen ink over 0.5 % (``benchmarks/stain_perink.py``: the on-glass images remade as
:func:`external_slides` makes them, probed clean and over-stained; rows then carry ``clean_pens`` and
``overstain_pens``) found the over-stained copies' "ink" blue (darkened haematoxylin: EBHI 7-52 %,
UCSB 4-36 %, MoNuSAC 5-17 %) and black only on the Oesophagus copies (0.6-0.7 %). ``nuclei_of`` now
counts blue, green and red ink only and keeps the nuclei of a slide past the profile's over-stain
share (0.03) beside its ink. On the pool (``--shares POOL_WITH_PENS --stain-only``) every verdict and
every leave-one-group-out count is as before; the over-stained copies' spreads return to what they
were before the ink gate (EBHI B-GT2017148 1.60 -> 2.75, MoNuSAC TCGA-73-4662 1.74 -> 2.68, SEED
BlH2DOhg 1.62 -> 8.86), three EBHI copies whose clean peers' inked ``h_p99`` had been left out go
2.3 -> 1.6 (still flagged); the two tuning rows with ink (GlaS train_39, skin#3) were not re-probed:
their near-black share (0.048, 0.037) keeps their nuclei in whatever the ink.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageDraw, ImageFilter

from dqm.pixels import stain_batch
from dqm.pixels.artefacts import KINDS, LESION_KINDS, WORK_SIDE
from dqm.pixels.stain_batch import STAIN_KINDS
from dqm.profile import load_profile
from dqm.slide_io import ProbeOptions, SlideProbe, probe_slide, tissue_from_rgba
from validators.engine import configure

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
GLASS = (242, 241, 238)
SEED = 15
FOLD_FACTOR = 3.0
"""The former fold injection (``--fold-injection scale``): the band's optical density times this,
three layers of the section each as dense as the band's own."""
FOLD_WIDTH = 0.06
"""A fold's band: this share of the slide's long side wide, through a tissue point, across the slide."""
FOLD_VISIBLE_OD = 0.05
"""A pleat's mask: the band's pixels where the folded layers add at least this optical density
(mean over the channels, about 11 % less light), a difference the eye sees."""
FOLD_INJECTIONS = ("pleat", "scale")
OVER_FACTOR = 3.0
UNDER_FACTOR = 0.25
"""Stain strength of the over- and under-stained slides (the tissue's optical density times this)."""
INKS = {"blue": (40, 90, 210), "green": (60, 170, 80), "red": (225, 35, 45), "black": (25, 25, 30)}
INJECTED = (*KINDS, "coverslip")
"""What is injected: every kind, and coverslip edges (reported as ``bubble``)."""
DETECTED_AS = {"coverslip": "bubble"}
FLOORS = {
    "pen": 0.005,
    "fold": 0.005,
    "bubble": 0.005,
    "overstain": 0.005,
    "understain": 0.001,
    "debris": 0.005,
    "blur": 0.5,
}
"""The lowest threshold :func:`tune` gives a kind: half a percent of the tissue for the marked
kinds and over-staining (a few strokes of noise), half the tiles for blur; for under-staining the
floor is on the share of the tissue still stained (a tenth of a percent)."""
MARGIN = 1.25
"""Tuned threshold: this times the largest share of a clean tuning slide, unless
:func:`choose_margins` picks another of :data:`MARGINS` for the kind."""
MARGINS = (1.25, 1.5, 2.0, 2.5, 3.0)
MIN_CV_RECALL = 0.95
"""A kind's margin is the one of MARGINS with the fewest clean tuning slides flagged in
cross-validation among those whose cross-validated recall is at least this (the target, 0.9, and
room for the drop to new images), the smallest of equals; none: :data:`MARGIN`."""
CV_DRAWS = 10
"""Fold draws of the cross-validation that chooses the margins."""
MPP = {"CMU": 0.499, "tcga": 0.5, "skin": 1.0, "OS-1": 0.227}
"""µm per pixel given to the probe (a PNG states none): CMU-1's header; the TCGA region states
none, 20x assumed; the skin photograph is named 10x; OS-1's OME header; GlaS is 20x (0.62)."""
GLAS_MPP = 0.62


def clean_slides(glas_per_side: int) -> list[tuple[str, str, np.ndarray]]:
    """``(side, name, RGB)`` per clean slide, ``side`` ``tune`` or ``test``, on a glass margin."""
    import openslide

    regions: list[tuple[str, str, np.ndarray]] = []
    for side, name in (("tune", "CMU-1-Small-Region.svs"), ("test", "tcga-cr-7395-01a-01-ts1.svs")):
        with openslide.OpenSlide(str(REAL / "slides" / name)) as s:
            w, h = s.dimensions
            for k, (fx, fy) in enumerate(((0.1, 0.1), (0.5, 0.5), (0.2, 0.6))):
                x, y = int((w - 1024) * fx), int((h - 1024) * fy)
                img = s.read_region((x, y), 0, (1024, 1024)).convert("RGB")
                regions.append((side, f"{name}#{k}", np.asarray(img)))
    skin = Image.open(REAL / "images" / "Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg").convert(
        "RGB"
    )
    for k, (x, y) in enumerate(((0, 0), (skin.width // 2, skin.height // 3))):
        regions.append(("tune", f"skin#{k}", np.asarray(skin.crop((x, y, x + 1024, y + 1024)))))
    # JPEG tiles with sampling factors Pillow's libtiff refuses: tifffile decodes them
    regions.append(("test", "OS-1-detail", tifffile.imread(REAL / "slides" / "OS-1-detail.ome.tif")))
    rng = np.random.default_rng(SEED)
    glas = []
    for side, prefixes in (("tune", ("train",)), ("test", ("testA", "testB"))):
        paths = sorted(
            p
            for p in (REAL / "segmentation" / "glas" / "images").glob("*.png")
            if p.stem.startswith(prefixes)
        )
        chosen = sorted(rng.choice(len(paths), size=min(glas_per_side, len(paths)), replace=False))
        glas += [(side, paths[k].stem, np.asarray(Image.open(paths[k]).convert("RGB"))) for k in chosen]
    return [(side, name, _on_glass(img[..., :3], rng)) for side, name, img in regions + glas]


EXTRA_REGIONS = {
    "CMU-1-Small-Region.svs": ((0.6, 0.05), (0.7, 0.85), (0.45, 1.0)),
    "skin": ((1024, 0), (0, 512)),
}
"""More tuning regions: CMU-1-Small-Region at these fractions of its free width and height, the skin
photograph's at these pixel corners (regions of 1024 px, each with tissue)."""
EXTRA_SEED = SEED + 1000
"""Seed of the extra tuning slides' glass and injections: the test set's draws stay as they were."""


def extra_tuning_slides(drawn: list[str]) -> list[tuple[str, str, np.ndarray]]:
    """More tuning slides by a fixed rule: every GlaS *train* image the draw of :func:`clean_slides`
    left out (``drawn``: the names it drew), and the regions of :data:`EXTRA_REGIONS`. They use their
    own random stream (:data:`EXTRA_SEED`), so the test side is the same images, glass and
    injections whether or not they are measured."""
    import openslide

    rng = np.random.default_rng(EXTRA_SEED)
    out: list[tuple[str, str, np.ndarray]] = []
    with openslide.OpenSlide(str(REAL / "slides" / "CMU-1-Small-Region.svs")) as s:
        w, h = s.dimensions
        for k, (fx, fy) in enumerate(EXTRA_REGIONS["CMU-1-Small-Region.svs"], start=3):
            x, y = int((w - 1024) * fx), int((h - 1024) * fy)
            img = s.read_region((x, y), 0, (1024, 1024)).convert("RGB")
            out.append(("tune", f"CMU-1-Small-Region.svs#{k}", np.asarray(img)))
    skin = Image.open(REAL / "images" / "Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg").convert(
        "RGB"
    )
    for k, (x, y) in enumerate(EXTRA_REGIONS["skin"], start=2):
        out.append(("tune", f"skin#{k}", np.asarray(skin.crop((x, y, x + 1024, y + 1024)))))
    for p in sorted((REAL / "segmentation" / "glas" / "images").glob("train*.png")):
        if p.stem not in drawn:
            out.append(("tune", p.stem, np.asarray(Image.open(p).convert("RGB"))))
    return [(side, name, _on_glass(img[..., :3], rng)) for side, name, img in out]


FRESH_SEED = SEED + 2000
"""Seed of the fresh held-out set's glass and injections."""


def fresh_slides(drawn: list[str]) -> list[tuple[str, str, np.ndarray]]:
    """A second held-out set, ``fresh``: every GlaS *testA/testB* image the draw of
    :func:`clean_slides` left out for the test set (``drawn``: the names it drew), all of them by
    rule, with glass and injections made as for the test set from their own random stream
    (:data:`FRESH_SEED`). No one looked at them while choosing the detectors or thresholds."""
    rng = np.random.default_rng(FRESH_SEED)
    paths = sorted((REAL / "segmentation" / "glas" / "images").glob("test*.png"))
    return [
        ("fresh", p.stem, _on_glass(np.asarray(Image.open(p).convert("RGB"))[..., :3], rng))
        for p in paths
        if p.stem.startswith(("testA", "testB")) and p.stem not in drawn
    ]


EXTERNAL_SEED = SEED + 3000
"""Seed of the external held-out set's glass and injections."""
FIELDS = (0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0)
"""Candidate fields of view (µm, the image's longer side) under which a fold or a bubble would not
be measured, chosen by :func:`choose_field` (it picks 0 on the external set, for every site left
out too: dqm ships no field limit)."""
SCALED = {"fold": ("fold",), "bubble": ("bubble", "coverslip")}
"""The kinds judged at a physical scale, and what is injected for each."""


def external_slides(folder: Path) -> tuple[list[tuple[str, str, np.ndarray]], dict[str, dict[str, str]]]:
    """A third held-out set, ``external``: the real H&E of other sites and organs that
    ``benchmarks/external_he.py --out folder`` assembled (its manifest lists them), in the
    manifest's order, with glass and injections made as for the fresh set from their own random
    stream (:data:`EXTERNAL_SEED`); and each slide's manifest row by name. Never used to choose a
    detector, constant or threshold."""
    from external_he import MANIFEST, read_list

    rng = np.random.default_rng(EXTERNAL_SEED)
    rows = read_list(folder / MANIFEST)
    slides = [
        ("external", r["file"], _on_glass(np.asarray(Image.open(folder / r["file"]).convert("RGB")), rng))
        for r in rows
    ]
    return slides, {r["file"]: r for r in rows}


def _on_glass(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    m = int(0.16 * max(h, w))
    canvas = np.empty((h + 2 * m, w + 2 * m, 3), np.float32)
    canvas[:] = GLASS
    canvas += rng.normal(0, 2.0, canvas.shape)
    canvas[m : m + h, m : m + w] = img
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _od_scale(img: np.ndarray, factor: float, where: np.ndarray) -> np.ndarray:
    """Optical density times ``factor`` where ``where`` (Beer-Lambert: a thicker or darker stain layer)."""
    out = img.astype(np.float32)
    scaled = 255.0 * ((out + 1.0) / 256.0) ** factor
    out[where] = scaled[where]
    return np.clip(out, 0, 255).astype(np.uint8)


def _tissue_point(tissue: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    rows, cols = np.nonzero(tissue)
    k = int(rng.integers(rows.size))
    return int(cols[k]), int(rows[k])


def _stroke(shape: tuple[int, ...], pts: Sequence[tuple[float, float]], width: int) -> np.ndarray:
    layer = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(layer).line(pts, fill=255, width=width, joint="curve")
    return np.asarray(layer) > 0


def _coverslip(
    img: np.ndarray, tissue: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A straight coverslip edge through a tissue point, over 60 to 100 % of the slide's width or
    height: a dark grey line and, on one side of it, a bright refraction band."""
    h, w = img.shape[:2]
    side = max(h, w)
    (x0, y0), angle = _tissue_point(tissue, rng), rng.uniform(0, np.pi)
    normal = np.array([-np.sin(angle), np.cos(angle)])
    yy, xx = np.mgrid[:h, :w]
    along = (xx - x0) * np.cos(angle) + (yy - y0) * np.sin(angle)
    across = (xx - x0) * normal[0] + (yy - y0) * normal[1]
    reach = rng.uniform(0.3, 0.5) * side
    span = np.abs(along) <= reach
    width = max(3.0, 0.004 * side)
    band = max(8.0, 0.015 * side)
    line = span & (np.abs(across) <= width / 2)
    halo = span & (across > width / 2) & (across <= width / 2 + band)
    out = img.astype(np.float32)
    out[line] = out[line] * 0.25 + 55.0 * 0.75
    fade = 1 - (across[halo] - width / 2) / band  # brightest next to the line
    out[halo] = out[halo] * (1 - 0.45 * fade[:, None]) + 250.0 * 0.45 * fade[:, None]
    return np.clip(out, 0, 255).astype(np.uint8), line | halo


def _pleat(
    img: np.ndarray, tissue: np.ndarray, point: tuple[int, int], angle: float, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """A pleat (Z-fold) of the section, ``width`` px wide, along the line through ``point`` at
    ``angle``, and its mask.

    Three layers of the section lie in the band: its own, and the strips of ``width`` beside it on
    either side, each folded over the band's edge (mirrored across it). Light passes all three, so
    their transmittances multiply (Beer-Lambert: optical densities add), per channel; a layer's
    transmittance is its pixel over the glass's brightness (the median of the non-tissue pixels),
    at most 1, and where a mirrored strip falls off the image nothing is added. The band is taken
    on the tissue mask only (a section cannot fold onto bare glass far from it), as the former
    injection did; over a lumen or a pale gap the folded neighbours add their tissue. The mask is
    the band where the added layers darken the image visibly (:data:`FOLD_VISIBLE_OD`). Not
    modelled: the tissue beyond the band does not move in (a real Z-fold takes up three band
    widths of the section, here the neighbouring strips are also seen flat where they were), no
    crease at the band's edges, no blur from the layers lying out of the focal plane."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    normal = np.array([-np.sin(angle), np.cos(angle)])
    across = (xx - point[0]) * normal[0] + (yy - point[1]) * normal[1]
    band = (np.abs(across) <= width / 2) & tissue
    rows, cols = np.nonzero(band)
    a = across[band]
    glass = np.median(img[~tissue], axis=0) if (~tissue).any() else np.full(3, 255.0)
    added = np.zeros((a.size, 3), np.float32)
    for shift in (width - 2 * a, -width - 2 * a):  # mirror across the edge at +width/2, -width/2
        r = np.rint(rows + shift * normal[1]).astype(int)
        c = np.rint(cols + shift * normal[0]).astype(int)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        layer = img[r[inside], c[inside]].astype(np.float32)
        added[inside] += -np.log10(np.clip((layer + 1.0) / (glass + 1.0), None, 1.0))
    out = img.astype(np.float32)
    out[rows, cols] = (out[rows, cols] + 1.0) * 10.0**-added - 1.0
    mask = np.zeros_like(band)
    mask[rows, cols] = added.mean(axis=1) >= FOLD_VISIBLE_OD
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask


def inject(
    img: np.ndarray, kind: str, rng: np.random.Generator, ink: str = "blue", fold: str = "pleat"
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``img`` with one artefact of ``kind`` (:data:`INJECTED`), and the artefact's mask;
    ``fold`` is how a fold is made (:data:`FOLD_INJECTIONS`: :func:`_pleat`, or the band's optical
    density times :data:`FOLD_FACTOR`). Both draw the same band from ``rng``."""
    h, w = img.shape[:2]
    side = max(h, w)
    tissue, _ = tissue_from_rgba(img)
    out = img.astype(np.float32)
    if kind == "pen":
        pts = [_tissue_point(tissue, rng) for _ in range(3)]
        mask = _stroke(img.shape, pts, max(6, int(0.02 * side)))
        colour = np.array(INKS[ink], np.float32) / 255.0
        out[mask] = out[mask] * (0.1 + 0.9 * colour)
    elif kind == "fold":
        (x0, y0), angle = _tissue_point(tissue, rng), rng.uniform(0, np.pi)
        if fold == "pleat":
            return _pleat(img, tissue, (x0, y0), angle, int(FOLD_WIDTH * side))
        d = side * np.array([np.cos(angle), np.sin(angle)])
        band = _stroke(img.shape, [(x0 - d[0], y0 - d[1]), (x0 + d[0], y0 + d[1])], int(FOLD_WIDTH * side))
        mask = band & tissue
        return _od_scale(img, FOLD_FACTOR, mask), mask
    elif kind == "bubble":
        (cx, cy), r = _tissue_point(tissue, rng), 0.12 * side
        yy, xx = np.mgrid[:h, :w]
        dist = np.hypot(xx - cx, yy - cy)
        mask = dist <= r
        rim = np.abs(dist - r) <= max(2.0, 0.004 * side)
        inside = mask & ~rim
        out[inside] = out[inside] * 0.65 + 235.0 * 0.35
        out[rim] = out[rim] * 0.2 + 60.0 * 0.8
    elif kind == "coverslip":
        return _coverslip(img, tissue, rng)
    elif kind == "overstain":
        return _od_scale(img, OVER_FACTOR, tissue), tissue
    elif kind == "understain":
        return _od_scale(img, UNDER_FACTOR, tissue), tissue
    elif kind == "debris":
        layer = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(layer)
        glass = ~np.asarray(Image.fromarray(tissue).filter(ImageFilter.MaxFilter(15)))
        rows, cols = np.nonzero(glass)
        for _ in range(40):
            k = int(rng.integers(rows.size))
            rx, ry = rng.uniform(0.004, 0.012, 2) * side
            draw.ellipse((cols[k] - rx, rows[k] - ry, cols[k] + rx, rows[k] + ry), fill=255)
        mask = (np.asarray(layer) > 0) & glass
        out[mask] = (70, 55, 45)
    elif kind == "blur":
        blurred = Image.fromarray(img).filter(ImageFilter.GaussianBlur(3))
        return np.asarray(blurred), tissue
    else:
        raise ValueError(kind)
    return np.clip(out, 0, 255).astype(np.uint8), mask


def _probe(img: np.ndarray, folder: Path, name: str, mpp: float | None) -> SlideProbe:
    path = folder / f"{name}.png"
    Image.fromarray(img).save(path, compress_level=1)
    return probe_slide(path, path.name, ProbeOptions(mpp=mpp))


def _shares(img: np.ndarray, folder: Path, name: str) -> dict[str, float]:
    probe = _probe(img, folder, name, None)
    assert probe.artefacts is not None
    return probe.artefacts.shares


def _stain(probe: SlideProbe) -> dict | None:
    """The probe's stain descriptors as plain data (over- and under-staining compare them)."""
    stain = probe.tissue.stain if probe.tissue is not None else None
    return stain.model_dump() if stain is not None else None


def _mask_recall(probe: SlideProbe, kind: str, mask: np.ndarray) -> float | None:
    found = probe.artefacts
    if found is None or kind not in LESION_KINDS or not mask.any():
        return None
    fh, fw = found.flags.shape
    rows = (np.arange(fh)[:, None] * found.downsample[1] + found.downsample[1] / 2).astype(int)
    cols = (np.arange(fw)[None, :] * found.downsample[0] + found.downsample[0] / 2).astype(int)
    truth = mask[np.clip(rows, 0, mask.shape[0] - 1), np.clip(cols, 0, mask.shape[1] - 1)]
    if not truth.any():
        return None
    return float(found.mask(kind)[truth].mean())


def numbered(
    glas_per_side: int,
    extra: bool,
    fresh: bool = True,
    external: list[tuple[str, str, np.ndarray]] | None = None,
) -> list[tuple[int, str, str, np.ndarray]]:
    """``(n, side, name, RGB)`` per clean slide: :func:`clean_slides` numbered from 0, with
    ``extra`` :func:`extra_tuning_slides` from 1000, with ``fresh`` :func:`fresh_slides` from 2000,
    the ``external`` slides (:func:`external_slides`) from 3000 (``n`` seeds the slide's
    injections); ``glas_per_side`` 0: the external slides alone."""
    out = [(EXTERNAL_SEED - SEED + k, *slide) for k, slide in enumerate(external or [])]
    if glas_per_side == 0:
        return out
    slides = clean_slides(glas_per_side)
    out = [(n, *slide) for n, slide in enumerate(slides)] + out
    if extra:
        drawn = [name for side, name, _ in slides if side == "tune"]
        out += [(EXTRA_SEED - SEED + k, *slide) for k, slide in enumerate(extra_tuning_slides(drawn))]
    if fresh:
        drawn = [name for side, name, _ in slides if side == "test"]
        out += [(FRESH_SEED - SEED + k, *slide) for k, slide in enumerate(fresh_slides(drawn))]
    return out


def measure_all(
    slides: list[tuple[int, str, str, np.ndarray]],
    fold: str = "pleat",
    mpps: dict[str, float | None] | None = None,
    injected: Sequence[str] = INJECTED,
    unknown_too: bool = False,
) -> list[dict]:
    """Per clean slide: its side, name, the shares of the clean slide and of each injection (folds
    made as ``fold`` says, :func:`inject`), the mask recall of each marked injection, and the
    measure's time on the clean slide, its field of view in µm (None: unknown). µm per pixel:
    ``mpps`` by name (None: unknown), else :data:`MPP` by the name's start, else :data:`GLAS_MPP`.
    Every kind is measured whatever the field of view, as dqm does (a field limit is tried on the
    shares by the tabulation, :func:`_gated`). ``unknown_too``:
    each slide whose µm per pixel is known is also measured as if it were not (row ``unknown``: the
    rules at the working image's scale, as before issue 15's physical scale)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, side, name, img in slides:
            rng = np.random.default_rng(SEED + n)
            ink = tuple(INKS)[n % len(INKS)]
            default = next((v for k, v in MPP.items() if name.startswith(k)), GLAS_MPP)
            mpp = mpps[name] if mpps is not None and name in mpps else default
            probe = _probe(img, folder, "clean", mpp)
            assert probe.artefacts is not None, probe.tissue_note or probe.open_error
            row = {"side": side, "name": name, "ink": ink, "fold_injection": fold}
            row["ms"] = 1000 * probe.artefacts.elapsed_s
            row["clean"] = probe.artefacts.shares
            row["field_um"], row["scale_mpp"] = probe.artefacts.field_um, probe.artefacts.scale_mpp
            unknown = unknown_too and mpp is not None
            if unknown:
                row["unknown"] = {"clean": _shares(img, folder, "clean")}
            row["clean_stain"] = _stain(probe)
            row["clean_pens"] = probe.artefacts.pens
            for kind in INJECTED:
                dirty, mask = inject(img, kind, rng, ink, fold)  # every draw, so later kinds' stay
                if kind not in injected:
                    continue
                probe = _probe(dirty, folder, kind, mpp)
                assert probe.artefacts is not None
                row[kind] = probe.artefacts.shares
                row[f"{kind}_stain"] = _stain(probe)
                row[f"{kind}_pens"] = probe.artefacts.pens
                row[f"{kind}_mask"] = _mask_recall(probe, DETECTED_AS.get(kind, kind), mask)
                if unknown:
                    row["unknown"][kind] = _shares(dirty, folder, kind)
            rows.append(row)
    return rows


def site_of(row: dict) -> str:
    """The site a slide comes from: the external set's ``site``, GlaS, or the real slide or image
    its region was cut from."""
    if row.get("site"):
        return str(row["site"])
    return "GlaS" if row["name"].startswith(("train", "test")) else row["name"].split("#")[0]


def _gated(row: dict, shares: dict[str, float], kind: str, field: float) -> float | None:
    """``shares[kind]`` as the probe gives it with ``field`` as the kind's smallest field of view:
    None (not measured) on a slide whose known field is under it."""
    known = row.get("field_um")
    return None if known is not None and known < field else shares[kind]


def _scaled_counts(rows: list[dict], kind: str, limit: float, field: float) -> tuple[int, int, int, int]:
    """``(hits, not measured, clean flagged, n)``: injections of ``kind`` (each one :data:`SCALED`
    lists counts) found over ``limit``, those not measured, the clean slides flagged for it."""
    hits = unmeasured = flagged = 0
    for r in rows:
        for injected in SCALED[kind]:
            share = _gated(r, r[injected], kind, field)
            unmeasured += share is None
            hits += share is not None and share > limit
        clean = _gated(r, r["clean"], kind, field)
        flagged += clean is not None and clean > limit
    return hits, unmeasured, flagged, len(rows)


def choose_field(rows: list[dict], kind: str) -> float:
    """The field of view (of :data:`FIELDS`) under which ``kind`` is not measured: the one whose
    threshold (:func:`tune` on the slides measured) finds the most injections among all of
    ``rows`` (a slide not measured is a miss), the smallest of equals."""
    best = (-1, 0.0)
    for field in FIELDS:
        measured = [{**r, "side": "tune"} for r in rows if _gated(r, r["clean"], kind, field) is not None]
        if not measured:
            continue
        hits = _scaled_counts(rows, kind, tune(measured)[kind], field)[0]
        best = max(best, (hits, -field))
    return -best[1]


def by_site(rows: list[dict], limits: dict[str, float], fields: dict[str, float]) -> str:
    """Per site: fold and bubble (coverslip counted with bubble) recall over all its slides, how many
    were not measured, the clean slides flagged for each and for any kind, with ``limits`` and the
    field limits ``fields``."""
    lines = [
        "| site | slides | field µm | fold recall (not measured) | bubble+coverslip recall (not measured) "
        "| clean flagged fold / bubble / any |",
        "|---|---|---|---|---|---|",
    ]
    for site in sorted({site_of(r) for r in rows}):
        mine = [r for r in rows if site_of(r) == site]
        cells = []
        for kind in SCALED:
            hits, unmeasured, flagged, n = _scaled_counts(mine, kind, limits[kind], fields[kind])
            total = n * len(SCALED[kind])
            cells.append((f"{hits}/{total} = {hits / total:.2f} ({unmeasured})", flagged))
        fields_um = [r["field_um"] for r in mine if r.get("field_um") is not None]
        span = f"{min(fields_um):.0f}-{max(fields_um):.0f}" if fields_um else "unknown"
        anyk = sum(
            any((_gated(r, r["clean"], k, fields.get(k, 0.0)) or 0.0) > limits[k] for k in KINDS)
            for r in mine
        )
        lines.append(
            f"| {site} | {len(mine)} | {span} | {cells[0][0]} | {cells[1][0]} | {cells[0][1]} / {cells[1][1]} / {anyk} |"
        )
    return "\n".join(lines)


def leave_one_site_out(rows: list[dict], gate: bool) -> str:
    """Each site's fold and bubble recall and clean slides flagged, judged by thresholds (:func:`tune`,
    :data:`MARGIN`) and, with ``gate``, field limits (:func:`choose_field`) chosen on the other sites
    alone: a constant chosen on one site measured on the others."""
    lines, totals = [], defaultdict(int)
    for site in sorted({site_of(r) for r in rows}):
        rest = [r for r in rows if site_of(r) != site]
        held = [r for r in rows if site_of(r) == site]
        parts = []
        for kind in SCALED:
            field = choose_field(rest, kind) if gate else 0.0
            measured = [{**r, "side": "tune"} for r in rest if _gated(r, r["clean"], kind, field) is not None]
            hits, unmeasured, flagged, n = _scaled_counts(held, kind, tune(measured)[kind], field)
            total = n * len(SCALED[kind])
            for key, value in (
                ("hits", hits),
                ("n", total),
                ("unmeasured", unmeasured),
                ("flagged", flagged),
            ):
                totals[kind, key] += value
            parts.append(
                f"{kind} {hits}/{total} (not measured {unmeasured}, field {field:g}) flagged {flagged}/{n}"
            )
        lines.append(f"  {site}: " + "; ".join(parts))
    clean = len(rows)
    lines.append(
        "  all sites: "
        + "; ".join(
            f"{k} recall {totals[k, 'hits']}/{totals[k, 'n']} = {totals[k, 'hits'] / totals[k, 'n']:.3f}"
            f" (not measured {totals[k, 'unmeasured']}), clean flagged {totals[k, 'flagged']}/{clean}"
            for k in SCALED
        )
    )
    return "\n".join(lines)


def tune(rows: list[dict], margins: dict[str, float] | None = None) -> dict[str, float]:
    """Thresholds from the tuning slides: per kind, its margin (``margins``, else :data:`MARGIN`)
    times the largest share of a clean tuning slide (two significant digits, rounded up), at least
    the kind's floor. Under-staining is the share of the tissue *not* stained enough, near 1 on
    every slide: there the margin is on the rest, the share still stained (the smallest of a clean
    slide over the margin, rounded down, at least its floor)."""
    out = {}
    tuning = [r for r in rows if r["side"] == "tune"]
    for kind in KINDS:
        margin = (margins or {}).get(kind, MARGIN)
        if kind == "understain":
            low = min(1.0 - r["clean"][kind] for r in tuning) / margin
            out[kind] = 1.0 - max(FLOORS[kind], _two_digits(low, np.floor))
            continue
        top = max(r["clean"][kind] for r in tuning) * margin
        out[kind] = max(FLOORS[kind], _two_digits(top, np.ceil))
    return out


def choose_margins(rows: list[dict]) -> tuple[dict[str, float], list[str]]:
    """Each kind's margin (:data:`MIN_CV_RECALL`), by :data:`CV_DRAWS` draws of 5-fold
    cross-validation inside the tuning slides, and a line per kind saying what each margin gave."""
    chosen, lines = {}, []
    tuning = [r for r in rows if r["side"] == "tune"]
    for kind in KINDS:
        # the kinds injected into every tuning slide (``--injections`` may leave some out)
        injected = [k for k in INJECTED if DETECTED_AS.get(k, k) == kind and all(k in r for r in tuning)]
        if not injected:
            chosen[kind] = MARGIN
            lines.append(f"  {kind}: not injected, margin {MARGIN}")
            continue
        scores = []
        for margin in MARGINS:
            hits, flagged, n = dict.fromkeys(injected, 0), 0, 0
            for seed in range(CV_DRAWS):
                for limits, held in _folds(rows, seed, {kind: margin}):
                    n += len(held)
                    flagged += sum(r["clean"][kind] > limits[kind] for r in held)
                    for k in injected:
                        hits[k] += sum(r[k][kind] > limits[kind] for r in held)
            scores.append((margin, min(hits.values()) / n, flagged / n))
        good = [sc for sc in scores if sc[1] >= MIN_CV_RECALL]
        chosen[kind] = min(good, key=lambda sc: (sc[2], sc[0]))[0] if good else MARGIN
        lines.append(
            f"  {kind}: "
            + ", ".join(f"x{m:g} recall {r:.3f} flagged {f:.3f}" for m, r, f in scores)
            + f" -> x{chosen[kind]:g}"
        )
    return chosen, lines


def _folds(
    rows: list[dict], seed: int, margins: dict[str, float] | None, folds: int = 5
) -> list[tuple[dict[str, float], list[dict]]]:
    """``(thresholds tuned on the other folds, the fold's rows)`` per fold of the tuning slides
    (folds by source image, drawn with ``seed``)."""
    tuning = [r for r in rows if r["side"] == "tune"]
    names = sorted({r["name"] for r in tuning})
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[k]: i % folds for i, k in enumerate(order)}
    return [
        (
            tune([r for r in tuning if fold_of[r["name"]] != f], margins),
            [r for r in tuning if fold_of[r["name"]] == f],
        )
        for f in range(folds)
    ]


def _two_digits(value: float, rounding: Callable[[float], float]) -> float:
    if value <= 0:
        return 0.0
    digits = 1 - int(np.floor(np.log10(value)))
    return round(float(rounding(value * 10**digits) / 10**digits), digits)


def cross_validate(
    rows: list[dict], seed: int = 0, margins: dict[str, float] | None = None
) -> tuple[dict[str, float], list[str]]:
    """Recall per injected kind and the clean slides flagged, each slide judged by thresholds
    tuned (:func:`tune`) on the other folds of the tuning slides (folds by source image): what
    the tuning set says of slides it did not choose the thresholds on."""
    tuning = [r for r in rows if r["side"] == "tune"]
    hits = {k: 0 for k in INJECTED if all(k in r for r in tuning)}  # --injections may leave some out
    flagged: list[str] = []
    n = 0
    for limits, held in _folds(rows, seed, margins):
        n += len(held)
        for r in held:
            for kind in hits:
                hits[kind] += DETECTED_AS.get(kind, kind) in _flagged(r[kind], limits)
            if _flagged(r["clean"], limits):
                flagged.append(r["name"])
    return {k: v / n for k, v in hits.items()}, flagged


def _flagged(shares: dict[str, float], limits: dict[str, float]) -> set[str]:
    return {k for k in KINDS if shares[k] > limits[k]}


def _judged(row: dict, variant: str, limits: dict[str, float], parts: dict) -> set[str]:
    """The kinds flagged on ``variant`` of ``row``: by their shares, staining by the slide's group
    (:func:`stain_flagged` with the library's constants)."""
    return (_flagged(row[variant], limits) - set(STAIN_KINDS)) | stain_flagged(
        parts, row["name"], variant, limits, LIBRARY
    )


def table(rows: list[dict], limits: dict[str, float], side: str) -> str:
    mine = [r for r in rows if r["side"] == side]
    organs = sorted({r["organ"] or "unstated" for r in mine if "organ" in r})
    lines = [
        f"{side}: {len(mine)} clean slides ({sum(r['name'][:4] in ('trai', 'test') for r in mine)} GlaS)",
        *(
            [
                "organs: "
                + ", ".join(f"{o} {sum((r['organ'] or 'unstated') == o for r in mine)}" for o in organs)
            ]
            if organs
            else []
        ),
        "",
        "| artefact | threshold | recall | mask recall (median) | also flagged for another kind |",
        "|---|---|---|---|---|",
    ]
    parts = stain_parts(rows)  # over- and under-staining: judged against the slide's group
    for kind in INJECTED:
        target = DETECTED_AS.get(kind, kind)
        if not all(kind in r for r in mine):  # left out by --injections
            lines.append(f"| {kind} | {limits[target]:g} | not injected | | |")
            continue
        got = [_judged(r, kind, limits, parts) for r in mine]
        hit = sum(target in g for g in got)
        masks = [r[f"{kind}_mask"] for r in mine if r[f"{kind}_mask"] is not None]
        mr = f"{statistics.median(masks):.2f}" if masks else "n/a (global)"
        also = sum(bool(g - {target}) for g in got)
        lines.append(
            f"| {kind} | {limits[target]:g} | {hit}/{len(mine)} = {hit / len(mine):.2f} | {mr} | {also} |"
        )
    pens = defaultdict(list)
    for r in mine:
        if "pen" in r:
            pens[r["ink"]].append("pen" in _flagged(r["pen"], limits))
    lines.append("\npen recall by ink: " + ", ".join(f"{c} {sum(v)}/{len(v)}" for c, v in pens.items()))
    fps = [
        (
            r["name"] + (f" ({r['organ'] or 'organ unstated'})" if "organ" in r else ""),
            sorted(_judged(r, "clean", limits, parts)),
        )
        for r in mine
    ]
    fps = [(n, k) for n, k in fps if k]
    lines.append(f"false positives on clean slides: {len(fps)}/{len(mine)} = {len(fps) / len(mine):.3f}")
    lines += [f"  {n}: {', '.join(k)}" for n, k in fps]
    return "\n".join(lines)


def tuned_and_held_out(rows: list[dict], profile: dict[str, float], tuning_only: bool) -> None:
    """The margins and thresholds the tuning set gives, the tables of each set measured with the
    profile's thresholds, and the tuning set's cross-validation."""
    margins, lines = choose_margins(rows)
    print(f"margins by cross-validation in the tuning set ({CV_DRAWS} draws of 5 folds):", *lines, sep="\n")
    tuned = tune(rows, margins)
    print("thresholds from the tuning set: " + ", ".join(f"{k} {v:g}" for k, v in tuned.items()))
    print("the built-in profile's:         " + ", ".join(f"{k} {v:g}" for k, v in profile.items()))
    if tuned != profile:
        print("  (they differ: the figures below use the profile's)")
    sides = {r["side"] for r in rows}
    for side in (
        ("tune",) if tuning_only else [s for s in ("test", "fresh", "external", "tune") if s in sides]
    ):
        print(f"\n{table(rows, profile, side)}")
    for seed in range(3):
        recall, flagged = cross_validate(rows, seed, margins)
        n = sum(r["side"] == "tune" for r in rows)
        print(
            f"\ntuning, 5-fold cross-validation by image (draw {seed}): recall "
            + ", ".join(f"{k} {v:.2f}" for k, v in recall.items())
            + f"; clean flagged {len(flagged)}/{n} = {len(flagged) / n:.3f} {' '.join(flagged)}"
        )


def stain_group(row: dict) -> tuple[str, str]:
    """A slide's batch for the stain judgement: its set and source (an external site, GlaS, or
    the real slide its region is cut from)."""
    name = row["name"]
    source = row.get("site") or ("GlaS" if name[:4] in ("trai", "test") else name.split("#")[0])
    return row["side"], source


def stain_od(row: dict, variant: str) -> float | None:
    """The optical density ``variant`` of ``row`` is compared with (:func:`stain_batch.od_of`);
    None from a shares file written before the rows kept stain descriptors (the absolute rule)."""
    if f"{variant}_stain" not in row:
        return None
    stain = row[f"{variant}_stain"]
    return stain_batch.od_of(stain["od_mean"] if stain else None, row[variant]["understain"])


def stain_nuclei(row: dict, variant: str) -> float | None:
    """The nuclei's density (``h_p99`` of the stain descriptors) of ``variant`` of ``row``; None:
    not described (or a shares file written before the rows kept descriptors), or left out for
    its coloured pen ink as ``artefacts.stain`` leaves it (:func:`stain_batch.nuclei_of`: the
    variant's ``{variant}_pens``, per ink; a shares file written before the rows kept them: all
    ink, black too, as dqm did before it left black ink out)."""
    stain = row.get(f"{variant}_stain")
    if not stain:
        return None
    pens = row.get(f"{variant}_pens")
    ink = (
        sum(pens.get(c, 0.0) for c in stain_batch.COLOUR_INKS)
        if pens is not None
        else row[variant].get("pen")
    )
    return stain_batch.nuclei_of(stain.get("h_p99"), ink, row[variant].get("overstain"))


def stain_parts(rows: list[dict]) -> dict[tuple[str, str, str], tuple]:
    """Per (slide, variant, stain kind): its share, optical density (:func:`stain_od`) and
    :func:`stain_batch.strength`, the median and the median absolute deviation of the
    strengths of the *clean* slides of its group (:func:`stain_group`), its own image left out,
    how many they are, and their shares' median, median absolute deviation and count: what :func:`stain_batch.compare` computes, kept so that its constants
    can be varied without computing it again; and its reference group judged as a whole (an
    institution, None: the batch), how many of its slides have a share and the batch's median
    share (:func:`stain_batch.held_whole`); and its nuclei's density (:func:`stain_nuclei`) with
    the median, median absolute deviation and count of its peers' :func:`stain_batch.strength` of
    theirs (:func:`stain_batch.verdict`'s ``nuclei``). The peers are the slide's institution's (a row's
    ``institution``, when it has ``MIN_PEERS`` other measured slides) or else its whole batch's,
    as ``artefacts.stain`` takes them (the shares files hold no institution: each batch one)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[stain_group(r)].append(r)
    out = {}
    for batch in groups.values():
        # as artefacts.stain judges a batch: a slide of an institution with peers enough against
        # them, any other against the whole batch (the library's min_peers)
        ods = [stain_od(m, "clean") for m in batch]
        institutions = [m.get("institution") for m in batch]
        refs = stain_batch.reference_groups(ods, institutions)
        judged = stain_batch.judged_as_group(refs, institutions)
        for i, r in enumerate(batch):
            group = institutions[i] if institutions[i] in refs else None
            members = [batch[j] for j in refs[group].tolist()]
            for kind in STAIN_KINDS:
                ref = [stain_batch.strength(kind, stain_od(m, "clean")) for m in members if m is not r]
                values = np.array([v for v in ref if v is not None])
                h_ref = [stain_batch.strength(kind, stain_nuclei(m, "clean")) for m in members if m is not r]
                h_values = np.array([v for v in h_ref if v is not None])
                h_centre = float(np.median(h_values)) if h_values.size else np.nan
                h_mad = float(np.median(np.abs(h_values - h_centre))) if h_values.size else np.nan
                centre = float(np.median(values)) if values.size else np.nan
                mad = float(np.median(np.abs(values - centre))) if values.size else np.nan
                # of the measured peers, as stain_batch.judge counts them
                peer_shares = np.array([m["clean"][kind] for m in members if m is not r])
                share_centre = float(np.median(peer_shares)) if peer_shares.size else np.nan
                share_mad = (
                    float(np.median(np.abs(peer_shares - share_centre))) if peer_shares.size else np.nan
                )
                shares = np.array(
                    [np.nan if m["clean"][kind] is None else m["clean"][kind] for m in batch], float
                )
                # its group judged as a whole: how many of its slides have a share, and the batch's median
                whole = (
                    group,
                    int(np.isfinite(shares[judged[group]]).sum()),
                    stain_batch.batch_median(shares[refs[None]]),
                )
                for variant in ("clean", *INJECTED):
                    if variant in r:
                        od = stain_od(r, variant)
                        value = stain_batch.strength(kind, od)
                        out[r["name"], variant, kind] = (
                            r[variant][kind],
                            od,
                            value,
                            centre,
                            mad,
                            values.size,
                            (share_centre, share_mad, peer_shares.size),
                            whole,
                            (stain_nuclei(r, variant), h_centre, h_mad, h_values.size),
                        )
    return out


STAIN_CONSTANTS = {
    "max_z": (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0),
    "min_spread": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    "min_peers": (4, 5, 6, 8),
}
"""The grid :func:`choose_stain` searches."""
LIBRARY = {
    "max_z": stain_batch.MAX_Z,
    "min_spread": stain_batch.MIN_SPREAD,
    "min_peers": stain_batch.MIN_PEERS,
}
"""The stain judgement's constants as ``dqm.pixels.stain_batch`` has them."""
STAIN_MAX_FLAGGED = 0.02
"""The constants chosen flag at most this share of the clean slides they are chosen on."""


def stain_flagged(
    parts: dict, name: str, variant: str, limits: dict[str, float], constants: dict[str, float] | None
) -> set[str]:
    """The stain kinds flagged on ``variant`` of slide ``name``: by the batch (``constants``,
    :func:`stain_batch.compare`'s), or by the absolute rule alone (``constants`` None: the former
    judgement, the profile's shares)."""
    got = set()
    for kind in STAIN_KINDS:
        share, od, _, centre, mad, n, peer_shares, (group, whole, batch), nuclei = parts[name, variant, kind]
        if constants is None:
            hit = share > limits[kind]
        else:  # the library's verdict, its group judged as a whole as artefacts.stain judges it
            hit = stain_batch.verdict(
                kind,
                share,
                od,
                n,
                centre,
                mad,
                limits[kind],
                group,
                int(constants["min_peers"]),
                constants["max_z"],
                constants["min_spread"],
                peer_shares=peer_shares,
                whole=stain_batch.held_whole(kind, group, whole, batch, limits[kind]),
                nuclei=nuclei,
            ).flagged
        if hit:
            got.add(kind)
    return got


def _stain_score(
    parts: dict, rows: list[dict], limits: dict[str, float], constants: dict[str, float] | None
) -> tuple[dict[str, int], int, int]:
    """Over- and under-stained slides found, clean slides flagged for staining, slides."""
    hits = dict.fromkeys(STAIN_KINDS, 0)
    flagged = 0
    for r in rows:
        for kind in STAIN_KINDS:
            hits[kind] += kind in stain_flagged(parts, r["name"], kind, limits, constants)
        flagged += bool(stain_flagged(parts, r["name"], "clean", limits, constants))
    return hits, flagged, len(rows)


def choose_stain(parts: dict, rows: list[dict], limits: dict[str, float]) -> dict[str, float]:
    """The constants of :data:`STAIN_CONSTANTS` that find the most of the rarer-found kind (then
    of both) among those flagging at most :data:`STAIN_MAX_FLAGGED` of the clean ``rows`` (none
    such: those flagging the fewest); of equals, the largest ``max_z``, ``min_spread`` and
    ``min_peers`` (the most cautious)."""
    best: tuple = ()
    chosen: dict[str, float] = {}
    for z in STAIN_CONSTANTS["max_z"]:
        for spread in STAIN_CONSTANTS["min_spread"]:
            for peers in STAIN_CONSTANTS["min_peers"]:
                constants = {"max_z": z, "min_spread": spread, "min_peers": peers}
                hits, flagged, n = _stain_score(parts, rows, limits, constants)
                within = flagged <= STAIN_MAX_FLAGGED * n  # none within: the fewest flagged
                found = (min(hits.values()), sum(hits.values())) if within else (0, 0)
                key = (within, *found, -flagged, z, spread, peers)
                if key > best:
                    best, chosen = key, constants
    return chosen


def stain_tables(rows: list[dict], limits: dict[str, float]) -> str:
    """Over- and under-staining judged against each slide's group, before (the absolute rule) and
    after (the batch: the library's constants), per group; and cross-validated: constants chosen
    on the other folds (5 folds by image, three draws) or on the other groups (leave one group out)."""
    parts, library = stain_parts(rows), LIBRARY
    if not all(k in r for r in rows for k in STAIN_KINDS):  # left out by --injections
        return "staining not injected: no stain table"
    lines = [
        "stain judged against the clean slides of each slide's group (leave-one-out), constants "
        + ", ".join(f"{k} {v:g}" for k, v in library.items())
        + f"; safety net: near-black share > {stain_batch.EXTREME_SHARE:g}, optical density < {stain_batch.EXTREME_OD:g}",
        "",
        "| group | slides | clean flagged before / after | overstain before / after | understain before / after |",
        "|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[stain_group(r)].append(r)
    for key in [*sorted(groups), None]:
        mine = rows if key is None else groups[key]
        (hb, fb, n), (ha, fa, _) = (_stain_score(parts, mine, limits, c) for c in (None, library))
        label = "all" if key is None else f"{key[0]} {key[1][:40]}"
        lines.append(
            f"| {label} | {n} | {fb} / {fa} | {hb['overstain']} / {ha['overstain']} "
            f"| {hb['understain']} / {ha['understain']} |"
        )
    named = [(r, stain_flagged(parts, r["name"], "clean", limits, library)) for r in rows]
    lines += [
        f"  clean flagged after: {r['name']} ({stain_group(r)[1][:30]}): {', '.join(sorted(k))}"
        for r, k in named
        if k
    ]
    chosen = choose_stain(parts, rows, limits)
    lines.append(f"\nconstants chosen on all of these slides: {chosen}")
    for seed in range(3):
        names = sorted({r["name"] for r in rows})
        order = np.random.default_rng(seed).permutation(len(names))
        fold_of = {names[k]: i % 5 for i, k in enumerate(order)}
        held = [
            ([r for r in rows if fold_of[r["name"]] != f], [r for r in rows if fold_of[r["name"]] == f])
            for f in range(5)
        ]
        lines.append(_held_out(parts, held, limits, f"5-fold by image, draw {seed}"))
    held = [([r for r in rows if stain_group(r) != g], groups[g]) for g in sorted(groups)]
    lines.append(_held_out(parts, held, limits, "leave one group out", [g[1][:30] for g in sorted(groups)]))
    return "\n".join(lines)


def _held_out(
    parts: dict,
    splits: list[tuple[list[dict], list[dict]]],
    limits: dict[str, float],
    what: str,
    labels: list[str] | None = None,
) -> str:
    """Recall and clean slides flagged, each held-out part judged with the constants chosen on the rest."""
    hits, flagged, n, each = dict.fromkeys(STAIN_KINDS, 0), 0, 0, []
    for k, (train, test) in enumerate(splits):
        constants = choose_stain(parts, train, limits)
        h, f, m = _stain_score(parts, test, limits, constants)
        hits = {kind: hits[kind] + h[kind] for kind in STAIN_KINDS}
        flagged, n = flagged + f, n + m
        if labels:
            each.append(
                f"    {labels[k]}: {m} slides, clean flagged {f}, overstain {h['overstain']}, "
                f"understain {h['understain']} ({constants})"
            )
    head = (
        f"{what}: overstain {hits['overstain']}/{n} = {hits['overstain'] / n:.3f}, understain "
        f"{hits['understain']}/{n} = {hits['understain'] / n:.3f}, clean flagged {flagged}/{n} = {flagged / n:.3f}"
    )
    return "\n".join([head, *each])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glas", type=int, default=32, help="GlaS images per side")
    parser.add_argument("--out", type=Path, help="write the measured shares here (JSON)")
    parser.add_argument("--shares", type=Path, help="tabulate shares written by --out (no probing)")
    parser.add_argument(
        "--tuning-only",
        action="store_true",
        help="measure and show the tuning slides only (develop on these)",
    )
    parser.add_argument(
        "--no-extra", action="store_true", help="tuning: the drawn GlaS images only (the former 37-slide set)"
    )
    parser.add_argument(
        "--fold-injection",
        choices=FOLD_INJECTIONS,
        default="pleat",
        help="how a fold is injected: a pleat of the section (default), or the band's density x3 (former)",
    )
    parser.add_argument(
        "--external",
        type=Path,
        help="measure the external held-out set too: a folder that benchmarks/external_he.py --out assembled",
    )
    parser.add_argument(
        "--only", choices=("external",), help="measure this set alone (no tuning, test or fresh slide)"
    )
    parser.add_argument(
        "--injections",
        type=lambda v: tuple(v.split(",")),
        default=INJECTED,
        help="inject only these kinds (comma-separated; fold,bubble,coverslip with --sites)",
    )
    parser.add_argument(
        "--sites",
        action="store_true",
        help="fold and bubble per site and left out one site at a time (external set as tuning data)",
    )
    parser.add_argument(
        "--stain-only",
        action="store_true",
        help="with --shares: tabulate the stain judgement alone (rows of benchmarks/stain_shares.py)",
    )
    args = parser.parse_args()
    if args.only and not (args.external or args.shares):
        parser.error("--only external needs --external DIR")
    params = next(c.params for c in configure(load_profile(None)) if c.id == "artefacts.slide")
    profile = {k: float(getattr(params, k)) for k in KINDS}
    t0 = time.perf_counter()
    if args.shares:
        rows = json.loads(args.shares.read_text())
    else:
        external, manifest = external_slides(args.external) if args.external else ([], {})
        slides = numbered(0 if args.only else args.glas, not args.no_extra, not args.tuning_only, external)
        mpps = {
            name: float(r["mpp"]) if r["mpp"] else None for name, r in manifest.items()
        }  # unstated: unknown
        tuning = ("tune", "external")  # the external set is tuning data since its first look
        rows = measure_all(
            [s for s in slides if s[1] in tuning or not args.tuning_only],
            args.fold_injection,
            mpps,
            args.injections,
            args.sites,
        )
        for row in rows:
            if row["name"] in manifest:
                row.update({k: manifest[row["name"]][k] for k in ("organ", "site", "source")})
        if args.out:
            args.out.write_text(json.dumps(rows))
    if args.tuning_only:
        rows = [r for r in rows if r["side"] in ("tune", "external")]
    if args.sites:
        sites(rows, profile)
        return
    if args.only:
        rows = [r for r in rows if r["side"] == args.only]
    if args.stain_only:
        print(stain_tables(rows, profile))
        return
    folds = sorted({r.get("fold_injection", "scale") for r in rows})
    print(f"working image <= {WORK_SIDE} px; folds injected as {', '.join(folds)}; ", end="")
    print(f"{time.perf_counter() - t0:.0f} s to measure\n")
    if args.only:
        print("the built-in profile's thresholds: " + ", ".join(f"{k} {v:g}" for k, v in profile.items()))
        print(f"\n{table(rows, profile, args.only)}")
    else:
        tuned_and_held_out(rows, profile, args.tuning_only)
    print(f"\n{stain_tables(rows, profile)}")
    ms = [r["ms"] for r in rows]
    print(
        f"\nartefact measure on the clean slides: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms"
    )
    if args.shares or args.only:
        return
    print("\ncost per real slide (probe_slide, median of 3, ms): with artefacts / without / difference")
    for path in sorted((REAL / "slides").glob("*.svs")) + sorted((REAL / "images").glob("*.jpg")):
        if path.name in ("broken.svs", "unreadable.svs", "small.svs"):
            continue
        mpp = next((v for k, v in MPP.items() if path.name.startswith(k)), None)
        t_with = statistics.median(_time(path, ProbeOptions(mpp=mpp)) for _ in range(3))
        t_without = statistics.median(_time(path, ProbeOptions(artefacts=False, mpp=mpp)) for _ in range(3))
        print(
            f"  {path.name}: {1000 * t_with:.0f} / {1000 * t_without:.0f} / {1000 * (t_with - t_without):+.0f}"
        )


TRIED_FIELD_UM = 100.0
"""The field limit tried on folds and bubbles (not shipped: :func:`sites` tabulates what it did)."""


def sites(rows: list[dict], profile: dict[str, float]) -> None:
    """The per-site tables: the profile's thresholds as dqm ships them (no field limit), then with
    :data:`TRIED_FIELD_UM` as each scaled kind's limit, before (unknown resolution), and each site
    left out, without field limits and with those :func:`choose_field` picks on the other sites."""
    none = dict.fromkeys(SCALED, 0.0)
    print(
        "field limits (µm) chosen on all sites: "
        + ", ".join(f"{k} {choose_field(rows, k):g}" for k in SCALED)
    )
    print("\nthe profile's thresholds, as dqm ships them (no field limit):")
    print(by_site(rows, profile, none))
    print(
        f"\nthe same with a field limit of {TRIED_FIELD_UM:g} µm on folds and bubbles (tried, not shipped):"
    )
    print(by_site(rows, profile, dict.fromkeys(SCALED, TRIED_FIELD_UM)))
    before = [{**r, **r.get("unknown", {}), "field_um": None} for r in rows]
    print(
        "\nbefore (every slide measured as of unknown resolution: the working image's scale, no field limit):"
    )
    print(by_site(before, profile, none))
    print("\nleave one site out, before:")
    print(leave_one_site_out(before, False))
    print("\nleave one site out, as shipped (block-averaged folds, no field limit):")
    print(leave_one_site_out(rows, False))
    print(
        "\nleave one site out, field limits chosen on the other sites (choose_field: each row's "
        "'field' is the limit it picked; 0 is none):"
    )
    print(leave_one_site_out(rows, True))


def _time(path: Path, options: ProbeOptions) -> float:
    t0 = time.perf_counter()
    probe_slide(path, path.name, options)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
