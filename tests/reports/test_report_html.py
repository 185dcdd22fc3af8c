"""The HTML certificate: self-contained, strict CSP, every batch string escaped, data intact."""

from __future__ import annotations

import base64
import hashlib
import re

from reports.html import render_html, unpack_island
from tests.reports.conftest import PLANT, finding, make_result, parse_html, semantic, validity


def csp_of(doc) -> dict[str, list[str]]:
    (meta,) = doc.find_all("meta", http_equiv="Content-Security-Policy")
    out = {}
    for part in meta.attrs["content"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_is_strict_and_matches_the_inline_code():
    html = render_html(make_result(findings=[finding("S00001", "SELF_INTERSECTION")]))
    doc = parse_html(html)
    csp = csp_of(doc)
    assert csp["default-src"] == ["'none'"] and csp["img-src"] == ["data:"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'none'"]
    scripts = [s for s in doc.find_all("script") if "type" not in s.attrs]
    (style,) = doc.find_all("style")
    assert csp["script-src"] == [sha(scripts[0].text)] and len(scripts) == 1
    assert csp["style-src"] == [sha(style.text)]
    assert "unsafe" not in str(csp)


def test_no_inline_style_handler_or_external_resource():
    r = make_result(
        findings=[finding("S00001", "SELF_INTERSECTION")], semantic=semantic(), validity=validity()
    )
    doc = parse_html(render_html(r))
    for n in doc.iter():
        assert "style" not in n.attrs, n.tag
        assert not [a for a in n.attrs if a.startswith("on")], n.tag
        if "src" in n.attrs:
            assert n.attrs["src"].startswith("data:image/jpeg;base64,")
        if "href" in n.attrs:
            assert n.attrs["href"].startswith("#"), n.attrs["href"]
    assert "http://" not in render_html(r).replace("http://www.w3.org/2000/svg", "")


def test_batch_strings_are_escaped_everywhere():
    r = make_result(
        findings=[
            finding("S00000", "SELF_INTERSECTION", message=PLANT, file=f"a/{PLANT}.json", pointer=PLANT)
        ],
        files_ok=10,
        path=f"/data/{PLANT}",
        institution=PLANT,
        diagnosis=f"class {PLANT}",
        clinical={"age": PLANT, "site": "trunk"},
    )
    html = render_html(r)
    assert html.count("<script") == 2  # the data island and the report's own script
    assert "<img" not in html  # no thumbnails here, and the planted one is text
    assert "onerror=" not in html.replace("onerror=&#34;", "")
    doc = parse_html(html)
    # server-rendered places show the text itself: title, cover, breakdown tables, chart labels
    assert doc.find_all("h1")[0].text == f"/data/{PLANT}"
    cells = [n.text for n in doc.by_id("syntactic").find_all("td")]
    assert PLANT in cells and f"class {PLANT}" in cells
    labels = [n.text for n in doc.by_id("syntactic").find_all("text")]
    assert any(PLANT[:20] in t for t in labels)
    # the explorers' data keeps the strings verbatim; the script inserts them as text
    data = unpack_island(doc.by_id("dqm-data").text)
    assert {PLANT, f"class {PLANT}", f"a/{PLANT}.json"} <= set(data["strings"])
    assert any(PLANT in s for s in data["strings"] if s.startswith("age "))


def test_island_holds_every_finding_and_slide():
    fs = [
        finding(
            f"S{i:05d}",
            "SELF_INTERSECTION",
            file=f"annotations/S{i:05d}.json",
            pointer="/lesions/0/geometry",
            xy=(1, 2),
        )
        for i in range(7)
    ]
    fs.append(finding("slides/orphan.tiff", "MPP_MISSING", severity="warning", aspect="image"))
    r = make_result(findings=fs)
    data = unpack_island(parse_html(render_html(r)).by_id("dqm-data").text)
    s = data["strings"]
    cols = data["findings"]["columns"]
    rows = [dict(zip(cols, row, strict=True)) for row in data["findings"]["rows"]]
    assert len(rows) == len(fs)
    for f, row in zip(fs, rows, strict=True):
        assert s[row["item"]] == f.item_id and s[row["code"]] == f.code and s[row["message"]] == f.message
        assert s[row["severity"]] == f.severity.value and s[row["file"]] == (f.location.file or "")
    assert s[rows[0]["where"]] == "/lesions/0/geometry at (1, 2)"
    items = data["items"]
    assert len(items["rows"]) == len(r.items)
    first = dict(zip(items["columns"], items["rows"][0], strict=True))
    assert s[first["slide_id"]] == "S00000" and s[first["clinical"]] == "age 40 · sex F · site trunk"


def test_cover_gates_and_sections():
    r = make_result(
        files_ok=30, semantic=semantic(decision="incomplete", passed=False), validity=validity(passed=False)
    )
    doc = parse_html(render_html(r))
    assert doc.by_id("verdict").text == "NOT CERTIFIED"
    why = doc.by_id("verdict-why").text
    assert "Failed: Syntactic accuracy, Validity." in " ".join(why.split())
    assert "Pending (not finished): Semantic accuracy." in " ".join(why.split())
    assert "Not evaluated: Statistical diversity." in " ".join(why.split())
    states = {
        n.attrs["data-dimension"]: n.attrs["data-state"]
        for n in doc.find_all("li")
        if "data-dimension" in n.attrs
    }
    assert states == {
        "syntactic": "failed",
        "semantic": "pending",
        "diversity": "missing",
        "validity": "failed",
    }
    assert doc.by_id("fingerprint").text == "ab" * 32 and doc.by_id("profile-hash").text == "cd" * 32
    assert doc.by_id("command").text == "dqm audit /data/batch --out out"
    assert doc.by_id("n-slides").text == "20"
    sections = [n.attrs["id"] for n in doc.find_all("section")]
    assert sections[:5] == ["gates", "syntactic", "semantic", "diversity", "validity"]
    assert "NOT RUN" in doc.by_id("diversity").text
    head = " ".join(doc.by_id("semantic").text.split())
    assert "Result: PENDING — lot decision INCOMPLETE" in head and "Result: FAIL" not in head
    assert "mean Dice" in doc.by_id("validity").text  # the validity section of dqm/validity
    assert "dice per class.BCC.dice" not in doc.by_id("validity").text  # dotted paths stay code
    rows = doc.by_id("gates").find_all("tr")
    assert [t.attrs.get("data-gate") for t in rows if "data-gate" in t.attrs] == [
        "syntactic.file_accuracy",
        "syntactic.structure_accuracy",
        "syntactic.format_accuracy",
        "semantic.accuracy",
        "validity.BCC",
        "validity.MM",
    ]


def test_findings_by_code_table():
    fs = [finding("S00001", "SELF_INTERSECTION")] * 3 + [
        finding("S00002", "SELF_INTERSECTION"),
        finding("S00002", "MPP_MISSING", severity="warning", aspect="image"),
    ]
    doc = parse_html(render_html(make_result(findings=fs)))
    rows = {
        tr.attrs["data-code"]: [td.text for td in tr.find_all("td")]
        for tr in doc.by_id("codes").find_all("tr")
        if "data-code" in tr.attrs
    }
    assert rows["SELF_INTERSECTION"] == [
        "SELF_INTERSECTION",
        "geometry.validity",
        "the outline crosses itself",
        "4",
        "0",
        "0",
        "2",
    ]
    assert rows["MPP_MISSING"][3:] == ["0", "1", "0", "1"]
    assert list(rows) == ["SELF_INTERSECTION", "MPP_MISSING"]  # errors first


def test_an_empty_batch_renders():
    r = make_result(n_items=1)
    doc = parse_html(render_html(r.model_copy(update={"items": [], "findings": []})))
    assert "No finding" in doc.by_id("codes").text


def test_thumbnails_are_embedded_as_small_jpegs(audited):
    html = render_html(audited)
    doc = parse_html(html)
    imgs = doc.by_id("worst").find_all("img")
    assert len(imgs) == len(audited.thumbnails) > 0
    for img, t in zip(imgs, audited.thumbnails, strict=True):
        assert img.attrs["src"] == f"data:image/jpeg;base64,{t.data}"
        assert int(img.attrs["width"]) <= 256 and int(img.attrs["height"]) <= 256
        assert base64.b64decode(t.data)[:3] == b"\xff\xd8\xff"
    links = [a.attrs["href"] for a in doc.by_id("worst").find_all("a")]
    rows = {item.slide_id: k for k, item in enumerate(audited.items)}  # the Slides explorer's rows
    assert links == [f"#item-{rows[t.slide_id]}" for t in audited.thumbnails]
    assert re.search(r"<svg class=\"swatch\"", html)


def test_string_table_interns_every_value_once():
    from dqm.findings import Severity
    from reports.html import _intern

    values, cols = _intern([["a", None, "", "b"], [Severity.ERROR, "error", "a"]])
    assert values == ["", "a", "b", "error"]
    assert cols == [[1, 0, 0, 2], [3, 3, 1]]


def test_report_stays_within_its_size_budget():
    """~47 bytes per finding with random coordinates in every message: 9,000 findings on 3,000
    slides under 600 kB (the benchmark's 100,000 findings on 34,376 slides: 3.7 MB)."""
    import random

    rng = random.Random(0)
    fs = []
    for i in range(9000):
        item = f"S{rng.randrange(3000):05d}"
        x, y = round(rng.uniform(0, 90000), 2), round(rng.uniform(0, 70000), 2)
        fs.append(
            finding(
                item,
                "SELF_INTERSECTION",
                message=f"the outline crosses itself (shapely: Self-intersection[{x} {y}])",
                file=f"annotations/{item}.json",
                pointer=f"/lesions/{i % 4}/geometry",
                lesion=i % 4,
                xy=(x, y),
            )
        )
    r = make_result(n_items=3000).model_copy(update={"findings": fs})
    size = len(render_html(r).encode("utf-8"))
    assert size < 600_000, size
