"""The review page in a real Chromium with hostile text in every field it shows: markup and
``</script>``, quotes, U+2028/U+2029, a right-to-left override and 10^5 characters in the slide ids
and a manifest field, markup in the reviewer's name and comment; and the tile routes asked for
slides named by anything but their number. No script runs from them, none breaks the page, and
each is shown as text (the bidi control made visible).

What keeps a script out is the Content-Security-Policy (``script-src 'self'``): it blocks injected
markup's scripts even were it parsed, so the ``window.__pwned`` sentinels cannot fail by
themselves. The test asserts the CSP on every page it opens, and that each field's text is the
hostile input exactly as dqm shows batch text (markup parsed as markup would not be).

Needs Debian's ``chromium`` at /usr/bin/chromium (``make browser``); never downloads a browser.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from dqm.output import visible
from dqm.semantic.server import app as server_app
from tests.helpers import CHROMIUM, launch_chromium
from tests.helpers import wait_until as wait_up_to
from tests.semantic.conftest import ServeReview

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason="needs Debian's chromium at /usr/bin/chromium (make browser)"
    ),
    pytest.mark.skipif(
        not server_app.VIEWER_JS.is_file(), reason="the viewer is not installed (make viewer)"
    ),
]
wait_until = functools.partial(wait_up_to, timeout=20.0)  # 10^5-character ids: slow DOM work
SCRIPT = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
IDS = [
    SCRIPT,
    "quote\"'`${window.__pwned=3}`",
    "line\u2028sep\u2029para",
    "\u202egpj.exe",  # a right-to-left override
    "x" * 100_000,
]
SCANNER = SCRIPT + "\u2028" + "y" * 100_000
NAME = '</script><b onmouseover="window.__pwned=4">Dr. "O\'Neil" & co'


@pytest.fixture(scope="module")
def hostile(served_review: ServeReview) -> tuple[str, str]:
    """A sample drawing every slide of a batch whose manifest holds the hostile ids, a hostile
    manifest field, a reviewer of a hostile name, and a uvicorn server on a free port."""

    def edit(rows: list[dict[str, str]]) -> None:
        for row, slide_id in zip(rows, IDS, strict=False):
            row["slide_id"] = slide_id
        rows[0]["scanner"] = SCANNER

    base, _, links = served_review(edit, {NAME: []})
    return base, links[NAME]


def test_hostile_text_in_every_field_is_shown_as_text(hostile: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base, link = hostile
    problems: list[str] = []
    documents: list[Any] = []  # every page the browser opened: what really keeps a script out is its CSP
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
        page.goto(link)
        # the sign-in button names the link's holder, as text
        page.wait_for_selector("#login-button", state="visible", timeout=15_000)
        assert page.text_content("#login-button") == f"Sign in as {NAME}"
        page.click("#login-button")
        page.wait_for_url("**/")
        wait_until(page, "window.dqmReview && window.dqmReview.current() >= 0")
        ids = json.loads(
            page.evaluate(
                "JSON.stringify([...document.querySelectorAll('#slide-list button')].map(b => b.textContent))"
            )
        )
        facts: list[str] = []
        assert page.evaluate("window.__pwned") is None  # (the CSP below blocks it even were it markup)
        # the reviewer's name: in the title and the header, as text
        assert NAME in page.title()
        assert page.text_content("header .who") == f"signed in as {NAME}"
        # every slide: its id in the list and the title, its record's facts, its outlines' titles
        for n in range(len(ids)):
            page.evaluate(f"document.querySelectorAll('#slide-list button')[{n}].click()")
            wait_until(
                page, f"window.dqmReview.current() === {n} && !document.getElementById('btn-pass').disabled"
            )
            title = page.text_content("#slide-title") or ""
            assert title.startswith(f"{n + 1}. ") and title[len(f"{n + 1}. ") :] == ids[n]
            facts.extend(page.evaluate("[...document.querySelectorAll('#facts dd')].map(d => d.textContent)"))
        assert page.evaluate("window.__pwned") is None
        # every hostile text shown exactly as dqm shows batch text (visible(): controls escaped), markup
        # kept as characters: the ids, and the manifest field in its slide's record
        assert [i for i in map(visible, IDS) if i not in ids] == []
        assert visible(SCANNER) in facts
        assert SCRIPT in ids and "\u202e" not in "".join(ids)  # the override is shown escaped, not obeyed
        # a comment of markup, saved and shown back
        page.evaluate("document.querySelectorAll('#slide-list button')[0].click()")
        wait_until(page, "window.dqmReview.current() === 0 && !document.getElementById('btn-pass').disabled")
        page.keyboard.press("f")
        page.click("#comment")
        page.keyboard.insert_text(SCRIPT)
        page.keyboard.press("Escape")
        state = page.request.get(f"{base}/api/state").json()
        deadline = time.monotonic() + 15
        while not (state["verdicts"].get("0") or {}).get("comment"):
            assert time.monotonic() < deadline, state["verdicts"]
            time.sleep(0.1)
            state = page.request.get(f"{base}/api/state").json()
        assert state["verdicts"]["0"]["comment"] == SCRIPT
        page.reload()
        wait_until(page, "window.dqmReview && window.dqmReview.current() >= 0")
        page.evaluate("document.querySelectorAll('#slide-list button')[0].click()")
        wait_until(page, "window.dqmReview.current() === 0 && !document.getElementById('btn-pass').disabled")
        assert page.input_value("#comment") == SCRIPT
        assert page.evaluate("window.__pwned") is None
        # the tile routes: only a slide's number names it
        for path in (
            "/dz/..%2F..%2Fetc%2Fpasswd.dzi",
            "/dz/-1.dzi",
            "/dz/99999999999999999999999999.dzi",
            "/dz/0_files/0/0_0.jpeg%00.dzi",
            "/dz/%3Cscript%3E.dzi",
            "/dz/0_files/../../review.sqlite",
            "/dz/0_files/99/0_0.jpeg",
            "/dz/0_files/0/99999_99999.jpeg",
            "/dz/9999_files/0/0_0.jpeg",
        ):
            res = page.request.get(f"{base}{path}")
            assert res.status in (400, 404), (path, res.status)
            assert "<script" not in res.text()
        browser.close()
    assert not problems, problems
    opened = [urlsplit(r.url).path for r in documents]
    assert opened == ["/login", "/", "/"], opened
    for response in documents:
        assert response.headers.get("content-security-policy") == server_app.CSP, response.url
