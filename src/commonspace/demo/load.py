"""Writing the demo world through the services, once, and printing its public credentials.

Everything goes through the same use cases as the API and the CLI (organisations, members, keys, groups,
reports with their indicators in bulk, publication, sightings); then the reports' dates are set back to
when the generator says they happened, since the services stamp "now". Loading is idempotent: when the
operator organisation exists, nothing is added and the same summary is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from commonspace.accounts import passwords
from commonspace.accounts import service as accounts
from commonspace.demo import catalogue as cat
from commonspace.demo import discussions
from commonspace.demo.generate import ReportSpec, generate
from commonspace.demo.sources import default_data_dir, load_pools
from commonspace.domain.vocab import Distribution, ReportStatus, Role, SightingKind
from commonspace.policy import Subject
from commonspace.reports import schemas, sightings
from commonspace.reports import service as report_service
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.store.tables import utcnow

WEB_URL = "http://127.0.0.1:8000/"
API_URL = WEB_URL + "api/v1"
DEFAULT_REPORTS = 350


@dataclass(frozen=True)
class Credential:
    email: str
    name: str
    organisation: str
    role: Role
    api_key: str


@dataclass(frozen=True)
class DemoSummary:
    organisations: int
    countries: int
    groups: int
    members: int
    reports: int
    published: int
    indicators: int
    sightings: int
    password: str
    credentials: tuple[Credential, ...]
    loaded_now: bool = field(default=False, compare=False)  # False when the world was already there


def credentials() -> tuple[Credential, ...]:
    return tuple(Credential(p.email, p.name, p.org, p.role, cat.demo_key(p.email)) for p in cat.people())


def summarise(session: Session, *, loaded_now: bool = False) -> DemoSummary:
    """What the demo organisations hold now."""
    names = [o.name for o in cat.ORGANISATIONS]
    org_ids = select(t.Organisation.id).where(t.Organisation.name.in_(names))
    countries = session.scalars(select(t.Organisation.country).where(t.Organisation.name.in_(names))).all()
    ours = t.Report.org_id.in_(org_ids)
    ours_indicators = select(t.Indicator.id).join(t.Report).where(ours)

    def count(column: Any, *where: Any) -> int:
        query: Select[Any] = select(func.count(column)).where(*where)
        return int(session.scalar(query) or 0)

    return DemoSummary(
        organisations=len(countries),
        countries=len({c for c in countries if c}),
        groups=count(t.SharingGroup.id, t.SharingGroup.name.in_([g.name for g in cat.GROUPS])),
        members=count(t.Member.id, t.Member.org_id.in_(org_ids)),
        reports=count(t.Report.id, ours),
        published=count(t.Report.id, ours, t.Report.status == ReportStatus.PUBLISHED.value),
        indicators=count(t.Indicator.id, t.Indicator.report_id.in_(select(t.Report.id).where(ours))),
        sightings=count(t.Sighting.id, t.Sighting.indicator_id.in_(ours_indicators)),
        password=cat.DEMO_PASSWORD,
        credentials=credentials(),
        loaded_now=loaded_now,
    )


def _people(session: Session) -> dict[str, t.Member]:
    orgs = {
        o.name: accounts.create_organisation(
            session, None, name=o.name, kind=o.kind, country=o.country, sector=o.sector, contact=o.contact
        )
        for o in cat.ORGANISATIONS
    }
    for g in cat.GROUPS:
        owner, others = orgs[g.owner], [orgs[name] for name in g.members]
        sharing.create_group(
            session, None, name=g.name, owner=owner, members=others, description=g.description
        )
    # One argon2 hash for all: each costs a fifth of a second, and the password is the same public one.
    password_hash = passwords.hash_password(cat.DEMO_PASSWORD)
    members = {}
    for person in cat.people():
        member = accounts.create_member(
            session, None, email=person.email, org=orgs[person.org], role=person.role, name=person.name
        )
        member.password_hash = password_hash
        accounts.create_api_key(session, None, member, name="demo key", plaintext=cat.demo_key(person.email))
        members[person.email] = member
    return members


def _acting(session: Session, members: dict[str, t.Member], order: tuple[Role, ...]) -> dict[str, Subject]:
    """Per organisation, the member who acts for it: its first member with the first role of ``order``."""
    out: dict[str, Subject] = {}
    for role in order:
        for person in cat.people():
            if person.role is role and person.org not in out:
                out[person.org] = accounts.subject_for(session, members[person.email], via="cli")
    return out


def _report_in(spec: ReportSpec) -> schemas.ReportIn:
    return schemas.ReportIn(
        title=spec.title, summary=spec.summary, category=spec.category, threat_level=spec.threat_level,
        victim_countries=list(spec.victim_countries), victim_sectors=list(spec.victim_sectors),
        first_seen=spec.first_seen, last_seen=spec.last_seen, tags=list(spec.tags),
        loss=schemas.Loss(amount=spec.loss[0], currency=spec.loss[1]) if spec.loss else None,
        tlp=spec.tlp, distribution=spec.distribution, sharing_group=spec.sharing_group,
        indicators=[
            schemas.IndicatorIn(
                type=i.type, value=i.value, comment=i.comment, confidence=i.confidence, tags=list(i.tags),
                first_seen=spec.first_seen, last_seen=spec.last_seen,
                distribution=Distribution.ORGANISATION if i.organisation_only else None,
            )
            for i in spec.indicators
        ],
    )  # fmt: skip


def _write(session: Session, author: Subject, spec: ReportSpec) -> t.Report:
    report = report_service.create_report(session, author, _report_in(spec))
    if spec.published is not None:
        report_service.publish_report(session, author, report.uuid)
    report.created, report.published, report.modified = spec.created, spec.published, spec.modified
    session.execute(
        update(t.Indicator)
        .where(t.Indicator.report_id == report.id)
        .values(created=spec.created, modified=spec.modified)
    )
    return report


def _sight(session: Session, observers: dict[str, Subject], report: t.Report, spec: ReportSpec) -> None:
    uuids = dict(
        session.execute(
            select(t.Indicator.value, t.Indicator.uuid).where(t.Indicator.report_id == report.id)
        ).all()
    )
    for s in spec.sightings:
        kind = SightingKind.FALSE_POSITIVE if s.false_positive else SightingKind.SIGHTING
        data = schemas.SightingIn(seen=s.seen, source=s.source, count=s.count, kind=kind)
        made = sightings.add_sighting(
            session, observers[s.org], uuids[spec.indicators[s.indicator].value], data
        )
        made.created = s.seen


def load_demo(
    session: Session,
    *,
    progress: Console | None = None,
    reports: int = DEFAULT_REPORTS,
    data_dir: Path | None = None,
    now: datetime | None = None,
    seed: int = cat.SEED,
) -> DemoSummary:
    """Load the demo world into ``session`` (the caller commits), unless it is there already."""
    if session.scalar(select(t.Organisation.id).where(t.Organisation.name == cat.OPERATOR)) is not None:
        if progress is not None:
            progress.print("The demo world is already loaded: nothing added.")
        return summarise(session)
    root = data_dir if data_dir is not None else default_data_dir()
    pools = load_pools(root, seed)
    specs = generate(pools, count=reports, now=now or utcnow(), seed=seed)
    if progress is not None:
        used = ", ".join(pools.real) if pools.real else f"none found in {root}: values are generated"
        progress.print(f"Loading the demo world (public indicator lists: {used})", highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress, disable=progress is None) as bar:
        task = bar.add_task("organisations and members", total=1)
        members = _people(session)
        bar.advance(task)
        authors = _acting(session, members, (Role.PUBLISHER, Role.ORG_ADMIN))
        observers = _acting(session, members, (Role.ANALYST, Role.PUBLISHER, Role.ORG_ADMIN))
        task = bar.add_task("reports and indicators", total=len(specs))
        for spec in specs:
            report = _write(session, authors[spec.org], spec)
            if spec.sightings:
                _sight(session, observers, report, spec)
                discussions.comment(session, observers | {spec.org: authors[spec.org]}, report, spec)
            bar.advance(task)
        discussions.topics(session, observers)
    session.flush()
    return summarise(session, loaded_now=True)


def print_credentials(console: Console, summary: DemoSummary) -> None:
    """The world in one line, the sign-ins, the API keys and where the API is."""
    console.print(
        f"[bold]Demo world[/]: {summary.organisations} organisations in {summary.countries} countries, "
        f"{summary.groups} sharing groups, {summary.members} members, {summary.reports:,} reports "
        f"({summary.published:,} published), {summary.indicators:,} indicators, "
        f"{summary.sightings} sightings.",
        highlight=False,
    )
    console.print(
        "The organisations and reports are fictitious; these credentials are public: never use them "
        "on a real instance.",
        style="yellow",
    )
    table = Table(title=f"Sign-ins (password for all: {summary.password})")
    table.add_column("E-mail", no_wrap=True)
    table.add_column("Organisation")
    table.add_column("Role", no_wrap=True)
    for c in summary.credentials:
        table.add_row(c.email, c.organisation, c.role.value)
    console.print(table)
    console.print("API keys, one per member (send as 'Authorization: Bearer <key>'):", highlight=False)
    for c in summary.credentials:
        console.print(f"  {c.api_key}  {c.email}", soft_wrap=True, highlight=False, markup=False)
    console.print(f"Web: {WEB_URL}  (sign in with any e-mail above)", soft_wrap=True, highlight=False)
    console.print(f"API: {API_URL}  OpenAPI: {API_URL}/openapi.json", soft_wrap=True, highlight=False)
    example = summary.credentials[0]
    console.print(
        f"Try: curl -H 'Authorization: Bearer {example.api_key}' {API_URL}/me",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
