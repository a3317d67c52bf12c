"""The report pages: the list (filters, sorting, pages), one report, publishing and deleting from a page."""

from __future__ import annotations

import re
import uuid as uuid_module
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from world import API, GROUP, World, add_indicators, new_report, sign_in

REPORT_LINK = re.compile(r'<a href="/reports/[0-9a-f-]{36}">([^<]*)</a>')


def titles(html: str) -> list[str]:
    """The titles of the reports listed, in order."""
    return [unescape(title) for title in REPORT_LINK.findall(html)]


def switch_to(client: TestClient, world: World, label: str) -> str:
    client.cookies.clear()
    return sign_in(client, world, label)


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, to look for anything active."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def values_shown(html: str) -> list[tuple[str, str, str]]:
    """(text shown, data-raw, data-defanged) of every indicator value on the page."""
    found = re.findall(r'<code class="value" data-raw="([^"]*)" data-defanged="([^"]*)">([^<]*)</code>', html)
    return [(unescape(shown), unescape(raw), unescape(defanged)) for raw, defanged, shown in found]


# --- the list --------------------------------------------------------------------------------------


def test_filters_narrow_the_list(client: TestClient, world: World) -> None:
    new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="Phishing at banks",
        category="fraud/phishing",
        victim_countries=["DE"],
        victim_sectors=["Banking"],
        tlp="GREEN",
    )
    new_report(
        client,
        world,
        "bank.publisher",
        publish=True,
        title="DDoS on telcos",
        category="availability/ddos",
        victim_countries=["FR"],
        victim_sectors=["telecommunications"],
    )
    new_report(
        client,
        world,
        "ngo.publisher",
        publish=True,
        title="Command servers",
        category="malicious-code/c2-server",
        summary="The botnet phoned home.",
    )
    sign_in(client, world, "bank.analyst")
    page = client.get("/reports")
    assert page.status_code == 200 and 'aria-current="page">Reports' in page.text
    assert sorted(titles(page.text)) == ["Command servers", "DDoS on telcos", "Phishing at banks"]
    today = datetime.now(UTC).date()
    cases = {
        "category=fraud/phishing": ["Phishing at banks"],
        "category=fraud": ["Phishing at banks"],  # a whole class
        "country=fr": ["DDoS on telcos"],
        "sector=BANKING": ["Phishing at banks"],
        "tlp=GREEN": ["Phishing at banks"],
        f"organisation={world.orgs['ngo'].uuid}": ["Command servers"],
        "q=BOTNET": ["Command servers"],  # the summary is searched too
        "q=telcos&country=DE": [],
        f"from={today + timedelta(days=1)}": [],
        f"to={today - timedelta(days=1)}": [],
        f"from={today}&to={today}&category=availability": ["DDoS on telcos"],
    }
    for params, expected in cases.items():
        page = client.get(f"/reports?{params}")
        assert page.status_code == 200, params
        assert sorted(titles(page.text)) == expected, params
        assert "match these filters" in page.text or "matches these filters" in page.text, params
    # The form shows the filters back.
    page = client.get("/reports?category=fraud/phishing&tlp=GREEN&q=banks")
    assert '<option value="fraud/phishing" selected>' in page.text
    assert '<option value="GREEN" selected>' in page.text and 'name="q" value="banks"' in page.text
    # A filter that makes no sense is explained and left out, not an error page.
    page = client.get("/reports?country=XX&from=yesterday&tlp=PURPLE")
    assert page.status_code == 200 and len(titles(page.text)) == 3
    assert "not an ISO 3166-1 country" in page.text and "is not a date" in page.text
    assert "is not a TLP marking" in page.text and 'aria-invalid="true"' in page.text


def test_sorting(client: TestClient, world: World) -> None:
    created = [
        new_report(client, world, "ministry.publisher", title=title)
        for title in ("Bravo", "alpha", "Charlie", "delta")
    ]
    by_title = {r["title"]: r for r in created}
    for title in ("alpha", "Charlie", "Bravo"):  # delta stays a draft
        response = client.post(
            f"{API}/reports/{by_title[title]['uuid']}/publish", headers=world.headers("ministry.publisher")
        )
        assert response.status_code == 200
    response = client.patch(
        f"{API}/reports/{by_title['Bravo']['uuid']}",
        json={"summary": "changed"},
        headers=world.headers("ministry.publisher"),
    )
    assert response.status_code == 200
    sign_in(client, world, "ministry.reader")
    expected = {
        "newest": ["delta", "Charlie", "alpha", "Bravo"],
        "oldest": ["Bravo", "alpha", "Charlie", "delta"],
        "title": ["alpha", "Bravo", "Charlie", "delta"],  # without regard to case
        "published": ["Bravo", "Charlie", "alpha", "delta"],  # drafts last
    }
    for sort, order in expected.items():
        assert titles(client.get(f"/reports?sort={sort}").text) == order, sort
    assert titles(client.get("/reports?sort=modified").text)[0] == "Bravo"
    assert titles(client.get("/reports?sort=nonsense").text) == expected["newest"]
    page = client.get("/reports?sort=title")
    assert '<option value="title" selected>' in page.text


