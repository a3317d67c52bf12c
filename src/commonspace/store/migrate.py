"""Schema migrations: Alembic, driven from code rather than an alembic.ini.

The migration scripts live inside the package (``store/migrations``), so an installed commonspace (wheel,
not only a checkout) can create and upgrade its own database. Every function takes an ``Engine`` made by
``store.db.make_engine``, so migrations run with the same driver and SQLite pragmas as the application.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData

from commonspace.store import tables

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts; env.py takes the connection from it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")  # silences Alembic's legacy-separator warning
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole run, so that a failed upgrade leaves the schema as it was.

    On SQLite, foreign keys are switched off meanwhile: batch mode rebuilds a table by dropping it, and
    with foreign keys on that drop would fire ON DELETE CASCADE and empty the referencing tables. The
    pragma is a no-op inside a transaction, hence the raw DBAPI call before BEGIN; the result is
    checked with ``foreign_key_check`` before the commit instead.
    """
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                yield connection
            return
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:10]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision``; a no-op when it is there already."""
    with _migration_connection(engine) as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the database back to ``revision``; ``"base"`` drops every table (and all data)."""
    with _migration_connection(engine) as connection:
        command.downgrade(_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def is_current(engine: Engine) -> bool:
    """Whether the database is at the head revision, i.e. safe for this code to use."""
    return current_revision(engine) == head_revision()


def schema_diff(engine: Engine, metadata: MetaData | None = None) -> list[Any]:
    """What would have to change for the database to match the tables (default: ``tables.Base``).

    Empty when the migrations and ``store.tables`` agree. Types and server defaults are compared too,
    so a forgotten column, index, constraint, type change or default all show up here.
    """
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata if metadata is not None else tables.Base.metadata))


def new_revision(engine: Engine, message: str, rev_id: str | None = None) -> None:
    """Autogenerate a revision script (developers, editable checkout) from ``engine``'s schema.

    Upgrade ``engine`` to head first; review the script by hand before committing it.
    """
    with engine.connect() as connection:
        command.revision(_config(connection), message=message, autogenerate=True, rev_id=rev_id)
