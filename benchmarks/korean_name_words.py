"""How many ordinary Korean words the ``person_name`` pattern takes for a name after a Korean
keyword (``환자 정보``), and how many a rule with no keyword would take (a file name's first word,
``전립선_H&E.svs``): the false positives that chose :data:`dqm.identifiers._KO_KEYWORD`.

The words are every Hangul word this machine holds: the ``ko`` message catalogues of installed
software (as ``benchmarks/hangul_frequency.py`` reads them), dqm's Korean catalogue, any installed
``.po`` file with ``ko`` in its path, and the Hangul table's source lists
(``benchmarks/hangul_supplement.py``) but its surnames and given names. Real names: a list of 54
well-known people's names (sportsmen, actors, writers, fictional heroes), none of the supplement's
given names, two-syllable surnames among them.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/korean_name_words.py [--by-source]

``--by-source``: would a list of ordinary words carry over from one source to another (deidkof)?
``--before-honorific``: a rule with no keyword, a 3-syllable surname-led word right before ``환자``,
``님`` or ``씨`` (``홍길동 환자``, ``김정은님``), not a word of the other sources' lists: how many of
each source's 3-syllable words it would flag (deidko3, session 27: 36.5 % of the catalogues', 40 to
75 % of the manifest lists', against a bar of 1 %: no such rule).
"""

from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hangul_frequency import _texts
from hangul_supplement import GIVEN_NAMES, LISTS

from dqm.identifiers import _KO_DOUBLE_SURNAMES, _KO_SURNAMES, DeidSettings, Masker, find

NAMES = [
    "김철수",
    "이몽룡",
    "성춘향",
    "홍길동",
    "박찬호",
    "류현진",
    "손흥민",
    "김연아",
    "이승엽",
    "차범근",
    "박지성",
    "안정환",
    "이강인",
    "황희찬",
    "김민재",
    "조규성",
    "유재석",
    "강호동",
    "신동엽",
    "이효리",
    "전지현",
    "송혜교",
    "한가인",
    "김태희",
    "원빈",
    "현빈",
    "공유",
    "정우성",
    "이병헌",
    "최민식",
    "송강호",
    "배두나",
    "문근영",
    "김혜수",
    "윤여정",
    "나문희",
    "고두심",
    "최불암",
    "김수현",
    "이순재",
    "백종원",
    "허영만",
    "조정래",
    "황석영",
    "박경리",
    "김훈",
    "한강",
    "신경숙",
    "공지영",
    "은희경",
    "남궁민",
    "황보관",
    "선우은숙",
    "제갈성렬",
]


def _corpus() -> tuple[str, str]:
    _, texts = _texts()
    for path in glob.glob("/usr/share/**/*.po", recursive=True):
        if "/ko" in path:
            texts.append(Path(path).read_text(encoding="utf-8", errors="replace"))
    vocabulary = " ".join(
        word for name, words in LISTS.items() if name not in ("surnames", "given names") for word in words
    )
    return "\n".join(texts), vocabulary


