"""The Alembic migrations build exactly the schema that ``store.tables`` describes, and run both ways.

``schema_diff`` is the guard: a column, index or constraint added to ``store.tables`` without a revision
makes ``test_migrations_build_the_tables`` fail on both databases, listing what is missing.
"""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from pprint import pformat

import pytest
from sqlalchemy import Column, Engine, MetaData, String, insert, inspect, select, text
from sqlalchemy.engine import make_url

from commonspace.store import tables
from commonspace.store.db import make_engine
from commonspace.store.migrate import (
    MIGRATIONS,
    current_revision,
    downgrade,
    head_revision,
    is_current,
    schema_diff,
    upgrade,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database that has never been migrated: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fresh') / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    pg_url: str = request.getfixturevalue("pg_url")  # skips (or fails under CI) without a server
    admin = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"commonspace_fresh_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _assert_no_diff(engine: Engine) -> None:
    diff = schema_diff(engine)
    assert diff == [], f"the migrations and store.tables disagree ({engine.dialect.name}):\n{pformat(diff)}"


def _user_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_build_the_tables(engine: Engine) -> None:
    _assert_no_diff(engine)


def test_migrated_database_is_current(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert is_current(engine)


def test_every_table_and_column_exists(engine: Engine) -> None:
    inspector = inspect(engine)
    assert _user_tables(engine) == set(tables.Base.metadata.tables)
    for name, table in tables.Base.metadata.tables.items():
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == set(table.columns.keys()), name


def test_schema_diff_catches_a_column_missing_from_the_migrations(engine: Engine) -> None:
    """The guard itself: a model column with no revision behind it must show up in the diff."""
    metadata = MetaData(naming_convention=tables.Base.metadata.naming_convention)
    for table in tables.Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["report"].append_column(Column("not_migrated", String(10)))

    diff = schema_diff(engine, metadata)

    assert [(op[0], op[2], op[3].name) for op in diff] == [("add_column", "report", "not_migrated")]


def test_fresh_database_is_not_current(fresh_engine: Engine) -> None:
    assert current_revision(fresh_engine) is None
    assert not is_current(fresh_engine)
    assert _user_tables(fresh_engine) == set()


def test_upgrade_twice_is_a_no_op(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    upgrade(fresh_engine)
    assert is_current(fresh_engine)
    _assert_no_diff(fresh_engine)


def test_downgrade_to_base_and_upgrade_again(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    with fresh_engine.begin() as conn:  # tables that hold rows, linked by a foreign key
        org_id = conn.execute(
            insert(tables.Organisation).values(name="CERT", kind="government")
        ).inserted_primary_key[0]
        conn.execute(insert(tables.Member).values(email="a@cert.example", org_id=org_id, role="admin"))

    downgrade(fresh_engine, "base")
    assert _user_tables(fresh_engine) == set()
    assert current_revision(fresh_engine) is None

    upgrade(fresh_engine)
    assert is_current(fresh_engine)
    _assert_no_diff(fresh_engine)
    with fresh_engine.connect() as conn:
        assert conn.execute(select(tables.Member.id)).all() == []


def test_sqlite_foreign_keys_are_back_on_after_migrating(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Migrating switches SQLite foreign keys off (batch rebuilds); the pooled connection gets them back."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fk') / 'fk.db'}", pool_size=1)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_revisions_spell_out_their_schema() -> None:
    """A revision importing the live tables would change meaning whenever the tables change."""
    revisions = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert revisions
    for path in revisions:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.startswith("commonspace") for m in modules), f"{path.name} imports {modules}"
