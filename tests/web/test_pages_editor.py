"""The report editor pages: creating and editing reports, indicators found in pasted text, errors, access."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from world import API, GROUP, World, add_indicators, form_token, new_report, sign_in

PASTED = """Phishing wave against Rheinbank customers, first seen on Monday.
The lure pointed to hxxp://login-rheinbank[.]top/secure and hxxps://cdn.rheinbank-update[.]xyz/a.js.
C2: 45.33.32[.]156 (twice: 45.33.32[.]156), network 203.0.113.0/24,
replies to billing[at]rheinbank-support[.]top.
Dropper sha256 ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb, see e.g. report.pdf.
"""
EXPECTED = {
    ("url", "http://login-rheinbank.top/secure"),
    ("url", "https://cdn.rheinbank-update.xyz/a.js"),
    ("ipv4", "45.33.32.156"),
    ("ipv4-cidr", "203.0.113.0/24"),
    ("email", "billing@rheinbank-support.top"),
    ("sha256", "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
}


def fields(token: str, **changes: Any) -> dict[str, Any]:
    """A complete, valid new-report form with ``changes`` on top."""
    data: dict[str, Any] = {
        "csrf_token": token,
        "title": "Phishing wave",
        "summary": "Lures **in German**.",
        "category": "fraud/phishing",
        "threat_level": "high",
        "first_seen": "2026-03-02T08:30",
        "last_seen": "2026-03-04T17:00:05",
        "loss_amount": "1500.50",
        "loss_currency": "eur",
        "tlp": "AMBER",
        "distribution": "community",
        "sharing_group": "",
        "victim_countries": "de, FR",
        "victim_sectors": "Banking, retail",
        "tags": "phishing, campaign:bank-phish",
        "paste": "",
    }
    data.update(changes)
    return data


def reports_of(client: TestClient, world: World, label: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/reports", headers=world.headers(label))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def indicators_of(client: TestClient, world: World, label: str, uuid: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/reports/{uuid}/indicators", headers=world.headers(label))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def created_uuid(response: Any) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/reports/[0-9a-f-]{36}", location), location
    return str(location.rsplit("/", 1)[1])


def error_text(page: str, name: str) -> str:
    """The message shown next to field ``name`` (the field_error macro's element)."""
    match = re.search(rf'<small class="field-error" id="{re.escape(name)}-error">(.*?)</small>', page, re.S)
    assert match, f"no error shown for {name}"
    return html.unescape(match.group(1))


def test_create_a_report_from_pasted_defanged_text(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    page = client.get("/reports/new")
    assert page.status_code == 200 and "New report" in page.text
    assert 'name="paste"' in page.text and "in UTC" in page.text
    assert f'<option value="{world.groups[GROUP].uuid}">{GROUP}</option>' in page.text
    response = client.post("/reports/new", data=fields(token, paste=PASTED), follow_redirects=False)
    uuid = created_uuid(response)
    report = client.get(f"{API}/reports/{uuid}", headers=world.headers("ministry.publisher")).json()
    assert report["title"] == "Phishing wave" and report["status"] == "draft"
    assert report["category"] == "fraud/phishing" and report["threat_level"] == "high"
    assert report["first_seen"].startswith("2026-03-02T08:30:00")  # datetime-local read as UTC
    assert report["last_seen"].startswith("2026-03-04T17:00:05")
    assert report["loss"] == {"amount": "1500.50", "currency": "EUR"}
    assert report["victim_countries"] == ["DE", "FR"] and report["victim_sectors"] == ["banking", "retail"]
    assert sorted(report["tags"]) == ["campaign:bank-phish", "phishing"]
    assert (report["tlp"], report["distribution"], report["sharing_group"]) == ("AMBER", "community", None)
    stored = indicators_of(client, world, "ministry.publisher", uuid)
    assert {(i["type"], i["canonical"]) for i in stored} == EXPECTED
    by_type = {i["type"]: i for i in stored}
    assert by_type["ipv4"]["value"] == "45.33.32[.]156"  # stored as written, found canonical
    # A member of another organisation sees nothing of a draft.
    assert client.get(f"{API}/reports/{uuid}", headers=world.headers("bank.publisher")).status_code == 404


def test_preview_lists_what_was_found_and_only_ticked_rows_are_added(
    client: TestClient, world: World
) -> None:
    token = sign_in(client, world, "ministry.publisher")
    response = client.post(
        "/reports/indicators/preview", data={"paste": PASTED}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200 and "<html" not in response.text  # a partial for htmx
    rows = re.findall(r'name="found" value="([^"]*)" checked', response.text)
    assert {html.unescape(r).split("|", 1)[0] for r in rows} == {t for t, _ in EXPECTED}
    assert "45[.]33[.]32[.]156" in response.text  # values are shown defanged
    assert re.search(r"45\[\.\]33\[\.\]32\[\.\]156</code></label></td>\s*<td[^>]*>2</td>", response.text)
    nothing = client.post(
        "/reports/indicators/preview", data={"paste": "e.g. report.pdf"}, headers={"X-CSRF-Token": token}
    )
    assert "No indicators were found" in nothing.text
    # Untick all but the URLs and the hash: only those are added.
    kept = [html.unescape(r) for r in rows if r.startswith(("url|", "sha256|"))]
    data = fields(token, paste=PASTED, found_offered="1", found=kept)
    uuid = created_uuid(client.post("/reports/new", data=data, follow_redirects=False))
    stored = indicators_of(client, world, "ministry.publisher", uuid)
    assert {i["type"] for i in stored} == {"url", "sha256"} and len(stored) == 3


def test_summary_preview_renders_sanitised_markdown(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    response = client.post(
        "/reports/preview-summary",
        data={"summary": "**bold** <script>alert(1)</script> [x](javascript:alert(1))"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200 and "<strong>bold</strong>" in response.text
    assert "<script>" not in response.text and 'href="javascript' not in response.text
    assert client.post("/reports/preview-summary", data={"summary": "x"}).status_code == 403  # no CSRF token


@pytest.mark.parametrize(
    ("changes", "field", "message", "kept"),
    [
        ({"tlp": "RED"}, "tlp", "TLP:RED may only be shared with the organisation or a sharing group", "RED"),
        ({"victim_countries": "FR, XX"}, "victim_countries", "'XX' is not an ISO 3166-1 country", "FR, XX"),
        ({"loss_currency": "ABC"}, "loss_currency", "'ABC' is not an ISO 4217 currency", "ABC"),
        ({"loss_currency": ""}, "loss_currency", "Give the currency", "1500.50"),
        ({"first_seen": "last tuesday"}, "first_seen", "is not a date and time", "last tuesday"),
        (
            {"last_seen": "2026-03-01T00:00"},
            "last_seen",
            "last_seen is before first_seen",
            "2026-03-01T00:00",
        ),
        ({"title": ""}, "title", "at least 1 character", "Lures **in German**."),
        ({"distribution": "sharing-group"}, "sharing_group", "needs a sharing group", "sharing-group"),
        # Refused by the service once the report was written: the savepoint takes it back.
        ({"found_offered": "1", "found": ["ipv4|999.1.1.1"]}, "indicators", "greater than 255", "999.1.1.1"),
    ],
)
def test_an_invalid_field_shows_its_message_keeps_every_value_and_stores_nothing(
    client: TestClient, world: World, changes: dict[str, Any], field: str, message: str, kept: str
) -> None:
    token = sign_in(client, world, "ministry.publisher")
    response = client.post(
        "/reports/new", data=fields(token, paste=PASTED, **changes), follow_redirects=False
    )
    assert response.status_code == 422, response.text
    page = response.text
    assert message in error_text(page, field)
    assert "Nothing was saved." in page
    assert html.escape(kept, quote=True) in page or kept in html.unescape(page)
    # Every value typed is still there.
    assert 'value="Phishing wave"' in page or field == "title"
    assert "hxxp://login-rheinbank[.]top/secure" in page  # the pasted text
    assert 'value="de, FR"' in page or field == "victim_countries"
    assert '<option value="fraud/phishing" selected>' in page
    assert reports_of(client, world, "ministry.publisher") == []


def test_the_rerendered_form_keeps_the_found_rows_and_their_boxes(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    data = fields(token, tlp="RED", paste=PASTED, found_offered="1", found=["ipv4|45.33.32[.]156"])
    page = client.post("/reports/new", data=data).text
    assert 'value="ipv4|45.33.32[.]156" checked' in page
    assert 'value="url|hxxp://login-rheinbank[.]top/secure">' in page  # offered, left unticked


def test_forms_without_the_csrf_token_are_refused_and_store_nothing(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    for forged in ({"csrf_token": ""}, {"csrf_token": "forged"}):
        response = client.post("/reports/new", data={**fields(token, paste=PASTED), **forged})
        assert response.status_code == 403
    data = fields(token)
    del data["csrf_token"]
    assert client.post("/reports/new", data=data).status_code == 403
    assert reports_of(client, world, "ministry.publisher") == []
    report = new_report(client, world, "ministry.publisher", title="Kept")
    response = client.post(f"/reports/{report['uuid']}/edit", data=fields("forged", title="Changed"))
    assert response.status_code == 403
    assert [r["title"] for r in reports_of(client, world, "ministry.publisher")] == ["Kept"]


@pytest.mark.parametrize("label", ["ministry.reader", "ministry.analyst"])
def test_only_members_who_may_create_reports_see_the_new_report_page(
    client: TestClient, world: World, label: str
) -> None:
    token = sign_in(client, world, label)
    response = client.get("/reports/new")
    assert response.status_code == 403 and "Not allowed" in response.text
    assert client.post("/reports/new", data=fields(token)).status_code == 403
    assert reports_of(client, world, label) == []


def test_a_report_you_may_not_see_has_no_edit_page_and_one_you_may_not_change_is_forbidden(
    client: TestClient, world: World
) -> None:
    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        distribution="sharing-group",
        sharing_group=world.groups[GROUP].uuid,
    )
    token = sign_in(client, world, "ngo.publisher")
    hidden = client.get(f"/reports/{report['uuid']}/edit")
    unknown = client.get("/reports/00000000-0000-4000-8000-000000000000/edit")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text and "Not found" in hidden.text
    posted = client.post(f"/reports/{report['uuid']}/edit", data=fields(token, title="Mine now"))
    assert posted.status_code == 404 and posted.text == unknown.text
    client.cookies.clear()
    sign_in(client, world, "bank.publisher")  # in the group: sees the report, may not change it
    assert client.get(f"/reports/{report['uuid']}/edit").status_code == 403


def test_the_edit_page_shows_the_report_and_saves_changes(client: TestClient, world: World) -> None:
    report = new_report(
        client,
        world,
        "ministry.publisher",
        title="Old",
        victim_countries=["KE"],
        loss={"amount": "7", "currency": "KES"},
    )
    add_indicators(client, world, "ministry.publisher", report["uuid"], "45.33.32.156")
    token = sign_in(client, world, "ministry.publisher")
    page = client.get(f"/reports/{report['uuid']}/edit")
    assert page.status_code == 200
    assert 'value="Old"' in page.text and 'value="KE"' in page.text and 'value="KES"' in page.text
    assert f'name="version" value="{report["version"] + 1}"' in page.text  # adding indicators counted
    assert "45[.]33[.]32[.]156" in page.text and 'name="remove"' in page.text
    assert form_token(page.text) == token
    data = fields(
        token, title="New", tlp="GREEN", version=str(report["version"] + 1), paste="hxxp://evil[.]top/x"
    )
    uuid = created_uuid(client.post(f"/reports/{report['uuid']}/edit", data=data, follow_redirects=False))
    assert uuid == report["uuid"]
    changed = client.get(f"{API}/reports/{uuid}", headers=world.headers("ministry.publisher")).json()
    assert (changed["title"], changed["tlp"], changed["victim_countries"]) == ("New", "GREEN", ["DE", "FR"])
    assert changed["status"] == "draft"
    stored = indicators_of(client, world, "ministry.publisher", uuid)
    assert {i["canonical"] for i in stored} == {"45.33.32.156", "http://evil.top/x"}


def test_editing_a_report_changed_meanwhile_gives_the_conflict_message(
    client: TestClient, world: World
) -> None:
    report = new_report(client, world, "ministry.publisher", title="Original")
    token = sign_in(client, world, "ministry.publisher")
    page = client.get(f"/reports/{report['uuid']}/edit").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version and version.group(1) == str(report["version"])
    patched = client.patch(
        f"{API}/reports/{report['uuid']}", json={"title": "Theirs"}, headers=world.headers("ministry.admin")
    )
    assert patched.status_code == 200
    data = fields(token, title="Mine", version=version.group(1), paste="45.33.32.156")
    response = client.post(f"/reports/{report['uuid']}/edit", data=data)
    assert response.status_code == 409
    assert "this report was changed meanwhile" in response.text
    assert f"The report changed since version {report['version']}" in response.text
    assert 'value="Mine"' in response.text  # what was typed is kept
    stored = client.get(f"{API}/reports/{report['uuid']}", headers=world.headers("ministry.publisher")).json()
    assert stored["title"] == "Theirs"
    assert indicators_of(client, world, "ministry.publisher", report["uuid"]) == []


def test_removing_an_indicator(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher")
    add_indicators(client, world, "ministry.publisher", report["uuid"], "45.33.32.156", "evil.top")
    other = new_report(client, world, "ministry.publisher", title="Other")
    add_indicators(client, world, "ministry.publisher", other["uuid"], "198.51.100.7")
    token = sign_in(client, world, "ministry.publisher")
    page = client.get(f"/reports/{report['uuid']}/edit").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    stored = {
        i["canonical"]: i["uuid"] for i in indicators_of(client, world, "ministry.publisher", report["uuid"])
    }
    foreign = indicators_of(client, world, "ministry.publisher", other["uuid"])[0]["uuid"]
    data = fields(token, title="Report", version=version.group(1), remove=[stored["evil.top"], foreign])
    created_uuid(client.post(f"/reports/{report['uuid']}/edit", data=data, follow_redirects=False))
    left = indicators_of(client, world, "ministry.publisher", report["uuid"])
    assert [i["canonical"] for i in left] == ["45.33.32.156"]
    # An indicator of another report is not removed through this one's form.
    assert len(indicators_of(client, world, "ministry.publisher", other["uuid"])) == 1


def test_save_and_publish(client: TestClient, world: World) -> None:
    token = sign_in(client, world, "ministry.publisher")
    data = fields(token, action="publish", paste="45.33.32[.]156")
    uuid = created_uuid(client.post("/reports/new", data=data, follow_redirects=False))
    report = client.get(f"{API}/reports/{uuid}", headers=world.headers("bank.reader")).json()
    assert report["status"] == "published" and report["indicator_count"] == 1
    draft = new_report(client, world, "ministry.publisher", title="Draft")
    page = client.get(f"/reports/{draft['uuid']}/edit").text
    assert 'value="publish"' in page
    data = fields(token, title="Draft", action="publish", version=str(draft["version"]))
    created_uuid(client.post(f"/reports/{draft['uuid']}/edit", data=data, follow_redirects=False))
    published = client.get(
        f"{API}/reports/{draft['uuid']}", headers=world.headers("ministry.publisher")
    ).json()
    assert published["status"] == "published"
    assert 'value="publish"' not in client.get(f"/reports/{draft['uuid']}/edit").text


def test_editor_pages_follow_the_content_security_policy(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher")
    sign_in(client, world, "ministry.publisher")
    for path in ("/reports/new", f"/reports/{report['uuid']}/edit"):
        text = client.get(path).text
        assert "<script>" not in text and " style=" not in text and "hx-on" not in text
        assert not re.search(r"\son[a-z]+=", text)
        for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', text):
            assert f'for="{input_id}"' in text, f"no label for {input_id}"
