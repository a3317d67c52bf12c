"""Warninglists on the pages: a label beside each indicator on a list, in reports and search results, and
downloads of the detection formats with the warninglisted values when asked for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from commonspace.engine.warninglists import WarningLists, builtin_lists, parse_warninglist
from commonspace.warninglists import service
from world import World, add_indicators, new_report, sign_in

RESOLVERS = parse_warninglist(
    {"name": "Public <resolvers> & co", "type": "cidr", "list": ["9.9.9.9"]}, id="test-resolvers"
)
LABEL = re.compile(r'<small class="warninglisted" title="[^"]*">on warninglist: ([^<]*)</small>')


@pytest.fixture(autouse=True)
def lists() -> Iterator[None]:
    service.use(WarningLists([*builtin_lists(), RESOLVERS]))
    yield
    service.reset()


def rows(html: str) -> dict[str, list[str]]:
    """The labels of each indicator row of a page, by the row's raw value."""
    out: dict[str, list[str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL):
        raw = re.search(r'data-raw="([^"]*)"', row)
        if raw:
            out[unescape(raw.group(1))] = [unescape(label) for label in LABEL.findall(row)]
    return out


def test_the_report_page_labels_warninglisted_indicators(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)
    add_indicators(client, world, "ministry.publisher", report["uuid"], "9.9.9.9", "10.0.0.1", "evil-c2.top")
    sign_in(client, world, "bank.reader")
    page = client.get(f"/reports/{report['uuid']}").text
    assert rows(page) == {
        "9.9.9.9": ["Public <resolvers> & co"],  # the name is escaped, as any text from a file
        "10.0.0.1": ["List of RFC 1918 CIDR blocks", "List of RFC 5735 CIDR blocks"],
        "evil-c2.top": [],
    }
    assert "Public &lt;resolvers&gt; &amp; co" in page
    assert 'style="' not in page  # the label is styled by app.css, under the page's CSP
    # The detection formats leave the two out; the page offers them with the two as well.
    assert "leave out the 2 indicators on warninglists" in page
    for fmt in ("suricata", "zeek", "rpz", "text"):
        assert f'href="/reports/{report["uuid"]}/export/{fmt}?exclude_warninglisted=false"' in page
    assert client.get(f"/reports/{report['uuid']}/export/text").text == "evil-c2.top\n"
    with_them = client.get(f"/reports/{report['uuid']}/export/text?exclude_warninglisted=false").text
    assert sorted(with_them.split()) == ["10.0.0.1", "9.9.9.9", "evil-c2.top"]


def test_a_report_without_warninglisted_indicators_offers_the_plain_downloads(
    client: TestClient, world: World
) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)
    add_indicators(client, world, "ministry.publisher", report["uuid"], "evil-c2.top")
    sign_in(client, world, "bank.reader")
    page = client.get(f"/reports/{report['uuid']}").text
    assert rows(page) == {"evil-c2.top": []}
    assert "exclude_warninglisted" not in page and "on warninglists" not in page


def test_search_results_carry_the_labels(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", publish=True)
    add_indicators(client, world, "ministry.publisher", report["uuid"], "9.9.9.9", "evil-c2.top")
    sign_in(client, world, "bank.reader")
    page = client.get("/search", params={"q": "9.9.9.9 evil-c2.top"}).text
    assert rows(page) == {"9.9.9.9": ["Public <resolvers> & co"], "evil-c2.top": []}
