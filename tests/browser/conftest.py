"""Browser tests: the real server on 127.0.0.1, driven through Debian's chromium with Playwright.

Outside CI they skip when chromium is absent; under ``CI=true`` they must run. A failing test leaves a
screenshot of every page it had open in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from live_server import live_server as serve
from world import PASSWORD, World, give_password

CHROMIUM = os.environ.get("COMMONSPACE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"chromium is required under CI=true and was not found at {CHROMIUM}")
        pytest.skip(f"chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class LiveServer:
    url: str
    world: World


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """The application on a fresh SQLite copy with the test world (tests/live_server.py)."""
    with serve(sqlite_template, tmp_path) as (url, world):
        yield LiveServer(url, world)


@dataclass
class People:
    """One browser context (its own cookies) per member, and every page opened, for screenshots."""

    browser: Browser
    server: LiveServer
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def page(self, width: int = 1280, height: int = 900) -> Page:
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, base_url=self.server.url
        )
        self.contexts.append(context)
        page = context.new_page()
        # A CSP violation or a script error is a defect of the page, whatever the test checks.
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        page.on("response", self._response)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # A failed load is judged by _response: a page's own 404 (a not-found page) is no defect.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(message.text)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.url}")

    def signed_in(self, label: str, width: int = 1280) -> Page:
        give_password(self.server.world, label)
        page = self.page(width=width)
        page.goto("/sign-in")
        page.get_by_label("E-mail").fill(self.server.world.members[label].email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r".*/$"))
        return page


@pytest.fixture
def people(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[People]:
    crowd = People(browser, live_server)
    yield crowd
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for i, context in enumerate(crowd.contexts):
            for j, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{name}-{i}-{j}.png"), full_page=True)
    for context in crowd.contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
