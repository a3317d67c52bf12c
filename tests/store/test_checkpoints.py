"""A large write may leave its checkpoint (the WAL copied into the SQLite file) to a background thread: the
commit is as durable, the connection gets its automatic checkpoints back, and the copy is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from commonspace.store.db import (
    SQLITE_AUTOCHECKPOINT_PAGES,
    defer_checkpoint,
    make_engine,
    session_factory,
    wait_for_checkpoints,
)


def _write(engine: Engine, rows: int, *, defer: bool, fail: bool = False) -> None:
    with session_factory(engine, writer=True)() as session, session.begin():
        if defer:
            defer_checkpoint(session)
        session.execute(text("CREATE TABLE IF NOT EXISTS filler (body TEXT)"))
        session.execute(text("INSERT INTO filler VALUES (:body)"), [{"body": "x" * 3000}] * rows)
        if fail:
            raise RuntimeError("rolled back")


def _autocheckpoint(engine: Engine) -> list[int]:
    """The setting on every pooled connection (the pool keeps one here)."""
    with engine.connect() as conn:
        return [conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()]


def test_a_deferred_checkpoint_is_done_after_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        _write(engine, 2000, defer=True)  # about 6 MB: beyond the 1,000 pages of an automatic checkpoint
        assert _autocheckpoint(engine) == [SQLITE_AUTOCHECKPOINT_PAGES]
        wait_for_checkpoints(timeout=30)
        with engine.connect() as conn:
            busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            assert (busy, frames) == (0, copied)  # nothing left in the WAL that is not in the file
            assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar_one() == 2000
        assert path.stat().st_size > 2000 * 3000  # the pages are in the file itself
    finally:
        engine.dispose()


def test_a_rolled_back_transaction_gets_its_checkpoints_back_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'small.db'}")
    try:
        with pytest.raises(RuntimeError):
            _write(engine, 10, defer=True, fail=True)
        assert _autocheckpoint(engine) == [SQLITE_AUTOCHECKPOINT_PAGES]
        wait_for_checkpoints(timeout=30)
    finally:
        engine.dispose()


def test_deferring_is_nothing_without_a_file(engine: Engine) -> None:
    """In memory, or on PostgreSQL: nothing to defer, nothing changes."""
    memory = make_engine("sqlite://")
    try:
        _write(memory, 10, defer=True)
        assert _autocheckpoint(memory) == [SQLITE_AUTOCHECKPOINT_PAGES]
    finally:
        memory.dispose()
    if engine.dialect.name == "postgresql":
        with session_factory(engine, writer=True)() as session, session.begin():
            defer_checkpoint(session)
