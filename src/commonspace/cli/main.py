"""The root command, its global options, and the instance's own commands: init, serve, demo, worker."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from commonspace.cli import accounts, exchange, reports
from commonspace.cli import correlate as correlate_command
from commonspace.cli import match as match_command
from commonspace.cli import warninglists as warninglist_commands
from commonspace.cli.context import Context, console, fail, state
from commonspace.engine.warninglists import WarningListError
from commonspace.store.migrate import upgrade
from commonspace.warninglists import service as warninglists

app = typer.Typer(
    help="Commonspace: share cyber-threat intelligence across organisations and borders, under control.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(accounts.org_app, name="org")
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.apikey_app, name="apikey")
app.add_typer(accounts.group_app, name="group")
app.add_typer(reports.report_app, name="report")
app.add_typer(reports.audit_app, name="audit")
app.command("import")(exchange.import_files)
app.command("export")(exchange.export_files)
app.command("correlate")(correlate_command.correlate)
app.command("match")(match_command.match)
app.add_typer(warninglist_commands.warninglists_app, name="warninglists")

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
    from commonspace.demo import load

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
