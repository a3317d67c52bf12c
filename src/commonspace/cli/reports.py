"""Commands for reading reports and the access log."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from commonspace.accounts import service as accounts
from commonspace.audit import service as audit
from commonspace.cli.context import show_table, state
from commonspace.domain.vocab import TLP, ReportStatus
from commonspace.reports import service as reports
from commonspace.reports.service import ReportQuery

report_app = typer.Typer(help="Reports.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)

AsOption = Annotated[
    str | None, typer.Option("--as", metavar="EMAIL", help="Act as this member, under the access policy.")
]


@report_app.command("list")
def report_list(
    ctx: typer.Context,
    as_: AsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document with all reports.")] = False,
    text: Annotated[str | None, typer.Option(help="Words in the title or summary.")] = None,
    category: Annotated[str | None, typer.Option(help="RSIT class or class/type.")] = None,
    country: Annotated[str | None, typer.Option(help="Victim country (ISO 3166-1 alpha-2).")] = None,
    tlp: Annotated[TLP | None, typer.Option(help="TLP marking.")] = None,
    status: Annotated[ReportStatus | None, typer.Option(help="Only reports in this state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List the reports visible to a member (without --as: all, as the operator)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        q = ReportQuery(text=text, category=category, country=country, tlp=tlp, status=status)
        page = reports.list_reports(session, subject, q, limit=limit)
        outs = reports.report_outs(session, page.items, subject)
    if as_json:
        print(json.dumps([o.model_dump(mode="json") for o in outs], indent=2))
        return
    table = Table("created", "title", "organisation", "category", "TLP", "distribution", "status", "uuid")
    for o in outs:
        table.add_row(
            o.created.date().isoformat(),
            o.title,
            o.organisation.name,
            o.category or "",
            o.tlp.value,
            o.distribution.value,
            o.status.value,
            o.uuid,
        )
    show_table(table)


@audit_app.command("access")
def audit_access(
    ctx: typer.Context,
    as_: Annotated[str, typer.Option("--as", metavar="EMAIL", help="An administrator of the organisation.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many events, newest first.")] = 200,
) -> None:
    """Who outside your organisation read or changed its reports."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_)
        records = audit.list_access(session, subject, limit=limit)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "at": r.at.isoformat(),
                        "action": r.action,
                        "object": r.object_uuid,
                        "member": r.member_email,
                        "organisation": r.organisation,
                        "api_key_id": r.api_key_id,
                        "via": r.via,
                    }
                    for r in records
                ],
                indent=2,
            )
        )
        return
    table = Table("when", "who", "organisation", "action", "object", "via")
    for r in records:
        table.add_row(
            r.at.isoformat(timespec="seconds"),
            r.member_email or "",
            r.organisation or "",
            r.action,
            r.object_uuid or "",
            r.via,
        )
    show_table(table)
