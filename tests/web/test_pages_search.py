"""The indicator search page: many pasted values, hits grouped under the value that found them."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from world import World, add_indicators, new_report, sign_in

GROUP = re.compile(
    r'<section class="search-group"[^>]*>\s*<h3 id="value-\d+"><code>([^<]*)</code>(.*?)</section>', re.S
)


def groups(html: str) -> dict[str, set[str]]:
    """Each value with hits, and the canonical values of its hits (what the copy buttons copy)."""
    return {
        unescape(value): {unescape(raw) for raw in re.findall(r'data-copy="([^"]*)"', body)}
        for value, body in GROUP.findall(html)
    }


def listed(html: str, list_id: str) -> list[str]:
    """The values of the list ``no-hits`` or ``not-indicators``."""
    found = re.search(rf'<ul id="{list_id}">(.*?)</ul>', html, re.S)
    return [unescape(v) for v in re.findall(r"<li><code>([^<]*)</code>", found.group(1))] if found else []


def search(client: TestClient, token: str, values: str, type_: str = "") -> str:
    response = client.post("/search", data={"values": values, "type": type_, "csrf_token": token})
    assert response.status_code == 200, response.text
    return response.text


def test_hits_are_grouped_under_the_values_searched(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Infrastructure")
    add_indicators(
        client,
        world,
        "ministry.publisher",
        report["uuid"],
        "203.0.113.0/24",
        "login.evil.example",
        "hxxps://cdn.evil[.]example/kit.zip",
        "d41d8cd98f00b204e9800998ecf8427e",
        "other.example",
    )
    token = sign_in(client, world, "bank.analyst")
    page = search(
        client,
        token,
        "203.0.113.7\nevil[.]example, 198.51.100.1  D41D8CD98F00B204E9800998ECF8427E\n"
        "not-a-value hxxp://login.evil[.]example/a,b\n203.0.113.7",
    )
    assert groups(page) == {
        "203.0.113.7": {"203.0.113.0/24"},  # the network containing the address
        "evil[.]example": {"login.evil.example", "https://cdn.evil.example/kit.zip"},  # under the domain
        "D41D8CD98F00B204E9800998ECF8427E": {"d41d8cd98f00b204e9800998ecf8427e"},
    }
    assert listed(page, "no-hits") == ["198.51.100.1", "hxxp://login.evil[.]example/a,b"]  # kept whole
    assert listed(page, "not-indicators") == ["not-a-value"]
    assert "6 values searched:" in page and "3 with hits, 2 without, 1 not indicators" in page
    assert "a network containing it" in page and "under this domain" in page
    # Values are shown defanged, with the report they come from.
    assert ">203[.]0[.]113[.]0/24</code>" in page and ">hxxps://cdn[.]evil[.]example/kit.zip</code>" in page
    assert f'<a href="/reports/{report["uuid"]}">Infrastructure</a>' in page
    assert 'class="tlp tlp-amber"' in page and "Ministry of Digital Affairs" in page
    assert 'data-defang-toggle="#search-results"' in page
    # The form keeps what was pasted.
    assert "203.0.113.7\nevil[.]example, 198.51.100.1" in page


def test_a_type_filter_and_file_names(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ngo.publisher", publish=True, title="Dropper")
    add_indicators(
        client,
        world,
        "ngo.publisher",
        report["uuid"],
        {"type": "filename", "value": "invoice.pdf.exe"},
        {"type": "filename", "value": "report final, v2.doc"},
        "dropper.example",
    )
    token = sign_in(client, world, "bank.analyst")
    # File names: one a line, refanged as they are stored.
    page = search(client, token, "invoice[.]pdf.exe\nreport final, v2.doc\nnothing here.txt", "filename")
    assert groups(page) == {
        "invoice[.]pdf.exe": {"invoice.pdf.exe"},
        "report final, v2.doc": {"report final, v2.doc"},
    }
    assert listed(page, "no-hits") == ["nothing here.txt"] and listed(page, "not-indicators") == []
    assert '<option value="filename" selected>' in page
    page = search(client, token, "dropper.example", "url")
    assert groups(page) == {} and listed(page, "no-hits") == ["dropper.example"]
    page = search(client, token, "dropper.example", "domain")
    assert groups(page) == {"dropper.example": {"dropper.example"}}


def test_search_finds_only_what_the_policy_shows(client: TestClient, world: World) -> None:
    draft = new_report(client, world, "ministry.publisher", title="Not yet")
    add_indicators(client, world, "ministry.publisher", draft["uuid"], "draft.example")
    public = new_report(client, world, "ministry.publisher", publish=True, title="Public")
    add_indicators(
        client,
        world,
        "ministry.publisher",
        public["uuid"],
        "public.example",
        {"value": "kept.example", "distribution": "organisation"},
    )
    values = "draft.example public.example kept.example"
    token = sign_in(client, world, "bank.analyst")
    page = search(client, token, values)
    assert groups(page) == {"public.example": {"public.example"}}
    assert listed(page, "no-hits") == ["draft.example", "kept.example"]
    assert "Not yet" not in page

    client.cookies.clear()
    token = sign_in(client, world, "ministry.reader")
    assert set(groups(search(client, token, values))) == {"draft.example", "public.example", "kept.example"}


def test_too_many_values_are_refused_with_a_message(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "bank.analyst")
    values = "\n".join(f"10.0.{n // 256}.{n % 256}" for n in range(1001))
    response = client.post("/search", data={"values": values, "csrf_token": token})
    assert response.status_code == 422
    assert "A search takes at most 1,000 values and this list has 1,001." in response.text
    assert 'aria-invalid="true"' in response.text and 'id="search-results"' not in response.text
    # 1,000 are fine (duplicates count once).
    response = client.post(
        "/search", data={"values": values.rsplit("\n", 1)[0] + "\n10.0.0.0", "csrf_token": token}
    )
    assert response.status_code == 200 and "1,000 values searched" in response.text
    response = client.post("/search", data={"values": "  ", "csrf_token": token})
    assert response.status_code == 422 and "Give at least one value" in response.text


def test_search_page_and_its_csrf_token(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ngo.publisher", publish=True, title="Linked")
    add_indicators(client, world, "ngo.publisher", report["uuid"], "linked.example")
    token = sign_in(client, world, "bank.analyst")
    page = client.get("/search")
    assert page.status_code == 200 and 'aria-current="page">Search' in page.text
    assert '<label for="s-values">' in page.text and 'id="search-results"' not in page.text
    assert f'name="csrf_token" value="{token}"' in page.text
    # A link can carry a search.
    assert groups(client.get("/search?q=linked[.]example").text) == {"linked[.]example": {"linked.example"}}
    for data in ({"values": "linked.example"}, {"values": "linked.example", "csrf_token": "forged"}):
        response = client.post("/search", data=data)
        assert response.status_code == 403
    client.cookies.clear()
    response = client.get("/search", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
