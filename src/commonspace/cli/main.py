"""The root command, its global options, and the instance's own commands: init, serve, demo, worker."""

from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from commonspace.cli.context import Context, console, fail, state
from commonspace.engine.warninglists import WarningListError
from commonspace.warninglists import instance as warninglists

Command = Any  # a Typer/Click command (Typer carries its own Click, whose types moved between releases)

# The subcommands of other modules, by module and name: command functions, then Typers of subcommands.
# A module is imported when one of its commands is used. The help and the reference list the commands
# in this order, this module's own (init, serve, demo, worker) between the two kinds.
COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("commonspace.cli.exchange", "import_files"),
    "export": ("commonspace.cli.exchange", "export_files"),
    "correlate": ("commonspace.cli.correlate", "correlate"),
    "match": ("commonspace.cli.match", "match"),
}
GROUPS: dict[str, tuple[str, str]] = {
    "org": ("commonspace.cli.accounts", "org_app"),
    "user": ("commonspace.cli.accounts", "user_app"),
    "apikey": ("commonspace.cli.accounts", "apikey_app"),
    "group": ("commonspace.cli.accounts", "group_app"),
    "report": ("commonspace.cli.reports", "report_app"),
    "audit": ("commonspace.cli.reports", "audit_app"),
    "warninglists": ("commonspace.cli.warninglists", "warninglists_app"),
}


def _load(name: str) -> Command:
    module, attribute = COMMANDS.get(name) or GROUPS[name]
    target = getattr(importlib.import_module(module), attribute)
    if name in GROUPS:
        command: Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _Subcommands(MutableMapping[str, Command]):
    """The root's subcommands by name: those of :data:`COMMANDS` and :data:`GROUPS` are made when first
    looked up.

    Each command module imports the services it calls, and with them SQLAlchemy and the schema: a second
    or so that ``commonspace match`` over files, for one, does not need to spend."""

    def __init__(self, commands: MutableMapping[str, Command]) -> None:
        self._made = dict(commands)
        self._names = [*COMMANDS, *commands, *GROUPS]

    def __getitem__(self, name: str) -> Command:
        if name not in self._made:
            if name not in COMMANDS and name not in GROUPS:
                raise KeyError(name)
            self._made[name] = _load(name)
        return self._made[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._made[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._made.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _Root(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Subcommands(self.commands)


app = typer.Typer(
    cls=_Root,
    help="Commonspace: share cyber-threat intelligence across organisations and borders, under control.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="COMMONSPACE_DATABASE_URL",
        help="Database URL (default sqlite:///./var/commonspace.db; postgresql://… for PostgreSQL).",
    ),
]


WarninglistsOption = Annotated[
    Path | None,
    typer.Option(
        "--warninglists",
        metavar="DIR",
        envvar="COMMONSPACE_WARNINGLISTS",
        help="A folder of warninglists in MISP's format (<id>.json files, <id>/list.json folders, or a clone "
        "of MISP's misp-warninglists), used beside the built-in lists; read when first needed.",
    ),
]


@app.callback()
def root(
    ctx: typer.Context, database: DatabaseOption = None, warninglists_dir: WarninglistsOption = None
) -> None:
    ctx.obj = Context(database)
    ctx.call_on_close(ctx.obj.close)
    warninglists.configure(warninglists_dir)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database, or bring its schema up to date."""
    from commonspace.store.migrate import upgrade

    context = state(ctx)
    upgrade(context.engine)
    console.print(f"database ready: {context.shown_url}", markup=False, highlight=False)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Job worker threads inside the server (0 for none).")] = 2,
) -> None:
    """Serve the web pages and the API (and run background jobs) until interrupted."""
    import uvicorn

    from commonspace.cli import warninglists as warninglist_commands
    from commonspace.store.migrate import upgrade
    from commonspace.web.app import create_app

    context = state(ctx)
    upgrade(context.engine)
    warninglist_commands.loaded()  # a list that cannot be used stops the server before it starts
    console.print(
        f"Commonspace on http://{host}:{port}/  (sign in there; API: /api/v1, OpenAPI: /api/v1/openapi.json)"
    )
    uvicorn.run(create_app(context.engine, workers=workers), host=host, port=port, log_level="info")


@app.command()
def demo(ctx: typer.Context) -> None:
    """Load the demo world (idempotent) and print its sign-ins and API keys."""
    from commonspace.cli import warninglists as warninglist_commands
    from commonspace.demo import load
    from commonspace.store.migrate import upgrade

    context = state(ctx)
    upgrade(context.engine)
    warninglist_commands.loaded()
    with context.transaction() as session:
        summary = load.load_demo(session, progress=console)
    load.print_credentials(console, summary)


@app.command()
def worker(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(help="Worker threads in this process.")] = 1,
) -> None:
    """Run job workers in this process until interrupted (several processes share the queue)."""
    from commonspace.cli import warninglists as warninglist_commands
    from commonspace.jobs.runner import start_background_workers
    from commonspace.web.app import job_handlers

    context = state(ctx)
    context.require_schema()
    warninglist_commands.loaded()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = start_background_workers(context.sessions, job_handlers(), count, stop)
    console.print(f"{count} worker(s) running; Ctrl-C to stop")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        stop.set()
    for thread in threads:
        thread.join(timeout=30)


def main() -> None:
    try:
        app()
    except WarningListError as exc:  # the lists were first needed in the middle of a command (an import)
        fail(f"the warninglists cannot be used: {exc}")
