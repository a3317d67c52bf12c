"""Correlation agrees with a naive oracle on random worlds, for every member of them.

Each random world has organisations, sharing groups, and reports of random owner, status, distribution
and group holding values drawn from a small pool where many are linked (addresses inside networks,
networks inside networks, domains under domains, URLs and e-mail addresses under domains), some of them
narrowed. For every subject and every report the subject may see (by tests/policy_oracle.py), the
service's answer must be what this file computes by brute force, pair by pair, from the rules alone:
the other visible reports holding a visible value linked to each visible value of ours, or
"over-correlating" when there are more than the limit. The limit is small, so that values are often
"hot" (held by more reports than the limit, visible or not), the ranges are read sometimes in one
statement, sometimes one by one (a tiny ROW_CAP), and the values' look-ups on PostgreSQL check the policy
sometimes against the ids of the reports seen, sometimes by joining each indicator to its report (a
_SEEN_CAP of 0): none of it may change the answer.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

import policy_oracle as oracle
from commonspace.accounts import service as accounts
from commonspace.correlation import lookup, service
from commonspace.domain.vocab import IndicatorType
from commonspace.reports import indicators, schemas
from commonspace.store import tables as t
from commonspace.store.db import make_engine

POOL: tuple[tuple[str, str], ...] = (
    ("ipv4", "45.9.148.3"),
    ("ipv4", "45.9.148.200"),
    ("ipv4", "45.9.149.1"),
    ("ipv4-cidr", "45.9.148.0/24"),
    ("ipv4-cidr", "45.9.148.128/25"),
    ("ipv4-cidr", "45.9.0.0/16"),
    ("ipv4-cidr", "45.9.148.3/32"),
    ("ipv6", "2a05:d014::5"),
    ("ipv6-cidr", "2a05:d014::/32"),
    ("domain", "evil-c2.top"),
    ("domain", "a.evil-c2.top"),
    ("domain", "b.a.evil-c2.top"),
    ("domain", "other.top"),
    ("url", "https://a.evil-c2.top/x"),
    ("url", "http://evil-c2.top/"),
    ("email", "boss@b.a.evil-c2.top"),
    ("sha256", "ab" * 32),
)
IPS = ("ipv4", "ipv6")
NETWORKS = ("ipv4-cidr", "ipv6-cidr")
Sharing = tuple[str, int | None]


def link(ours: tuple[str, str], theirs: tuple[str, str]) -> str | None:
    """The kind of link from our value to theirs, by the rules alone; None when they are not linked."""
    (our_type, ours_v), (their_type, theirs_v) = ours, theirs
    if ours == theirs:
        return "equal"
    if our_type in IPS + NETWORKS and their_type in IPS + NETWORKS:
        a, b = ipaddress.ip_network(ours_v), ipaddress.ip_network(theirs_v)
        if a.version != b.version:
            return None
        if our_type in NETWORKS and b.subnet_of(a) and (their_type in IPS or b.prefixlen > a.prefixlen):  # type: ignore[arg-type]
            return "contains"
        if their_type in NETWORKS and a.subnet_of(b) and (our_type in IPS or a.prefixlen > b.prefixlen):  # type: ignore[arg-type]
            return "contained-in"
        return None

    def under(host: str, domain: str) -> bool:
        return host == domain or host.endswith("." + domain)

    def host(type_: str, value: str) -> str:
        return value.rpartition("@")[2] if type_ == "email" else urlsplit(value).hostname or ""

    if our_type == "domain" and their_type == "domain":
        if theirs_v.endswith("." + ours_v):
            return "subdomain"
        return "parent-domain" if ours_v.endswith("." + theirs_v) else None
    if our_type == "domain" and their_type in ("url", "email"):
        return "contains" if under(host(their_type, theirs_v), ours_v) else None
    if our_type in ("url", "email") and their_type == "domain":
        return "contained-in" if under(host(our_type, ours_v), theirs_v) else None
    return None


@dataclass(frozen=True)
class ReportSpec:
    org: int
    status: str
    distribution: str
    group: int | None
    values: tuple[tuple[int, Sharing | None], ...]  # (index in POOL, narrowing)

    @property
    def shared(self) -> oracle.Shared:
        return oracle.Shared(
            org=self.org, status=self.status, distribution=self.distribution, group=self.group
        )


@dataclass(frozen=True)
class WorldSpec:
    orgs: int
    groups: tuple[frozenset[int], ...]  # member organisations (the first is the owner)
    reports: tuple[ReportSpec, ...]
    subjects: tuple[tuple[int, str], ...]  # (organisation, role)
    limit: int
    row_cap: int
    seen_cap: int


def sharings(groups: int) -> st.SearchStrategy[Sharing]:
    plain = st.sampled_from(["organisation", "community"]).map(lambda d: (d, None))
    if not groups:
        return plain
    return plain | st.integers(0, groups - 1).map(lambda g: ("sharing-group", g))


@st.composite
def worlds(draw: st.DrawFn) -> WorldSpec:
    orgs = draw(st.integers(2, 3))
    org = st.integers(0, orgs - 1)
    groups = tuple(
        frozenset(members) for members in draw(st.lists(st.sets(org, min_size=1, max_size=2), max_size=2))
    )
    reports = []
    for _ in range(draw(st.integers(1, 7))):
        distribution, group = draw(sharings(len(groups)))
        values = draw(
            st.lists(
                st.tuples(st.integers(0, len(POOL) - 1), st.none() | st.none() | sharings(len(groups))),
                max_size=5,
                unique_by=lambda pair: pair[0],
            )
        )
        status = draw(st.sampled_from(oracle.STATUSES))
        reports.append(ReportSpec(draw(org), status, distribution, group, tuple(values)))
    subjects = tuple(draw(st.lists(st.tuples(org, st.sampled_from(oracle.ROLES)), min_size=1, max_size=3)))
    return WorldSpec(
        orgs,
        groups,
        tuple(reports),
        subjects,
        draw(st.integers(1, 3)),
        draw(st.sampled_from([1, 10_000])),
        draw(st.sampled_from([0, lookup._SEEN_CAP])),
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def oracle_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One database for all examples (each example rolls back): a SQLite copy, or the run's PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("correlation-oracle") / "commonspace.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    with engine.begin() as conn:
        for table in reversed(t.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield engine


def _insert(session: Session, world: WorldSpec) -> tuple[list[t.Report], list[tuple[int, str, t.Member]]]:
    orgs = [t.Organisation(name=f"org {i}", kind="enterprise", country="FR") for i in range(world.orgs)]
    session.add_all(orgs)
    session.flush()
    groups = [
        t.SharingGroup(name=f"group {i}", owner_org_id=orgs[min(m)].id) for i, m in enumerate(world.groups)
    ]
    session.add_all(groups)
    session.flush()
    session.add_all(
        t.SharingGroupMember(group_id=groups[i].id, org_id=orgs[member].id)
        for i, members in enumerate(world.groups)
        for member in sorted(members)
    )
    rows = []
    for i, spec in enumerate(world.reports):
        report = t.Report(
            title=f"report {i}",
            tlp="AMBER",
            distribution=spec.distribution,
            sharing_group_id=None if spec.group is None else groups[spec.group].id,
            status=spec.status,
            org_id=orgs[spec.org].id,
        )
        session.add(report)
        session.flush()
        items = [schemas.IndicatorIn(type=POOL[k][0], value=POOL[k][1]) for k, _ in spec.values]
        indicators.add_indicators(session, None, report, items, audit_it=False)
        for k, narrowing in spec.values:  # narrowed freely, as stored rows may be (the policy must hold)
            if narrowing is not None:
                session.execute(
                    update(t.Indicator)
                    .where(t.Indicator.report_id == report.id, t.Indicator.canonical == POOL[k][1])
                    .values(
                        distribution=narrowing[0],
                        sharing_group_id=None if narrowing[1] is None else groups[narrowing[1]].id,
                    )
                )
        rows.append(report)
    members = []
    for k, (org_index, role) in enumerate(world.subjects):
        member = t.Member(email=f"member{k}@example.org", org_id=orgs[org_index].id, role=role)
        session.add(member)
        session.flush()
        members.append((org_index, role, member))
    return rows, members


Expected = dict[str, frozenset[tuple[int, str, str, str]] | str]


def _expected(
    world: WorldSpec, actor: oracle.Actor, ours: int | None, values: list[tuple[str, str]]
) -> Expected:
    memberships = dict(enumerate(world.groups))
    out: Expected = {}
    for value in values:
        found = set()
        for j, other in enumerate(world.reports):
            if j == ours or not oracle.sees(actor, other.shared, memberships):
                continue
            for k, narrowing in other.values:
                if not oracle.sees_indicator(actor, other.shared, narrowing, memberships):
                    continue
                kind = link(value, POOL[k])
                if kind is not None:
                    found.add((j, kind, *POOL[k]))
        if len({j for j, *_ in found}) > world.limit:
            out[value[1]] = "over-correlating"
        elif found:
            out[value[1]] = frozenset(found)
    return out


def _answer(
    item: service.Correlation, report_index: dict[int, int]
) -> frozenset[tuple[int, str, str, str]] | str:
    if item.over_correlating:
        assert item.reports == []
        return "over-correlating"
    return frozenset(
        (report_index[c.report.id], m.kind.value, m.type, m.value) for c in item.reports for m in c.matches
    )


@settings(max_examples=60, deadline=None)
@given(world=worlds(), asked=st.sampled_from(POOL))
def test_correlations_are_those_of_the_naive_oracle(
    oracle_engine: Engine, world: WorldSpec, asked: tuple[str, str]
) -> None:
    memberships = dict(enumerate(world.groups))
    with (
        Session(oracle_engine) as session,
        mock.patch.object(lookup, "ROW_CAP", world.row_cap),
        mock.patch.object(lookup, "_SEEN_CAP", world.seen_cap),
    ):
        assert session.scalar(select(func.count()).select_from(t.Organisation)) == 0, "not an empty database"
        reports, members = _insert(session, world)
        report_index = {report.id: i for i, report in enumerate(reports)}
        for k, (org_index, role, member) in enumerate(members):
            subject = accounts.subject_for(session, member)
            actor = oracle.Actor(org=org_index, role=role, member=k)
            for i, spec in enumerate(world.reports):
                if not oracle.sees(actor, spec.shared, memberships):
                    continue
                mine = [
                    POOL[v]
                    for v, narrowing in spec.values
                    if oracle.sees_indicator(actor, spec.shared, narrowing, memberships)
                ]
                page = service.correlate_report(
                    session, subject, reports[i], limit=service.MAX_PAGE, threshold=world.limit
                )
                got = {item.value.canonical: _answer(item, report_index) for item in page.items}
                assert got == _expected(world, actor, i, mine), f"report {i} seen by {actor}"
            found = service.correlate_value(
                session, subject, asked[1], type_=IndicatorType(asked[0]), threshold=world.limit
            )
            expected = _expected(world, actor, None, [asked]).get(asked[1], frozenset())
            assert _answer(found, report_index) == expected, f"{asked} seen by {actor}"
