"""Commands for organisations, members, API keys and sharing groups.

Without ``--as`` a command acts as this instance's operator (who holds the database anyway); with
``--as EMAIL`` it acts as that member, under the same access policy as the API.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from commonspace.accounts import service as accounts
from commonspace.cli.context import console, fail, show_table, state
from commonspace.domain.vocab import OrgKind, Role
from commonspace.sharing import service as sharing
from commonspace.store.tables import utcnow

org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Members (users) of organisations.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
group_app = typer.Typer(help="Sharing groups (a bilateral channel is a group of two).", no_args_is_help=True)

AsOption = Annotated[
    str | None, typer.Option("--as", metavar="EMAIL", help="Act as this member, under the access policy.")
]


@org_app.command("add")
def org_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The organisation's name, unique on this instance.")],
    kind: Annotated[OrgKind, typer.Option(help="Kind of organisation.")],
    country: Annotated[
        str | None, typer.Option(help="ISO 3166-1 alpha-2 code (none for international).")
    ] = None,
    sector: Annotated[str | None, typer.Option(help="Sector, e.g. telecommunications.")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact address.")] = None,
    as_: AsOption = None,
) -> None:
    """Add an organisation (site administrators only)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        org = accounts.create_organisation(
            session, subject, name=name, kind=kind, country=country, sector=sector, contact=contact
        )
        console.print(f"organisation {org.name} added: {org.uuid}", markup=False, highlight=False)


@org_app.command("list")
def org_list(ctx: typer.Context) -> None:
    """List the community's organisations."""
    with state(ctx).transaction() as session:
        table = Table("name", "kind", "country", "sector", "uuid")
        for org in accounts.list_organisations(session, None):
            table.add_row(org.name, org.kind, org.country or "", org.sector or "", org.uuid)
        show_table(table)


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The member's e-mail address (their sign-in).")],
    org: Annotated[str, typer.Option(help="Organisation name or UUID.")],
    role: Annotated[Role, typer.Option(help="Role in the organisation.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the sign-in password from standard input.")
    ] = False,
    as_: AsOption = None,
) -> None:
    """Add a member to an organisation."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and (not password or len(password) < 12):
        fail("the password read from standard input must be at least 12 characters")
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        organisation = accounts.get_organisation(session, org)
        member = accounts.create_member(
            session, subject, email=email, org=organisation, role=role, name=name, password=password
        )
        console.print(
            f"member {member.email} ({member.role}) added to {organisation.name}",
            markup=False,
            highlight=False,
        )


@user_app.command("update")
def user_update(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The member's e-mail address or UUID.")],
    role: Annotated[Role | None, typer.Option(help="New role.")] = None,
    disable: Annotated[bool | None, typer.Option("--disable/--enable", help="Disable or enable.")] = None,
    as_: AsOption = None,
) -> None:
    """Change a member's role, or disable or enable them (takes effect on their next request)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        member = accounts.visible_member(session, subject, email)
        accounts.update_member(session, subject, member, role=role, disabled=disable)
        console.print(
            f"member {member.email}: role {member.role}, disabled {member.disabled}",
            markup=False,
            highlight=False,
        )


@apikey_app.command("create")
def apikey_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The e-mail address or UUID of the member the key is for.")],
    name: Annotated[str, typer.Option(help="A name to tell the key apart.")] = "",
    read_only: Annotated[bool, typer.Option(help="The key may read but not change anything.")] = False,
    expires_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never).")
    ] = None,
    as_: AsOption = None,
) -> None:
    """Create an API key for a member and print it (this once only)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        member = accounts.visible_member(session, subject, email)
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        api_key, plaintext = accounts.create_api_key(
            session, subject, member, name=name, read_only=read_only, expires=expires
        )
        console.print(
            f"API key {api_key.uuid} for {member.email} (shown once):", markup=False, highlight=False
        )
    print(plaintext)


@apikey_app.command("revoke")
def apikey_revoke(
    ctx: typer.Context,
    uuid: Annotated[str, typer.Argument(help="The key's UUID (printed when it was created).")],
    as_: AsOption = None,
) -> None:
    """Revoke an API key (takes effect on its next request)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        accounts.revoke_api_key(session, subject, uuid)
        console.print(f"API key {uuid} revoked", markup=False, highlight=False)


@group_app.command("add")
def group_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The group's name, unique on this instance.")],
    owner: Annotated[str, typer.Option(help="Owner organisation (name or UUID).")],
    member: Annotated[list[str] | None, typer.Option(help="A member organisation (name or UUID).")] = None,
    description: Annotated[str, typer.Option(help="What the group is for.")] = "",
    as_: AsOption = None,
) -> None:
    """Create a sharing group (two organisations make a bilateral channel)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        owner_org = accounts.get_organisation(session, owner)
        members = [accounts.get_organisation(session, ref) for ref in member or []]
        group = sharing.create_group(
            session, subject, name=name, owner=owner_org, members=members, description=description
        )
        console.print(f"sharing group {group.name} created: {group.uuid}", markup=False, highlight=False)


@group_app.command("list")
def group_list(ctx: typer.Context, as_: AsOption = None) -> None:
    """List sharing groups (with --as, those of the member's organisation)."""
    with state(ctx).transaction() as session:
        subject = accounts.subject_by_email(session, as_) if as_ else None
        table = Table("name", "members", "uuid")
        for group in sharing.list_groups(session, subject):
            names = ", ".join(o.name for o in sharing.member_organisations(session, group))
            table.add_row(group.name, names, group.uuid)
        show_table(table)
