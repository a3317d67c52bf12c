"""The per-value counts follow every add and delete, in the same transaction, and equal a full rebuild;
the migration fills them, and the host keys of the addresses and networks stored before it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from commonspace.correlation import counts
from commonspace.correlation.keys import address_key, ipv4_networks_containing, network_range
from commonspace.domain import canonical
from commonspace.domain.vocab import IndicatorType
from commonspace.jobs.runner import Worker
from commonspace.store import tables as t
from commonspace.store.db import make_engine, session_factory
from commonspace.store.migrate import downgrade, upgrade
from commonspace.web.app import job_handlers
from world import API, World, add_indicators, new_report

Counts = dict[tuple[str, str], int]


def _stored(session: Session) -> Counts:
    rows = session.execute(
        select(t.CorrelationValue.canonical, t.CorrelationValue.type, t.CorrelationValue.reports)
    )
    return {(value, type_): n for value, type_, n in rows}


def _truth(session: Session) -> Counts:
    rows = session.execute(
        select(t.Indicator.canonical, t.Indicator.type, func.count()).group_by(
            t.Indicator.canonical, t.Indicator.type
        )
    )
    return {(value, type_): n for value, type_, n in rows}


def _check(engine: Engine) -> Counts:
    """The counts kept step by step are the truth, and what a rebuild makes (rolled back)."""
    with Session(engine) as session:
        kept = _stored(session)
        assert kept == _truth(session)
        rebuilt = counts.rebuild(session, step=2)
        assert _stored(session) == kept
        assert rebuilt == counts.Rebuilt(indicators=sum(kept.values()), values=len(kept))
        session.rollback()
    return kept


def test_counts_follow_adds_and_deletes_and_equal_a_rebuild(
    engine: Engine, client: TestClient, world: World
) -> None:
    a = new_report(
        client, world, "ministry.publisher", indicators=[{"value": "45.9.148.3"}, {"value": "evil-c2.top"}]
    )
    b = new_report(client, world, "bank.publisher", publish=True, indicators=[{"value": "45.9.148.3"}])
    assert _check(engine) == {("45.9.148.3", "ipv4"): 2, ("evil-c2.top", "domain"): 1}
    # Again, respelled, and twice in one call: duplicates are not counted.
    add_indicators(
        client, world, "ministry.publisher", a["uuid"], "45[.]9.148.3", "EVIL-C2.top", "ab" * 32, "ab" * 32
    )
    add_indicators(client, world, "bank.publisher", b["uuid"], {"type": "filename", "value": "evil-c2.top"})
    assert _check(engine) == {
        ("45.9.148.3", "ipv4"): 2,
        ("evil-c2.top", "domain"): 1,
        ("evil-c2.top", "filename"): 1,
        ("ab" * 32, "sha256"): 1,
    }
    # Added in the background, as a job does.
    job = client.post(
        f"{API}/reports/{b['uuid']}/indicators?background=true",
        json={"indicators": [{"value": "ab" * 32}, {"value": "45.9.0.0/16"}]},
        headers=world.headers("bank.publisher"),
    )
    assert job.status_code == 202, job.text
    assert Worker(session_factory(engine, writer=True), job_handlers(), "test-worker").run_once()
    assert _check(engine)[("ab" * 32, "sha256")] == 2
    # One indicator deleted, then a whole report.
    items = client.get(f"{API}/reports/{a['uuid']}/indicators", headers=world.headers("ministry.publisher"))
    ip = next(i for i in items.json()["items"] if i["canonical"] == "45.9.148.3")
    assert (
        client.delete(
            f"{API}/indicators/{ip['uuid']}", headers=world.headers("ministry.publisher")
        ).status_code
        == 204
    )
    assert _check(engine)[("45.9.148.3", "ipv4")] == 1
    assert (
        client.delete(f"{API}/reports/{b['uuid']}", headers=world.headers("bank.publisher")).status_code
        == 204
    )
    assert _check(engine) == {("evil-c2.top", "domain"): 1, ("ab" * 32, "sha256"): 1}
    assert (
        client.delete(f"{API}/reports/{a['uuid']}", headers=world.headers("ministry.publisher")).status_code
        == 204
    )
    assert _check(engine) == {}


def test_a_failed_add_changes_no_count(client: TestClient, world: World, engine: Engine) -> None:
    report = new_report(client, world, "ministry.publisher", indicators=[{"value": "45.9.148.3"}])
    refused = client.post(
        f"{API}/reports/{report['uuid']}/indicators",
        json={"indicators": [{"value": "45.9.148.4"}, {"value": "010.1.1.1", "type": "ipv4"}]},
        headers=world.headers("ministry.publisher"),
    )
    assert refused.status_code == 422
    assert _check(engine) == {("45.9.148.3", "ipv4"): 1}


def test_rebuild_reports_its_progress(engine: Engine, client: TestClient, world: World) -> None:
    new_report(client, world, "ministry.publisher", indicators=[{"value": f"45.9.148.{n}"} for n in range(7)])
    seen: list[tuple[int, int]] = []
    with Session(engine) as session:
        session.execute(t.CorrelationValue.__table__.delete())
        rebuilt = counts.rebuild(session, step=3, progress=lambda done, total: seen.append((done, total)))
        assert rebuilt == counts.Rebuilt(indicators=7, values=7)
        assert _stored(session) == _truth(session)
        session.rollback()
    assert seen == [(0, 7), (3, 7), (6, 7), (7, 7)]
    with Session(engine) as session:  # an empty database rebuilds to nothing
        session.execute(t.Indicator.__table__.delete())
        assert counts.rebuild(session) == counts.Rebuilt(indicators=0, values=0)
        session.rollback()


def test_host_keys_of_addresses_and_networks_sort_as_the_addresses() -> None:
    assert address_key(IndicatorType.IPV4, "45.9.148.3") == "4:2d099403"
    assert address_key(IndicatorType.IPV4_CIDR, "45.9.148.0/24") == "4:2d099400"
    assert address_key(IndicatorType.IPV6, "2a05:d014::5") == "6:2a05d014000000000000000000000005"
    assert address_key(IndicatorType.DOMAIN, "evil-c2.top") is None
    low, high = network_range(IndicatorType.IPV4_CIDR, "45.9.148.0/24")
    inside = [address_key(IndicatorType.IPV4, f"45.9.148.{n}") for n in (0, 7, 255)]
    outside = [address_key(IndicatorType.IPV4, v) for v in ("45.9.147.255", "45.9.149.0", "45.10.0.0")]
    assert all(key is not None and low <= key < high for key in inside)
    assert all(key is not None and not low <= key < high for key in outside)
    low6, high6 = network_range(IndicatorType.IPV6_CIDR, "2a05:d014::/32")
    assert low6 <= "6:2a05d014ffffffffffffffffffffffff" < high6 < "6:2a05d015"
    with pytest.raises(ValueError):
        network_range(IndicatorType.IPV4, "45.9.148.3")


@given(st.ip_addresses(v=4), st.lists(st.integers(-1, 33), max_size=8, unique=True))
def test_networks_around_an_address_by_arithmetic_are_the_canonical_ones(
    address: Any, lengths: list[int]
) -> None:
    assert ipv4_networks_containing(str(address), lengths) == canonical.ip_networks_containing(
        str(address), lengths
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database never migrated: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fresh') / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    pg_url: str = request.getfixturevalue("pg_url")
    admin = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"commonspace_fresh_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_counts_and_keys_what_was_stored_before(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0004")
    stored = [
        ("ipv4", "45.9.148.3", None),
        ("ipv6", "2a05:d014::5", None),
        ("ipv4-cidr", "45.9.148.0/24", None),
        ("ipv6-cidr", "2a05:d014::/32", None),
        ("domain", "evil-c2.top", "top.evil-c2."),
    ]
    with fresh_engine.begin() as conn:
        org = conn.execute(insert(t.Organisation).values(name="CERT", kind="government", country="FR"))
        org_id = org.inserted_primary_key[0]
        report_ids = []
        for n in range(2):
            values = {
                "uuid": str(uuid.uuid4()),
                "title": f"r{n}",
                "tlp": "AMBER",
                "distribution": "community",
            }
            report_ids.append(
                conn.execute(insert(t.Report).values(**values, org_id=org_id)).inserted_primary_key[0]
            )
        for n, report_id in enumerate(report_ids):
            for type_, value, host_key in stored[n:]:
                row = {"uuid": str(uuid.uuid4()), "report_id": report_id, "type": type_, "value": value}
                conn.execute(insert(t.Indicator.__table__).values(**row, canonical=value, host_key=host_key))
    upgrade(fresh_engine)
    with Session(fresh_engine) as session:
        keys = {
            value: key for value, key in session.execute(select(t.Indicator.canonical, t.Indicator.host_key))
        }
        assert keys == {
            "45.9.148.3": "4:2d099403",
            "2a05:d014::5": "6:2a05d014000000000000000000000005",
            "45.9.148.0/24": "4:2d099400",
            "2a05:d014::/32": "6:2a05d014000000000000000000000000",
            "evil-c2.top": "top.evil-c2.",
        }
        assert _stored(session) == _truth(session)
        assert _stored(session)[("evil-c2.top", "domain")] == 2
    downgrade(fresh_engine, "0004")
    assert "correlation_value" not in inspect(fresh_engine).get_table_names()
    with Session(fresh_engine) as session:
        keys = {
            value: key for value, key in session.execute(select(t.Indicator.canonical, t.Indicator.host_key))
        }
        assert keys["45.9.148.3"] is None and keys["evil-c2.top"] == "top.evil-c2."
