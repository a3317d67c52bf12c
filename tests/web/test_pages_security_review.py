"""Regression tests from a security review of the pages: each one failed before its fix."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from commonspace.accounts import passwords
from commonspace.accounts import service as accounts
from commonspace.web.app import create_app
from commonspace.web.ratelimit import SignInLimiter
from world import API, PASSWORD, World, form_token, give_password, new_report, sign_in


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# --- tokens and cookies that are not ASCII are refused, not a server error ------------------------------


def test_a_csrf_token_that_is_not_ascii_is_refused_like_any_wrong_token(
    client: TestClient, world: World
) -> None:
    sign_in(client, world, "bank.analyst")
    assert client.post("/sign-out", data={"csrf_token": "jeton-\u00e9"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_a_sign_in_csrf_token_that_is_not_ascii_is_refused(client: TestClient, world: World) -> None:
    give_password(world, "ngo.reader")
    client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": world.members["ngo.reader"].email, "password": PASSWORD, "csrf_token": "\u00e9"},
    )
    assert response.status_code == 403
    assert "cs_session" not in response.headers.get("set-cookie", "")


def test_a_session_cookie_that_is_not_ascii_means_signed_out(engine: Engine, world: World) -> None:
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        cookie = "cs_session=token.signature-\u00e9".encode("latin-1")
        response = client.get("/reports", headers={"cookie": cookie}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=%2Freports"


# --- cursors out of range are invalid, not a server error ---------------------------------------------------

HUGE = 10**30


def test_cursors_beyond_any_id_are_refused_as_invalid(engine: Engine, world: World) -> None:
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        report = new_report(client, world, "bank.publisher", publish=True, title="Paged")
        sign_in(client, world, "bank.admin")
        id_cursor = _cursor(f"id:{HUGE}")
        for path in (
            f"/reports/{report['uuid']}?cursor={id_cursor}",
            f"/reports/{report['uuid']}?posts_after={id_cursor}",
            f"/forum?cursor={_cursor(f'topic:0:{HUGE}')}",
            f"/admin/audit?cursor={_cursor(f'2024-01-01T00:00:00+00:00|{HUGE}')}",
        ):
            response = client.get(path)
            assert response.status_code == 422, path
            assert "the cursor is not one this server gave out" in response.text
        path = f"{API}/reports/{report['uuid']}/indicators?cursor={id_cursor}"
        response = client.get(path, headers=world.headers("bank.admin"))
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"


# --- disabling a member, or giving them a new password, ends their sessions for good -------------------


@pytest.mark.parametrize("change", ["disable", "password"])
def test_a_session_does_not_survive_disabling_or_a_new_password(
    client: TestClient, world: World, change: str
) -> None:
    sign_in(client, world, "bank.analyst")
    assert client.get("/", follow_redirects=False).status_code == 200
    with world.session() as session:
        member = accounts.visible_member(session, None, world.members["bank.analyst"].uuid)
        if change == "disable":
            accounts.update_member(session, None, member, disabled=True)
            accounts.update_member(session, None, member, disabled=False)  # enabled again at once
        else:
            accounts.update_member(session, None, member, password="a brand new pass phrase")
    # A stolen copy of the cookie must not work again once the member is back or has a new password.
    assert client.get("/", follow_redirects=False).status_code == 303


# --- the sign-in limit ------------------------------------------------------------------------------------


def test_concurrent_sign_ins_cannot_pass_the_limit_together(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    give_password(world, "ngo.reader")
    verify = passwords.verify_password

    def slow_verify(stored: str | None, password: str) -> bool:
        time.sleep(0.3)  # a slow hash: every guess is checked before any failure is counted
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    app = create_app(engine)
    email = world.members["ngo.reader"].email
    guesses = 15
    ready = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(i: int) -> None:
        client = TestClient(app)
        token = form_token(client.get("/sign-in").text)
        ready.wait()
        data = {"email": email, "password": f"guess {i}", "csrf_token": token}
        statuses.append(client.post("/sign-in", data=data).status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * (guesses - 5)


def test_a_successful_sign_in_counts_nothing_against_its_client() -> None:
    limiter = SignInLimiter(per_email=5, per_client=3, window=60, clock=lambda: 1000.0)
    for i in range(10):
        assert limiter.attempt(f"user{i}@x.example", "10.0.0.1") == 0
        limiter.succeeded(f"user{i}@x.example", "10.0.0.1")
    assert limiter.attempt("another@x.example", "10.0.0.1") == 0


def test_the_limiter_keeps_nothing_for_addresses_that_never_failed() -> None:
    now = [1000.0]
    limiter = SignInLimiter(per_email=5, per_client=10**9, window=60, clock=lambda: now[0])
    for i in range(5000):
        limiter.retry_after(f"probe{i}@x.example", "10.0.0.1")
    for i in range(5000):
        limiter.failed(f"gone{i}@x.example", "10.0.0.2")
    now[0] += 61  # the failures are all out of the window: nothing is worth keeping any more
    for i in range(5000):
        limiter.retry_after(f"other{i}@x.example", "10.0.0.3")
    stored: dict[str, Any] = limiter._failures
    assert len(stored) < 2000


# --- pages are not stored ---------------------------------------------------------------------------------


def test_pages_are_not_kept_by_the_browser_or_a_cache(client: TestClient, world: World) -> None:
    report = new_report(
        client, world, "ministry.publisher", title="Red matter", tlp="RED", distribution="organisation"
    )
    sign_in(client, world, "ministry.reader")
    for response in (
        client.get("/"),
        client.get(f"/reports/{report['uuid']}"),
        client.get("/reports", headers={"HX-Request": "true", "HX-Target": "results"}),
        client.get("/no/such/page"),
    ):
        assert response.headers["cache-control"] == "no-store", response.url


# --- guards: cookies at sign-in, sign-out only by POST ---------------------------------------------------


def test_sign_in_over_tls_issues_a_fresh_secure_session_and_clears_the_form_cookie(
    engine: Engine, world: World
) -> None:
    give_password(world, "ngo.reader")
    sessions = []
    with TestClient(create_app(engine), base_url="https://testserver") as client:
        for _ in range(2):
            page = client.get("/sign-in")
            form_cookie = page.headers["set-cookie"]
            assert "cs_signin=" in form_cookie and "HttpOnly" in form_cookie and "Secure" in form_cookie
            assert "SameSite=strict" in form_cookie
            data = {"email": world.members["ngo.reader"].email, "password": PASSWORD}
            response = client.post(
                "/sign-in", data={**data, "csrf_token": form_token(page.text)}, follow_redirects=False
            )
            cookies = response.headers.get_list("set-cookie")
            (session_cookie,) = [c for c in cookies if c.startswith("cs_session=")]
            assert all(flag in session_cookie for flag in ("HttpOnly", "Secure", "SameSite=lax"))
            assert any(c.startswith('cs_signin=""') and "Max-Age=0" in c for c in cookies)
            sessions.append(client.cookies["cs_session"])
            client.cookies.clear()
    assert sessions[0] != sessions[1]


def test_sign_out_is_never_a_get(client: TestClient, world: World) -> None:
    sign_in(client, world, "bank.analyst")
    assert client.get("/sign-out", follow_redirects=False).status_code == 405
    assert client.get("/", follow_redirects=False).status_code == 200


def test_readers_get_no_editor_previews(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "bank.reader")
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    assert (
        client.post("/reports/indicators/preview", data={"paste": "1.2.3.4"}, headers=headers).status_code
        == 403
    )
    assert (
        client.post("/reports/preview-summary", data={"summary": "*x*"}, headers=headers).status_code == 403
    )
