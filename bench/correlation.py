"""Correlation at scale: a full recorrelation of SIZE indicators, then one new report of NEW indicators
correlated against them.

Load (timed and printed, not a measure of the service): nine organisations, their members and four
sharing groups through the services; SIZE / 1,000 reports (90 % published; 70 % community, 15 % one
sharing group, 15 % the organisation) and SIZE indicators as rows generated already canonical, with the
host keys the service computes, written in bulk with the indicator table's non-unique indexes dropped
and built again after (SQLite: ``executemany``; PostgreSQL: ``COPY``): the fastest way to a database of
that size, not the service's insert path (``--only insert`` measures that). The values: addresses,
networks (/16 to /28), domains (bare registered domains, and subdomains of them), URLs and e-mail
addresses under those domains, hashes, file names, AS numbers. 70 % are fresh; 30 % are shared: most of
these drawn evenly from a pool of SIZE / 20 values (each then in about six reports), one in twenty from
SIZE / 1,000 popular values by a 1/rank (Zipf) law, so that a few values are in thousands of reports and
about 1 % of a report's values over-correlate. On top of equal values, addresses fall inside networks and
subdomains, URLs and e-mail addresses under registered domains that other reports hold.

Recorrelation: ``correlation.counts.rebuild``, what ``commonspace correlate --rebuild`` runs, in one
transaction, commit included. Peer: the same ``GROUP BY`` written into a bare table (no key) with one
``CREATE TABLE ... AS SELECT``.

One report: NEW values drawn as above, added to a new published community report with
``reports.indicators.add_indicators`` (its counts kept in the same transaction; timed as ``add``), then
its correlations read with ``correlation.service.correlate_report`` (all NEW indicators in one page,
access policy on, as an analyst of an organisation that owns no report, member of two of the four
sharing groups) as a reading request runs: a reading transaction around the call (timed, commit
included), then the audit events it queued (one per report of another organisation listed), written in
a short write transaction (timed apart: ``audit_write``). RUNS times after a warm-up; the median; the
garbage collector frozen before, as for the other phases. Peer: one plain ``SELECT id, report_id FROM
indicator WHERE canonical IN (...)`` of the report's canonical values through the DBAPI: equal values
only, no policy, no containment.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Engine, func, insert, select, text

from bench import databases, memory
from commonspace.accounts import service as accounts
from commonspace.correlation import counts
from commonspace.correlation import service as correlation
from commonspace.domain import canonical
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, OrgKind, Role
from commonspace.policy import Subject
from commonspace.reports import indicators, schemas
from commonspace.reports import service as reports
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.store.db import mark_reading, run_queued_writes, session_factory, transaction
from commonspace.store.tables import utcnow

TARGET_REBUILD_SECONDS = 60.0
TARGET_REPORT_MS = 1000.0
SHARED = 0.3  # of the values, shared with other reports ...
POPULAR = 0.05  # ... of which these come from the few popular values
PER_REPORT = 1000
ORGS = 9
GROUPS = 4
# The share of each type among the values, in per cent.
TYPES = {
    "ipv4": 34,
    "domain": 18,
    "url": 14,
    "sha256": 10,
    "md5": 5,
    "ipv4-cidr": 5,
    "email": 4,
    "sha1": 3,
    "ipv6": 3,
    "filename": 2,
    "ipv6-cidr": 1,
    "asn": 1,
}
PREFIXES = (16, 20, 24, 24, 24, 24, 28, 28)
TLDS = ("com", "net", "org", "top", "xyz", "info", "ru", "io")
COLUMNS = (
    *("uuid", "report_id", "type", "value", "canonical", "host_key", "prefix_len", "comment", "to_detect"),
    *("created", "modified"),
)
Value = tuple[str, str, str | None, int | None]  # type, canonical, host key, prefix length


def _reversed(domain: str) -> str:
    return canonical.host_key(domain)


class Values:
    """Canonical values as the service would store them, fresh or drawn from the shared pool."""

    def __init__(self, seed: int, size: int) -> None:
        self.rnd = random.Random(seed)
        self.bases = max(1000, size // 20)
        self.count = 0
        self.types = [name for name, share in TYPES.items() for _ in range(share)]
        self.common = [self.fresh() for _ in range(max(100, size // 20))]
        self.popular = [self.fresh() for _ in range(max(100, size // 1000))]

    def _base(self) -> str:
        n = self.rnd.randrange(self.bases)
        return f"b{n}.{TLDS[n % len(TLDS)]}"

    def fresh(self) -> Value:
        rnd = self.rnd
        self.count += 1
        n = self.count
        type_ = self.types[rnd.randrange(len(self.types))]
        if type_ == "ipv4":
            a = rnd.getrandbits(32)
            return type_, f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}", f"4:{a:08x}", None
        if type_ == "ipv4-cidr":
            prefix = PREFIXES[rnd.randrange(len(PREFIXES))]
            a = rnd.getrandbits(32) >> (32 - prefix) << (32 - prefix)
            value = f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}/{prefix}"
            return type_, value, f"4:{a:08x}", prefix
        if type_ == "ipv6":
            a, b, c = rnd.randrange(1, 256), rnd.randrange(1, 256), rnd.randrange(1, 65536)
            number = 0x2A05 << 112 | a << 96 | b << 80 | c
            return type_, f"2a05:{a:x}:{b:x}::{c:x}", f"6:{number:032x}", None
        if type_ == "ipv6-cidr":
            a, b = rnd.randrange(1, 256), rnd.randrange(1, 256)
            number = 0x2A05 << 112 | a << 96 | b << 80
            return type_, f"2a05:{a:x}:{b:x}::/48", f"6:{number:032x}", 48
        if type_ == "domain":
            domain = self._base() if rnd.random() < 0.4 else f"s{n}.{self._base()}"
            return type_, domain, _reversed(domain), None
        if type_ == "url":
            host = f"s{n}.{self._base()}"
            return type_, f"https://{host}/p{n}", _reversed(host), None
        if type_ == "email":
            domain = self._base()
            return type_, f"u{n}@{domain}", _reversed(domain), None
        if type_ in ("sha256", "sha1", "md5"):
            digits = {"sha256": 64, "sha1": 40, "md5": 32}[type_]
            return type_, f"{rnd.getrandbits(digits * 4):0{digits}x}", None, None
        if type_ == "asn":
            return type_, f"AS{rnd.randrange(1, 400_000)}", None, None
        return type_, f"invoice_{n}.exe", None, None

    def draw(self) -> Value:
        pick = self.rnd.random()
        if pick < SHARED * POPULAR:
            return self.popular[int(len(self.popular) ** self.rnd.random()) - 1]  # rank r with odds 1/r
        if pick < SHARED:
            return self.common[self.rnd.randrange(len(self.common))]
        return self.fresh()

    def report(self, size: int) -> list[Value]:
        """``size`` values, each (type, canonical) once."""
        chosen: dict[tuple[str, str], Value] = {}
        while len(chosen) < size:
            value = self.draw()
            chosen.setdefault((value[0], value[1]), value)
        return list(chosen.values())


def check_canonical(values: Values, sample: int = 2000) -> None:
    """The generator's values are their own canonical forms, with the host keys the service stores."""
    for _ in range(sample):
        type_, value, host_key, prefix = values.fresh()
        form = indicators.canonical_form(IndicatorType(type_), value, "value")
        assert (form.canonical, form.host_key, form.prefix_len) == (value, host_key, prefix), (type_, value)


