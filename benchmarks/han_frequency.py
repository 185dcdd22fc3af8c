"""Build ``dqm/han_characters.py``: the Han characters that Chinese and Japanese software text
writes most, for the CP949 guess's second reading (``dqm.batch._other_reading``).

The bytes of every Hangul syllable CP949 writes (0xb0-0xc8, then 0xa1-0xfe) are a common hanzi in
GBK and a level-1 kanji in EUC-JP, so a short manifest decodes three ways; what tells them apart
is whether the characters read are ones the language writes often. As for the Korean table
(``benchmarks/hangul_frequency.py``), nothing is downloaded: the counts come from the message
catalogues of installed software, ``zh_CN`` (GBK's) and ``ja`` (EUC-JP's), vim's included.
Bias: software words (文件, 设置, 無効); medical characters (癌, 肺, 腫) are rare or absent in
them, so a Chinese diagnosis reads as implausible Chinese and the rule does not see it.

    /work/main/.venv/bin/python benchmarks/han_frequency.py > dqm/han_characters.py
"""

from __future__ import annotations

import sys
from collections import Counter

from hangul_frequency import catalogue_texts

KEEP = 1500
"""How many characters of each language the table keeps, most frequent first (the CV,
``benchmarks/cp949_guess_cv.py --by-source``, tries ranks up to it: ``dqm.batch.OTHER_RANK``)."""
CATALOGUES = {
    "ZH_RANKED": (
        "gbk",
        ("/usr/share/locale/zh_CN/LC_MESSAGES/*.mo", "/usr/share/vim/vim*/lang/zh_CN*/LC_MESSAGES/*.mo"),
    ),
    "JA_RANKED": (
        "euc_jp",
        ("/usr/share/locale/ja/LC_MESSAGES/*.mo", "/usr/share/vim/vim*/lang/ja/LC_MESSAGES/*.mo"),
    ),
}


def _han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def ranked(codec: str, patterns: tuple[str, ...]) -> tuple[list[str], int, int]:
    """The Han characters ``codec`` writes, most frequent first in the catalogues ``patterns``
    match; how many characters and catalogues were counted."""
    used, texts = catalogue_texts(patterns)
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
    out.write('"""Han characters most frequent first in Chinese (``zh_CN``) and Japanese (``ja``) message\n')
    out.write("catalogues of installed software, as counted by ``benchmarks/han_frequency.py`` (generated:\n")
    out.write('do not edit; run it again), for the CP949 guess\'s second reading (``dqm.batch``)."""\n')
    for name, (codec, patterns) in CATALOGUES.items():
        chars, total, used = ranked(codec, patterns)
        out.write(f"\n{name} = (\n")
        for at in range(0, len(chars), 40):
            out.write(f'    "{"".join(chars[at : at + 40])}"\n')
        out.write(")\n")
        out.write(
            f'"""The {len(chars):,} most frequent of {total:,} Han characters in {used} catalogues that\n'
        )
        out.write(f'{codec.upper().replace("_", "-")} writes."""\n')


if __name__ == "__main__":
    main()
