"""The TAXII tests' server: the application on 127.0.0.1, served by uvicorn in a thread, over a fresh
SQLite copy holding the test world (tests/world.py), for the OASIS ``taxii2-client`` to talk to over HTTP."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from taxii_samples import TaxiiServer

from commonspace.store.db import make_engine
from commonspace.web.app import create_app
from world import build_world


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def taxii_server(sqlite_template: Path, tmp_path: Path) -> Iterator[TaxiiServer]:
    path = tmp_path / "commonspace.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    world = build_world(engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    with httpx2.Client(base_url=url, timeout=30) as http:
        yield TaxiiServer(url, world, http)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
