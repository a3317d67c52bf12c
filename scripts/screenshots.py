"""Take the README's screenshots of the real pages: the demo world, served locally, seen in chromium.

    make screenshots        # writes docs/img/*.png

Needs Debian's chromium (``apt-get install chromium``) or ``COMMONSPACE_TEST_CHROMIUM``.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from commonspace.demo import catalogue
from commonspace.demo.load import load_demo
from commonspace.store import tables as t
from commonspace.store.db import make_engine, session_factory, transaction
from commonspace.store.migrate import upgrade
from commonspace.web.app import create_app

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
CHROMIUM = os.environ.get("COMMONSPACE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip
VIEWER = "ines.benali@cert-marianne.example"  # an analyst of a national CERT
AUTHOR = "jonas.becker@cert-rhein.example"  # a publisher


def _serve(engine: object) -> tuple[uvicorn.Server, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )  # type: ignore[arg-type]
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(catalogue.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/demo.db")
        upgrade(engine)
        with transaction(session_factory(engine, writer=True)) as session:
            load_demo(session)
        with session_factory(engine)() as session:
            discussed = session.scalar(
                select(t.Report.uuid)
                .join(t.Post, t.Post.report_id == t.Report.id)
                .where(t.Report.distribution == "sharing-group")
                .order_by(t.Post.id.desc())
                .limit(1)
            )
        server, url = _serve(engine)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
            page = context.new_page()
            _sign_in(page, VIEWER)
            page.screenshot(path=str(OUT / "dashboard.png"))
            page.goto(f"/reports/{discussed}")
            page.screenshot(
                path=str(OUT / "report.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 1500}
            )
            page.locator("#discussion").scroll_into_view_if_needed()
            page.locator("#discussion").screenshot(path=str(OUT / "discussion.png"))
            context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 1100}, base_url=url)
            page = context.new_page()
            _sign_in(page, AUTHOR)
            page.goto("/reports/new")
            page.get_by_label("Title").fill("Scanning of VPN gateways from residential ranges")
            page.get_by_label("Paste text, a list or a report").fill(
                "Sources seen probing our VPN portals since 02:00 UTC:\n"
                "198.51.100[.]23, 198.51.100.87 and 2001:db8:4::17 -- payload fetched from\n"
                "hxxp://update-check[.]top/vpn.sh (sha256 "
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08)."
            )
            page.get_by_role("button", name="Find indicators").click()
            page.locator("table.editor-found").wait_for()
            page.locator("#found-indicators").scroll_into_view_if_needed()
            page.screenshot(path=str(OUT / "editor.png"))
            browser.close()
        server.should_exit = True
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(OUT.parents[1])}: {png.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
