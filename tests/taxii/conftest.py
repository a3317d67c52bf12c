"""The TAXII tests' server: the application on 127.0.0.1, served by uvicorn in a thread, over a fresh
SQLite copy holding the test world (tests/world.py), for the OASIS ``taxii2-client`` to talk to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from taxii_samples import TaxiiServer

from live_server import live_server


@pytest.fixture
def taxii_server(sqlite_template: Path, tmp_path: Path) -> Iterator[TaxiiServer]:
    with (
        live_server(sqlite_template, tmp_path) as (url, world),
        httpx2.Client(base_url=url, timeout=30) as http,
    ):
        yield TaxiiServer(url, world, http)