def test_pagination_counts_every_visible_report(client: TestClient, world: World) -> None:
    for n in range(7):
        new_report(client, world, "ngo.publisher", publish=True, title=f"Report {n}")
    new_report(client, world, "ngo.publisher", title="NGO draft")  # not the bank's to see
    sign_in(client, world, "bank.analyst")
    first = client.get("/reports?per_page=3&sort=oldest")
    assert "7 reports" in first.text and "page 1 of 3" in first.text
    assert titles(first.text) == ["Report 0", "Report 1", "Report 2"]
    assert 'href="/reports?per_page=3&amp;sort=oldest&amp;page=2"' in first.text
    assert 'aria-label="Page 3"' in first.text and 'rel="next"' in first.text
    seen = titles(first.text)
    for number in (2, 3):
        page = client.get(f"/reports?per_page=3&sort=oldest&page={number}")
        assert f"page {number} of 3" in page.text
        seen += titles(page.text)
    assert seen == [f"Report {n}" for n in range(7)]
    # Past the end is the last page; nonsense is the first.
    assert titles(client.get("/reports?per_page=3&sort=oldest&page=99").text) == ["Report 6"]
    assert titles(client.get("/reports?per_page=3&sort=oldest&page=x").text) == seen[:3]
    assert "No reports match these filters." in client.get("/reports?q=nothing-like-this").text


