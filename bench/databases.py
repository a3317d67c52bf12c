"""Fresh databases for one run: a SQLite file in a temporary directory, or a PostgreSQL database created
on the server for the run and dropped after it. Both are migrated with the application's migrations and
use the application's engine (``store.db.make_engine``: same driver, same SQLite pragmas). ``copies``
gives many fresh databases for the price of one migration: copies of a migrated, empty template."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from commonspace.store.db import make_engine, normalise_url
from commonspace.store.migrate import upgrade

POSTGRES_VARIABLE = "COMMONSPACE_BENCH_POSTGRES"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
KINDS = ("sqlite", "postgresql")


def postgres_admin_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get(POSTGRES_VARIABLE) or DEFAULT_POSTGRES


@contextmanager
def fresh_database(kind: str, *, postgres_url: str | None = None, keep: bool = False) -> Iterator[Engine]:
    """A migrated, empty database of ``kind``; removed afterwards unless ``keep``."""
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="commonspace-bench-")
        engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            if not keep:
                shutil.rmtree(directory)
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}; expected one of {', '.join(KINDS)}")
    admin = create_engine(normalise_url(postgres_admin_url(postgres_url)), isolation_level="AUTOCOMMIT")
    name = f"commonspace_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(postgres_admin_url(postgres_url))).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


Copy = Callable[[], AbstractContextManager[Engine]]


@contextmanager
def copies(kind: str, *, postgres_url: str | None = None, keep: bool = False) -> Iterator[Copy]:
    """A migrated, empty template of ``kind``, and a function that gives a fresh copy of it: a file copy
    (SQLite) or ``CREATE DATABASE ... TEMPLATE`` (PostgreSQL). Each copy is removed when its block ends,
    and the template at the end, unless ``keep``."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="commonspace-bench-"))
        template = directory / "template.db"
        made = 0

        @contextmanager
        def sqlite_copy() -> Iterator[Engine]:
            nonlocal made
            made += 1
            path = directory / f"copy-{made}.db"
            shutil.copyfile(template, path)
            copy = make_engine(f"sqlite:///{path}")
            try:
                yield copy
            finally:
                copy.dispose()
                if not keep:
                    for leftover in directory.glob(f"{path.name}*"):
                        leftover.unlink()

        try:
            engine = make_engine(f"sqlite:///{template}")
            try:
                upgrade(engine)
                settle(engine, analyze=False)  # everything in the main file, nothing left in the WAL
            finally:
                engine.dispose()
            yield sqlite_copy
        finally:
            if not keep:
                shutil.rmtree(directory)
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}; expected one of {', '.join(KINDS)}")
    admin_url = normalise_url(postgres_admin_url(postgres_url))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    base = f"commonspace_bench_{uuid.uuid4().hex[:12]}"
    names = [f"{base}_template"]

    def url(name: str) -> str:
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    @contextmanager
    def postgres_copy() -> Iterator[Engine]:
        name = f"{base}_{len(names)}"
        names.append(name)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{names[0]}"'))
        copy = make_engine(url(name))
        try:
            yield copy
        finally:
            copy.dispose()
            if not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{names[0]}"'))
        engine = make_engine(url(names[0]))
        try:
            upgrade(engine)
        finally:
            engine.dispose()  # a template must have no connections when it is copied
        yield postgres_copy
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{names[0]}" WITH (FORCE)'))
        admin.dispose()


def describe(engine: Engine) -> dict[str, Any]:
    """Version and the settings that matter for these measurements."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            raw = conn.connection.driver_connection
            assert raw is not None
            pragmas = ("journal_mode", "synchronous", "cache_size", "page_size")
            info: dict[str, Any] = {"version": raw.execute("select sqlite_version()").fetchone()[0]}
            info.update({p: raw.execute(f"PRAGMA {p}").fetchone()[0] for p in pragmas})
            info["file"] = engine.url.database
            return info
        settings = ("shared_buffers", "work_mem", "synchronous_commit", "fsync", "max_wal_size")
        info = {"version": conn.execute(text("show server_version")).scalar()}
        info.update({s: conn.execute(text(f"show {s}")).scalar() for s in settings})
        info["database"] = engine.url.database
        return info


def settle(engine: Engine, *, analyze: bool) -> None:
    """After the load, before the searches: the bulk writes flushed (a checkpoint), so that searches do
    not compete with them, and, if ``analyze``, the planner's statistics refreshed (what PostgreSQL's
    autovacuum does by itself after a load; SQLite never does it unless told)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if analyze:
                conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if analyze:
            raw.execute("ANALYZE")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
