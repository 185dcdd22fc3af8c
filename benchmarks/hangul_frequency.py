"""Build ``dqm/hangul_syllables.py``: the Hangul syllables of KS X 1001 ranked by how often
Korean text writes them, for the CP949 guess (``dqm.batch._reads_as_korean``).

No Korean corpus is downloaded: the counts come from the Korean text this machine holds, the
``ko`` message catalogues of installed software (``/usr/share/locale/ko``, ``/usr/share/locale-
langpack/ko``, vim's) and dqm's own Korean catalogue (``dqm/locale/ko`` as ``DQM_KO_COMMIT`` holds
it, the medical words).
Bias: software messages (파일, 설정, 오류) and ISO 3166-2's place names (서울특별시, and foreign
regions transliterated); few personal names and few medical words beyond dqm's. The table keeps
the syllables met at least ``MIN_COUNT`` times, most frequent first; the guess only asks whether
a syllable is among them, so a modest bias in the ranks matters little.

What the catalogues lack (names: ``훈``, ``혁``, ``숙``, ``겸``; body sites: ``굴``; places: ``릉``)
is Sino-Korean: Korean names, hospitals, diagnoses and places are written in syllables that read
hanja. ``SUPPLEMENT`` is the syllables that at least ``MIN_HANJA`` of KS X 1001's 4,888 hanja (those
Korean writes: EUC-KR encodes them) read, as Perl's ``Unicode::Collate::CJK::Korean`` (the
``perl-modules`` package, ``KOREAN_HANJA``) lists each syllable's hanja; ``READINGS`` is every
syllable that one hanja at least reads. Bias: readings, not frequency: a syllable of one rare
hanja counts as a name's common one; pure Korean syllables (``숲``, ``꽃``, ``뜸``) are in neither
but by their rank. Pure Korean body sites (``가슴``, ``무릎``, ``배꼽``, ``뺨``) are in no text on
this machine (searched: the catalogues, /usr/share, the Python packages): their syllables come from
the one hand-written list kept, ``BODY_SITES`` of ``benchmarks/hangul_supplement.py``, written from
memory (session 24). Its other lists (names, diagnoses, places, hospital words: Sino-Korean, which
the readings hold) no longer make the table: they are test words of the CV
(``benchmarks/cp949_guess_cv.py``).

    /work/main/.venv/bin/python benchmarks/hangul_frequency.py > dqm/hangul_syllables.py
"""

from __future__ import annotations

import gettext
import glob
import hashlib
import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hangul_supplement import BODY_SITES

MIN_COUNT = 1
"""Syllables met fewer times are left out. 1: every syllable met is ranked (1,037), so that the
CV's rank grid (``benchmarks/cp949_guess_cv.py``) can reach past the 953 met twice or more."""
CATALOGUES = (
    "/usr/share/locale/ko/LC_MESSAGES/*.mo",
    "/usr/share/locale-langpack/ko/LC_MESSAGES/*.mo",
    "/usr/share/vim/vim*/lang/ko/LC_MESSAGES/*.mo",
)
MIN_HANJA = 1
"""How many KS X 1001 hanja must read a syllable for it to be in ``SUPPLEMENT``: the CV
(``benchmarks/cp949_guess_cv.py --by-source``) tries 1 to 3 without the pair rule, 1 only with it.
Session 25's first run, where every fold chose the rule, so chose 1 by its grid; in the fix round
four folds of five, the rule off, chose 1 among 1 to 3 (the fifth chose the rule, so 1)."""
KOREAN_HANJA = "/usr/share/perl/5.*/Unicode/Collate/CJK/Korean.pm"
DQM_KO = "dqm/locale/ko/LC_MESSAGES/dqm.po"
DQM_KO_COMMIT = "d40e1ea29db05b438e67ed664f7905cebf9dfff8"
"""The commit whose dqm Korean catalogue (``DQM_KO``) is counted, read with ``git show``: the
catalogue grows every session, and the table counted from the working tree's changed with it (a
table committed at one commit no longer regenerated at the next). Pinned to the commit the table
was last regenerated in (session 25's fix round, d40e1ea); no commit's catalogue gives that table
exactly (it counted an uncommitted one: 540,343 syllables), this one the nearest: of the 800 most
frequent (``dqm.batch.LEAD_RANK``) ``펜`` came in (810th -> 767th) and ``섭`` went out (800th -> 801st).
Session 27. Moving the pin is a decision to re-rank, made with the CV
(``benchmarks/cp949_guess_cv.py``), not a side effect of translating a message."""
ROOT = Path(__file__).resolve().parents[1]


