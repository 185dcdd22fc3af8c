"""The quality table's layout: columns, their order and wording, and which rows (profile ``quality_table``).

Korea's AI-training-data programme (AI-Hub) publishes a dataset's quality results as a table with
one row per quality indicator: 품질지표 (quality characteristic), 검사항목 (inspection item),
측정지표 (metric), 정량목표 (quantitative target), 검사대상 (what is inspected), 검사방법 (how),
the measured value and the decision. The built-in default follows that published layout; the
programme revises its templates, so every word, the columns and their order, and the technical
rows are data here that a profile may replace (``docs/quality-table.md``). Targets are never
written here except for the technical rows, which have no target elsewhere in the profile.

Texts may name parameters in braces (``{level}``); only plain names are allowed, and a name the
row does not know is printed as ``?``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ColumnKey = Literal["characteristic", "item", "metric", "target", "scope", "method", "value", "decision"]
CharacteristicKey = Literal[
    "syntactic", "semantic", "diversity", "requirements", "validity", "slides", "deid"
]
Language = Literal["ko", "en"]
LANGUAGES: tuple[Language, ...] = ("ko", "en")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Words(_Frozen):
    """One text in every language of the table."""

    ko: str
    en: str

    @model_validator(mode="after")
    def _plain_fields(self) -> Words:
        for text in (self.ko, self.en):
            for _, name, _, _ in string.Formatter().parse(text):
                if name is not None and not name.isidentifier():
                    raise ValueError(f"{text!r}: a parameter is a plain name in braces, not {name!r}")
        return self

    def text(self, lang: str, params: Mapping[str, object] | None = None) -> str:
        """The text in ``lang`` with its parameters filled in (``?`` for an unknown one)."""
        raw = getattr(self, lang)
        values = params or {}
        out = []
        for literal, name, spec, _ in string.Formatter().parse(raw):
            out.append(literal)
            if name is not None:
                out.append(_formatted(values.get(name), spec or ""))
        return "".join(out)


def _formatted(value: object, spec: str) -> str:
    """``value`` with the format ``spec``; as plain text when the spec does not fit its type."""
    if value is None:
        return "?"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


class Column(_Frozen):
    key: ColumnKey
    title: Words


class Characteristic(_Frozen):
    """One quality characteristic (품질지표): its name, and the texts of its rows."""

    key: CharacteristicKey
    title: Words
    scope: Words
    """검사대상; parameters ``n`` and ``unit`` (what the figure counts)."""
    method: Words
    """검사방법; parameters from the dimension (sampling plan, model and split, test)."""
    metric: Words = Words(ko="{metric}", en="{metric}")
    """측정지표; ``metric`` is the item's own metric text."""


class Item(_Frozen):
    """The words of one gated figure, by the key of its gate (``syntactic.file_accuracy``)."""

    title: Words
    metric: Words


class TechnicalRow(_Frozen):
    """A row for slide technical checks or de-identification: the share of slides without an
    error finding of the named checks (check ids, or families ending in ``.``)."""

    key: str
    characteristic: Literal["slides", "deid"]
    title: Words
    metric: Words
    checks: tuple[str, ...]
    target: Annotated[float, Field(ge=0, le=1)] = 1.0


def _w(ko: str, en: str) -> Words:
    return Words(ko=ko, en=en)


DEFAULT_COLUMNS = (
    Column(key="characteristic", title=_w("품질지표", "Quality characteristic")),
    Column(key="item", title=_w("검사항목", "Inspection item")),
    Column(key="metric", title=_w("측정지표", "Metric")),
    Column(key="target", title=_w("정량목표", "Quantitative target")),
    Column(key="scope", title=_w("검사대상", "Inspected")),
    Column(key="method", title=_w("검사방법", "Method")),
    Column(key="value", title=_w("측정값", "Measured value")),
    Column(key="decision", title=_w("판정", "Decision")),
)

_COUNTED = _w("{n} {unit}", "{n} {unit}")

