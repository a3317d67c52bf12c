"""Bulk insert: the service path, then its peer.

Service: ``reports.indicators.add_indicators`` as the API calls it: one transaction per call, at most
``batch`` items per call (100,000 is the API's limit), the report given by UUID with its publisher as
subject, items as validated ``IndicatorIn`` models. Only the calls (and their commits) are timed; the
pydantic validation the web layer does before is timed apart and reported as ``validate_seconds``.

Peer: the rows the service stored, read back already canonical, written with one plain DBAPI
``executemany`` per call into a bare table that has the indicator table's columns and the same indexes
(no foreign keys, no ON CONFLICT), one transaction per call as well: what the database itself can do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Column, Engine, Index, MetaData, Table, UniqueConstraint
from sqlalchemy.schema import CreateIndex, CreateTable

from bench.data import Generated, Stats, World, popular_pool, report_items
from bench.world import Loaded
from commonspace.reports import indicators, schemas
from commonspace.store import tables as t
from commonspace.store.db import session_factory, transaction

PEER_TABLE = "bench_peer_indicator"
# Every column but the id, which the database assigns in both cases.
COLUMNS = [c.name for c in t.Indicator.__table__.columns if c.name != "id"]


@dataclass
class InsertResult:
    items: int = 0
    rows: int = 0
    calls: int = 0
    seconds: float = 0.0
    validate_seconds: float = 0.0
    slowest_call_seconds: float = 0.0
    batches: list[int] = field(default_factory=list)  # rows stored per call, for the peer

    def summary(self) -> dict[str, Any]:
        return {
            "indicators": self.items,
            "rows_stored": self.rows,
            "duplicates_skipped": self.items - self.rows,
            "calls": self.calls,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.items / self.seconds) if self.seconds else None,
            "slowest_call_seconds": round(self.slowest_call_seconds, 3),
            "validate_seconds": round(self.validate_seconds, 3),
        }


def _batches(gens: list[Generated], batch: int) -> list[list[Generated]]:
    return [gens[i : i + batch] for i in range(0, len(gens), batch)]


def service_insert(
    engine: Engine, world: World, loaded: Loaded, *, batch: int, stats: Stats, progress: bool = False
) -> InsertResult:
    result = InsertResult()
    pool = popular_pool(world.seed, world.size)
    writer = session_factory(engine, writer=True)
    next_report = 0.1
    for spec in world.reports:
        subject = loaded.publishers[spec.org]
        for chunk in _batches(list(report_items(world, spec, pool, stats)), batch):
            started = time.perf_counter()
            items = [schemas.IndicatorIn.model_validate(g.item) for g in chunk]
            result.validate_seconds += time.perf_counter() - started
            started = time.perf_counter()
            with transaction(writer) as session:
                added = indicators.add_indicators(session, subject, loaded.report_uuids[spec.index], items)
            elapsed = time.perf_counter() - started
            result.seconds += elapsed
            result.slowest_call_seconds = max(result.slowest_call_seconds, elapsed)
            result.items += len(items)
            result.rows += added.added
            result.calls += 1
            result.batches.append(added.added)
        if progress and result.items >= next_report * world.size:
            rate = result.items / result.seconds if result.seconds else 0
            print(f"    … {result.items:,} indicators, {rate:,.0f}/s", flush=True)
            while next_report * world.size <= result.items:
                next_report += 0.1
    return result


def _peer_table() -> Table:
    """The indicator table's columns and indexes under another name, without foreign keys."""
    source = cast(Table, t.Indicator.__table__)
    metadata = MetaData()
    peer = Table(
        PEER_TABLE,
        metadata,
        *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in source.columns),
    )
    for constraint in source.constraints:
        if isinstance(constraint, UniqueConstraint):
            names = [c.name for c in constraint.columns]
            peer.append_constraint(UniqueConstraint(*names, name=f"uq_{PEER_TABLE}_{'_'.join(names)}"))
    for index in source.indexes:
        names = [c.name for c in index.columns]
        Index(f"ix_{PEER_TABLE}_{'_'.join(names)}", *(peer.c[n] for n in names), unique=bool(index.unique))
    return peer


def peer_indexes() -> list[str]:
    """The indexes of both tables (the peer's must mirror the service's), for the results."""
    peer = _peer_table()
    described = [
        f"unique({', '.join(c.name for c in u.columns)})"
        for u in peer.constraints
        if isinstance(u, UniqueConstraint)
    ]
    described += [
        f"{'unique ' if i.unique else ''}index({', '.join(c.name for c in i.columns)})" for i in peer.indexes
    ]
    return sorted(described)


def peer_insert(engine: Engine, batches: list[int]) -> InsertResult:
    peer = _peer_table()
    with engine.begin() as conn:
        conn.execute(CreateTable(peer))
        for index in peer.indexes:
            conn.execute(CreateIndex(index))
    sqlite = engine.dialect.name == "sqlite"
    marks = ", ".join(["?" if sqlite else "%s"] * len(COLUMNS))
    statement = f"INSERT INTO {PEER_TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})"
    select = f"SELECT {', '.join(COLUMNS)} FROM {t.Indicator.__tablename__} ORDER BY id"
    result = InsertResult()
    reader, writer = engine.raw_connection(), engine.raw_connection()
    try:
        if sqlite:
            source: Any = reader.cursor()
            source.execute("BEGIN")  # one snapshot for the whole read
        else:  # a server-side cursor, so that the rows stream instead of arriving all at once
            assert reader.driver_connection is not None
            source = reader.driver_connection.cursor(name="bench_peer_read")
        source.execute(select)
        target = writer.cursor()
        for size in batches:
            rows = source.fetchmany(size) if size else []
            if not rows:
                continue
            started = time.perf_counter()
            if sqlite:
                target.execute("BEGIN IMMEDIATE")
                target.executemany(statement, rows)
                target.execute("COMMIT")
            else:
                target.executemany(statement, rows)
                writer.commit()
            elapsed = time.perf_counter() - started
            result.seconds += elapsed
            result.slowest_call_seconds = max(result.slowest_call_seconds, elapsed)
            result.items += len(rows)
            result.rows += len(rows)
            result.calls += 1
        if sqlite:
            source.execute("COMMIT")
        else:
            source.close()
            reader.commit()
    finally:
        reader.close()
        writer.close()
    return result