def dqm_catalogue() -> str:
    """dqm's Korean catalogue as ``DQM_KO_COMMIT`` holds it."""
    return subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{DQM_KO_COMMIT}:{DQM_KO}"],
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
    ).stdout


def input_paths() -> list[str]:
    """The files on this machine that the table is counted from (the catalogues, Perl's hanja
    readings), sorted: their digests (:func:`installed_digests`) with the repository's
    (:func:`repository_digests`) say whether a run here can regenerate the committed table."""
    paths = [path for pattern in CATALOGUES for path in sorted(glob.glob(pattern))]
    return paths + sorted(glob.glob(KOREAN_HANJA))[-1:]


REPOSITORY_INPUTS = (f"{DQM_KO}@{DQM_KO_COMMIT[:8]}", "BODY_SITES, MIN_COUNT, MIN_HANJA, CATALOGUES")
"""The names, in the table's ``INPUT_SHA256S``, of the inputs the repository holds (the pinned
catalogue; the hand-written body sites and the generator's constants): the same on every machine
with the pinned commit, unlike the installed files, which each machine's packages decide."""


def installed_digests() -> dict[str, str]:
    """SHA-256 of each installed input's bytes (:func:`input_paths`), by its path."""
    return {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in input_paths()}


def repository_digests() -> dict[str, str]:
    """SHA-256 of each input the repository holds, by its name (:data:`REPOSITORY_INPUTS`).
    Raises :class:`subprocess.CalledProcessError` where the pinned commit is not in the clone."""
    catalogue, constants = REPOSITORY_INPUTS
    return {
        catalogue: hashlib.sha256(dqm_catalogue().encode("utf-8")).hexdigest(),
        constants: hashlib.sha256(
            repr((sorted(BODY_SITES), MIN_COUNT, MIN_HANJA, CATALOGUES)).encode("utf-8")
        ).hexdigest(),
    }


def _ks_x_1001(char: str) -> bool:
    """A Hangul syllable of KS X 1001 (both its CP949 bytes from 0xa1: the 2,350 of EUC-KR)."""
    if not "\uac00" <= char <= "\ud7a3":
        return False
    first, second = char.encode("cp949")
    return min(first, second) >= 0xA1


def hanja_readings() -> Counter[str]:
    """How many hanja of KS X 1001 each Hangul syllable reads (``KOREAN_HANJA``'s data: a line
    ``AC00:1100-1161`` names a syllable, the lines after it the hex code points of its hanja)."""
    path = sorted(glob.glob(KOREAN_HANJA))[-1]
    data = Path(path).read_text(encoding="ascii").split("__DATA__\n", 1)[1].split("__END__", 1)[0]
    readings: Counter[str] = Counter()
    syllable = ""
    for line in data.splitlines():
        fields = line.split()
        if len(fields) == 1 and ":" in fields[0]:
            syllable = chr(int(fields[0].split(":")[0], 16))
            continue
        for field in fields:
            try:
                chr(int(field, 16)).encode("euc_kr")
            except UnicodeEncodeError:
                continue  # a hanja Korean does not write (not in KS X 1001)
            readings[syllable] += 1
    return Counter({char: n for char, n in readings.items() if _ks_x_1001(char)})


def _texts() -> tuple[list[str], list[str]]:
    used, texts = catalogue_texts(CATALOGUES)
    po = dqm_catalogue()
    texts.extend(line for line in po.splitlines() if line.startswith(("msgstr", '"')))
    used.append(f"{DQM_KO}@{DQM_KO_COMMIT[:8]}")
    return used, texts