DEFAULT_CHARACTERISTICS = (
    Characteristic(
        key="syntactic",
        title=_w("구문 정확성", "Syntactic accuracy"),
        scope=_COUNTED,
        method=_w("전수 검사 (자동 검증)", "census (automated checks)"),
    ),
    Characteristic(
        key="semantic",
        title=_w("의미 정확성", "Semantic accuracy"),
        scope=_COUNTED,
        method=_w("{plan}", "{plan}"),
    ),
    Characteristic(
        key="diversity",
        title=_w("통계적 다양성", "Statistical diversity"),
        scope=_w("{n} 슬라이드", "{n} slides"),
        method=_w("{test}, α = {alpha} ({correction} 보정)", "{test}, α = {alpha} ({correction} correction)"),
    ),
    Characteristic(
        key="requirements",
        title=_w("다양성 요건", "Diversity requirements"),
        scope=_COUNTED,
        method=_w("전수 집계", "census count"),
    ),
    Characteristic(
        key="validity",
        title=_w("유효성", "Validity"),
        scope=_w("검증 슬라이드 {n}", "{n} held-out slides"),
        method=_w(
            "{model} 학습 후 추론, {split} 분할 ({unit} 단위, 폴드 {folds})",
            "{model} trained and inferred, {split} split by {unit} ({folds} folds)",
        ),
    ),
    Characteristic(
        key="slides",
        title=_w("원천데이터 기술 검사", "Slide technical checks"),
        scope=_COUNTED,
        method=_w("전수 검사 (자동 검증)", "census (automated checks)"),
    ),
    Characteristic(
        key="deid",
        title=_w("비식별화", "De-identification"),
        scope=_COUNTED,
        method=_w("전수 검사 (식별자 패턴 검색)", "census (identifier pattern search)"),
    ),
)

DEFAULT_ITEMS = {
    "syntactic.file_accuracy": Item(
        title=_w("파일 구문 정확도", "File accuracy"),
        metric=_w("오류 없는 파일 수 / 전체 파일 수", "files without an error / files checked"),
    ),
    "syntactic.structure_accuracy": Item(
        title=_w("구조 정확도", "Structure accuracy"),
        metric=_w("구조 오류 없는 값 / 전체 값", "values without a structure error / values checked"),
    ),
    "syntactic.format_accuracy": Item(
        title=_w("형식 정확도", "Format accuracy"),
        metric=_w("형식 오류 없는 값 / 전체 값", "values without a format error / values checked"),
    ),
    "semantic.accuracy": Item(
        title=_w("라벨링 정확도", "Labelling accuracy"),
        metric=_w("적합 판정 슬라이드 / 검토 슬라이드", "slides passed / slides reviewed"),
    ),
    "semantic.weighted_accuracy": Item(
        title=_w("라벨링 정확도 (층화 추정)", "Labelling accuracy (stratified estimate)"),
        metric=_w("층화 가중 적합률", "stratum-weighted pass share"),
    ),
}

DEFAULT_TECHNICAL = (
    TechnicalRow(
        key="slide_format",
        characteristic="slides",
        title=_w("슬라이드 형식", "Slide format"),
        metric=_w("형식 오류 없는 슬라이드 / 전체 슬라이드", "slides without a format error / slides"),
        checks=("slide.format", "slide.codec", "slide.header"),
    ),
    TechnicalRow(
        key="slide_resolution",
        characteristic="slides",
        title=_w("해상도", "Resolution"),
        metric=_w("해상도 오류 없는 슬라이드 / 전체 슬라이드", "slides without a resolution error / slides"),
        checks=("slide.resolution",),
    ),
    TechnicalRow(
        key="slide_readability",
        characteristic="slides",
        title=_w("판독 가능성", "Readability"),
        metric=_w("열리고 읽히는 슬라이드 / 전체 슬라이드", "slides that open and read / slides"),
        checks=("slide.opens", "slide.time_budget"),
    ),
    TechnicalRow(
        key="deid",
        characteristic="deid",
        title=_w("개인식별정보 부재", "No personal identifiers"),
        metric=_w("식별자 없는 슬라이드 / 전체 슬라이드", "slides without an identifier / slides"),
        checks=("deid.",),
    ),
)

