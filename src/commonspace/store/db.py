"""The database engine: SQLite by default, PostgreSQL when the URL says so.

SQLite is tuned for one writer and many readers: WAL journal, foreign keys enforced, synchronous=FULL so
that a committed report survives a power cut, and a busy timeout so that a second writer waits rather
than failing at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///./var/commonspace.db"
URL_VARIABLE = "COMMONSPACE_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 131_072
SQLITE_MMAP_BYTES = 1 << 30


def database_url(explicit: str | None = None) -> str:
    """The URL to use: the explicit one, else the environment's, else the local SQLite file."""
    return explicit or os.environ.get(URL_VARIABLE) or DEFAULT_URL


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would otherwise pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = normalise_url(database_url(url))
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault(
            "connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not the sqlite3 module, open transactions, so that BEGIN IMMEDIATE is possible.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # The default 2 MiB page cache thrashes once the indicator indexes outgrow it (a million
    # indicators make about 150 MiB of index); a larger cache and memory-mapped reads keep bulk
    # inserts and searches off the disk.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads, then writes, fails at once if another writer committed in
    # between (WAL snapshots cannot be upgraded); writers therefore take the write lock up front.
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def session_factory(engine: Engine, *, writer: bool = False) -> sessionmaker[Session]:
    """Sessions for reading (``writer=False``) or for work that writes (``BEGIN IMMEDIATE`` on SQLite)."""
    if writer and is_sqlite(engine):
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back entirely on any error."""
    with factory() as session, session.begin():
        yield session


# Reads that leave a trace (an audit event, a key's last use) must not turn a reading transaction into a
# writing one: on SQLite a deferred transaction that read first cannot take the write lock once another
# writer has committed. Such small writes are queued on the session and done right after the read, in a
# short write transaction of their own.
_READING = "commonspace.reading"
_QUEUED = "commonspace.queued_writes"


def mark_reading(session: Session) -> None:
    session.info[_READING] = True


def write_soon(session: Session, work: Callable[[Session], object]) -> None:
    """Do a small write now, or, in a reading session, right after its transaction ends."""
    if session.info.get(_READING):
        session.info.setdefault(_QUEUED, []).append(work)
    else:
        work(session)


def run_queued_writes(session: Session, writers: sessionmaker[Session]) -> None:
    work: list[Callable[[Session], object]] = session.info.pop(_QUEUED, [])
    if work:
        with writers() as writer, writer.begin():
            for item in work:
                item(writer)
