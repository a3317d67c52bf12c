"""What every command shares: the database it works on, and how it reports errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from commonspace.domain.errors import CommonspaceError
from commonspace.store.db import database_url, make_engine, session_factory
from commonspace.store.migrate import is_current

console = Console()
errors = Console(stderr=True)


@dataclass
class Context:
    database: str | None

    @property
    def url(self) -> str:
        return database_url(self.database)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine, writer=True)

    def require_schema(self) -> None:
        if not is_current(self.engine):
            fail(f"the database at {self.url} is not initialised or not up to date: run 'commonspace init'")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction committed on success; a service error ends the command with its message."""
        self.require_schema()
        try:
            with self.sessions() as session, session.begin():
                yield session
        except CommonspaceError as exc:
            where = f" ({exc.field})" if exc.field else ""
            fail(f"{exc.message}{where}")


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def state(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj
