"""The review sheet (``review.html``): one self-contained, offline page for the expert reviewer.

It renders the dictionary :func:`dqm.semantic.sheet.sheet_data` builds and computes nothing.
Everything that came from the batch travels in a JSON island (``<`` ``>`` ``&`` escaped, characters
that do not show as escapes: :func:`dqm.output.visible`) and is put into the page with
``textContent`` / ``setAttribute`` only; the page's one script and one style sheet are allowed by
their hashes in a strict Content-Security-Policy, images are data URIs.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from dqm.i18n import check_language, markup_translator
from dqm.output import visible
from reports.html import _asset, _csp_hash, code, json_island


def render_review_html(sheet: dict[str, Any], lang: str = "en") -> str:
    """The review sheet as one HTML string, its words in ``lang`` (the sheet's data holds the
    reasons, names and script words in the language :func:`dqm.semantic.sheet.sheet_data` was given)."""
    env = Environment(
        loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.globals.update(
        _=markup_translator(check_language(lang)),
        code=code,
        kbd=lambda text: Markup("<kbd>{}</kbd>").format(text),
        lang=lang,
    )
    script, style = _asset("review.js"), _asset("review.css")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    page = env.get_template("review.html.j2").render(
        sheet=sheet, csp=csp, script=script, style=style, data=json_island(sheet)
    )
    return visible(page)