def test_htmx_gets_the_results_alone(client: TestClient, world: World) -> None:
    new_report(client, world, "ngo.publisher", publish=True, title="Only one")
    sign_in(client, world, "bank.analyst")
    page = client.get("/reports")
    assert 'hx-get="/reports" hx-target="#results" hx-push-url="true"' in page.text
    assert '<section id="results"' in page.text
    headers = {"HX-Request": "true", "HX-Target": "results"}
    partial = client.get("/reports?q=only", headers=headers)
    assert partial.status_code == 200 and titles(partial.text) == ["Only one"]
    assert (
        "<html" not in partial.text and "<form" not in partial.text and 'class="result-count"' in partial.text
    )
    assert "HX-Request" in partial.headers["vary"]
    # Going back in history asks for the whole page.
    restore = client.get("/reports?q=only", headers={**headers, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text and "<form" in restore.text


def test_drafts_are_marked_for_their_organisation_and_invisible_to_others(
    client: TestClient, world: World
) -> None:
    draft = new_report(client, world, "ministry.publisher", title="Unfinished business")
    new_report(client, world, "ministry.publisher", publish=True, title="Out there")
    sign_in(client, world, "ministry.reader")
    page = client.get("/reports")
    assert sorted(titles(page.text)) == ["Out there", "Unfinished business"]
    row = page.text[page.text.index("Unfinished business") :].split("</tr>")[0]
    assert '<small class="draft-mark">draft</small>' in row
    assert titles(client.get("/reports?status=draft").text) == ["Unfinished business"]
    assert titles(client.get("/reports?status=published").text) == ["Out there"]
    assert "Draft: only Ministry of Digital Affairs sees it" in client.get(f"/reports/{draft['uuid']}").text

    switch_to(client, world, "bank.analyst")
    assert titles(client.get("/reports").text) == ["Out there"]
    assert titles(client.get("/reports?status=draft").text) == []
    hidden = client.get(f"/reports/{draft['uuid']}")
    missing = client.get(f"/reports/{uuid_module.uuid4()}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text and "Not found" in hidden.text


# --- one report ------------------------------------------------------------------------------------


def test_a_sharing_group_report_is_not_found_by_outsiders(client: TestClient, world: World) -> None:
    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="Bilateral matter",
        tlp="RED",
        distribution="sharing-group",
        sharing_group=GROUP,
    )
    sign_in(client, world, "ngo.analyst")
    hidden = client.get(f"/reports/{report['uuid']}")
    missing = client.get(f"/reports/{uuid_module.uuid4()}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text
    assert "Bilateral matter" not in hidden.text and GROUP not in hidden.text
    assert client.get("/reports/not-a-uuid").status_code == 404
    assert "Bilateral matter" not in client.get("/reports").text

    switch_to(client, world, "bank.analyst")
    page = client.get(f"/reports/{report['uuid']}")
    assert page.status_code == 200
    assert '<p class="tlp-banner tlp-red">' in page.text
    shared = page.text[page.text.index('id="shared-heading"') : page.text.index('id="indicators"')]
    assert f"The sharing group <strong>{GROUP}</strong>, whose member organisations are:" in shared
    assert "Ministry of Digital Affairs" in shared and "Rheinbank AG" in shared
    # A member of the group sees no Edit, Publish or Delete.
    assert f"/reports/{report['uuid']}/edit" not in page.text and "/delete" not in page.text


def test_the_group_is_only_named_to_who_may_not_see_it(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/sharing-groups",
        json={"name": "bank-circle", "members": [world.orgs["ministry"].uuid]},
        headers=world.headers("bank.publisher"),
    )
    assert response.status_code == 201
    group = response.json()
    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="In the circle",
        distribution="sharing-group",
        sharing_group="bank-circle",
    )
    response = client.delete(
        f"{API}/sharing-groups/{group['uuid']}/members/{world.orgs['ministry'].uuid}",
        headers=world.headers("bank.publisher"),
    )
    assert response.status_code == 200
    sign_in(client, world, "ministry.reader")  # its own report, in a group it has left
    page = client.get(f"/reports/{report['uuid']}")
    shared = page.text[page.text.index('id="shared-heading"') : page.text.index('id="indicators"')]
    assert "The sharing group <strong>bank-circle</strong>." in shared
    assert "Rheinbank AG" not in shared and "member organisations" not in shared


def test_report_page_shows_the_report(client: TestClient, world: World) -> None:
    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        title="Fake invoices",
        category="fraud/phishing",
        threat_level="high",
        victim_countries=["DE", "KE"],
        victim_sectors=["banking"],
        loss={"amount": "12345.5", "currency": "EUR"},
        tags=["campaign:invoice"],
        summary="Some **bold** words.",
    )
    sign_in(client, world, "ngo.reader")
    page = client.get(f"/reports/{report['uuid']}")
    assert page.status_code == 200
    text = page.text
    assert text.index('class="tlp-banner tlp-amber"') < text.index("<h1>")
    assert "<h1>Fake invoices" in text and "<title>Fake invoices · Commonspace</title>" in text
    for fragment in (
        'Ministry of Digital Affairs <span class="muted">(France)</span>',
        "<code>fraud/phishing</code>",
        "<dt>Threat level</dt><dd>High</dd>",
        "12,345.50 EUR",
        "Germany (DE), Kenya (KE)",
        "<dd>banking</dd>",
        "<li>campaign:invoice</li>",
        "<p>Some <strong>bold</strong> words.</p>",
        "The whole community: every organisation on this instance.",
        "This report has no indicators",
    ):
        assert fragment in text, fragment
    assert 'aria-current="page">Reports' in text


def test_the_summary_cannot_run_anything(client: TestClient, world: World) -> None:
    summary = (
        'Intro <script>alert("x")</script>\n\n'
        '[click](javascript:alert(1)) and <a href="javascript:alert(2)">raw</a>\n\n'
        '<img src=x onerror="alert(3)"> ![pic](javascript:alert(4)) [ok](https://example.org/)'
    )
    report = new_report(client, world, "ngo.publisher", publish=True, title="Hostile", summary=summary)
    sign_in(client, world, "bank.analyst")
    page = client.get(f"/reports/{report['uuid']}")
    assert page.status_code == 200
    main = page.text[page.text.index("<main") : page.text.index("</main>")]
    tags = tags_of(main)
    assert not [t for t, _ in tags if t in ("script", "img", "iframe", "object", "embed", "style")]
    for tag, attrs in tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), (tag, attrs)
    assert '<a href="https://example.org/" rel="nofollow noopener noreferrer">ok</a>' in main
    assert "&lt;script&gt;" in main  # shown as text
    # The page's own scripts are the only scripts.
    assert [a.get("src") for t, a in tags_of(page.text) if t == "script"] == [
        "/static/vendor/htmx.min.js",
        "/static/app.js",
    ]


