"""``commonspace warninglists``: the lists of known-benign values in use, a value checked against them, and
the flags of stored indicators brought up to date after the lists changed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from commonspace.cli.context import console, errors, fail, progress_bar, show_table, state
from commonspace.domain import canonical
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists import WarningListError
from commonspace.warninglists import service
from commonspace.warninglists.service import InstanceLists

warninglists_app = typer.Typer(
    help="Warninglists: lists of known-benign values (MISP's format) that flag the indicators on them.",
    no_args_is_help=True,
)


def loaded() -> InstanceLists:
    """The lists in use; a folder or list that cannot be used ends the command, naming it and why."""
    try:
        return service.active()
    except WarningListError as exc:
        fail(f"the warninglists cannot be used: {exc}")
        raise


@warninglists_app.command("list")
def list_lists() -> None:
    """The warninglists in use: the built-in ones, and those of --warninglists (COMMONSPACE_WARNINGLISTS)."""
    lists = loaded()
    table = Table("id", "name", "type", "entries")
    for warninglist in lists.lists:
        entries = f"{len(warninglist.entries):,}"
        table.add_row(warninglist.id, warninglist.name, warninglist.type.value, entries)
    show_table(table)
    for warninglist in lists.lists:
        for problem in warninglist.problems:
            errors.print(f"warning: {warninglist.source}: {problem}", markup=False, highlight=False)
    builtin = sum(w.source == "built-in" for w in lists.lists)
    where = f", {len(lists.lists) - builtin} from {lists.directory}" if lists.directory else ""
    console.print(f"{len(lists.lists)} lists: {builtin} built-in{where}", markup=False, highlight=False)


@warninglists_app.command("check")
def check(
    values: Annotated[list[str], typer.Argument(metavar="VALUE...", help="Values, defanged or not.")],
    type_: Annotated[
        IndicatorType | None,
        typer.Option("--type", help="The type of every value; detected as the API does when not given."),
    ] = None,
) -> None:
    """Which warninglists each value is on (one line per list; none: on no list)."""
    lists = loaded()
    checked: list[tuple[str, IndicatorType, str]] = []
    for value in values:
        if type_ is None:
            found = canonical.detect(value)
            if found is None:
                fail(f"cannot tell the type of {value!r}; give it with --type")
            else:
                checked.append((value, *found))
            continue
        try:
            checked.append((value, type_, canonical.canonicalize(type_, value)))
        except canonical.InvalidIndicator as exc:
            fail(str(exc))
    table = Table("value", "type", "list", "name")
    for value, kind, form in checked:
        flags = lists.flags(kind, form)
        for list_id in flags or ():
            table.add_row(value, kind.value, list_id, lists.name(list_id))
        if not flags:
            table.add_row(value, kind.value, "", "on no warninglist")
    show_table(table)


@warninglists_app.command("refresh")
def refresh(
    ctx: typer.Context,
    batch: Annotated[int, typer.Option(min=1, help="Indicators checked and updated per transaction.")] = 5000,
) -> None:
    """Check every stored indicator against the warninglists in use again (after the lists changed).

    The flags that differ are updated; each batch is committed on its own, so running it again after an
    interruption is harmless."""
    lists = loaded()
    context = state(ctx)
    with context.transaction() as session:
        total = service.count_indicators(session)
    checked = changed = flagged = 0
    after = 0
    with progress_bar() as bar:
        task = bar.add_task("checking indicators", total=total)
        while True:
            with context.transaction() as session:
                done = service.refresh_batch(session, lists, after=after, size=batch)
            if not done.checked:
                break
            checked, changed, flagged = checked + done.checked, changed + done.changed, flagged + done.flagged
            after = done.last_id
            bar.update(task, completed=checked)
    console.print(
        f"{checked:,} indicators checked: {changed:,} changed, {flagged:,} on a warninglist.", highlight=False
    )