@dataclass(frozen=True)
class Loaded:
    report_ids: list[int]
    publisher: Subject
    viewer: Subject
    rows: int


def _world(engine: Engine, report_count: int, seed: int) -> tuple[list[int], Subject, Subject]:
    rnd = random.Random(seed)
    with transaction(session_factory(engine, writer=True)) as session:
        orgs = [
            accounts.create_organisation(
                session, None, name=f"Org {i}", kind=OrgKind.GOVERNMENT, country="FR"
            )
            for i in range(ORGS + 1)
        ]
        members = [
            accounts.create_member(
                session,
                None,
                email=f"member{i}@bench.example",
                org=org,
                role=Role.ANALYST if i == ORGS else Role.PUBLISHER,
            )
            for i, org in enumerate(orgs)
        ]
        groups = []
        for g in range(GROUPS):
            others = [orgs[(g + k) % ORGS] for k in (1, 2)] + ([orgs[ORGS]] if g < 2 else [])
            groups.append(
                sharing.create_group(session, None, name=f"Group {g}", owner=orgs[g], members=others)
            )
        session.flush()
        now = utcnow()
        rows = []
        for i in range(report_count):
            org = rnd.randrange(ORGS)
            pick = rnd.random()
            if pick < 0.7:
                distribution, group, tlp = Distribution.COMMUNITY, None, TLP.GREEN if i % 2 else TLP.AMBER
            elif pick < 0.85:
                org = rnd.randrange(GROUPS)  # the group's owner
                distribution, group, tlp = Distribution.SHARING_GROUP, groups[org], TLP.AMBER
            else:
                distribution, group, tlp = Distribution.ORGANISATION, None, TLP.RED
            rows.append(
                {
                    "title": f"Report {i}",
                    "tlp": tlp.value,
                    "distribution": distribution.value,
                    "sharing_group_id": group.id if group is not None else None,
                    "status": "published" if rnd.random() < 0.9 else "draft",
                    "org_id": orgs[org].id,
                    "published": now,
                }
            )
        session.execute(insert(t.Report), rows)
        report_ids = list(session.scalars(select(t.Report.id).order_by(t.Report.id)))
        publisher = accounts.subject_for(session, members[0])
        viewer = accounts.subject_for(session, members[ORGS])
    return report_ids, publisher, viewer


