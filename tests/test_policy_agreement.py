"""The access policy's two forms agree with each other and with the rules, on random worlds.

For every subject of a random world (organisations, sharing groups with random members, reports with a
random owner, status, distribution, TLP and group, indicators with random narrowing):

- the reports ``policy.report_filter`` selects in SQL are those ``policy.can_see_report`` allows;
- the indicators ``policy.indicator_filter`` selects are those ``policy.can_see_indicator`` allows;
- both are what the independent oracle (tests/policy_oracle.py) says, and ``policy.can_edit_report``
  allows exactly the changes the oracle does;
- the forum topics ``policy.topic_filter`` selects are those ``policy.can_see_topic`` allows, and the posts
  ``policy.post_filter`` selects (in report threads and in topics) those ``policy.can_see_post`` allows:
  exactly the posts whose parent the oracle says is seen; posting (``can_post_on_report``,
  ``can_post_in_topic``) and moderating (``can_moderate_post``) are what the oracle allows.

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

    def actor(self, member: int) -> oracle.Actor:
        return oracle.Actor(org=self.org, role=self.role, read_only=self.read_only, member=member)


@dataclass(frozen=True)
class TopicSpec:
    org: int
    distribution: str  # community or sharing-group
    group: int | None

    @property
    def topic(self) -> oracle.Topic:
        return oracle.Topic(org=self.org, distribution=self.distribution, group=self.group)


@dataclass(frozen=True)
class PostSpec:
    parent: tuple[str, int]  # ("report" or "topic", its index)
    author: int | None  # a subject's index; None: the author's account is gone
    org: int  # the author's organisation when posting


@dataclass(frozen=True)
class WorldSpec:
    orgs: int
    groups: tuple[tuple[int, frozenset[int]], ...]  # (owner, member organisations, owner included)
    reports: tuple[ReportSpec, ...]
    subjects: tuple[SubjectSpec, ...]
    topics: tuple[TopicSpec, ...] = ()
    posts: tuple[PostSpec, ...] = ()

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
def worlds(draw: st.DrawFn, *, discussions: bool = False) -> WorldSpec:
    """A random world; with ``discussions``, one busy with topics and posts (three organisations or more,
    small groups, at least a topic and a post), where hidden topics are common rather than rare."""
    busy = 1 if discussions else 0
    orgs = draw(st.integers(1 + 2 * busy, 4))
    org = st.integers(0, orgs - 1)
    members = st.frozensets(org, max_size=1) if discussions else st.frozensets(org)
    groups = tuple(
        (owner, frozenset(others) | {owner})
        for owner, others in draw(st.lists(st.tuples(org, members), min_size=busy, max_size=3))
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
    topic_sharing = st.just(("community", None))
    if groups:
        topic_sharing |= st.integers(0, len(groups) - 1).map(lambda group: ("sharing-group", group))
    topics = [
        TopicSpec(owner, *sharing)
        for owner, sharing in draw(st.lists(st.tuples(org, topic_sharing), min_size=busy, max_size=4))
    ]
    topic_parents = [("topic", i) for i in range(len(topics))]
    parents = [("report", i) for i in range(len(reports))] + topic_parents
    posts: list[PostSpec] = []
    if parents:
        author = st.none() | st.integers(0, len(subjects) - 1)
        drawn = draw(st.lists(st.tuples(st.sampled_from(parents), author, org), max_size=8))
        if discussions:  # and a post in every topic
            drawn += [(parent, draw(author), draw(org)) for parent in topic_parents]
        for parent, author_index, other_org in drawn:
            writer_org = other_org if author_index is None else subjects[author_index].org
            posts.append(PostSpec(parent, author_index, writer_org))
    return WorldSpec(orgs, groups, tuple(reports), tuple(subjects), tuple(topics), tuple(posts))


@dataclass
class Inserted:
    reports: dict[int, tuple[int, t.Report]]  # report row id -> (spec index, row)
    indicators: dict[int, tuple[int, int, t.Indicator]]  # indicator row id -> (report index, n, row)
    subjects: list[tuple[SubjectSpec, policy.Subject]]
    topics: dict[int, tuple[int, t.Topic]]  # topic row id -> (spec index, row)
    posts: dict[int, tuple[int, t.Post]]  # post row id -> (spec index, row)


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

    topics: dict[int, tuple[int, t.Topic]] = {}
    for i, topic_spec in enumerate(world.topics):
        topic = t.Topic(
            title=f"topic {i}",
            org_id=orgs[topic_spec.org].id,
            distribution=topic_spec.distribution,
            sharing_group_id=group_id(topic_spec.group),
        )
        session.add(topic)
        session.flush()
        topics[topic.id] = (i, topic)
    report_rows = {i: rid for rid, (i, _) in reports.items()}
    topic_rows = {i: tid for tid, (i, _) in topics.items()}
    posts: dict[int, tuple[int, t.Post]] = {}
    for i, post_spec in enumerate(world.posts):
        kind, index = post_spec.parent
        post = t.Post(
            report_id=report_rows[index] if kind == "report" else None,
            topic_id=topic_rows[index] if kind == "topic" else None,
            author_id=None if post_spec.author is None else subjects[post_spec.author][1].member_id,
            org_id=orgs[post_spec.org].id,
            body=f"post {i}",
        )
        session.add(post)
        session.flush()
        posts[post.id] = (i, post)
    return Inserted(reports, indicators, subjects, topics, posts)


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
        for k, (spec, subject) in enumerate(inserted.subjects):
            who = f"{spec} as {subject}"
            actor = spec.actor(k)

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
            _discussions_agree(session, world, inserted, subject, actor, who)


@settings(max_examples=50, deadline=None)
@given(world=worlds(discussions=True))
def test_discussions_agree(agreement_engine: Engine, world: WorldSpec) -> None:
    """The same for topics and posts, on worlds where they abound."""
    with Session(agreement_engine) as session:
        assert session.scalar(select(func.count()).select_from(t.Organisation)) == 0, "not an empty database"
        inserted = insert(session, world)
        for k, (spec, subject) in enumerate(inserted.subjects):
            _discussions_agree(session, world, inserted, subject, spec.actor(k), f"{spec} as {subject}")


def _discussions_agree(
    session: Session,
    world: WorldSpec,
    inserted: Inserted,
    subject: policy.Subject,
    actor: oracle.Actor,
    who: str,
) -> None:
    memberships = world.memberships
    by_filter = {
        inserted.topics[tid][0]
        for tid in session.scalars(select(t.Topic.id).where(policy.topic_filter(subject)))
    }
    by_predicate = {i for i, topic in inserted.topics.values() if policy.can_see_topic(subject, topic)}
    by_rules = {
        i for i, topic in enumerate(world.topics) if oracle.sees_topic(actor, topic.topic, memberships)
    }
    assert by_filter == by_predicate, f"topics: filter {by_filter} != predicate {by_predicate}; {who}"
    assert by_predicate == by_rules, f"topics: predicate {by_predicate} != rules {by_rules}; {who}"

    sees_parent = {
        **{("report", i): oracle.sees(actor, r.shared, memberships) for i, r in enumerate(world.reports)},
        **{
            ("topic", i): oracle.sees_topic(actor, tp.topic, memberships) for i, tp in enumerate(world.topics)
        },
    }
    post_filter = {
        inserted.posts[pid][0]
        for pid in session.scalars(select(t.Post.id).where(policy.post_filter(subject)))
    }
    post_predicate = {
        i
        for i, post in inserted.posts.values()
        if policy.can_see_post(
            subject,
            inserted.reports[post.report_id][1] if post.report_id is not None else None,
            inserted.topics[post.topic_id][1] if post.topic_id is not None else None,
        )
    }
    post_rules = {i for i, post in enumerate(world.posts) if sees_parent[post.parent]}
    assert post_filter == post_predicate, f"posts: filter {post_filter} != predicate {post_predicate}; {who}"
    assert post_predicate == post_rules, f"posts: predicate {post_predicate} != rules {post_rules}; {who}"

    may_post = {
        ("report", i) for i, report in inserted.reports.values() if policy.can_post_on_report(subject, report)
    } | {("topic", i) for i, topic in inserted.topics.values() if policy.can_post_in_topic(subject, topic)}
    may_post_rules = {parent for parent, seen in sees_parent.items() if oracle.may_post(actor, seen)}
    assert may_post == may_post_rules, f"posting: policy {may_post} != rules {may_post_rules}; {who}"

    moderated = {i for i, post in inserted.posts.values() if policy.can_moderate_post(subject, post)}
    moderated_rules = {
        i for i, post in enumerate(world.posts) if oracle.may_moderate(actor, post.author, post.org)
    }
    assert moderated == moderated_rules, f"moderation: policy {moderated} != rules {moderated_rules}; {who}"