DEFAULT_WORDS = {
    "pass": _w("적합", "pass"),
    "fail": _w("부적합", "fail"),
    "warn": _w("주의", "warn"),
    "undecided": _w("–", "–"),
    "not_applicable": _w("해당 없음", "n/a"),
    "at_least": _w("{target} 이상", "≥ {target}"),
    "files": _w("파일", "files"),
    "values": _w("값", "values"),
    "slides": _w("슬라이드", "slides"),
    "patients": _w("환자", "patients"),
    "slides reviewed": _w("검토 슬라이드", "slides reviewed"),
    "core slides": _w("핵심 표본 슬라이드", "core slides"),
    "iso2859": _w(
        "ISO 2859-1 1회 샘플링, 검사수준 {level}, AQL {aql}, 시료 {n} (Ac {ac} / Re {re})",
        "ISO 2859-1 single sampling, level {level}, AQL {aql}, sample {n} (Ac {ac} / Re {re})",
    ),
    "precision": _w(
        "층화 표본 {n}, 신뢰수준 {confidence} 구간 추정", "stratified sample of {n}, {confidence} interval"
    ),
    "lq_plan": _w(
        "고립 로트 한계품질 LQ {lq} % 1회 샘플링 (계산값), 시료 {n} (Ac {ac} / Re {re})",
        "limiting-quality single sampling of an isolated lot, LQ {lq} % (computed), sample {n} (Ac {ac} / Re {re})",
    ),
    "dice": _w("클래스 {name} Dice", "Dice of class {name}"),
    "dice_metric": _w("예측과 라벨의 Dice 계수", "Dice coefficient of prediction and label"),
    "rule": _w("규칙 (전수 집계)", "rule (census count)"),
    "test_metric": _w(
        "보정 p값 ({method}), 효과 크기 {effect}", "adjusted p-value ({method}); effect size {effect}"
    ),
    "minimum_count": _w("{group} {category} 슬라이드 수", "slides of {group} {category}"),
    "minimum_share": _w("{group} {category} 슬라이드 비율", "share of slides of {group} {category}"),
    "minimum_metric": _w(
        "해당 슬라이드 수 / 값이 있는 슬라이드", "slides in the category / slides with a value"
    ),
    "minimum_patients_count": _w("클래스 {category} 환자 수", "patients of class {category}"),
    "minimum_patients_share": _w("클래스 {category} 환자 비율", "share of patients of class {category}"),
    "minimum_patients_metric": _w(
        "해당 클래스 슬라이드가 있는 환자 수 (patient_id 기준) / 클래스가 있는 환자",
        "distinct patients (patient_id) with a slide of the class / patients with a class",
    ),
}
"""Every other word the table prints (decisions, units, plan and test descriptions)."""


class QualityTableLayout(_Frozen):
    """The profile's ``quality_table`` block; every field defaults to the published layout."""

    languages: tuple[Language, ...] = LANGUAGES
    """One sheet (xlsx), one file (csv) per language, in this order."""
    sheet_names: Words = _w("품질 검사 결과", "Quality results")
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    characteristics: tuple[Characteristic, ...] = DEFAULT_CHARACTERISTICS
    """The characteristics shown, in this order; one left out drops its rows."""
    items: dict[str, Item] = Field(default_factory=lambda: dict(DEFAULT_ITEMS))
    """Words per gated figure, by its gate key; a figure without an entry shows its own name."""
    technical: tuple[TechnicalRow, ...] = DEFAULT_TECHNICAL
    words: dict[str, Words] = Field(default_factory=lambda: dict(DEFAULT_WORDS))

    @field_validator("columns", "characteristics")
    @classmethod
    def _unique(cls, v: tuple[Column, ...] | tuple[Characteristic, ...]) -> tuple:  # type: ignore[type-arg]
        keys = [c.key for c in v]
        if not keys or len(set(keys)) != len(keys):
            raise ValueError("keys must be given once each, at least one")
        return v

    @field_validator("items")
    @classmethod
    def _items_default(cls, v: dict[str, Item]) -> dict[str, Item]:
        return {**DEFAULT_ITEMS, **v}

    @field_validator("words")
    @classmethod
    def _words_default(cls, v: dict[str, Words]) -> dict[str, Words]:
        return {**DEFAULT_WORDS, **v}

    def word(self, key: str, lang: str, params: Mapping[str, object] | None = None) -> str:
        """A word of :attr:`words` in ``lang`` (the key itself when the layout has none)."""
        w = self.words.get(key)
        return key if w is None else w.text(lang, params)