def _rows(values: Values, report_ids: list[int], size: int, stamp: Any) -> Iterator[tuple[Any, ...]]:
    per_report, extra = divmod(size, len(report_ids))
    serial = 0
    for i, report_id in enumerate(report_ids):
        for type_, value, host_key, prefix in values.report(per_report + (1 if i < extra else 0)):
            serial += 1
            uuid = f"00000000-0000-7000-8000-{serial:012x}"  # time-ordered, as the service's UUIDv7
            yield uuid, report_id, type_, value, value, host_key, prefix, "", True, stamp, stamp


def load(engine: Engine, values: Values, size: int, seed: int, log: Callable[[str], None]) -> Loaded:
    report_ids, publisher, viewer = _world(engine, max(10, size // PER_REPORT), seed)
    dialect = engine.dialect
    created = t.Indicator.__table__.c.created.type
    stamp = (created.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v))(utcnow())
    indexes = list(t.Indicator.__table__.indexes)
    rows = 0
    started = time.perf_counter()
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        raw: Any = conn.connection.driver_connection
        generated = _rows(values, report_ids, size, stamp)
        if dialect.name == "sqlite":
            marks = ", ".join("?" * len(COLUMNS))
            cursor = raw.cursor()
            cursor.executemany(f"INSERT INTO indicator ({', '.join(COLUMNS)}) VALUES ({marks})", generated)
            rows = cursor.rowcount
            cursor.close()
        else:
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY indicator ({', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in generated:
                    copy.write_row(row)
                    rows += 1
        log(f"{rows:,} indicator rows written in {time.perf_counter() - started:.1f} s; indexing")
        for index in indexes:
            index.create(conn)
    return Loaded(report_ids, publisher, viewer, rows)


def _rebuild(engine: Engine) -> tuple[float, counts.Rebuilt]:
    gc.collect()
    started = time.perf_counter()
    with transaction(session_factory(engine, writer=True)) as session:
        rebuilt = counts.rebuild(session)
    return time.perf_counter() - started, rebuilt


def _rebuild_peer(engine: Engine) -> float:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_peer_counts"))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_peer_counts AS "
                "SELECT canonical, type, count(*) AS reports FROM indicator GROUP BY canonical, type"
            )
        )
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_peer_counts"))
    return elapsed


def _value_stats(engine: Engine, limit: int) -> dict[str, Any]:
    cv = t.CorrelationValue
    with transaction(session_factory(engine)) as session:
        values = session.scalar(select(func.count()).select_from(cv)) or 0
        shared = session.scalar(select(func.count()).select_from(cv).where(cv.reports > 1)) or 0
        over = session.scalar(select(func.count()).select_from(cv).where(cv.reports > limit)) or 0
        most = session.scalar(select(func.max(cv.reports))) or 0
        # What a table of one row per pair of reports sharing a value would hold (equal values alone).
        held = cv.reports.cast(BigInteger)
        pairs = session.scalar(select(func.sum(held * (held - 1) / 2))) or 0
    return {
        "distinct_values": values,
        "values_in_two_reports_or_more": shared,
        "values_in_more_reports_than_the_limit": over,
        "most_reports_holding_one_value": most,
        "pairwise_rows_for_equal_values_alone": int(pairs),
    }


def _correlate_once(engine: Engine, viewer: Subject, report_uuid: str, size: int) -> tuple[float, float, Any]:
    """As web.deps.db_session runs a reading request: (seconds of the call, of its audit write, page)."""
    with session_factory(engine)() as session:
        mark_reading(session)
        started = time.perf_counter()
        with session.begin():
            page = correlation.correlate_report(session, viewer, report_uuid, limit=size)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        run_queued_writes(session, session_factory(engine, writer=True))
        return elapsed, time.perf_counter() - started, page


def _peer_once(engine: Engine, values: list[str], report_id: int) -> tuple[float, int]:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(values))
            statement = f"SELECT id, report_id FROM indicator WHERE canonical IN ({marks}) AND report_id != ?"
            params: Any = [*values, report_id]
        else:
            statement = "SELECT id, report_id FROM indicator WHERE canonical = ANY(%s) AND report_id != %s"
            params = (values, report_id)
        started = time.perf_counter()
        cursor.execute(statement, params)
        found = len(cursor.fetchall())
        elapsed = time.perf_counter() - started
        cursor.close()
        connection.rollback()
    finally:
        connection.close()
    return elapsed, found