def catalogue_texts(patterns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The message catalogues ``patterns`` match that read, and their translations."""
    used: list[str] = []
    texts: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                with open(path, "rb") as fh:
                    catalogue = gettext.GNUTranslations(fh)
            except (OSError, UnicodeDecodeError):
                continue
            texts.extend(str(value) for value in catalogue._catalog.values())  # type: ignore[attr-defined]
            used.append(path)
    return used, texts


def main() -> None:
    used, texts = _texts()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(char for char in text if _ks_x_1001(char))
    ranked = [
        char for char, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if count >= MIN_COUNT
    ]
    total = sum(counts.values())
    out = sys.stdout
    out.write('"""Hangul syllables of KS X 1001, most frequent first, as counted by\n')
    out.write("``benchmarks/hangul_frequency.py`` (generated: do not edit; run it again). Counted from\n")
    out.write(f"{total:,} syllables of {len(used)} Korean message catalogues (software's and dqm's own);\n")
    out.write(f'the {len(ranked):,} met {MIN_COUNT} times or more, of the 2,350."""\n\n')
    out.write("INPUT_SHA256S = {\n")
    for name, digest in {**repository_digests(), **installed_digests()}.items():
        out.write(f'    "{name}": "{digest}",\n')
    out.write("}\n")
    out.write(
        '"""The SHA-256 of each input counted, by its name (the repository\'s) or path (an installed\n'
        'file\'s): ``benchmarks/hangul_frequency.py``, ``repository_digests`` and ``installed_digests``."""\n\n'
    )
    out.write("RANKED = (\n")
    for at in range(0, len(ranked), 40):
        out.write(f'    "{"".join(ranked[at : at + 40])}"\n')
    out.write(")\n")
    readings = hanja_readings()
    _write(out, "READINGS", "".join(sorted(readings)))
    out.write(
        f'"""The {len(readings)} syllables of KS X 1001 that one hanja of KS X 1001 at least reads."""\n'
    )
    sino = {char for char, n in readings.items() if n >= MIN_HANJA}
    body = {char for word in BODY_SITES for char in word if _ks_x_1001(char)} - sino
    supplement = "".join(sorted(sino | body))
    _write(out, "SUPPLEMENT", supplement)
    unranked = len(set(supplement) - set(ranked))
    out.write(
        f'"""The {len(sino)} syllables that {MIN_HANJA} hanja of KS X 1001 or more read, and {len(body)} more of\n'
    )
    out.write(
        f"pure Korean body sites (a hand-written list), common whatever their rank ({unranked} are not\n"
    )
    out.write("ranked): Korean names, hospitals, diagnoses and places are Sino-Korean\n")
    out.write('(``benchmarks/hangul_frequency.py``, ``MIN_HANJA``)."""\n')
    pairs = Counter()
    for text in texts:
        for first, second in itertools.pairwise(text):
            if _ks_x_1001(first) and _ks_x_1001(second) and not {first, second} & set(supplement):
                pairs[first + second] += 1
    _write(out, "PAIRS", "".join(sorted(pairs)))
    out.write(
        f'"""The {len(pairs):,} pairs of syllables, neither in ``SUPPLEMENT``, that the catalogues write one\n'
    )
    out.write("after the other (``PAIRS[2 * i : 2 * i + 2]``): pure Korean and loanwords' syllables seen\n")
    out.write(
        'together (``스트``, ``버튼``, ``없는``), for a reading of two syllables (``dqm.batch.PAIR_SYLLABLES``)."""\n'
    )
    print(
        f"{total:,} syllables, {len(counts)} distinct, {len(ranked)} kept; {len(used)} catalogues",
        file=sys.stderr,
    )


def _write(out, name: str, text: str) -> None:
    out.write(f"{name} = (\n")
    for at in range(0, len(text), 40):
        out.write(f'    "{text[at : at + 40]}"\n')
    out.write(")\n")


if __name__ == "__main__":
    main()