def test_indicators_are_shown_defanged_and_copied_raw(client: TestClient, world: World) -> None:
    report = new_report(client, world, "bank.publisher", publish=True, title="Kit")
    add_indicators(
        client,
        world,
        "bank.publisher",
        report["uuid"],
        {"value": "hxxps://login.evil[.]example/kit", "comment": "landing page", "tags": ["kit"]},
        {"value": "198.51.100.7", "to_detect": False},
        "phisher@evil.example",
        "44d88612fea8a8f36de82e1278abb02f",
    )
    sign_in(client, world, "ngo.analyst")
    page = client.get(f"/reports/{report['uuid']}")
    shown = {raw: (text, defanged) for text, raw, defanged in values_shown(page.text)}
    assert shown == {
        "https://login.evil.example/kit": (
            "hxxps://login[.]evil[.]example/kit",
            "hxxps://login[.]evil[.]example/kit",
        ),
        "198.51.100.7": ("198[.]51[.]100[.]7", "198[.]51[.]100[.]7"),
        "phisher@evil.example": ("phisher[@]evil[.]example", "phisher[@]evil[.]example"),
        "44d88612fea8a8f36de82e1278abb02f": ("44d88612fea8a8f36de82e1278abb02f",) * 2,
    }
    assert 'data-copy="https://login.evil.example/kit"' in page.text
    assert 'data-copy="198.51.100.7"' in page.text
    # Nowhere is the live value shown as text, nor as a link.
    assert ">https://login.evil.example/kit<" not in page.text
    assert 'href="https://login.evil.example' not in page.text
    assert 'data-defang-toggle="#indicators"' in page.text and "checked" in page.text
    assert "<td>landing page</td>" in page.text and "<li>kit</li>" in page.text
    assert 'Indicators <small class="muted">(4)</small>' in page.text


