"""The review server through Starlette's TestClient: tokens, CSRF, the batch jail, blinding, export."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from dqm.cli import app as cli_app
from dqm.profile import load_profile
from dqm.semantic.planfile import plan_id, read_plan, write_plan
from dqm.semantic.server import app as server_app
from dqm.semantic.server.commands import CommandError, build, exposure_warning
from dqm.semantic.server.db import DB_NAME, ReviewDB
from tests.helpers import free_port, uvicorn_running

starlette_testclient = pytest.importorskip("starlette.testclient")
TestClient = starlette_testclient.TestClient
pytestmark = pytest.mark.skipif(
    not server_app.VIEWER_JS.is_file(), reason="the viewer is not installed (make viewer)"
)

runner = CliRunner()
KEY = b"a test masking key of 32 bytes!!"
RRN = "900101-1234567"
HOSTILE = "<script>window.__x=1</script>"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def review(sampled_review: Callable[..., tuple[Path, Path]]) -> tuple[Path, Path]:
    """A copy of the clean batch with an identifier and markup in its manifest, every slide drawn."""

    def hostile(rows: list[dict[str, str]]) -> None:
        rows[0]["scanner"] = f"Patient name: Hong Gildong {RRN}"
        rows[1]["slide_id"] = HOSTILE

    return sampled_review(hostile)


@pytest.fixture
def fresh(review: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The review folder copied, so each test starts with an empty database."""
    out = tmp_path / "review"
    shutil.copytree(review[0], out)
    return out, review[1]


def client_for(review_dir: Path, batch: Path) -> TestClient:
    return TestClient(build(review_dir, batch, load_profile(), KEY))


def reviewer(review_dir: Path, name: str, adjudicator: bool = False) -> str:
    args = ["review", "add-reviewer", str(review_dir), name] + (["--adjudicator"] if adjudicator else [])
    res = runner.invoke(cli_app, args)
    assert res.exit_code == 0, res.output
    link = res.output.strip()
    assert link.startswith("http://127.0.0.1:8765/login#token=")
    return link.split("#token=", 1)[1]


def sign_in(client: TestClient, token: str) -> str:
    """Sign in and return the session's CSRF token."""
    assert client.post("/api/login", json={"token": token}).status_code == 200
    return client.get("/api/state").json()["csrf"]


def give(client: TestClient, csrf: str, n: int, verdict: str, reasons: list[str] | None = None) -> dict:
    res = client.post(
        "/api/verdicts",
        json={"slide": n, "verdict": verdict, "reasons": reasons or [], "comment": ""},
        headers={"x-csrf-token": csrf},
    )
    assert res.status_code == 200, res.text
    return res.json()