def _report(engine: Engine, values: Values, loaded: Loaded, size: int, runs: int) -> dict[str, Any]:
    drawn = values.report(size)
    items = [schemas.IndicatorIn(type=IndicatorType(type_), value=value) for type_, value, _, _ in drawn]
    data = schemas.ReportIn(title="New report", tlp=TLP.GREEN, distribution=Distribution.COMMUNITY)
    with transaction(session_factory(engine, writer=True)) as session:
        report = reports.create_report(session, loaded.publisher, data)
        reports.publish_report(session, loaded.publisher, report.uuid)
    started = time.perf_counter()
    with transaction(session_factory(engine, writer=True)) as session:
        indicators.add_indicators(session, loaded.publisher, report.uuid, items)
    add_seconds = time.perf_counter() - started
    seconds, audit_seconds, peer_seconds = [], [], []
    page = None
    gc.collect()
    gc.freeze()  # the bench's own objects are no garbage the measured code should pay for
    memory.reset_peak()
    for run in range(runs + 1):
        elapsed, audit_elapsed, page = _correlate_once(engine, loaded.viewer, report.uuid, size)
        peer_elapsed, peer_rows = _peer_once(engine, [value for _, value, _, _ in drawn], report.id)
        if run:  # the first run warms the caches
            seconds.append(elapsed)
            audit_seconds.append(audit_elapsed)
            peer_seconds.append(peer_elapsed)
    gc.unfreeze()
    assert page is not None
    shared, over = correlation.by_report(page.items)
    median = statistics.median(seconds) * 1000
    return {
        "indicators": size,
        "add_seconds": round(add_seconds, 3),
        "service": {
            "runs": runs,
            "median_ms": round(median, 1),
            "min_ms": round(min(seconds) * 1000, 1),
            "max_ms": round(max(seconds) * 1000, 1),
        },
        "audit_write_median_ms": round(statistics.median(audit_seconds) * 1000, 1),
        "peak_rss_mb": memory.peak_mb(),
        "peer": {
            "median_ms": round(statistics.median(peer_seconds) * 1000, 1),
            "rows": peer_rows,
            "what": "one plain SELECT id, report_id FROM indicator WHERE canonical IN (...): "
            "equal values only, no policy, no containment",
        },
        "ratio_service_to_peer": round(median / (statistics.median(peer_seconds) * 1000), 1),
        "values_correlating": sum(not item.over_correlating for item in page.items),
        "values_over_correlating": len(over),
        "reports_listed": len(shared),
        "links_listed": sum(len(s.links) for s in shared),
        "over_correlation_limit": page.limit,
        "target_ms": TARGET_REPORT_MS,
        "meets_target": median <= TARGET_REPORT_MS,
    }