def main() -> None:
    settings = DeidSettings()
    text, vocabulary = _corpus()
    words = {w for w in re.findall("[가-힣]+", text + "\n" + vocabulary) if 2 <= len(w) <= 4}
    vocab = {w for w in vocabulary.split() if 2 <= len(w) <= 4}

    def named(value: str, place: str = "clinical", level: str = "identifier") -> bool:
        return any(
            hit.name in ("person_name", "possible_name") and hit.level == level
            for hit in find(value, settings, place)  # type: ignore[arg-type]
        )

    given = "".join(sorted(set("".join(GIVEN_NAMES))))
    shapes = {
        "surname + any syllables": re.compile(f"[{_KO_SURNAMES}][가-힣]{{1,3}}"),
        f"surname + given-name syllables ({len(given)})": re.compile(f"[{_KO_SURNAMES}][{given}]{{1,3}}"),
    }
    print(
        f"{len(words):,} distinct Hangul words of 2-4 syllables; {len(vocab)} of them a manifest's (supplement)"
    )
    for label, shape in shapes.items():
        taken = sum(bool(shape.fullmatch(w)) for w in words)
        names = sum(bool(shape.fullmatch(w)) for w in NAMES)
        print(f"  shape {label}: {taken:,} words ({taken / len(words):.0%}), names {names}/{len(NAMES)}")
    for keyword in ("환자 ", "환자명_", "pt_", "피검자:", "환자:"):
        for level in ("identifier", "quasi"):
            taken = sorted(w for w in words if named(keyword + w, level=level))
            names = sum(named(keyword + w, level=level) for w in NAMES)
            glued = sum(named(keyword + w + "에게서", level=level) for w in NAMES)
            print(
                f"  after {keyword!r} as {level}: {len(taken):,} words ({len(taken) / len(words):.0%}),"
                f" names {names}/{len(NAMES)}, with '에게서' {glued}/{len(NAMES)}"
            )
    if "--by-source" in sys.argv:
        by_source(text)
    if "--before-honorific" in sys.argv:
        before_honorific(text)
    for length in (2, 3, 4):
        of = [w for w in vocab if len(w) == length]
        taken = [w for w in of if shapes["surname + any syllables"].fullmatch(w)]
        print(
            f"  no keyword, a file name's first word of {length} syllables: {len(taken)}/{len(of)} manifest words"
        )
    in_files = sum(
        any(hit.name == "person_name" for hit in find(f"{w}_H&E.svs", settings, "filename")) for w in words
    )
    print(
        f"  as shipped, '<word>_H&E.svs' flagged: {in_files} words; '<name>_H&E.svs': "
        f"{sum(named(f'{w}_H&E.svs', 'filename') for w in NAMES)}/{len(NAMES)} names"
    )

    def either(value: str) -> bool:
        return named(value) or named(value, level="quasi")

    glued = {
        keyword: (
            sum(named(keyword + w) for w in words),
            sum(named(keyword + w, level="quasi") for w in words),
        )
        for keyword in ("이름", "성명", "환자명", "성함", "pt 명")
    }
    paired = [surname + given for surname in "김이박최정강조윤장임" for given in GIVEN_NAMES]
    print(
        f"  a word glued to a keyword (identifier, quasi): {glued};"
        f" names, either level, {sum(either('이름' + w) for w in NAMES)}/{len(NAMES)} (of 2 syllables"
        f" {sum(either('이름' + w) for w in NAMES if len(w) == 2)}/{sum(len(w) == 2 for w in NAMES)},"
        f" identifiers {sum(named('이름' + w) for w in NAMES)});"
        f" 10 surnames x the supplement's given names {sum(named('이름' + w) for w in paired)}/{len(paired)}"
    )
    masker = Masker(settings, b"k" * 32)
    cut = sorted(w for w in words if re.search(r"\][가-힣]", masker("성명: " + w)))
    double = [w for w in words if re.match(f"(?:{_KO_DOUBLE_SURNAMES})[가-힣]{{2}}$", w)]
    print(
        f"  after '성명: ' syllables left after the name (a particle): {len(cut):,} words;"
        f" two-syllable surname + 2 syllables: {len(double)} words, {sum(w in cut for w in double)} cut"
    )
    myeong = [w for w in words if w.startswith("명")]
    print(
        f"  after '환자 ' words starting 명: {sum(named('환자 ' + w, level='quasi') for w in myeong)}"
        f"/{len(myeong)} quasi, {sum(named('환자 ' + w) for w in myeong)} identifier"
    )
    phrases = re.findall(r"(?:환자|피검자)(?:명)?[ _:=-]+[가-힣]+", text)
    flagged = [p for p in phrases if named(p) or named(p, level="quasi")]
    print(
        f"  catalogue phrases '환자/피검자 + word': {len(phrases)}, flagged {len(flagged)}: {sorted(set(flagged))}"
    )


def by_source(text: str) -> None:
    """Whether a list of ordinary words to leave out would carry over: for each source (the
    catalogues; each of the supplement's manifest lists), how many of its surname-led words of 2
    to 4 syllables the other sources' words hold (a list derived from those)."""
    shape = re.compile(f"[{_KO_SURNAMES}][가-힣]{{1,3}}")
    sources = {
        "catalogues": {w for w in re.findall("[가-힣]+", text) if 2 <= len(w) <= 4 and shape.fullmatch(w)}
    }
    for name, words in LISTS.items():
        if name not in ("surnames", "given names"):
            sources[name] = {w for w in words if 2 <= len(w) <= 4 and shape.fullmatch(w)}
    for name, own in sources.items():
        others = set().union(*(words for other, words in sources.items() if other != name))
        print(f"  {name}: {len(own & others)}/{len(own)} of its surname-led words in the others' list")
    every = set().union(*sources.values())
    print(f"  real names among all sources' words: {[n for n in NAMES if n in every]}")


def before_honorific(text: str) -> None:
    """What a rule with no keyword would flag: a 3-syllable surname-led word before ``환자``, ``님``
    or ``씨`` and not in a list of common words, the list taken from every other source (as a
    shipped list would meet words it was not made from)."""
    sources = {"catalogues": {w for w in re.findall("[가-힣]+", text) if len(w) == 3}}
    for name, words in LISTS.items():
        if name not in ("surnames", "given names"):
            sources[name] = {w for w in words if len(w) == 3}
    for name, own in sources.items():
        others = set().union(*(words for other, words in sources.items() if other != name))
        flagged = [w for w in own if w[0] in _KO_SURNAMES and w not in others]
        print(
            f"  before 환자/님/씨, {name}: {len(flagged)}/{len(own)} ({len(flagged) / max(1, len(own)):.1%})"
            " of its 3-syllable words flagged"
        )
    names = [n for n in NAMES if len(n) == 3]
    print(f"  real 3-syllable names flagged: {sum(n[0] in _KO_SURNAMES for n in names)}/{len(names)}")


if __name__ == "__main__":
    main()
