"""Signing in and out of the pages: cookies, CSRF, the rate limit, security headers, not-found pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from world import PASSWORD, World, form_token, give_password, sign_in


def test_pages_need_a_session_and_come_back_after_sign_in(client: TestClient, world: World) -> None:
    response = client.get("/?since=2024", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2F%3Fsince%3D2024"
    give_password(world, "bank.analyst")
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and 'name="next" value="/?since=2024"' in page.text
    response = client.post(
        "/sign-in",
        data={
            "email": world.members["bank.analyst"].email.upper(),
            "password": PASSWORD,
            "csrf_token": form_token(page.text),
            "next": "/?since=2024",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/?since=2024"
    cookie = response.headers["set-cookie"]
    assert "cs_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure
    home = client.get("/")
    assert home.status_code == 200 and "bank.analyst" in home.text and "Rheinbank AG" in home.text


def test_sign_in_refuses_wrong_passwords_alike_and_never_redirects_off_site(
    client: TestClient, world: World
) -> None:
    give_password(world, "ngo.reader")
    page = client.get("/sign-in")
    token = form_token(page.text)
    for email, password in (
        (world.members["ngo.reader"].email, "wrong"),
        ("nobody@nowhere.example", PASSWORD),
    ):
        response = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})
        assert response.status_code == 401 and "Wrong e-mail or password." in response.text
        assert "cs_session" not in response.headers.get("set-cookie", "")
        token = form_token(response.text)  # each form gets a fresh token
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/sign-in",
            data={
                "email": world.members["ngo.reader"].email,
                "password": PASSWORD,
                "csrf_token": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/", target
        client.cookies.clear()
        token = form_token(client.get("/sign-in").text)


def test_sign_in_form_needs_its_csrf_token(client: TestClient, world: World) -> None:
    give_password(world, "ngo.reader")
    client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": world.members["ngo.reader"].email, "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403
    assert "cs_session" not in response.headers.get("set-cookie", "")


def test_failed_sign_ins_are_rate_limited(client: TestClient, world: World) -> None:
    give_password(world, "ngo.reader")
    email = world.members["ngo.reader"].email
    token = form_token(client.get("/sign-in").text)
    for _ in range(5):
        response = client.post("/sign-in", data={"email": email, "password": "guess", "csrf_token": token})
        assert response.status_code == 401
        token = form_token(response.text)
    # Even the right password is refused while the limit holds.
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in response.text


def test_forms_need_the_session_csrf_token(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "bank.analyst")
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    response = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signed_out_cookie_no_longer_works(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "bank.analyst")
    stolen = client.cookies["cs_session"]
    client.post("/sign-out", data={"csrf_token": token})
    client.cookies.clear()
    client.cookies.set("cs_session", stolen)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_tampered_cookie_is_refused(client: TestClient, world: World) -> None:
    sign_in(client, world, "bank.analyst")
    value = client.cookies["cs_session"]
    token, _, signature = value.rpartition(".")
    client.cookies.clear()
    client.cookies.set("cs_session", token[:-1] + ("A" if token[-1] != "A" else "B") + "." + signature)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_disabling_a_member_ends_their_sessions(client: TestClient, world: World) -> None:
    from commonspace.accounts import service as accounts

    sign_in(client, world, "bank.analyst")
    with world.session() as session:
        member = accounts.visible_member(session, None, world.members["bank.analyst"].uuid)
        accounts.update_member(session, None, member, disabled=True)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_pages_carry_a_strict_content_security_policy(client: TestClient, world: World) -> None:
    sign_in(client, world, "bank.analyst")
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text and " style=" not in response.text
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_unknown_page_is_an_html_not_found(client: TestClient, world: World) -> None:
    sign_in(client, world, "bank.analyst")
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert "Not found" in response.text
    # The API keeps answering in JSON.
    assert client.get("/api/v1/no/such/thing").json()["error"]["code"] == "not_found"


def test_not_found_pages_are_identical_whatever_the_path(client: TestClient, world: World) -> None:
    sign_in(client, world, "bank.analyst")
    pages = [client.get(path) for path in ("/no/such/page", "/reports/not-a-uuid", f"/forum/{'0' * 32}")]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1 and "Sign out" in pages[0].text
