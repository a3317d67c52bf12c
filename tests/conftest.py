"""Shared fixtures: the databases every test runs against.

Tests that take the ``engine`` fixture run twice: on SQLite (a fresh file per test) and on PostgreSQL
(one fresh database per run, emptied between tests). PostgreSQL is found at
``COMMONSPACE_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``); when it is
unreachable its tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from commonspace.store import tables
from commonspace.store.db import make_engine, normalise_url
from world import World, build_world

PG_ADMIN_URL = os.environ.get("COMMONSPACE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a PostgreSQL database created for this test run and dropped after it."""
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"commonspace_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        admin.dispose()
        _pg_unavailable(str(exc).splitlines()[0])
    url = make_url(normalise_url(PG_ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    from commonspace.store.migrate import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _empty(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in tables.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run; each test gets a copy, which is much faster than upgrading."""
    from commonspace.store.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "commonspace.db"
    template = make_engine(f"sqlite:///{path}")
    upgrade(template)
    # Fold the WAL into the main file and close every connection, so that the file alone is complete.
    with template.connect() as conn:
        busy, _, _ = conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the template's WAL could not be checkpointed"
    template.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated, empty database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("db") / "commonspace.db"
        shutil.copyfile(template, path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        pg: Engine = request.getfixturevalue("pg_engine")
        _empty(pg)
        yield pg


# --- the API tests' world (tests/world.py) and client ---------------------------------------------


@pytest.fixture
def world(engine: Engine) -> World:
    """Organisations, members of every role with API keys and a sharing group (see tests/world.py)."""
    return build_world(engine)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    """The REST API over ``engine``, without background workers."""
    from commonspace.web.app import create_app

    with TestClient(create_app(engine)) as test_client:
        yield test_client
