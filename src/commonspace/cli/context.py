"""What every command shares: the database it works on, and how it reports errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from commonspace.domain.errors import CommonspaceError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

# Soft wrap: a message is one line however narrow the output, so that a UUID, key or URL in it is never
# broken in two when the output goes to a file or another program (the terminal wraps for the eye).
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def progress_bar() -> Progress:
    """The commands' progress bar: on standard error, gone when done (and silent off a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


def advancing(bar: Progress, task: TaskID) -> Callable[[int], None]:
    """A callback setting the task's count of work done."""

    def advance(done: int) -> None:
        bar.update(task, completed=done)

    return advance


@dataclass
class Context:
    """The database a command works on. SQLAlchemy and the schema's modules are imported when a command
    first uses the database: matching files against files, for one, never does, and starts sooner."""

    database: str | None

    @property
    def url(self) -> str:
        from commonspace.store.db import database_url

        return database_url(self.database)

    @property
    def shown_url(self) -> str:
        """The URL for messages: a PostgreSQL password must not end up on screens and in logs."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.url

    @cached_property
    def engine(self) -> Engine:
        from commonspace.store.db import make_engine

        return make_engine(self.url)

    def close(self) -> None:
        """Close the database connections, if the command opened any."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from commonspace.store.db import session_factory

        return session_factory(self.engine, writer=True)

    def require_schema(self) -> None:
        from commonspace.store.migrate import is_current

        if not is_current(self.engine):
            where = self.shown_url
            fail(f"the database at {where} is not initialised or not up to date: run 'commonspace init'")

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
    # Text, not markup: messages quote user input ("[/]" in a name would otherwise crash Rich).
    errors.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
    raise typer.Exit(code)


def show_table(table: Table) -> None:
    """Print a table of stored values as they are: never read as Rich markup (names and titles come from
    other organisations), and never cut short when the output goes to a file or another program."""
    if console.is_terminal:
        console.print(table, markup=False, highlight=False, soft_wrap=False)
    else:
        Console(width=100_000, markup=False, highlight=False).print(table)


def state(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj
