"""The database engine: SQLite by default, PostgreSQL when the URL says so.

SQLite is tuned for one writer and many readers: WAL journal, foreign keys enforced, synchronous=FULL so
that a committed report survives a power cut, and a busy timeout so that a second writer waits rather
than failing at once. A large write can leave the copy of its pages from the WAL into the database file
(the checkpoint) to a background thread (:func:`defer_checkpoint`), as PostgreSQL always does.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///./var/commonspace.db"
URL_VARIABLE = "COMMONSPACE_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 131_072
SQLITE_MMAP_BYTES = 1 << 30
SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default
SQLITE_PAGE_BYTES = 16_384  # of new databases

log = logging.getLogger(__name__)


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
        event.listen(engine, "checkin", _checkin)
        # Let SQLAlchemy, not the sqlite3 module, open transactions, so that BEGIN IMMEDIATE is possible.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The file (none in memory), for a checkpoint on a connection of its own (defer_checkpoint).
    record.info[_FILE] = next(
        (row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"), ""
    )
    # Pages of 16 KiB rather than 4: a quarter of the pages to write, log and checkpoint for the same data
    # (a large import commits about a quarter faster), fewer levels in the indexes. Only a new, empty
    # database takes it, and only before WAL is set; an existing one keeps its own.
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")
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
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads, then writes, fails at once if another writer committed in
    # between (WAL snapshots cannot be upgraded); writers therefore take the write lock up front.
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


# --- checkpoints after large writes ---------------------------------------------------------------
# In WAL mode a commit appends the pages it changed to the WAL and syncs it: the transaction is durable
# then. Copying the pages into the database file (a checkpoint) is what SQLite does next, in the same call,
# once the WAL holds SQLITE_AUTOCHECKPOINT_PAGES pages: for a 44 MiB import, about 0.035 s of a 0.095 s
# commit. defer_checkpoint moves that copy out of the committing call into a thread of its own, started
# when the connection goes back to the pool (after the commit, or the rollback), which restores the
# connection's automatic checkpoints first. A PASSIVE checkpoint waits for no reader and no writer; one
# that cannot finish (a reader still on the old pages) is finished by a later commit, as before.
_DEFER = "commonspace.defer_checkpoint"
_FILE = "commonspace.sqlite_file"


def defer_checkpoint(session: Session) -> None:
    """Leave this transaction's checkpoint to a background thread (SQLite files of ``make_engine``;
    elsewhere nothing). For large writes: the commit is as durable, and returns without the copy."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    pooled = connection.connection
    if not pooled.info.get(_FILE):
        return
    driver = pooled.driver_connection
    assert driver is not None
    driver.execute("PRAGMA wal_autocheckpoint=0")
    pooled.info[_DEFER] = True


def _checkin(dbapi_connection: Any, record: Any) -> None:
    """A connection back in the pool after a deferred checkpoint's transaction: its automatic checkpoints
    restored, and the checkpoint started in a thread."""
    if not record.info.pop(_DEFER, False) or dbapi_connection is None:
        return
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    threading.Thread(target=_checkpoint, args=(record.info[_FILE],), name=_CHECKPOINT_THREAD).start()


_CHECKPOINT_THREAD = "sqlite-checkpoint"


def wait_for_checkpoints(timeout: float | None = None) -> None:
    """Wait for the background checkpoints under way (benchmarks measure the next thing without them)."""
    for thread in threading.enumerate():
        if thread.name == _CHECKPOINT_THREAD:
            thread.join(timeout)


def _checkpoint(path: str) -> None:
    """A PASSIVE checkpoint of the file at ``path``, on a connection of its own (``mode=rw``: a file
    removed meanwhile is not made anew). Failures are only logged: a later commit checkpoints."""
    try:
        connection = sqlite3.connect(
            f"file:{quote(path)}?mode=rw", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        )
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()
    except Exception:  # noqa: BLE001 - a background thread must not raise; the WAL keeps everything
        log.debug("background checkpoint of %s failed", path, exc_info=True)


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
