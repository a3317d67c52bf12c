"""The access policy's two forms agree with each other and with the rules, on random worlds.

For every subject of a random world (organisations, sharing groups with random members, reports with a
random owner, status, distribution, TLP and group, indicators with random narrowing):

- the reports ``policy.report_filter`` selects in SQL are those ``policy.can_see_report`` allows;
- the indicators ``policy.indicator_filter`` selects are those ``policy.can_see_indicator`` allows;
- both are what the independent oracle (tests/policy_oracle.py) says, and ``policy.can_edit_report``
  allows exactly the changes the oracle does.

Narrowings are drawn freely, widenings and foreign groups included (the service refuses those, but the
policy must still agree with itself and with the rules on any stored row). Subjects are built from the
database by ``accounts.subject_for``, as each request builds them. On SQLite and on PostgreSQL (the SQL
filters are what differs between them); each example runs in one transaction that is rolled back, so
every example starts from an empty database.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import policy_oracle as oracle
from commonspace import policy
from commonspace.accounts import service as accounts
from commonspace.store import tables as t
from commonspace.store.db import make_engine

Sharing = tuple[str, int | None]  # (distribution, group index)


@dataclass(frozen=True)
class ReportSpec:
    org: int
    status: str
    distribution: str
    group: int | None
    tlp: str
    narrowings: tuple[Sharing | None, ...]  # one indicator each; None: not narrowed

    @property
    def shared(self) -> oracle.Shared:
        return oracle.Shared(
            org=self.org, status=self.status, distribution=self.distribution, group=self.group
        )


@dataclass(frozen=True)
class SubjectSpec:
    org: int
    role: str
    read_only: bool

    @property
    def actor(self) -> oracle.Actor:
        return oracle.Actor(org=self.org, role=self.role, read_only=self.read_only)


@dataclass(frozen=True)
class WorldSpec:
    orgs: int
    groups: tuple[tuple[int, frozenset[int]], ...]  # (owner, member organisations, owner included)
    reports: tuple[ReportSpec, ...]
    subjects: tuple[SubjectSpec, ...]

    @property
    def memberships(self) -> dict[int, frozenset[int]]:
        return {index: members for index, (_owner, members) in enumerate(self.groups)}


def sharings(groups: int) -> st.SearchStrategy[Sharing]:
    plain = st.sampled_from(["organisation", "community", "connected-communities"]).map(
        lambda distribution: (distribution, None)
    )
    if not groups:
        return plain
    return plain | st.integers(0, groups - 1).map(lambda group: ("sharing-group", group))


@st.composite
def worlds(draw: st.DrawFn) -> WorldSpec:
    orgs = draw(st.integers(1, 4))
    org = st.integers(0, orgs - 1)
    groups = tuple(
        (owner, frozenset(members) | {owner})
        for owner, members in draw(st.lists(st.tuples(org, st.frozensets(org)), max_size=3))
    )
    reports = []
    for _ in range(draw(st.integers(0, 8))):
        distribution, group = draw(sharings(len(groups)))
        tlp = draw(st.sampled_from([tlp for tlp in oracle.TLPS if oracle.tlp_allowed(tlp, distribution)]))
        narrowings = draw(st.lists(st.none() | sharings(len(groups)), max_size=3))
        status = draw(st.sampled_from(oracle.STATUSES))
        reports.append(ReportSpec(draw(org), status, distribution, group, tlp, tuple(narrowings)))
    subjects = draw(
        st.lists(
            st.builds(SubjectSpec, org, st.sampled_from(oracle.ROLES), st.booleans()), min_size=1, max_size=6
        )
    )
    return WorldSpec(orgs, groups, tuple(reports), tuple(subjects))


@dataclass
class Inserted:
    reports: dict[int, tuple[int, t.Report]]  # report row id -> (spec index, row)
    indicators: dict[int, tuple[int, int, t.Indicator]]  # indicator row id -> (report index, n, row)
    subjects: list[tuple[SubjectSpec, policy.Subject]]


def insert(session: Session, world: WorldSpec) -> Inserted:
    orgs = [t.Organisation(name=f"org {i}", kind="enterprise", country="FR") for i in range(world.orgs)]
    session.add_all(orgs)
    session.flush()
    groups = [
        t.SharingGroup(name=f"group {i}", owner_org_id=orgs[owner].id)
        for i, (owner, _) in enumerate(world.groups)
    ]
    session.add_all(groups)
    session.flush()
    session.add_all(
        t.SharingGroupMember(group_id=groups[i].id, org_id=orgs[member].id)
        for i, (_, members) in enumerate(world.groups)
        for member in sorted(members)
    )

    def group_id(index: int | None) -> int | None:
        return None if index is None else groups[index].id

    reports: dict[int, tuple[int, t.Report]] = {}
    indicators: dict[int, tuple[int, int, t.Indicator]] = {}
    for i, spec in enumerate(world.reports):
        report = t.Report(
            title=f"report {i}",
            tlp=spec.tlp,
            distribution=spec.distribution,
            sharing_group_id=group_id(spec.group),
            status=spec.status,
            org_id=orgs[spec.org].id,
        )
        session.add(report)
        session.flush()
        reports[report.id] = (i, report)
        for n, narrowing in enumerate(spec.narrowings):
            value = f"{i:032x}{n:032x}"
            indicator = t.Indicator(
                report_id=report.id,
                type="sha256",
                value=value,
                canonical=value,
                distribution=None if narrowing is None else narrowing[0],
                sharing_group_id=None if narrowing is None else group_id(narrowing[1]),
            )
            session.add(indicator)
            session.flush()
            indicators[indicator.id] = (i, n, indicator)

    subjects = []
    for k, spec in enumerate(world.subjects):
        member = t.Member(email=f"member{k}@example.org", org_id=orgs[spec.org].id, role=spec.role)
        session.add(member)
        session.flush()
        subject = dataclasses.replace(accounts.subject_for(session, member), read_only=spec.read_only)
        subjects.append((spec, subject))
    return Inserted(reports, indicators, subjects)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def agreement_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One database for all examples (each example rolls back): a SQLite copy, or the run's PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("agreement") / "commonspace.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    with engine.begin() as conn:  # whatever an earlier test left behind
        for table in reversed(t.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield engine


def test_the_oracle_is_the_one_beside_the_tests() -> None:
    """``tests/`` is on sys.path (it has no __init__.py), so the oracle imports as a top-level module."""
    assert Path(oracle.__file__).resolve() == Path(__file__).resolve().with_name("policy_oracle.py")


@settings(max_examples=50, deadline=None)
@given(world=worlds())
def test_filters_predicates_and_rules_agree(agreement_engine: Engine, world: WorldSpec) -> None:
    memberships = world.memberships
    with Session(agreement_engine) as session:  # rolled back on close: the next example starts empty
        assert session.scalar(select(func.count()).select_from(t.Organisation)) == 0, "not an empty database"
        inserted = insert(session, world)
        for spec, subject in inserted.subjects:
            who = f"{spec} as {subject}"
            actor = spec.actor

            by_filter = {
                inserted.reports[rid][0]
                for rid in session.scalars(select(t.Report.id).where(policy.report_filter(subject)))
            }
            by_predicate = {
                i for i, report in inserted.reports.values() if policy.can_see_report(subject, report)
            }
            by_rules = {
                i for i, report in enumerate(world.reports) if oracle.sees(actor, report.shared, memberships)
            }
            assert by_filter == by_predicate, (
                f"reports: filter {by_filter} != predicate {by_predicate}; {who}"
            )
            assert by_predicate == by_rules, f"reports: predicate {by_predicate} != rules {by_rules}; {who}"

            selected = session.scalars(
                select(t.Indicator.id)
                .join(t.Report, t.Report.id == t.Indicator.report_id)
                .where(policy.indicator_filter(subject))
            )
            ind_filter = {inserted.indicators[iid][:2] for iid in selected}
            ind_predicate = {
                (i, n)
                for i, n, indicator in inserted.indicators.values()
                if policy.can_see_indicator(subject, inserted.reports[indicator.report_id][1], indicator)
            }
            ind_rules = {
                (i, n)
                for i, report in enumerate(world.reports)
                for n, narrowing in enumerate(report.narrowings)
                if oracle.sees_indicator(actor, report.shared, narrowing, memberships)
            }
            assert ind_filter == ind_predicate, (
                f"indicators: filter {ind_filter} != predicate {ind_predicate}; {who}"
            )
            assert ind_predicate == ind_rules, (
                f"indicators: predicate {ind_predicate} != rules {ind_rules}; {who}"
            )

            editable = {
                i for i, report in inserted.reports.values() if policy.can_edit_report(subject, report)
            }
            by_rules_editable = {
                i for i, report in enumerate(world.reports) if oracle.may_change(actor, report.shared)
            }
            assert editable == by_rules_editable, (
                f"edits: policy {editable} != rules {by_rules_editable}; {who}"
            )