def test_every_request_without_a_valid_session_is_refused(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as client:
        for path in (
            "/",
            "/api/state",
            "/api/slides/0",
            "/dz/0.dzi",
            "/dz/0_files/0/0_0.jpeg",
            "/api/disagreements",
        ):
            res = client.get(path)
            assert res.status_code == 401, path
            assert res.headers["x-content-type-options"] == "nosniff"
        assert client.post("/api/login", json={"token": token + "x"}).status_code == 401
        assert client.post("/api/login", data={"token": token}).status_code == 415  # a form post
        client.cookies.set("dqm_review_session", "1.9999999999.nonce.forged")
        assert client.get("/api/state").status_code == 401
        client.cookies.clear()
        # a script may use the token itself (no cookie, so no CSRF token needed)
        bearer = {"authorization": f"Bearer {token}"}
        assert client.get("/api/state", headers=bearer).json()["reviewer"] == "Kim"
        assert client.get("/static/review.js").status_code == 200  # static files need no session


def test_the_login_page_and_security_headers(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as client:
        page = client.get("/login")
        assert page.status_code == 200 and '<script src="/static/login.js"' in page.text
        sign_in(client, token)
        res = client.get("/")
        csp = res.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert res.headers["referrer-policy"] == "no-referrer" and res.headers["x-frame-options"] == "DENY"
        assert res.headers["cache-control"] == "no-store"
        assert "<script>" not in res.text and " style=" not in res.text  # no inline script or style
        cookie = client.cookies.jar
        assert any(c.name == "dqm_review_session" and c.has_nonstandard_attr("HttpOnly") for c in cookie)


def test_writes_need_the_session_csrf_token_json_and_our_origin(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    kim, lee = reviewer(review_dir, "Kim"), reviewer(review_dir, "Lee")
    body = {"slide": 0, "verdict": "pass", "reasons": [], "comment": ""}
    with client_for(review_dir, batch) as a, client_for(review_dir, batch) as b:
        csrf_kim, csrf_lee = sign_in(a, kim), sign_in(b, lee)
        assert a.post("/api/verdicts", json=body).status_code == 403
        assert a.post("/api/verdicts", json=body, headers={"x-csrf-token": csrf_lee}).status_code == 403
        assert a.post("/api/verdicts", json=body, headers={"x-csrf-token": "0" * 64}).status_code == 403
        form = a.post("/api/verdicts", data=body, headers={"x-csrf-token": csrf_kim})
        assert form.status_code == 415
        other = {"x-csrf-token": csrf_kim, "origin": "http://evil.example"}
        assert a.post("/api/verdicts", json=body, headers=other).status_code == 403
        assert a.post("/api/logout", json={}).status_code == 403
        same = {"x-csrf-token": csrf_kim, "origin": "http://testserver"}
        assert a.post("/api/verdicts", json=body, headers=same).status_code == 200
        bad = {**body, "slide": 999}
        assert a.post("/api/verdicts", json=bad, headers={"x-csrf-token": csrf_kim}).status_code == 400
        assert b.get("/api/state").json()["verdicts"] == {}
    db = ReviewDB(review_dir / DB_NAME)
    assert [(r.reviewer, r.verdict) for r in db.log()] == [("Kim", "pass")]  # only the accepted write


def test_a_sign_in_from_another_site_is_refused(fresh: tuple[Path, Path]) -> None:
    """Login CSRF: a page of another site posting a token of its own would sign the reviewer's
    browser in as the attacker (their verdicts then recorded under the attacker's name). The
    sign-in is held to the writes' origin rule: Origin, else Referer."""
    review_dir, batch = fresh
    token = reviewer(review_dir, "Mallory")
    with client_for(review_dir, batch) as client:
        for headers in (
            {"origin": "http://evil.example"},
            {"origin": "null"},  # a sandboxed frame or a data: page
            {"origin": "http://testserver:8765"},  # another port is another origin
            {"referer": "http://evil.example/page"},
        ):
            res = client.post("/api/login", json={"token": token}, headers=headers)
            assert res.status_code == 403, headers
            assert res.json()["error"] == "a sign-in from another site is refused"
            assert "set-cookie" not in res.headers
            assert not client.cookies
        assert client.get("/api/state").status_code == 401
        own = {"origin": "http://testserver", "referer": "http://testserver/login"}
        assert client.post("/api/login", json={"token": token}, headers=own).status_code == 200
        assert client.get("/api/state").json()["reviewer"] == "Mallory"
        client.cookies.clear()
        # a script sends neither: still signs in
        assert client.post("/api/login", json={"token": token}).status_code == 200
    ko = TestClient(build(review_dir, batch, load_profile(), KEY, lang="ko"))
    with ko:
        res = ko.post("/api/login", json={"token": token}, headers={"origin": "http://evil.example"})
        assert res.status_code == 403 and HANGUL.search(res.json()["error"])


def test_an_empty_referer_is_no_other_site_and_a_peek_signs_no_one_in(fresh: tuple[Path, Path]) -> None:
    """An empty ``Referer`` (no browser sends one; an odd script may) named no site but was
    refused as another's, for a sign-in and for a write (session 29, review of server6, 5): it is
    taken as absent. A "peek" (the sign-in page asking whose link it is, to name them on its
    button) answers the holder's name and sets no session; a wrong token is counted and refused."""
    review_dir, batch = fresh
    token = reviewer(review_dir, "Mallory")
    with client_for(review_dir, batch) as client:
        empty = {"referer": ""}
        res = client.post("/api/login", json={"token": token, "peek": True}, headers=empty)
        assert res.status_code == 200 and res.json() == {"reviewer": "Mallory", "current": None}
        assert "set-cookie" not in res.headers and not client.cookies
        assert client.get("/api/state").status_code == 401
        assert client.post("/api/login", json={"token": token + "x", "peek": True}).status_code == 401
        assert client.post("/api/login", json={"token": token}, headers=empty).status_code == 200
        csrf = client.get("/api/state").json()["csrf"]
        verdict = {"slide": 0, "verdict": "pass", "reasons": [], "comment": ""}
        res = client.post("/api/verdicts", json=verdict, headers={"x-csrf-token": csrf, **empty})
        assert res.status_code == 200, res.text


def test_a_peek_says_who_is_signed_in_now_and_is_only_true_or_false(fresh: tuple[Path, Path]) -> None:
    """The sign-in page asked ``/api/state`` who this browser is signed in as before it peeked: in
    a fresh browser that 401 was a red console line at every first sign-in (session 29, second
    review of server6f, 1). The peek answers it (``current``), and makes no session. A ``"peek"``
    that is not true or false (``1``, ``"true"``) signed in for real, cookie and all (4): refused."""
    review_dir, batch = fresh
    kim, lee = reviewer(review_dir, "Kim"), reviewer(review_dir, "Lee")
    with client_for(review_dir, batch) as client:
        for odd in (1, "true", None, [True]):
            res = client.post("/api/login", json={"token": kim, "peek": odd})
            assert res.status_code == 400 and res.json()["error"] == '"peek" must be true or false', odd
            assert "set-cookie" not in res.headers and not client.cookies
        assert client.post("/api/login", json={"token": kim, "peek": False}).status_code == 200
        res = client.post("/api/login", json={"token": lee, "peek": True})
        assert res.status_code == 200 and res.json() == {"reviewer": "Lee", "current": "Kim"}
        assert "set-cookie" not in res.headers
        assert client.get("/api/state").json()["reviewer"] == "Kim"
    ko = TestClient(build(review_dir, batch, load_profile(), KEY, lang="ko"))
    with ko:
        res = ko.post("/api/login", json={"token": kim, "peek": "true"})
        assert res.status_code == 400 and HANGUL.search(res.json()["error"])


def test_blinded_double_review_and_adjudication(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    kim, lee, park = (
        reviewer(review_dir, "Kim"),
        reviewer(review_dir, "Lee"),
        reviewer(review_dir, "Park", True),
    )
    with (
        client_for(review_dir, batch) as a,
        client_for(review_dir, batch) as b,
        client_for(review_dir, batch) as c,
    ):
        ck, cl, cp = sign_in(a, kim), sign_in(b, lee), sign_in(c, park)
        give(a, ck, 0, "pass")
        give(a, ck, 1, "fail", ["wrong_class"])
        # Lee sees none of Kim's verdicts: not in the state, not in the slide's history
        assert b.get("/api/state").json()["verdicts"] == {}
        assert b.get("/api/slides/1").json()["history"] == []
        assert a.get("/api/slides/1").json()["history"][0]["verdict"] == "fail"
        assert b.get("/api/disagreements").status_code == 403
        assert c.get("/api/disagreements").json() == []  # one judge so far
        give(b, cl, 0, "pass")
        give(b, cl, 1, "pass")
        rows = c.get("/api/disagreements").json()
        assert [r["n"] for r in rows] == [1]
        assert {v["reviewer"]: v["verdict"] for v in rows[0]["verdicts"]} == {"Kim": "fail", "Lee": "pass"}
        give(c, cp, 1, "fail", ["wrong_class"])
        assert b.get("/api/state").json()["verdicts"].keys() == {"0", "1"}
        assert b.get("/api/state").json()["verdicts"]["1"]["verdict"] == "pass"


def test_verdicts_survive_a_restart_and_the_log_keeps_every_change(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    kim = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as a:
        csrf = sign_in(a, kim)
        give(a, csrf, 2, "pass")
        give(a, csrf, 2, "fail", ["missed_lesion"])
        cookie = a.cookies.get("dqm_review_session")
    with client_for(review_dir, batch) as again:  # a new server on the same folder
        again.cookies.set("dqm_review_session", cookie)
        state = again.get("/api/state").json()  # the session survives: its key lives in the database
        assert state["verdicts"]["2"]["verdict"] == "fail" and state["verdicts"]["2"]["reasons"] == [
            "missed_lesion"
        ]
        history = again.get("/api/slides/2").json()["history"]
        assert [h["verdict"] for h in history] == ["pass", "fail"]


def test_rotating_a_token_ends_the_old_sessions(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    kim = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as a:
        sign_in(a, kim)
        res = runner.invoke(cli_app, ["review", "add-reviewer", str(review_dir), "Kim", "--rotate"])
        assert res.exit_code == 0
        assert a.get("/api/state").status_code == 401
        assert a.post("/api/login", json={"token": kim}).status_code == 401


def test_signing_out_ends_the_session_on_the_server(fresh: tuple[Path, Path]) -> None:
    """Sign-out only deleted the browser's cookie: a copy of it (stolen from the browser, a proxy
    or a shared machine) went on working for the rest of its 7 days. Now the session is deleted
    from the database: its cookie is refused wherever it comes from; other sessions go on."""
    review_dir, batch = fresh
    kim = reviewer(review_dir, "Kim")
    a, thief, other = (client_for(review_dir, batch) for _ in range(3))
    with a, thief, other:
        csrf = sign_in(a, kim)
        sign_in(other, kim)  # the same reviewer on another machine
        stolen = a.cookies["dqm_review_session"]
        thief.cookies.set("dqm_review_session", stolen)
        assert thief.get("/api/state").status_code == 200
        assert a.post("/api/logout", json={}, headers={"x-csrf-token": csrf}).status_code == 200
        assert thief.get("/api/state").status_code == 401
        assert thief.get("/dz/0.dzi").status_code == 401
        a.cookies.set("dqm_review_session", stolen)
        assert a.get("/api/state").status_code == 401
        assert other.get("/api/state").status_code == 200


def test_a_bearer_sign_out_ends_its_token_across_a_restart(fresh: tuple[Path, Path]) -> None:
    """A script's ``POST /api/logout`` with ``Authorization: Bearer TOKEN`` answered 200 and ended
    nothing: the token went on working (the docs said until rotated), so a script could not give up
    a token it suspected was copied. Sign-out with a bearer token ends the token now, in the
    database (a restarted server refuses it too), and the sessions signed in with it; another
    reviewer is untouched, and a rotated token works again."""
    review_dir, batch = fresh
    kim, lee = reviewer(review_dir, "Kim"), reviewer(review_dir, "Lee")
    bearer = {"authorization": f"Bearer {kim}"}
    with client_for(review_dir, batch) as script, client_for(review_dir, batch) as browser:
        sign_in(browser, kim)
        assert script.get("/api/state", headers=bearer).status_code == 200
        assert script.post("/api/logout", json={}, headers=bearer).status_code == 200
        assert script.get("/api/state", headers=bearer).status_code == 401
        assert browser.get("/api/state").status_code == 401  # signed in with the ended token
        assert browser.post("/api/login", json={"token": kim}).status_code == 401
    with client_for(review_dir, batch) as restarted:  # a new server on the same database
        assert restarted.get("/api/state", headers=bearer).status_code == 401
        assert restarted.get("/api/state", headers={"authorization": f"Bearer {lee}"}).status_code == 200
        rotated = runner.invoke(cli_app, ["review", "add-reviewer", str(review_dir), "Kim", "--rotate"])
        assert rotated.exit_code == 0, rotated.output
        token = rotated.output.strip().split("#token=", 1)[1]
        assert restarted.get("/api/state", headers={"authorization": f"Bearer {token}"}).status_code == 200


def test_a_token_rotated_meanwhile_is_not_ended_by_the_old_ones_sign_out(tmp_path: Path) -> None:
    """The token is ended only while it is still the one the request was made with: an old
    token's sign-out that races a rotation leaves the new token working."""
    from dqm.semantic.server import auth

    db = ReviewDB(tmp_path / DB_NAME, "plan")
    old = db.add_reviewer("Kim")
    as_read = db.reviewer_by_token(old)
    assert as_read is not None
    new = db.add_reviewer("Kim", rotate=True)
    auth.end_session(db, auth.Session(as_read, "", "bearer"))
    assert db.reviewer_by_token(new) is not None and db.reviewer_by_token(old) is None


def test_a_session_unused_for_its_idle_time_ends(tmp_path: Path) -> None:
    """A session used within :data:`~auth.IDLE_SECONDS` of its last request lives on (up to its
    7 days); one left unused that long is refused; its last use is written once a minute at most."""
    from dqm.semantic.server import auth

    db = ReviewDB(tmp_path / DB_NAME, "plan")
    db.add_reviewer("Kim")
    kim = db.reviewers()[0]
    t0 = 1_800_000_000
    cookie = auth.new_session(db, kim, issued=t0)
    nonce = cookie.split(".")[2]
    assert auth.read_session(db, cookie, now=t0 + 30) is not None
    assert db.session_seen(kim, nonce) == t0  # under SEEN_EVERY: not written
    step = auth.IDLE_SECONDS - 60
    assert auth.read_session(db, cookie, now=t0 + step) is not None  # used: its idle clock restarts
    assert db.session_seen(kim, nonce) == t0 + step
    assert auth.read_session(db, cookie, now=t0 + 2 * step) is not None
    assert auth.read_session(db, cookie, now=t0 + 3 * step + 121) is None  # idle too long
    assert auth.read_session(db, cookie, now=t0 + 2 * step + auth.IDLE_SECONDS + 1) is None
    later = t0 + 10 * auth.IDLE_SECONDS
    late = auth.new_session(db, kim, issued=later)  # forgets the idle ones
    assert db.session_seen(kim, nonce) is None and auth.read_session(db, late, now=later) is not None
    db.close()


def test_batch_strings_are_masked_and_escaped(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    with client_for(review_dir, batch) as a:
        sign_in(a, reviewer(review_dir, "Kim"))
        state = a.get("/api/state").json()
        ids = [s["id"] for s in state["slides"]]
        assert HOSTILE in ids  # shown as text by the page (textContent), never as markup
        details = [a.get(f"/api/slides/{i}").text for i in range(len(ids))]
        assert not any(RRN in d for d in details)
        assert any("[KOREAN_RRN-" in d for d in details) and any("[PERSON_NAME-" in d for d in details)
        assert HOSTILE not in a.get("/").text  # the page itself holds no batch string


def test_a_descriptor_is_asked_for_again_each_time(fresh: tuple[Path, Path]) -> None:
    """A ``.dzi`` was sent for the browser to keep an hour (``max-age=3600``): a slide's part
    replaced since, the viewer opened the old pyramid from its copy without asking, where the
    server now refuses it. Sent ``no-cache`` (asked again, a few hundred bytes); a tile keeps its
    hour, each one fetched checked at the server (server review, finding 3)."""
    review_dir, batch = fresh
    with client_for(review_dir, batch) as a:
        sign_in(a, reviewer(review_dir, "Kim"))
        dzi = a.get("/dz/0.dzi")
        assert dzi.status_code == 200
        control = {d.strip() for d in dzi.headers["cache-control"].split(",")}
        assert "no-cache" in control or "no-store" in control
        assert not [d for d in control if d.startswith("max-age=") and d != "max-age=0"]
        top = a.get("/api/slides/0").json()["image"]["levels"] - 1
        assert "max-age=3600" in a.get(f"/dz/0_files/{top}/0_0.jpeg").headers["cache-control"]


def test_tiles_and_descriptors(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    with client_for(review_dir, batch) as a:
        sign_in(a, reviewer(review_dir, "Kim"))
        detail = a.get("/api/slides/0").json()
        info = detail["image"]
        assert detail["image_error"] is None and info["levels"] > 1 and detail["shapes"]
        dzi = a.get("/dz/0.dzi")
        assert dzi.headers["content-type"].startswith("application/xml")
        assert f'Width="{info["width"]}"' in dzi.text
        top = info["levels"] - 1
        tile = a.get(f"/dz/0_files/{top}/0_0.jpeg")
        assert tile.headers["content-type"] == "image/jpeg"
        img = Image.open(io.BytesIO(tile.content))
        assert img.size == (min(info["width"], 255), min(info["height"], 255))
        assert a.get(f"/dz/0_files/{top}/99_99.jpeg").status_code == 404
        assert a.get(f"/dz/0_files/{top + 1}/0_0.jpeg").status_code == 404
        assert a.get("/dz/999.dzi").status_code == 404
        # several threads at once on a cache of one open slide: no error, every tile decodes
        tiles = a.app.state.tiles
        tiles.max_open = 1
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for level in range(top - 2, top + 1):
                    Image.open(io.BytesIO(tiles.tile(k % 3, level, 0, 0))).load()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(tiles._open) == 1


def test_a_key_given_twice_a_lone_surrogate_or_no_object_is_a_bad_request(fresh: tuple[Path, Path]) -> None:
    """json.loads kept the last of two equal keys ({"verdict": "pass", "verdict": "fail"} was
    saved as FAIL, while anything reading the first key saw PASS), and an escaped lone surrogate
    (\\ud800) in a comment or a token could be neither stored nor hashed: 500. Each is now 400
    with its reason, and nothing is saved."""
    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as a:
        headers = {"x-csrf-token": sign_in(a, token), "content-type": "application/json"}
        for body, says in [
            ('{"slide": 0, "verdict": "pass", "verdict": "fail"}', "twice"),
            ('{"slide": 0, "slide": 1, "verdict": "pass"}', "twice"),
            ('{"slide": 0, "verdict": "fail", "reasons": ["other"], "x": {"a": 1, "a": 2}}', "twice"),
            ('{"slide": 0, "verdict": "pass", "comment": "\\ud800"}', "Unicode"),
            ('{"slide": 0, "verdict": "fail", "reasons": ["\\udfff"]}', "Unicode"),
            ('[{"slide": 0, "verdict": "pass"}]', "JSON object"),
        ]:
            res = a.post("/api/verdicts", content=body, headers=headers)
            assert res.status_code == 400, (body, res.text)
            assert says in res.json()["error"], res.text
        assert a.get("/api/state").json()["verdicts"] == {}
        assert ReviewDB(review_dir / DB_NAME).log() == []
        res = a.post(
            "/api/login", content='{"token": "\\ud800"}', headers={"content-type": "application/json"}
        )
        assert res.status_code == 400, res.text


def test_a_session_cookie_naming_a_huge_reviewer_id_is_refused_not_a_crash(fresh: tuple[Path, Path]) -> None:
    """A cookie of a current issue time whose reviewer id SQLite cannot hold (over 2^63) made the
    lookup raise OverflowError before the signature was checked: a 500 and a traceback for anyone
    who sends that cookie. Now it is no session (401)."""
    import time

    review_dir, batch = fresh
    reviewer(review_dir, "Kim")
    with TestClient(build(review_dir, batch, load_profile(), KEY), raise_server_exceptions=False) as a:
        for rid in ("9" * 30, str(2**63), "0"):
            a.cookies.set("dqm_review_session", f"{rid}.{int(time.time())}.nonce.mac")
            res = a.get("/api/state")
            assert res.status_code == 401, (rid, res.status_code)


def test_the_sign_in_limit_counts_an_ipv6_client_by_its_64_network(fresh: tuple[Path, Path]) -> None:
    """A client on IPv6 chooses the last 64 bits of its address (privacy addresses, or any it
    likes on its LAN): counted per address, each new one had SIGN_IN_BURST fresh tries. Now an
    IPv6 client is counted by its /64 network, an IPv4-mapped one by its IPv4 address."""
    from dqm.semantic.server.auth import SIGN_IN_BURST, sign_in_key

    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    app = build(review_dir, batch, load_profile(), KEY)
    statuses = []
    for i in range(SIGN_IN_BURST + 3):
        with TestClient(app, client=(f"2001:db8:1:2::{i + 1:x}", 40000)) as client:
            statuses.append(client.post("/api/login", json={"token": token + "x"}).status_code)
    assert statuses == [401] * SIGN_IN_BURST + [429] * 3
    with TestClient(app, client=("2001:db8:1:3::1", 40000)) as client:  # another network
        assert client.post("/api/login", json={"token": token}).status_code == 200
    assert sign_in_key("::ffff:10.1.2.3") == sign_in_key("10.1.2.3") == "10.1.2.3"
    assert sign_in_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert sign_in_key("testclient") == "testclient"


def test_numbers_in_paths_of_any_length_are_not_found_never_a_crash(fresh: tuple[Path, Path]) -> None:
    """A slide number, level, column or row of over 4,300 digits made int() raise in the router:
    500 and a traceback for each request. Now a number of more than 9 digits matches no route
    (404); a negative one never did; large ones in range name no slide, level or tile (404)."""
    review_dir, batch = fresh
    big = "9" * 5000
    with TestClient(build(review_dir, batch, load_profile(), KEY), raise_server_exceptions=False) as a:
        sign_in(a, reviewer(review_dir, "Kim"))
        for path in (
            f"/dz/{big}.dzi",
            f"/api/slides/{big}",
            f"/dz/0_files/{big}/0_0.jpeg",
            f"/dz/0_files/0/{big}_0.jpeg",
            f"/dz/0_files/0/0_{big}.jpeg",
            "/dz/0_files/-1/0_0.jpeg",
            "/dz/0_files/999999999/0_0.jpeg",
            "/dz/0_files/0/999999999_0.jpeg",
            "/api/slides/999999999",
        ):
            res = a.get(path)
            assert res.status_code == 404, (path[:40], res.status_code)
            assert res.json()["error"], path[:40]


def test_nothing_outside_the_batch_is_served(fresh: tuple[Path, Path], tmp_path: Path) -> None:
    review_dir, batch = fresh
    secret = tmp_path / "outside.png"
    Image.new("RGB", (64, 64), "red").save(secret)
    jail = tmp_path / "jail"
    shutil.copytree(batch, jail, symlinks=True)
    plan = read_plan(review_dir)
    first = plan.sample[0]
    target = jail / first.image_path
    target.unlink()
    target.symlink_to(secret)  # a slide that is a link out of the batch
    ann = jail / plan.sample[1].annotation_path
    ann.unlink()
    ann.symlink_to(secret)
    # a plan naming a path that climbs out of the batch (plan_id recomputed, as if dqm wrote it)
    sample = list(plan.sample)
    sample[2] = sample[2].model_copy(update={"image_path": "../outside.png"})
    edited = plan.model_copy(update={"sample": sample})
    write_plan(edited.model_copy(update={"plan_id": plan_id(edited)}), review_dir)
    with client_for(review_dir, jail) as a:
        sign_in(a, reviewer(review_dir, "Kim"))
        for n in (0, 2):
            detail = a.get(f"/api/slides/{n}").json()
            # a slide the audit recorded that now leaves the batch is not the audit's file either
            why = detail["image_error"]
            assert detail["image"] is None and (
                "not served" in why or "not the file the audit checked" in why
            )
            assert "batch" in why
            assert a.get(f"/dz/{n}.dzi").status_code == 404
            assert a.get(f"/dz/{n}_files/0/0_0.jpeg").status_code == 404
        assert "not read" in a.get("/api/slides/1").json()["annotation_problem"]
        for path in (
            "/static/../review_plan.json",
            "/static/%2e%2e/%2e%2e/db.py",
            "/static/..%2F..%2Fapp.py",
            "/dz/..%2F..%2Foutside.png",
            "/dz/0_files/..%2F..%2F..%2Foutside.png",
        ):
            res = a.get(path)
            assert res.status_code == 404, path
            assert b"\x89PNG" not in res.content and b"def " not in res.content


def test_label_and_macro_images_are_never_served(
    real_data: Path, tmp_path: Path, review: tuple[Path, Path]
) -> None:
    """CMU-1-Small-Region.svs holds a label and a macro image: only its main pyramid is tiled."""
    import openslide

    svs = real_data / "slides" / "CMU-1-Small-Region.svs"
    batch = tmp_path / "batch"
    shutil.copytree(review[1], batch)
    plan = read_plan(review[0])
    shutil.copy(svs, batch / "cmu.svs")
    sample = list(plan.sample)
    sample[0] = sample[0].model_copy(update={"image_path": "cmu.svs", "files": None})  # not the audit's
    edited = plan.model_copy(update={"sample": sample})
    review_dir = tmp_path / "review"
    write_plan(edited.model_copy(update={"plan_id": plan_id(edited)}), review_dir)
    with openslide.OpenSlide(str(svs)) as slide:
        assert {"label", "macro"} <= set(slide.associated_images)
        main = slide.dimensions
    with client_for(review_dir, batch) as a:
        sign_in(a, reviewer(review_dir, "Kim"))
        info = a.get("/api/slides/0").json()["image"]
        assert (info["width"], info["height"]) == main
        for path in (
            "/dz/0/label.jpeg",
            "/dz/0_files/label.jpeg",
            "/dz/0_files/macro/0_0.jpeg",
            "/dz/label.dzi",
            "/api/slides/0/associated/label",
            "/api/slides/0/label",
        ):
            assert a.get(path).status_code == 404, path
        top = info["levels"] - 1
        tile = Image.open(io.BytesIO(a.get(f"/dz/0_files/{top}/0_0.jpeg").content))
        assert tile.size == (255, 255)  # a tile of the 2220 x 2967 scan, not of a label


def test_export_then_ingest_and_ingest_of_the_database(fresh: tuple[Path, Path], tmp_path: Path) -> None:
    review_dir, batch = fresh
    kim, lee = reviewer(review_dir, "Kim"), reviewer(review_dir, "Lee")
    n = read_plan(review_dir).sample_size
    with client_for(review_dir, batch) as a, client_for(review_dir, batch) as b:
        ck, cl = sign_in(a, kim), sign_in(b, lee)
        for i in range(n):
            give(a, ck, i, "fail" if i == 3 else "pass", ["wrong_class"] if i == 3 else [])
            give(b, cl, i, "pass")
        give(a, ck, 5, "fail", ["other"])
        give(a, ck, 5, "pass")  # changed back: the latest counts
    export = tmp_path / "verdicts.json"
    res = runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(export)])
    assert res.exit_code == 0 and f"{2 * n} verdicts" in res.output
    doc = json.loads(export.read_text())
    assert doc["format"] == "dqm.verdicts/1" and doc["plan_id"] == read_plan(review_dir).plan_id
    results = []
    for source in (export, review_dir / DB_NAME):
        out = tmp_path / f"sem-{source.suffix[1:]}"
        res = runner.invoke(
            cli_app, ["review", "ingest", "--plan", str(review_dir), str(source), "--out", str(out)]
        )
        assert res.exit_code == 1, res.output  # one FAIL over a precision plan of 14 misses 95 %
        sem = json.loads((out / "semantic.json").read_text())
        assert (sem["n_reviewed"], sem["n_fail"], sem["remaining"]) == (n, 1, 0)
        assert sem["reviewers"] == ["Kim", "Lee"] and [d["slide_id"] for d in sem["disagreements"]] == [
            read_plan(review_dir).sample[3].slide_id
        ]
        assert not [f for f in sem["findings"] if f["severity"] != "info"], sem["findings"]
        results.append({k: sem[k] for k in ("accuracy", "n_pass", "agreement", "fail_reasons")})
    assert results[0] == results[1]


@pytest.mark.parametrize("journal", ["WAL", "DELETE"])
def test_export_writes_nothing_to_the_review_folder(
    fresh: tuple[Path, Path], tmp_path: Path, journal: str
) -> None:
    """``dqm review export`` opened the database for writing: it added this dqm's tables to an
    older dqm's database (one without ``sessions`` and ``not_reviewable``), and switched one in
    another journal mode (the ``sqlite3`` shell's ``.backup``, a tool's copy) to WAL. A database
    of another plan is still refused."""
    from dqm.semantic.server.commands import export

    review_dir, _batch = fresh
    db = ReviewDB(review_dir / DB_NAME, read_plan(review_dir).plan_id)
    db.record(db.reviewer_by_token(db.add_reviewer("Kim")), read_plan(review_dir).sample[0].slide_id, "pass")
    db.close()
    con = sqlite3.connect(review_dir / DB_NAME)
    con.executescript("DROP TABLE sessions; DROP TABLE not_reviewable;")  # as dqm wrote it before both
    con.execute(f"PRAGMA journal_mode={journal}")
    con.commit()
    con.close()
    before = {p.name: p.read_bytes() for p in sorted(review_dir.iterdir())}
    assert export(review_dir, tmp_path / "verdicts.json") == 1
    assert {p.name: p.read_bytes() for p in sorted(review_dir.iterdir())} == before
    con = sqlite3.connect(review_dir / DB_NAME)
    con.execute("UPDATE meta SET value = 'another' WHERE key = 'plan_id'")
    con.commit()
    con.close()
    with pytest.raises(CommandError, match="another review plan"):
        export(review_dir, tmp_path / "again.json")


def test_commands_refuse_clearly(
    fresh: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    review_dir, batch = fresh
    res = runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "add a reviewer first" in res.output
    res = runner.invoke(cli_app, ["review", "add-reviewer", str(tmp_path), "Kim"])
    assert res.exit_code == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="none of the 14 sampled slides"):
        build(review_dir, tmp_path / "empty", load_profile(), KEY)  # --batch names the wrong folder
    monkeypatch.setenv("DQM_MASK_KEY", KEY.decode())
    monkeypatch.setattr(server_app, "VIEWER_JS", tmp_path / "missing.js")
    with pytest.raises(CommandError, match=r"viewer .*OpenSeadragon.* not installed"):
        build(review_dir, batch, load_profile(), KEY)
    res = runner.invoke(cli_app, ["review", "serve", str(review_dir), "--batch", str(batch)])
    assert res.exit_code == 2 and "make setup" in res.output
    assert exposure_warning("127.0.0.1", False) is None and exposure_warning("::1", False) is None
    assert "NOT encrypted" in (exposure_warning("0.0.0.0", False) or "")
    assert "NOT encrypted" not in (exposure_warning("192.168.1.4", True) or "x")


def test_over_https_the_cookie_is_secure_and_the_origin_is_https(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    with TestClient(build(review_dir, batch, load_profile(), KEY), base_url="https://testserver") as a:
        res = a.post("/api/login", json={"token": token})
        assert "secure" in res.headers["set-cookie"].lower()
        csrf = a.get("/api/state").json()["csrf"]
        body = {"slide": 0, "verdict": "pass", "reasons": [], "comment": ""}
        plain = {"x-csrf-token": csrf, "origin": "http://testserver"}
        assert a.post("/api/verdicts", json=body, headers=plain).status_code == 403
        tls = {"x-csrf-token": csrf, "origin": "https://testserver"}
        assert a.post("/api/verdicts", json=body, headers=tls).status_code == 200


def test_the_server_speaks_korean(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    token = reviewer(review_dir, "<i>Kim</i>")
    with TestClient(build(review_dir, batch, load_profile(), KEY, lang="ko")) as client:
        assert "로그인하는 중…" in client.get("/login").text
        refused = client.get("/")
        assert refused.status_code == 401 and "로그인하십시오" in refused.text
        sign_in(client, token)
        page = client.get("/").text
        assert '<html lang="ko">' in page and "판정 불일치" not in page and "부적합 사유" in page
        assert '<b id="reviewer">&lt;i&gt;Kim&lt;/i&gt;</b>(으)로 로그인함' in page  # the name stays text
        state = client.get("/api/state").json()
        assert state["reasons"][0]["label"] == "클래스 오류"
        assert {c["cls"]: c["name"] for c in state["classes"]}["BCC"] == "기저세포암"


def _island(page: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="dqm-words">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_the_scripts_words_and_the_api_errors_follow_the_servers_language(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    script = (server_app.STATIC / "review.js").read_text("utf-8") + (
        server_app.STATIC / "login.js"
    ).read_text("utf-8")
    used = set(re.findall(r'word\("(\w+)"', script)) | set(re.findall(r"WORDS\.(\w+)", script))
    assert used and used <= set(server_app.SCRIPT_WORDS)  # every word the scripts show is sent translated
    token = reviewer(review_dir, "Kim")
    for lang, no_verdict, no_slide, bad_reason in (
        ("en", "no verdict yet", "no such slide in the sample", "unknown reason 'shoe'"),
        ("ko", "아직 판정 없음", "표본에 그런 슬라이드가 없습니다", "알 수 없는 사유"),
    ):
        with TestClient(build(review_dir, batch, load_profile(), KEY, lang=lang)) as client:
            assert _island(client.get("/login").text)["refused"].endswith("{error}")
            csrf = sign_in(client, token)
            words = _island(client.get("/").text)
            assert words["no_verdict"] == no_verdict
            res = client.get("/api/slides/999")
            assert res.status_code == 404 and res.json() == {"error": no_slide}
            res = client.post(
                "/api/verdicts",
                json={"slide": 0, "verdict": "fail", "reasons": ["shoe"], "comment": ""},
                headers={"x-csrf-token": csrf},
            )
            assert res.status_code == 400 and bad_reason in res.json()["error"]
            assert bool(HANGUL.search(res.json()["error"])) == (lang == "ko")
            assert bool(HANGUL.search(json.dumps(words, ensure_ascii=False))) == (lang == "ko")


def test_a_slide_whose_file_names_hold_an_identifier_is_shown(
    edited_batch: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan names such a slide's files masked; the server opens the batch's own files for it.
    It compared the plan's path with that path masked again (a masked path masks to itself), took
    the masked path and reported the annotation as not read: the reviewer saw no outline."""
    monkeypatch.setenv("DQM_MASK_KEY", KEY.decode())  # the plan masked with the server's key

    renamed: dict[str, str] = {}

    def named(rows: list[dict[str, str]]) -> None:
        ann, image = rows[0]["annotation_path"], rows[0]["image_path"]
        rows[0]["annotation_path"] = renamed[ann] = ann.replace(".json", f"_{RRN}.json")
        rows[0]["image_path"] = renamed[image] = image.replace("slides/", f"slides/{RRN}_")

    batch = edited_batch(named)
    for old, new in renamed.items():
        (batch / old).rename(batch / new)
    with (batch / "manifest.csv").open(newline="") as fh:
        first = next(csv.DictReader(fh))
    out = batch.parent / "review"
    args = ["sample", str(batch), "--out", str(out), "--plan", "precision", "--margin", "0.01"]
    res = runner.invoke(cli_app, args)
    assert res.exit_code == 0, res.output
    assert RRN not in (out / "review_plan.json").read_text(encoding="utf-8")
    with client_for(out, batch) as a:
        sign_in(a, reviewer(out, "Kim"))
        slides = a.get("/api/state").json()["slides"]
        (n,) = [s["n"] for s in slides if s["id"] == first["slide_id"]]
        detail = a.get(f"/api/slides/{n}")
        assert RRN not in detail.text
        body = detail.json()
        assert body["annotation_problem"] is None and body["shapes"], body
        assert body["image"] is not None and body["image_error"] is None
        assert a.get(f"/dz/{n}.dzi").status_code == 200


def test_a_deeply_nested_body_is_a_bad_request_not_a_server_error(fresh: tuple[Path, Path]) -> None:
    """A JSON body of 60,000 nested arrays (under the size limit) made ``json.loads`` raise
    RecursionError: an unauthenticated 500 on /api/login, and on /api/verdicts."""
    client = TestClient(build(fresh[0], fresh[1], load_profile(), KEY), raise_server_exceptions=False)
    deep = {"content-type": "application/json"}
    assert client.post("/api/login", content=b"[" * 60_000, headers=deep).status_code == 400
    assert client.post("/api/login", content=b'{"a":' * 12_000, headers=deep).status_code == 400
    csrf = sign_in(client, reviewer(fresh[0], "ann"))
    got = client.post("/api/verdicts", content=b"[" * 60_000, headers={**deep, "x-csrf-token": csrf})
    assert got.status_code == 400
    assert "bad verdict" in got.json()["error"]


def test_a_huge_body_is_refused_before_it_is_read_whole(fresh: tuple[Path, Path]) -> None:
    """A body over the limit was read into memory whole before it was measured (a 300 MB POST to
    /api/login, which needs no session, held 300 MB); now reading stops past the limit. Driven
    through ASGI: the test client would join the chunks before the server saw them."""
    import asyncio

    app = build(fresh[0], fresh[1], load_profile(), KEY)
    pulled: list[int] = []
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        pulled.append(65_536)
        return {"type": "http.request", "body": b" " * 65_536, "more_body": len(pulled) < 1_000}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/login",
        "raw_path": b"/api/login",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8765),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert sum(pulled) <= server_app.MAX_BODY + 65_536
    client = TestClient(app)
    stated = client.post(
        "/api/login",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(10**9)},
    )
    assert stated.status_code == 413


def test_failed_sign_ins_are_limited_per_client_address(fresh: tuple[Path, Path]) -> None:
    """Sign-in attempts had no limit: a flood of wrong tokens cost a database lookup (and a log
    line) each, for ever. Now each client address may fail SIGN_IN_BURST times in a row, then gets
    429 with Retry-After before its token is looked at, until its bucket fills again (one try per
    SIGN_IN_EVERY seconds); other addresses and signed-in sessions are not held up."""
    from dqm.semantic.server.auth import SIGN_IN_BURST, SIGN_IN_EVERY

    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    application = build(review_dir, batch, load_profile(), KEY)
    now = [1000.0]
    application.state.sign_ins.clock = lambda: now[0]
    with TestClient(application) as client, TestClient(application, client=("10.0.0.9", 4000)) as other:
        same_address = TestClient(application)  # no cookie: its bearer token is all it has
        bearer = {"authorization": f"Bearer {token}x"}
        assert same_address.get("/api/state", headers=bearer).status_code == 401  # a guess counts too
        csrf = sign_in(client, token)
        for _ in range(SIGN_IN_BURST - 1):
            assert client.post("/api/login", json={"token": token + "x"}).status_code == 401
        for attempt in (
            lambda: client.post("/api/login", json={"token": token}),  # even the right token waits
            lambda: same_address.get("/api/state", headers={"authorization": f"Bearer {token}"}),
        ):
            res = attempt()
            assert res.status_code == 429, res.text
            assert res.headers["retry-after"] == str(round(SIGN_IN_EVERY))
            assert "too many failed sign-ins" in res.json()["error"]
        assert client.get("/api/state").json()["reviewer"] == "Kim"  # the session still works
        give(client, csrf, 0, "pass")
        assert other.post("/api/login", json={"token": token}).status_code == 200
        now[0] += SIGN_IN_EVERY
        assert client.post("/api/login", json={"token": token}).status_code == 200


def test_the_sign_in_limit_follows_a_bounded_number_of_addresses() -> None:
    from dqm.semantic.server.auth import SignInLimit

    now = [0.0]
    limit = SignInLimit(burst=2, every=10.0, clients=100, clock=lambda: now[0])
    for i in range(10_000):
        limit.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limit) == 100
    limit.failed("a")
    assert limit.wait("a") == 0
    limit.failed("a")
    assert limit.wait("a") == 10
    now[0] += 4
    assert limit.wait("a") == 6
    now[0] += 6
    assert limit.wait("a") == 0


def test_a_page_rebound_to_this_server_by_its_name_is_refused(fresh: tuple[Path, Path]) -> None:
    """DNS rebinding: a page of evil.example whose name is made to point at 127.0.0.1 reaches the
    server as its own origin (Host: evil.example:8765), so the Origin check passed and its wrong
    sign-ins used up the limit of the reviewers' own address. Served on this machine, the server
    now answers only to names of this machine; behind a proxy (``--behind-proxy``) the proxy
    names the host."""
    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    local = build(review_dir, batch, load_profile(), KEY, host="127.0.0.1")
    with TestClient(local, base_url="http://evil.example:8765") as rebound:
        for _ in range(20):
            res = rebound.post("/api/login", json={"token": token + "x"})
            assert res.status_code == 421, res.text
        assert "another name" in res.json()["error"]
        assert rebound.get("/login").status_code == 421
        assert rebound.get("/static/review.js").status_code == 421
    for base in ("http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765", "http://127.0.0.2"):
        with TestClient(local, base_url=base) as client:
            assert client.post("/api/login", json={"token": token}).status_code == 200, base
    proxied = build(review_dir, batch, load_profile(), KEY, host="127.0.0.1", behind_proxy=True)
    with TestClient(proxied, base_url="https://review.pathology.example") as client:
        assert client.post("/api/login", json={"token": token}).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.10.5", "::"])
def test_a_server_on_the_network_answers_only_its_addresses_and_the_names_it_is_given(
    fresh: tuple[Path, Path], host: str
) -> None:
    """Bound to a network address, the server answered any Host: a page of evil.example whose name
    is pointed at the server's address (DNS rebinding, from a reviewer's browser on the hospital
    network) was its own origin and could sign in with a token it guessed, use up the sign-in
    limit of the reviewers' address, and read what a signed-in reviewer's cookie would show it if
    the cookie were ever sent. Now it answers an IP address, localhost, this machine's name and the
    names given with --allowed-host (any case, a trailing dot), '*' for every name."""
    import socket

    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    app = build(review_dir, batch, load_profile(), KEY, host=host)
    with TestClient(app, base_url="http://evil.example:8765") as rebound:
        res = rebound.post("/api/login", json={"token": token})
        assert res.status_code == 421, res.text
        assert "--allowed-host" in res.json()["error"]
    own = socket.gethostname()
    for base in (
        "http://192.168.10.5:8765",
        "http://[fe80::1]",
        "http://localhost:8765",
        f"http://{own}:8765",
    ):
        with TestClient(app, base_url=base) as client:
            assert client.post("/api/login", json={"token": token}).status_code == 200, base
    named = build(
        review_dir, batch, load_profile(), KEY, host=host, allowed_hosts=["Review.Pathology.Example."]
    )
    with TestClient(named, base_url="https://review.pathology.example:8443") as client:
        assert client.post("/api/login", json={"token": token}).status_code == 200
    with TestClient(named, base_url="http://evil.example") as rebound:
        assert rebound.get("/login").status_code == 421
    anyone = build(review_dir, batch, load_profile(), KEY, host=host, allowed_hosts=["*"])
    with TestClient(anyone, base_url="http://evil.example") as client:
        assert client.get("/login").status_code == 200
    proxied = build(
        review_dir,
        batch,
        load_profile(),
        KEY,
        host="127.0.0.1",
        behind_proxy=True,
        allowed_hosts=["review.example"],
    )
    with TestClient(proxied, base_url="https://evil.example") as rebound:
        assert rebound.get("/login").status_code == 421
    for wrong in ("review.example:8443", "http://review.example", "-review"):
        with pytest.raises(CommandError, match="not a host name"):
            build(review_dir, batch, load_profile(), KEY, host=host, allowed_hosts=[wrong])


def test_serve_refuses_an_allowed_host_that_is_not_a_name(fresh: tuple[Path, Path]) -> None:
    review_dir, batch = fresh
    res = runner.invoke(
        cli_app, ["review", "serve", str(review_dir), "--batch", str(batch), "--allowed-host", "x.example:80"]
    )
    assert res.exit_code == 2, res.output
    assert "is not a host name" in res.output


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_the_sign_in_limit_believes_a_forwarded_address_only_behind_a_proxy(
    fresh: tuple[Path, Path], behind_proxy: bool
) -> None:
    """uvicorn believed X-Forwarded-For from 127.0.0.1, the address of every client of a server
    on this machine: a client that named a new address in each request was never limited
    (SIGN_IN_BURST + 5 wrong tokens, all 401). Now the header counts only with --behind-proxy."""
    import http.client

    from dqm.semantic.server.auth import SIGN_IN_BURST
    from dqm.semantic.server.commands import server_options

    review_dir, batch = fresh
    token = reviewer(review_dir, "Kim")
    app = build(review_dir, batch, load_profile(), KEY, host="127.0.0.1", behind_proxy=behind_proxy)
    port = free_port()
    options = server_options("127.0.0.1", port, None, None, behind_proxy)
    with uvicorn_running(app, **options):  # (options hold the port)
        statuses = []
        for i in range(SIGN_IN_BURST + 5):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            body = json.dumps({"token": token + "x"})
            headers = {"content-type": "application/json", "x-forwarded-for": f"10.9.{i}.1"}
            conn.request("POST", "/api/login", body=body, headers=headers)
            statuses.append(conn.getresponse().status)
            conn.close()
    if behind_proxy:  # the proxy's word: each forwarded address has its own bucket
        assert statuses == [401] * (SIGN_IN_BURST + 5)
    else:
        assert statuses == [401] * SIGN_IN_BURST + [429] * 5


def test_a_slides_record_shows_the_declared_fields_only(
    edited_batch: Callable[..., Path], tmp_path: Path
) -> None:
    """The slide's detail served every manifest column but the path columns, by name: a column the
    profile does not declare (named by its position everywhere else, for its name may be a person's
    that no pattern masks) and ``patient_id`` (which results.json and the review sheet leave out)
    reached the reviewer's browser. Now it shows the profile's clinical fields but the identifying
    ones, as the sheet does."""
    column = "Kim Minsoo 김민수 notes"

    def extra(rows: list[dict[str, str]]) -> None:
        for k, row in enumerate(rows):
            row[column] = "seen"
            row["patient_id"] = f"P{k:05d}"

    batch = edited_batch(extra)
    out = tmp_path / "review"
    res = runner.invoke(
        cli_app, ["sample", str(batch), "--out", str(out), "--plan", "precision", "--margin", "0.01"]
    )
    assert res.exit_code == 0, res.output
    with client_for(out, batch) as a:
        sign_in(a, reviewer(out, "Kim"))
        count = len(a.get("/api/state").json()["slides"])
        records = [a.get(f"/api/slides/{n}").json()["record"] for n in range(count)]
    shown = {field for record in records for field, _ in record}
    assert "Minsoo" not in json.dumps(records, ensure_ascii=False)  # before: the column, by name
    assert "patient_id" not in shown  # before: shown
    assert {"institution", "diagnosis"} <= shown <= set(load_profile().clinical)


def test_a_row_that_cannot_be_read_is_said_by_export_and_the_page(
    fresh: tuple[Path, Path], tmp_path: Path
) -> None:
    """A badly typed row (another program's) was left out of ``dqm review export`` and of the
    reviewer's page without a word: only ``dqm review ingest`` of the database said so."""
    import sqlite3

    review_dir, batch = fresh
    kim = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as a:
        give(a, sign_in(a, kim), 0, "pass")
    con = sqlite3.connect(review_dir / DB_NAME)
    (rid,) = con.execute("SELECT id FROM reviewers").fetchone()
    con.execute(
        "INSERT INTO verdict_log (reviewer_id, slide_id, verdict, reasons, comment, created_at) "
        "VALUES (?, X'ff', 'fail', '', '', 'b')",
        (rid,),
    )
    con.commit()
    con.close()
    export = tmp_path / "verdicts.json"
    res = runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(export)])
    assert res.exit_code == 0 and "1 verdicts" in res.output
    said = "".join(res.output.split())
    assert "warning:" in said and "slide_idisBLOB" in said
    with client_for(review_dir, batch) as a:
        sign_in(a, kim)
        state = a.get("/api/state").json()
        assert len(state["verdicts"]) == 1
        assert ["slide_id is BLOB" in why for why in state["unreadable"]] == [True]
        assert a.get("/api/slides/0").json()["unreadable"] == state["unreadable"]


def test_a_row_that_cannot_be_read_is_said_masked_by_export(fresh: tuple[Path, Path], tmp_path: Path) -> None:
    """The warning for a row ``dqm review export`` leaves out quotes its ``reviewer_id``: on the
    console, as in the file, an identifier there is masked (a guard: the console masks too)."""
    import sqlite3

    review_dir, batch = fresh
    kim = reviewer(review_dir, "Kim")
    with client_for(review_dir, batch) as a:
        give(a, sign_in(a, kim), 0, "pass")
    con = sqlite3.connect(review_dir / DB_NAME)
    con.execute(
        "INSERT INTO verdict_log (reviewer_id, slide_id, verdict, reasons, comment, created_at) "
        "VALUES (?, 'S9', 'fail', '', '', 'b')",
        (f"RRN {RRN}",),
    )
    con.commit()
    con.close()
    res = runner.invoke(cli_app, ["review", "export", str(review_dir), "--out", str(tmp_path / "v.json")])
    assert res.exit_code == 0 and "1 verdicts" in res.output
    said = "".join(res.output.split())
    assert "warning:" in said and "namesnoreviewer" in said
    assert RRN not in said and RRN.replace("-", "") not in said


def test_export_masks_the_slide_a_row_it_cannot_read_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row whose id is not an integer (another program's table) is named with its slide: an
    identifier in the slide reached stderr in clear while the file said it masked."""
    import sqlite3

    from dqm.identifiers import Masker
    from dqm.semantic.server import commands

    path = tmp_path / DB_NAME
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    meta = [("format", "dqm.review_db/1"), ("schema", "1"), ("plan_id", "plan-1"), ("secret", "a" * 64)]
    con.executemany("INSERT INTO meta VALUES (?, ?)", meta)
    con.execute("CREATE TABLE reviewers (id, name, token_sha256, adjudicator, created_at)")
    con.execute("INSERT INTO reviewers VALUES (1, 'r1', 'h', 0, 'now')")
    con.execute("CREATE TABLE verdict_log (id, reviewer_id, slide_id, verdict, reasons, comment, created_at)")
    con.execute(f"INSERT INTO verdict_log VALUES (1, 1, 'RRN {RRN}', 'pass', '', '', 'a')")
    con.execute(f"INSERT INTO verdict_log VALUES ('x', 1, 'RRN {RRN}', 'fail', '', '', 'c')")
    con.execute("CREATE TABLE not_reviewable (slide_id, reason, created_at)")
    con.commit()
    con.close()
    monkeypatch.setattr(commands, "database", lambda _: ReviewDB(path, "plan-1"))
    masker = Masker(load_profile().deid, KEY)
    said: list[str] = []
    out = tmp_path / "v.json"
    assert commands.export(tmp_path, out, masker, said.append) == 1
    (why,) = said
    assert "the id is not an integer" in why and "'x'" in why
    assert RRN not in why and RRN not in out.read_text(encoding="utf-8")
