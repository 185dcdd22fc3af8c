"""Build ``dqm/han_characters.py``: the Han characters that Chinese and Japanese software text
writes most, for the CP949 guess's second reading (``dqm.batch._other_reading``).

The bytes of every Hangul syllable CP949 writes (0xb0-0xc8, then 0xa1-0xfe) are a common hanzi in
GBK and a level-1 kanji in EUC-JP, so a short manifest decodes three ways; what tells them apart
is whether the characters read are ones the language writes often. As for the Korean table
(``benchmarks/hangul_frequency.py``), nothing is downloaded: the counts come from the message
catalogues of installed software, ``zh_CN`` (GBK's), ``zh_TW`` (Big5's) and ``ja`` (EUC-JP's),
vim's included, and for Japanese, whose catalogues hold few characters, the ``ja`` manual pages too
(session 26's fix round). Bias: software words (文件, 设置, 無効); medical characters (癌, 肺, 腫)
are rare or absent in them, so a Chinese diagnosis reads as implausible Chinese and the rule does
not see it. No installed package ships a medical or pathology word or character list (session 26:
``grep -rlI 癌`` over ``/usr/share`` and the Python site-packages finds only a list of package
names and a pinyin collation table), so none is added.

    /work/main/.venv/bin/python benchmarks/han_frequency.py > dqm/han_characters.py
"""

from __future__ import annotations

import glob
import gzip
import sys
from collections import Counter
from pathlib import Path

from hangul_frequency import catalogue_texts

KEEP = 3000
"""How many characters of each language the table keeps, most frequent first (the CV,
``benchmarks/cp949_guess_cv.py --lead``, tries ranks up to it: ``dqm.batch.OTHER_RANK``)."""
CATALOGUES = {
    "ZH_RANKED": (
        "gbk",
        ("/usr/share/locale/zh_CN/LC_MESSAGES/*.mo", "/usr/share/vim/vim*/lang/zh_CN*/LC_MESSAGES/*.mo"),
    ),
    "TW_RANKED": (
        "big5",
        ("/usr/share/locale/zh_TW/LC_MESSAGES/*.mo", "/usr/share/vim/vim*/lang/zh_TW*/LC_MESSAGES/*.mo"),
    ),
    "JA_RANKED": (
        "euc_jp",
        ("/usr/share/locale/ja/LC_MESSAGES/*.mo", "/usr/share/vim/vim*/lang/ja/LC_MESSAGES/*.mo"),
    ),
}
MANUALS = {"JA_RANKED": "/usr/share/man/ja/man*/*.gz"}
"""Manual pages counted besides the catalogues (UTF-8 troff, gzipped)."""


def _han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def manual_texts(pattern: str | None) -> list[str]:
    """The text of the gzipped manual pages ``pattern`` matches (none where None)."""
    texts = []
    for path in sorted(glob.glob(pattern)) if pattern else ():
        try:
            texts.append(gzip.decompress(Path(path).read_bytes()).decode("utf-8", "replace"))
        except (OSError, EOFError):
            continue
    return texts


def ranked(codec: str, patterns: tuple[str, ...], manuals: str | None = None) -> tuple[list[str], int, int]:
    """The Han characters ``codec`` writes, most frequent first in the catalogues ``patterns``
    match and the manual pages ``manuals`` does; how many characters and files were counted."""
    used, texts = catalogue_texts(patterns)
    pages = manual_texts(manuals)
    used, texts = used + [""] * len(pages), texts + pages
    counts: Counter[str] = Counter(char for text in texts for char in text if _han(char))
    out = []
    for char, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            continue
        out.append(char)
    return out[:KEEP], sum(counts.values()), len(used)


def main() -> None:
    out = sys.stdout
    out.write(
        '"""Han characters most frequent first in Chinese (``zh_CN``, ``zh_TW``) and Japanese (``ja``) message\n'
    )
    out.write("catalogues of installed software, as counted by ``benchmarks/han_frequency.py`` (generated:\n")
    out.write('do not edit; run it again), for the CP949 guess\'s second reading (``dqm.batch``)."""\n')
    for name, (codec, patterns) in CATALOGUES.items():
        chars, total, used = ranked(codec, patterns, MANUALS.get(name))
        out.write(f"\n{name} = (\n")
        for at in range(0, len(chars), 40):
            out.write(f'    "{"".join(chars[at : at + 40])}"\n')
        out.write(")\n")
        out.write(
            f'"""The {len(chars):,} most frequent of {total:,} Han characters in {used} catalogues or pages that\n'
        )
        out.write(f'{codec.upper().replace("_", "-")} writes."""\n')


if __name__ == "__main__":
    main()