def run_database(
    kind: str,
    *,
    size: int,
    report_size: int,
    runs: int,
    seed: int,
    postgres_url: str | None,
    keep: bool,
    log: Callable[[str], None],
) -> dict[str, Any]:
    values = Values(seed, size)
    check_canonical(Values(seed + 1, 1000))
    out: dict[str, Any] = {}
    with databases.fresh_database(kind, postgres_url=postgres_url, keep=keep) as engine:
        out["database"] = databases.describe(engine)
        started = time.perf_counter()
        loaded = load(engine, values, size, seed, log)
        analyzed = kind == "postgresql"
        databases.settle(engine, analyze=analyzed)
        out["load"] = {
            "indicators": loaded.rows,
            "reports": len(loaded.report_ids),
            "seconds": round(time.perf_counter() - started, 1),
            "analyzed": analyzed,
            "how": "bulk rows, non-unique indexes built after (not the service's insert path)",
        }
        loaded_in = out["load"]["seconds"]
        log(f"{kind}: {loaded.rows:,} indicators, {len(loaded.report_ids):,} reports: {loaded_in} s")
        seconds, rebuilt = _rebuild(engine)
        peer = _rebuild_peer(engine)
        limit = correlation.over_correlation_limit()
        out["rebuild"] = {
            "seconds": round(seconds, 2),
            "indicators": rebuilt.indicators,
            "values": rebuilt.values,
            "peer_seconds": round(peer, 2),
            "peer": "CREATE TABLE ... AS SELECT canonical, type, count(*) FROM indicator "
            "GROUP BY canonical, type",
            "ratio_service_to_peer": round(seconds / peer, 2) if peer else None,
            "target_seconds": TARGET_REBUILD_SECONDS,
            "meets_target": seconds <= TARGET_REBUILD_SECONDS,
            **_value_stats(engine, limit),
        }
        log(f"{kind}: recorrelation {out['rebuild']}")
        out["report"] = _report(engine, values, loaded, report_size, runs)
        log(f"{kind}: one report {out['report']}")
    return out


def run(
    kinds: list[str],
    *,
    size: int,
    report_size: int,
    runs: int,
    seed: int,
    postgres_url: str | None,
    keep: bool,
    log: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    return {
        kind: run_database(
            kind,
            size=size,
            report_size=report_size,
            runs=runs,
            seed=seed,
            postgres_url=postgres_url,
            keep=keep,
            log=log,
        )
        for kind in kinds
    }


def rows(kind: str, r: dict[str, Any] | None) -> list[tuple[str, ...]]:
    """The lines of the printed table: database, measure, service, peer, ratio, target, peak RSS."""
    if not r:
        return []
    rebuild, report = r["rebuild"], r["report"]
    met = "met" if rebuild["meets_target"] else "MISSED"
    report_met = "met" if report["meets_target"] else "MISSED"
    return [
        (
            kind,
            f"recorrelation of {rebuild['indicators']:,} indicators, s",
            f"{rebuild['seconds']:,.1f}",
            f"{rebuild['peer_seconds']:,.1f}",
            f"{rebuild['ratio_service_to_peer']:.2f}× GROUP BY" if rebuild["ratio_service_to_peer"] else "",
            f"≤ {TARGET_REBUILD_SECONDS:.0f} s {met}",
            "",
        ),
        (
            kind,
            f"correlate a {report['indicators']:,}-indicator report, median ms",
            f"{report['service']['median_ms']:,.1f}",
            f"{report['peer']['median_ms']:,.1f}",
            f"{report['ratio_service_to_peer']:.1f}× IN lookup",
            f"≤ {TARGET_REPORT_MS:.0f} ms {report_met}",
            f"{report['peak_rss_mb']:,.0f}",
        ),
        (
            kind,
            "  then its audit write, median ms",
            f"{report['audit_write_median_ms']:,.1f}",
            "",
            "",
            "",
            "",
        ),
        (
            kind,
            "  add the report through the service (counts kept), s",
            f"{report['add_seconds']:,.2f}",
            "",
            "",
            "",
            "",
        ),
        (
            kind,
            "  value rows kept / pair rows a pairwise table needs",
            f"{rebuild['values']:,}",
            f"{rebuild['pairwise_rows_for_equal_values_alone']:,}",
            "",
            "",
            "",
        ),
    ]
