"""Every main page, as an organisation administrator, on a 375-pixel-wide phone and on a desktop:
nothing scrolls sideways, no script error or CSP violation, every form control has a label, and the
keyboard reaches the main navigation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from conftest import People
from world import API, GROUP, add_indicators, new_report

PAGES = ["/", "/reports", "/search", "/forum", "/admin", "/admin/organisations", "/admin/members",
         "/admin/groups", "/admin/keys", "/admin/audit", "/reports/new"]  # fmt: skip

UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""


def _overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.mark.parametrize("width", [375, 1280])
def test_every_page_fits_and_is_labelled(people: People, width: int) -> None:
    world = people.server.world
    from fastapi.testclient import TestClient  # the REST API, to give the pages something to show

    from commonspace.web.app import create_app

    with TestClient(create_app(world.engine)) as api:
        report = new_report(
            api, world, "ministry.publisher", publish=True, title="A report with a rather long title "
            "about credential phishing against several ministries", distribution="sharing-group",
            sharing_group=world.groups[GROUP].uuid, summary="# Heading\n\nSome *Markdown* and a table:\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |",
        )  # fmt: skip
        add_indicators(api, world, "ministry.publisher", report["uuid"], "https://a-very-long-host-name."
                       "example/with/a/long/path/that/goes/on/and/on?and=a&query=string", "198.51.100.0/24",
                       "d41d8cd98f00b204e9800998ecf8427e" * 2)  # fmt: skip
        api.post(f"{API}/reports/{report['uuid']}/posts", json={"body": "A comment"}, headers=world.headers(
            "bank.analyst"))  # fmt: skip
    page = people.signed_in("ministry.admin", width=width)
    for path in [*PAGES, f"/reports/{report['uuid']}", f"/reports/{report['uuid']}/edit",
                 f"/admin/groups/{world.groups[GROUP].uuid}"]:  # fmt: skip
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert _overflow(page) <= 0, f"{path} scrolls sideways at {width} px"
        assert page.evaluate(UNLABELLED) == [], path
    page.goto("/reports")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert people.problems == []
