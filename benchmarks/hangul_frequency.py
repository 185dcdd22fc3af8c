"""Build ``dqm/hangul_syllables.py``: the Hangul syllables of KS X 1001 ranked by how often
Korean text writes them, for the CP949 guess (``dqm.batch._reads_as_korean``).

No Korean corpus is downloaded: the counts come from the Korean text this machine holds, the
``ko`` message catalogues of installed software (``/usr/share/locale/ko``, ``/usr/share/locale-
langpack/ko``, vim's) and dqm's own Korean catalogue (``dqm/locale/ko``, the medical words).
Bias: software messages (파일, 설정, 오류) and ISO 3166-2's place names (서울특별시, and foreign
regions transliterated); few personal names and few medical words beyond dqm's. The table keeps
the syllables met at least ``MIN_COUNT`` times, most frequent first; the guess only asks whether
a syllable is among them, so a modest bias in the ranks matters little. What the catalogues lack
(names: ``훈``, ``혁``, ``숙``; body sites: ``굴``, ``뺨``; places: ``릉``) comes from a curated
supplement, ``SUPPLEMENT``: the syllables of the word lists of ``benchmarks/hangul_supplement.py``
(surnames, given names, body sites, diagnoses, 시·군, hospital words), written by hand.

    /work/main/.venv/bin/python benchmarks/hangul_frequency.py > dqm/hangul_syllables.py
"""

from __future__ import annotations

import gettext
import glob
import sys
from collections import Counter
from pathlib import Path

from hangul_supplement import LISTS, WORDS

MIN_COUNT = 1
"""Syllables met fewer times are left out. 1: every syllable met is ranked (1,037), so that the
CV's rank grid (``benchmarks/cp949_guess_cv.py``) can reach past the 953 met twice or more."""
CATALOGUES = (
    "/usr/share/locale/ko/LC_MESSAGES/*.mo",
    "/usr/share/locale-langpack/ko/LC_MESSAGES/*.mo",
    "/usr/share/vim/vim*/lang/ko/LC_MESSAGES/*.mo",
)
DQM_KO = Path(__file__).resolve().parents[1] / "dqm" / "locale" / "ko" / "LC_MESSAGES" / "dqm.po"


def _ks_x_1001(char: str) -> bool:
    """A Hangul syllable of KS X 1001 (both its CP949 bytes from 0xa1: the 2,350 of EUC-KR)."""
    if not "\uac00" <= char <= "\ud7a3":
        return False
    first, second = char.encode("cp949")
    return min(first, second) >= 0xA1


def _texts() -> tuple[list[str], list[str]]:
    used: list[str] = []
    texts: list[str] = []
    for pattern in CATALOGUES:
        for path in sorted(glob.glob(pattern)):
            try:
                with open(path, "rb") as fh:
                    catalogue = gettext.GNUTranslations(fh)
            except (OSError, UnicodeDecodeError):
                continue
            texts.extend(str(value) for value in catalogue._catalog.values())  # type: ignore[attr-defined]
            used.append(path)
    po = DQM_KO.read_text(encoding="utf-8")
    texts.extend(line for line in po.splitlines() if line.startswith(("msgstr", '"')))
    used.append(str(DQM_KO.relative_to(DQM_KO.parents[3])))
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
    out.write("RANKED = (\n")
    for at in range(0, len(ranked), 40):
        out.write(f'    "{"".join(ranked[at : at + 40])}"\n')
    out.write(")\n")
    supplement = "".join(sorted({char for word in WORDS for char in word if _ks_x_1001(char)}))
    out.write("SUPPLEMENT = (\n")
    for at in range(0, len(supplement), 40):
        out.write(f'    "{supplement[at : at + 40]}"\n')
    out.write(")\n")
    unranked = len(set(supplement) - set(ranked))
    out.write(
        f'"""The {len(supplement)} syllables of {len(WORDS)} curated words, common whatever their rank '
    )
    out.write(f"({unranked} of them\nare not ranked): the lists of ``benchmarks/hangul_supplement.py``\n")
    out.write(f'({", ".join(LISTS)})."""\n')
    print(
        f"{total:,} syllables, {len(counts)} distinct, {len(ranked)} kept; {len(used)} catalogues",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