def test_narrowed_indicators_are_hidden_from_others(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Mixed")
    add_indicators(
        client,
        world,
        "ministry.publisher",
        report["uuid"],
        "open.example",
        {"value": "internal.example", "distribution": "organisation"},
    )
    sign_in(client, world, "bank.analyst")
    page = client.get(f"/reports/{report['uuid']}")
    assert [raw for _, raw, _ in values_shown(page.text)] == ["open.example"]
    assert "internal" not in page.text and "(1)</small>" in page.text
    listed = client.get("/reports").text
    row = listed[listed.index("Mixed") :].split("</tr>")[0]
    assert '<td class="number">1</td>' in row

    switch_to(client, world, "ministry.reader")
    page = client.get(f"/reports/{report['uuid']}")
    assert [raw for _, raw, _ in values_shown(page.text)] == ["open.example", "internal.example"]
    assert "Kept to the organisation" in page.text


def test_indicators_come_a_page_at_a_time(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ngo.publisher", publish=True, title="Many")
    values = [f"host{n}.evil.example" for n in range(5)]
    add_indicators(client, world, "ngo.publisher", report["uuid"], *values)
    sign_in(client, world, "bank.analyst")
    url = f"/reports/{report['uuid']}?limit=2"
    seen: list[str] = []
    captions = []
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += [raw for _, raw, _ in values_shown(page.text)]
        captions.append(re.search(r"Indicators ([\d,]+–[\d,]+) of 5", page.text))
        found = re.search(r'<a href="([^"]+)#indicators" rel="next">', page.text)
        url = unescape(found.group(1)) if found else ""
    assert seen == values
    assert [c.group(1) if c else None for c in captions] == ["1–2", "3–4", "5–5"]
    assert "First indicators" in page.text
    assert client.get(f"/reports/{report['uuid']}?cursor=garbage").status_code == 422


def test_sightings_are_summed_up_as_the_policy_allows(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True, title="Seen")
    add_indicators(client, world, "ministry.publisher", report["uuid"], "seen.example")
    listed = client.get(
        f"{API}/reports/{report['uuid']}/indicators", headers=world.headers("ministry.reader")
    )
    indicator = listed.json()["items"][0]["uuid"]
    for label, body in (
        ("bank.analyst", {"count": 3, "source": "proxy"}),
        ("ngo.analyst", {"kind": "false-positive"}),
    ):
        response = client.post(
            f"{API}/indicators/{indicator}/sightings", json=body, headers=world.headers(label)
        )
        assert response.status_code == 201, response.text

    sign_in(client, world, "ministry.reader")  # the creator sees everyone's
    page = client.get(f"/reports/{report['uuid']}")
    section = page.text[page.text.index('id="sightings-heading"') :]
    assert "Rheinbank AG" in section and "Citizens for a Safe Net" in section
    assert '<td class="number">3 <small class="muted">(1 false positive)</small></td>' in page.text

    switch_to(client, world, "bank.reader")  # others see their own organisation's only
    page = client.get(f"/reports/{report['uuid']}")
    section = page.text[page.text.index('id="sightings-heading"') :]
    assert "Rheinbank AG" in section and "Citizens for a Safe Net" not in section
    assert '<td class="number">3</td>' in page.text and "false positive)" not in page.text

    switch_to(client, world, "intl.analyst")
    page = client.get(f"/reports/{report['uuid']}")
    assert "No sightings recorded by your organisation." in page.text


# --- publishing and deleting -----------------------------------------------------------------------


def test_publish_and_delete_need_the_csrf_token_and_an_editor(client: TestClient, world: World) -> None:
    report = new_report(client, world, "bank.publisher", title="Ready soon")
    uuid = report["uuid"]
    token = sign_in(client, world, "bank.reader")  # sees its organisation's draft, may not change it
    page = client.get(f"/reports/{uuid}")
    assert page.status_code == 200 and f'action="/reports/{uuid}/publish"' not in page.text
    for action in ("publish", "delete"):
        response = client.post(
            f"/reports/{uuid}/{action}", data={"csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 403 and "Not allowed" in response.text, action

    token = switch_to(client, world, "ngo.publisher")  # does not see the draft at all
    response = client.post(f"/reports/{uuid}/publish", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 404

    token = switch_to(client, world, "bank.publisher")
    page = client.get(f"/reports/{uuid}")
    assert f'href="/reports/{uuid}/edit"' in page.text
    assert f'<form method="post" action="/reports/{uuid}/publish" class="inline">' in page.text
    assert re.search(
        r'<button type="submit" class="danger outline" data-confirm="Delete the report', page.text
    )
    for sent in ({}, {"csrf_token": "forged"}):
        for action in ("publish", "delete"):
            response = client.post(f"/reports/{uuid}/{action}", data=sent, follow_redirects=False)
            assert response.status_code == 403, (action, sent)
    status = client.get(f"{API}/reports/{uuid}", headers=world.headers("bank.publisher")).json()["status"]
    assert status == "draft"

    response = client.post(f"/reports/{uuid}/publish", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/reports/{uuid}"
    page = client.get(f"/reports/{uuid}")
    assert "Published 20" in page.text and f"/reports/{uuid}/publish" not in page.text
    # htmx sends the token as a header.
    response = client.post(
        f"/reports/{uuid}/publish", headers={"X-CSRF-Token": token}, follow_redirects=False
    )
    assert response.status_code == 303

    response = client.post(f"/reports/{uuid}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/reports"
    assert client.get(f"/reports/{uuid}").status_code == 404
    assert client.get(f"{API}/reports/{uuid}", headers=world.headers("bank.publisher")).status_code == 404


def test_a_report_downloads_in_every_format_as_its_reader_may_see_it(
    client: TestClient, world: World
) -> None:
    report = new_report(
        client, world, "ministry.publisher", publish=True, distribution="sharing-group",
        sharing_group=world.groups[GROUP].uuid,
    )  # fmt: skip
    add_indicators(
        client, world, "ministry.publisher", report["uuid"], "198.51.100.1",
        {"value": "198.51.100.2", "distribution": "organisation"},
    )  # fmt: skip
    sign_in(client, world, "bank.analyst")
    page = client.get(f"/reports/{report['uuid']}").text
    # Documentation addresses are on the built-in warninglists, which the detection formats leave out by
    # default: the page offers those formats with them too, and that is what is checked here.
    for fmt in ("stix", "misp", "csv", "suricata", "zeek", "rpz", "text"):
        assert f'href="/reports/{report["uuid"]}/export/{fmt}"' in page
        response = client.get(f"/reports/{report['uuid']}/export/{fmt}?exclude_warninglisted=false")
        assert response.status_code == 200 and "attachment" in response.headers["content-disposition"], fmt
        assert "198.51.100.2" not in response.text, fmt
    assert f'href="/reports/{report["uuid"]}/export/text?exclude_warninglisted=false"' in page
    text = client.get(f"/reports/{report['uuid']}/export/text?exclude_warninglisted=false").text
    assert text == "198.51.100.1\n"
    client.cookies.clear()
    sign_in(client, world, "ngo.analyst")
    assert client.get(f"/reports/{report['uuid']}/export/stix").status_code == 404
