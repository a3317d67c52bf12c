"""Many-value search: the service path, then its peer, run by run on the same values.

Service: ``reports.search.search_indicators`` with the access policy on, as an analyst of an
organisation that owns none of the reports, for one page of ``limit`` hits (the API's largest page is
1,000), in a session of its own run as the API runs a reading request: a reading transaction around
the call (timed, commit included), then the audit events the call queued (one per report of another
organisation on the page), written in a short write transaction (timed apart: ``audit_write``).

Peer: the same values, canonicalised beforehand (outside the timing), looked up with one plain
``SELECT <indicator columns> FROM indicator WHERE canonical IN (...)`` through the DBAPI: no policy, no
join, no containment (networks, subdomains), all rows fetched.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bench.data import QuerySet
from bench.insert import COLUMNS
from commonspace.domain import canonical
from commonspace.policy import Subject
from commonspace.reports import search
from commonspace.store import tables as t
from commonspace.store.db import mark_reading, run_queued_writes, session_factory


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.seconds)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else None
        return {
            "runs": len(ordered),
            "median_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p95_ms": round(p95 * 1000, 2) if p95 is not None else None,
            "min_ms": round(ordered[0] * 1000, 2) if ordered else None,
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
            "rows_median": statistics.median(self.rows) if self.rows else None,
        }


@dataclass
class SearchResult:
    service: Timings = field(default_factory=Timings)
    audit_write: Timings = field(default_factory=Timings)
    peer: Timings = field(default_factory=Timings)
    values_answered: list[int] = field(default_factory=list)  # on the first page
    more_pages: int = 0
    hit_shares: list[float] = field(default_factory=list)  # values answered on any page / values


def exact_canonical(values: list[str]) -> list[str]:
    """What each value canonicalises to (as given when no type fits), without duplicates."""
    out: dict[str, None] = {}
    for raw in values:
        type_ = canonical.detect_type(raw)
        out[canonical.canonicalize(type_, raw) if type_ is not None else raw.strip()] = None
    return list(out)


def _service_once(
    engine: Engine, subject: Subject, q: QuerySet, limit: int
) -> tuple[float, float, int, int, bool]:
    """As web.deps.db_session runs a reading request: (search seconds, audit write seconds, ...)."""
    query = search.IndicatorQuery(values=q.values)
    with session_factory(engine)() as session:
        mark_reading(session)
        started = time.perf_counter()
        with session.begin():
            page = search.search_indicators(session, subject, query, limit=limit)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        run_queued_writes(session, session_factory(engine, writer=True))
        audit_elapsed = time.perf_counter() - started
    answered = len({v for hit in page.items for v in hit.matched})
    return elapsed, audit_elapsed, len(page.items), answered, page.next_cursor is not None


def _peer_once(engine: Engine, exact: list[str]) -> tuple[float, int]:
    marks = ", ".join(["?" if engine.dialect.name == "sqlite" else "%s"] * len(exact))
    statement = f"SELECT {', '.join(COLUMNS)} FROM {t.Indicator.__tablename__} WHERE canonical IN ({marks})"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        started = time.perf_counter()
        cursor.execute(statement, exact)
        rows = cursor.fetchall()
        elapsed = time.perf_counter() - started
        cursor.close()
        connection.rollback()
    finally:
        connection.close()
    return elapsed, len(rows)


def hit_share(engine: Engine, subject: Subject, q: QuerySet, limit: int) -> float:
    """The share of the (distinct) values that find something the subject may see, over all pages
    (not timed)."""
    answered: set[str] = set()
    cursor: str | None = None
    with session_factory(engine)() as session:
        mark_reading(session)  # the audit events stay queued, and are dropped with the session
        while True:
            query = search.IndicatorQuery(values=q.values)
            page = search.search_indicators(session, subject, query, limit=limit, cursor=cursor)
            answered.update(v for hit in page.items for v in hit.matched)
            cursor = page.next_cursor
            if cursor is None:
                break
        session.rollback()
    distinct = {v.strip() for v in q.values if v.strip()}  # as the search reports them in ``matched``
    return len(answered) / len(distinct) if distinct else 0.0


def run(
    engine: Engine, subject: Subject, queries: list[QuerySet], *, limit: int, warmup: int
) -> SearchResult:
    """The first ``warmup`` query sets warm the caches and are not counted."""
    result = SearchResult()
    for i, q in enumerate(queries):
        exact = exact_canonical(q.values)
        seconds, audit_seconds, rows, answered, more = _service_once(engine, subject, q, limit)
        peer_seconds, peer_rows = _peer_once(engine, exact)
        if i < warmup:
            continue
        result.service.seconds.append(seconds)
        result.service.rows.append(rows)
        result.audit_write.seconds.append(audit_seconds)
        result.values_answered.append(answered)
        result.more_pages += more
        result.peer.seconds.append(peer_seconds)
        result.peer.rows.append(peer_rows)
    for q in queries[warmup : warmup + 3]:
        result.hit_shares.append(hit_share(engine, subject, q, limit))
    return result
