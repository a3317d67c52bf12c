"""The report page lists the correlated reports the visitor may see, and the values that over-correlate."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from commonspace.correlation import service
from world import World, new_report, sign_in

SECTION = re.compile(r'<section id="correlations".*?</section>', re.DOTALL)


def _report(client: TestClient, world: World, label: str, *values: str, **fields: str) -> str:
    report = new_report(
        client, world, label, publish=True, indicators=[{"value": v} for v in values], **fields
    )
    uuid: str = report["uuid"]
    return uuid


def _section(client: TestClient, uuid: str) -> str:
    page = client.get(f"/reports/{uuid}")
    assert page.status_code == 200, page.text
    found = SECTION.search(page.text)
    assert found, "no correlated reports section"
    return unescape(found.group(0))


def test_the_report_page_shows_its_correlated_reports(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service.LIMIT_VARIABLE, "2")
    ours = _report(client, world, "bank.publisher", "45.9.148.3", "login.evil-c2.top", "45.9.150.1")
    theirs = _report(client, world, "ngo.publisher", "45.9.148.0/24", "evil-c2.top", title="Seen <here> too")
    hidden = _report(
        client, world, "ministry.publisher", "45.9.148.3", title="Ministry only", distribution="organisation"
    )
    for n in range(3):
        _report(client, world, "intl.publisher", "45.9.150.1", title=f"Common {n}")
    sign_in(client, world, "bank.reader")
    section = _section(client, ours)
    assert f'<a href="/reports/{theirs}">Seen <here> too</a>' in section  # the title is escaped in the page
    assert '45[.]9[.]148[.]3</code> <span class="muted">is inside</span> <code>45[.]9[.]148[.]0/24' in section
    assert 'login[.]evil-c2[.]top</code> <span class="muted">is under</span> <code>evil-c2[.]top' in section
    assert hidden not in section and "Ministry only" not in section
    assert "more than 2 reports" in section
    over = section[section.index('<ul class="over-correlating">') :]
    assert "45[.]9[.]150[.]1" in over and "Common" not in section
    page = client.get(f"/reports/{ours}")
    assert "<script>" not in page.text and " style=" not in page.text  # the CSP allows no inline script


def test_a_report_without_correlations_says_so(client: TestClient, world: World) -> None:
    ours = _report(client, world, "bank.publisher", "45.9.148.3")
    _report(client, world, "ministry.publisher", "45.9.148.3", distribution="organisation")
    sign_in(client, world, "bank.reader")
    assert "No other report you may see shares a value with this one." in _section(client, ours)
