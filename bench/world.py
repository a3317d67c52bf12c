"""Organisations, members, sharing groups and (empty) reports, created through the services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bench.data import World
from commonspace.accounts import service as accounts
from commonspace.domain.vocab import Role
from commonspace.policy import Subject
from commonspace.reports import schemas
from commonspace.reports import service as reports
from commonspace.sharing import service as sharing
from commonspace.store.db import session_factory, transaction


@dataclass(frozen=True)
class Loaded:
    """What the measurements need to act: one publisher per organisation, the searcher, report UUIDs."""

    publishers: dict[int, Subject]
    searcher: Subject
    report_uuids: list[str]


def create(engine: Engine, world: World) -> Loaded:
    with transaction(session_factory(engine, writer=True)) as session:
        orgs = [
            accounts.create_organisation(session, None, name=o.name, kind=o.kind, country=o.country)
            for o in world.orgs
        ]
        members = [
            accounts.create_member(
                session,
                None,
                email=f"member{i}@bench.example",
                org=org,
                role=Role.ANALYST if i == world.searcher_org else Role.PUBLISHER,
            )
            for i, org in enumerate(orgs)
        ]
        for g in world.groups:
            sharing.create_group(
                session, None, name=g.name, owner=orgs[g.owner], members=[orgs[m] for m in g.members]
            )
        session.flush()
        subjects = [accounts.subject_for(session, m) for m in members]
        uuids = []
        for r in world.reports:
            subject = subjects[r.org]
            data = schemas.ReportIn(
                title=r.title,
                tlp=r.tlp,
                distribution=r.distribution,
                sharing_group=world.groups[r.group].name if r.group is not None else None,
            )
            report = reports.create_report(session, subject, data)
            if r.published:
                reports.publish_report(session, subject, report.uuid)
            uuids.append(report.uuid)
    return Loaded(
        publishers={i: s for i, s in enumerate(subjects) if i != world.searcher_org},
        searcher=subjects[world.searcher_org],
        report_uuids=uuids,
    )
