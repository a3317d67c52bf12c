"""The real application on 127.0.0.1, served by uvicorn in a thread, over a fresh SQLite copy holding the
test world (tests/world.py): for the browser tests and the TAXII client tests, which speak real HTTP."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from commonspace.store.db import make_engine
from commonspace.web.app import create_app
from world import World, build_world


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(sqlite_template: Path, folder: Path) -> Iterator[tuple[str, World]]:
    """``(base URL, world)`` while the server runs; it stops and its database is closed afterwards."""
    path = folder / "commonspace.db"
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
    try:
        yield f"http://127.0.0.1:{port}", world
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
