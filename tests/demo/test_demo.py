"""The demo world: its shape, its sharing rules, idempotence, determinism, credentials and the command.

The full world is loaded on SQLite; on PostgreSQL a smaller one (same code paths, fewer reports) keeps the
run short. The generator is tested on the real public lists and, pointed at a missing folder, on its own
fictitious values.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from commonspace.accounts import keys
from commonspace.accounts import service as accounts
from commonspace.cli import app
from commonspace.demo import catalogue as cat
from commonspace.demo.load import DEFAULT_REPORTS, DemoSummary, load_demo
from commonspace.demo.sources import default_data_dir, load_pools
from commonspace.domain.errors import Invalid
from commonspace.domain.vocab import TLP, Distribution, OrgKind, Role, tlp_violation
from commonspace.store import tables as t
from commonspace.store.db import make_engine, session_factory, transaction

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
MISSING = Path("/nonexistent/commonspace-demo-data")
IN_CI = os.environ.get("CI", "").lower() == "true"


def load(engine: Engine, **kwargs: object) -> DemoSummary:
    with transaction(session_factory(engine, writer=True)) as session:
        return load_demo(session, **kwargs)  # type: ignore[arg-type]


def world_size(engine: Engine) -> int:
    return DEFAULT_REPORTS if engine.dialect.name == "sqlite" else 80


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with transaction(session_factory(engine, writer=True)) as s:
        yield s


def test_the_world_has_every_kind_of_member_and_respects_the_tlp_rules(engine: Engine) -> None:
    summary = load(engine, reports=world_size(engine), now=NOW)
    assert summary.loaded_now
    with transaction(session_factory(engine)) as s:
        orgs = s.scalars(select(t.Organisation)).all()
        assert len(orgs) == summary.organisations >= 12
        assert len({o.country for o in orgs if o.country}) == summary.countries >= 6
        assert {o.kind for o in orgs} == {k.value for k in OrgKind}
        assert all(o.country is None for o in orgs if o.kind == OrgKind.INTERNATIONAL.value)
        sizes = dict(
            s.execute(
                select(t.SharingGroup.name, func.count())
                .join(t.SharingGroupMember)
                .group_by(t.SharingGroup.name)
            ).all()
        )
        assert len(sizes) == 3 and 2 in sizes.values() and summary.groups == 3
        members = s.scalars(select(t.Member)).all()
        assert {m.role for m in members} == {r.value for r in Role}
        assert all(m.email.rsplit(".", 1)[1] == "example" for m in members)
        roles_per_org: dict[int, set[str]] = {}
        for m in members:
            roles_per_org.setdefault(m.org_id, set()).add(m.role)
        assert sum(1 for roles in roles_per_org.values() if len(roles) >= 4) >= 4

        reports = s.scalars(select(t.Report)).all()
        assert len(reports) == summary.reports == world_size(engine)
        groups_of: dict[int, set[int]] = {}
        for group_id, org_id in s.execute(select(t.SharingGroupMember.group_id, t.SharingGroupMember.org_id)):
            groups_of.setdefault(group_id, set()).add(org_id)
        for r in reports:
            assert tlp_violation(TLP(r.tlp), Distribution(r.distribution)) is None, r.title
            if r.distribution == Distribution.SHARING_GROUP.value:
                assert r.sharing_group_id is not None and r.org_id in groups_of[r.sharing_group_id]
            else:
                assert r.sharing_group_id is None
            assert r.first_seen and r.last_seen and r.first_seen <= r.last_seen <= NOW
            assert r.created <= (r.published or r.created) <= r.modified <= NOW
            assert r.loss_amount is None or (r.loss_amount > 0 and r.loss_currency)
        assert {r.created.year for r in reports} >= {2021, 2022, 2023, 2024, 2025}
        pairs = {(r.tlp, r.distribution) for r in reports}
        assert {("GREEN", "community"), ("AMBER", "community"), ("CLEAR", "connected-communities")} <= pairs
        assert {"RED", "AMBER+STRICT"} <= {r.tlp for r in reports}
        statuses = [r.status for r in reports]
        assert 0 < statuses.count("draft") < statuses.count("published") == summary.published
        assert sum(1 for r in reports if r.loss_amount is not None) > len(reports) // 10
        assert len({r.category for r in reports}) >= 8

        per_report = s.execute(
            select(t.Indicator.report_id, func.count()).group_by(t.Indicator.report_id)
        ).all()
        assert len(per_report) == len(reports) and all(3 <= n <= 40 for _, n in per_report)
        assert summary.indicators == sum(n for _, n in per_report)
        shared = s.execute(
            select(t.Indicator.canonical)
            .join(t.Report)
            .group_by(t.Indicator.canonical)
            .having(func.count(distinct(t.Report.org_id)) > 1)
        ).all()
        assert len(shared) >= 10, "correlation needs values reported by several organisations"
        assert summary.sightings == s.scalar(select(func.count(t.Sighting.id))) > 0
        assert s.scalar(select(func.count()).where(t.Indicator.distribution == "organisation")) > 0


def test_a_second_load_adds_nothing_and_says_the_same(engine: Engine) -> None:
    first = load(engine, reports=40, now=NOW)
    counts = [first.reports, first.indicators, first.sightings, first.members]
    second = load(engine, reports=40, now=NOW)
    assert second == first and not second.loaded_now
    assert [second.reports, second.indicators, second.sightings, second.members] == counts
    with transaction(session_factory(engine)) as s:
        assert s.scalar(select(func.count(t.ApiKey.id))) == len(cat.people())


def _fresh_sqlite(template: Path, path: Path) -> Engine:
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}")


def _contents(engine: Engine) -> list[tuple[str, str, list[str]]]:
    with transaction(session_factory(engine)) as s:
        reports = s.scalars(select(t.Report).order_by(t.Report.id)).all()
        return [
            (
                r.title,
                r.organisation.name,
                sorted(s.scalars(select(t.Indicator.value).where(t.Indicator.report_id == r.id))),
            )
            for r in reports
        ]


def test_the_world_is_the_same_on_two_fresh_databases(sqlite_template: Path, tmp_path: Path) -> None:
    engines = [_fresh_sqlite(sqlite_template, tmp_path / f"{name}.db") for name in ("a", "b")]
    try:
        summaries = [load(e, reports=60, now=NOW) for e in engines]
        assert summaries[0] == summaries[1]
        first, second = (_contents(e) for e in engines)
        assert first == second and len(first) == 60
    finally:
        for e in engines:
            e.dispose()


def test_every_demo_key_signs_its_member_in(engine: Engine) -> None:
    summary = load(engine, reports=10, now=NOW)
    with transaction(session_factory(engine, writer=True)) as s:
        for c in summary.credentials:
            assert c.api_key.startswith(keys.KEY_PREFIX) and len(c.api_key) == len(keys.new_key())
            subject = accounts.authenticate_key(s, c.api_key)
            assert subject.email == c.email and subject.role is c.role
        member = accounts.authenticate_password(s, summary.credentials[0].email, cat.DEMO_PASSWORD)
        assert member.role == Role.SITE_ADMIN.value
    assert len(cat.DEMO_PASSWORD) >= 12
    assert len({c.api_key for c in summary.credentials}) == len(summary.credentials)
    assert cat.demo_key("x@y.example") == cat.demo_key("x@y.example") != cat.demo_key("z@y.example")


def test_a_given_api_key_must_look_like_one(session: Session) -> None:
    org = accounts.create_organisation(session, None, name="Org", kind=OrgKind.CIVIL_SOCIETY, country="FR")
    member = accounts.create_member(session, None, email="a@org.example", org=org, role=Role.READER)
    with pytest.raises(Invalid):
        accounts.create_api_key(session, None, member, plaintext="not-a-key")


def test_without_the_data_folder_the_values_are_generated_and_not_documentation_ranges(
    engine: Engine,
) -> None:
    pools = load_pools(MISSING, cat.SEED)
    assert pools.real == () and pools.ips and pools.c2 and pools.samples
    assert all(ipaddress.ip_address(ip).is_global for ip in pools.ips)
    summary = load(engine, reports=50, now=NOW, data_dir=MISSING)
    assert summary.reports == 50 and summary.indicators >= 150
    with transaction(session_factory(engine)) as s:
        ips = s.scalars(select(t.Indicator.canonical).where(t.Indicator.type == "ipv4")).all()
    assert ips and all(ipaddress.ip_address(ip).is_global for ip in ips)


def test_with_the_data_folder_the_values_come_from_the_public_lists(engine: Engine) -> None:
    root = default_data_dir()
    if not (root / "indicators").is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {root}")
        pytest.skip(f"no shared data folder at {root}")
    pools = load_pools(root, cat.SEED)
    assert pools.real == ("IPsum", "signature-base", "ESET")
    load(engine, reports=40, now=NOW)
    with transaction(session_factory(engine)) as s:
        values = set(s.scalars(select(t.Indicator.canonical)))
    listed = set(pools.ips) | {
        v for f in (*pools.c2, *pools.samples) for v in (*f.domains, *f.ips, *f.hashes)
    }
    assert len(values & listed) >= len(values) // 3


def test_the_demo_command_prints_the_credentials_and_is_idempotent(tmp_path: Path) -> None:
    runner, db = CliRunner(), f"sqlite:///{tmp_path}/x.db"
    assert runner.invoke(app, ["--database", db, "init"]).exit_code == 0
    first = runner.invoke(app, ["--database", db, "demo"])
    assert first.exit_code == 0, first.output
    for c in cat.people():
        assert f"{cat.demo_key(c.email)}  {c.email}" in first.stdout
    for text in (cat.DEMO_PASSWORD, "http://127.0.0.1:8000/api/v1", "/api/v1/openapi.json", "site-admin"):
        assert text in first.stdout
    second = runner.invoke(app, ["--database", db, "demo"])
    assert second.exit_code == 0 and "already loaded" in second.stdout
    assert second.stdout.split("Demo world", 1)[1] == first.stdout.split("Demo world", 1)[1]
    engine = make_engine(db)
    try:
        with transaction(session_factory(engine)) as s:
            assert s.scalar(select(func.count(t.Report.id))) == DEFAULT_REPORTS
    finally:
        engine.dispose()
