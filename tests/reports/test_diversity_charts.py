"""The SVG charts: values written as text, batch text escaped, no style attribute, unique ids."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(markup: str) -> list[str]:
    return [t.text or "" for t in parse(markup).iter(f"{SVG}text")]


def test_bars_label_every_bar_with_count_and_share() -> None:
    svg = charts.bars("div-class", "class", ["NS", "BCC"], [30, 70], [0.3, 0.7])
    root = parse(svg)
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "class"  # type: ignore[union-attr]
    assert "30 (30 %)" in texts(svg) and "70 (70 %)" in texts(svg)
    widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
    assert widths[1] > widths[0] > 0


def test_batch_text_is_escaped_and_no_style_attribute() -> None:
    evil = '<script>alert("x")</script>'
    for svg in (
        charts.bars("x", evil, [evil], [1], [1.0]),
        charts.paired_bars("y", "t", [evil], [0.5], [0.5]),
        charts.histogram("z", evil, [0, 1], [3], unit=evil),
    ):
        assert "<script>" not in str(svg)
        assert evil in "".join(texts(svg)) + (parse(svg).find(f"{SVG}title").text or "")  # type: ignore[union-attr]
        assert not re.search(r"\sstyle=", str(svg))


def test_paired_bars_hatch_the_baseline_with_a_chart_specific_pattern() -> None:
    a = charts.paired_bars("drift-site", "site", ["trunk", "acral"], [0.6, 0.4], [0.5, 0.5])
    b = charts.paired_bars("drift-class", "class", ["NS"], [1.0], [1.0])
    ids = re.findall(r'pattern id="([^"]+)"', str(a) + str(b))
    assert len(ids) == len(set(ids)) == 2
    assert "url(#drift-site-hatch)" in str(a)
    assert {"current", "baseline", "60 %", "50 %", "40 %"} <= set(texts(a))


def test_histogram_writes_counts_and_edges() -> None:
    svg = charts.histogram("div-age", "age", [0, 10, 20, 30], [4, 0, 9], unit="years")
    labels = texts(svg)
    assert "4" in labels and "9" in labels and "years" in labels
    assert {"0", "30"} <= set(labels)


def test_empty_charts_say_so() -> None:
    assert "no value" in texts(charts.bars("e", "e", [], [], []))
    assert "no value" in texts(charts.histogram("e", "e", [], []))
    assert "nothing to compare" in texts(charts.paired_bars("e", "e", [], [], []))


def test_a_label_cut_short_keeps_no_part_of_an_identifier() -> None:
    """A category from the batch (an institution, a scanner) is cut to fit the chart like any
    batch text: the masker knows ``kim.minsu@hospital.example`` only whole, and ``Seoul-A
    kim.minsu@hospital.`` (the first 29 characters) was no e-mail address to it."""
    from dqm.identifiers import DeidSettings, Masker
    from reports import svg

    masker = Masker(DeidSettings(), b"k" * 32)
    labels = ["Seoul-A kim.minsu@hospital.example", "Busan Patient name: Hong Gildong"]
    shown = "".join(texts(charts.bars("x", "site", labels, [1, 2], [0.3, 0.7])))
    shown += str(svg.hbar([(label, 0.5, "") for label in labels], title="site"))
    masked = masker(shown)
    assert "Seoul-A" in masked and "Busan" in masked
    assert "kim.minsu" not in masked and "Hong" not in masked
