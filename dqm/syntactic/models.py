"""Syntactic accuracy's result: ratios at file and value grain, per aspect and per group."""

from __future__ import annotations

from pydantic import Field

from dqm.facts import Count, Frozen, Ratio, Share


class Breakdown(Frozen):
    """Syntactic accuracy for one group (an institution, a class)."""

    key: str
    files: Ratio
    values: Ratio


class Grains(Frozen):
    """One aspect (structure or format) at file and value grain."""

    files: Ratio
    values: Ratio


class OrderedValues(Frozen):
    """Value accuracy over the items ordered (``--expect``, since results 1.19): each line of the
    order list counts its delivered item's share of accurate annotation-file value slots (an id
    delivered more than once its worst one), a line not delivered 0, averaged over the list's
    lines; items not ordered are not in it. Deleting an item (its row and files) or adding one
    then never raises it, where the value-weighted figures can rise without bound (the files
    deleted may have held any number of failing values). Item-weighted: each item weighs the
    same, however many values it holds, so it differs from the value-weighted figures either
    way; when the delivery is not the order list exactly (:attr:`judged`) the structure and format
    value gates are judged on it too."""

    items: Count
    """The order list's lines (items ordered), averaged over."""
    not_delivered: Count
    """Items ordered and not delivered (each counted 0)."""
    not_ordered: Count = 0
    """Items delivered and not ordered (``ITEM_NOT_ORDERED``: not in the figures)."""
    value_accuracy: Share | None
    """Mean of each item's structure + format value accuracy (None without items)."""
    structure_accuracy: Share | None
    """Mean of each item's structure value accuracy."""
    format_accuracy: Share | None
    """Mean of each item's format value accuracy (over its structurally accurate values; an item with none counts 0)."""
    item_values: list[Count] = Field(default_factory=list)
    """Each delivered item's annotation-file value slots, in the order of ``items[]``: what a
    waiver file's decision computes the figures again from (:func:`~dqm.syntactic.accuracy.rewaived`)."""
    unreadable_items: list[Count] = Field(default_factory=list)
    """The positions in ``items[]`` of the items whose annotation file could not be read (its one
    value slot failing) or is missing (no value slot; an item whose check crashed is not one)."""

    structure_without_unordered: Ratio | None = None
    """The structure value-weighted figure without the items not ordered (their annotation files'
    values, their manifest rows' cells and their rows of the clinical table left out; an id
    delivered more than once keeps the copies the order list matched; an ordered line delivered
    again, ``ITEM_DELIVERED_AGAIN``, counts its worst copy: the lowest figure with one copy
    delivered alone, or with several such lines the lowest of each choice of copies (past 4,096
    choices a bound never above any, exact for byte-identical ones),
    :func:`dqm.syntactic.accuracy._worst_copy`; a copy whose line cannot be told, the worst against
    each line it could stand for): what padding the batch with items not ordered or copies cannot raise; the structure value gate is judged on it too. None
    when no item is not ordered."""
    format_without_unordered: Ratio | None = None
    """The format value-weighted figure without the items not ordered (as
    :attr:`structure_without_unordered`)."""

    def bound(self, name: str) -> float | None:
        """The lowest of the figures the value gate ``name`` (``structure_accuracy`` or
        ``format_accuracy``) is judged on besides the value-weighted one, when :attr:`judged`: the
        figure over the items ordered and the value-weighted one without the items not ordered."""
        key = name.removesuffix("_accuracy")
        if key not in ("structure", "format"):
            return None
        figures = [getattr(self, name), getattr(getattr(self, f"{key}_without_unordered"), "value", None)]
        known = [v for v in figures if v is not None]
        return min(known) if known else None

    @property
    def judged(self) -> bool:
        """Whether the structure and format value gates are judged on these figures too: the
        delivery is not the order list exactly (an item not delivered, one not ordered, or one
        whose annotation file is missing or could not be read, ``unreadable_items``: deleting an
        item's annotation file and keeping its row left the value-weighted figures free to rise,
        as deleting the whole item did, where this figure counts it 0). An item whose check
        crashed counts against nothing: a complete delivery is judged as without the list."""
        return bool(self.not_delivered or self.not_ordered or self.unreadable_items)


class SyntacticResult(Frozen):
    """Syntactic accuracy (ISO/IEC 25024 Acc-I-1) at three grains."""

    file_accuracy: Share | None
    """Files with no error finding / files checked."""
    files_total: Count
    files_valid: Count
    value_accuracy: Share | None
    """Value slots with no error finding / value slots checked."""
    values_total: Count
    values_valid: Count
    structure: Grains
    format: Grains
    gates: list[Ratio]
    """The ratios with a target from the profile."""
    by_institution: list[Breakdown] = Field(default_factory=list)
    by_class: list[Breakdown] = Field(default_factory=list)
    by_code: dict[str, int] = Field(default_factory=dict)
    """Findings per reason code (every severity)."""
    errors: Count = 0
    warnings: Count = 0
    crashed: Count = 0
    """Checks that raised; each is an error finding with code CHECK_CRASHED."""
    not_evaluated: list[str] = Field(default_factory=list)
    """Items a check crashed on: not evaluated, never counted as failed. While the dimension
    passes without them it is unfinished (``dqm.figures.unfinished``) and the verdict INCOMPLETE."""
    passed: bool
    """Every gate met (on the items that were evaluated)."""
    method: str = ""
    ordered: OrderedValues | None = None
    """With an order list (``--expect``, since 1.19): the value figures over the items ordered,
    which deleting an item never raises, and the value gates are judged on; None without one."""
