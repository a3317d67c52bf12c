"""How many reports hold each value: the ``correlation_value`` table, kept in step with the indicators.

One row per distinct (canonical value, type), never one per pair of reports: its size grows with the
number of distinct values, whatever their spread (MISP's pairwise table reached 291 GB for 10.5 M
attributes). Every change is one set-based statement in the transaction of the change itself:

- ``mark`` before a bulk add and ``count_added`` after it: +1 for each indicator added (a report holds a
  (type, canonical value) once, so indicators holding a value are reports holding it);
- ``forget_indicator`` and ``forget_report`` before a delete: -1 each, and rows down to 0 removed;
- ``rebuild`` counts everything again from the indicators, in steps of indicator ids (a progress bar).

The counts know of every report, so they are the operator's view (``summary``, ``commonspace
correlate``): members' correlations never read them, but count among what each member may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from commonspace.store import tables as t

REBUILD_STEP = 1_000_000  # indicator ids per rebuild statement

I = t.Indicator  # noqa: E741 - the table, as in SQL
CV = t.CorrelationValue


def mark(session: Session) -> int:
    """The highest indicator id now: every indicator added after it has a higher one (SQLite assigns
    max + 1, a PostgreSQL sequence only goes up)."""
    return session.scalar(select(func.max(I.id))) or 0


def count_added(session: Session, report_id: int, after: int) -> None:
    """+1 for the value of every indicator of the report with an id above ``after`` (see ``mark``)."""
    # ``report_id + 0`` keeps the planner on the primary key's range (the new rows, at its end) rather
    # than on the (report_id, type, canonical) index, which would read every row the report had before.
    added = select(I.canonical, I.type, literal(1)).where(I.id > after, I.report_id + 0 == report_id)
    _upsert(session, added)


def _upsert(session: Session, counted: Select[str, str, int]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CV).from_select(["canonical", "type", "reports"], counted)
    statement = statement.on_conflict_do_update(
        index_elements=["canonical", "type"], set_={"reports": CV.reports + statement.excluded.reports}
    )
    session.execute(statement)


def forget_indicator(session: Session, type_: str, canonical: str) -> None:
    """-1 for the value of an indicator about to be deleted."""
    here = (CV.canonical == canonical, CV.type == type_)
    session.execute(update(CV).where(*here).values(reports=CV.reports - 1))
    session.execute(delete(CV).where(*here, CV.reports <= 0))


def forget_report(session: Session, report_id: int) -> None:
    """-1 for the value of every indicator of a report about to be deleted, in two statements."""
    held = select(I.canonical, I.type).where(I.report_id == report_id)
    rows = held.subquery()
    session.execute(
        update(CV)
        .where(CV.canonical == rows.c.canonical, CV.type == rows.c.type)
        .values(reports=CV.reports - 1)
    )
    session.execute(delete(CV).where(tuple_(CV.canonical, CV.type).in_(held), CV.reports <= 0))


@dataclass(frozen=True)
class Rebuilt:
    indicators: int
    values: int


def rebuild(
    session: Session, *, step: int = REBUILD_STEP, progress: Callable[[int, int], None] | None = None
) -> Rebuilt:
    """Count every value again from the indicators (after a restore, or to check the counts), in the
    caller's transaction: one ``INSERT ... SELECT ... GROUP BY`` per ``step`` indicator ids, ``progress(
    done, total)`` called after each (in indicators).

    On SQLite each step adds its counts to those of the steps before (``ON CONFLICT DO UPDATE``), in the
    table's own b-tree. On PostgreSQL, where that many updates of an index larger than the buffer cache
    would be slow, each step writes its counts into a temporary table, summed into the table at the end
    in key order; the table is emptied with ``TRUNCATE``, whose lock makes the changes of indicators
    that would touch the counts meanwhile wait for the rebuild to end."""
    total = session.scalar(select(func.count()).select_from(I)) or 0
    low, high = session.execute(select(func.min(I.id), func.max(I.id))).one()
    postgres = session.get_bind().dialect.name == "postgresql"
    staging: Table | None = None
    if postgres:
        session.execute(text(f"TRUNCATE {CV.__tablename__}"))
        staging = _staging(session)
    else:
        session.execute(delete(CV))
    done = 0
    if progress is not None:
        progress(0, total)
    if low is not None:
        for start in range(low - 1, high, step):
            within = (I.id > start, I.id <= start + step)
            counted = select(I.canonical, I.type, func.count()).where(*within).group_by(I.canonical, I.type)
            if staging is None:
                _upsert(session, counted)
            else:
                session.execute(insert(staging).from_select(["canonical", "type", "reports"], counted))
            if progress is not None:
                done += session.scalar(select(func.count()).select_from(I).where(*within)) or 0
                progress(min(done, total), total)
    if staging is not None:
        keys = (staging.c.canonical, staging.c.type)
        summed = select(*keys, func.sum(staging.c.reports)).group_by(*keys).order_by(*keys)
        session.execute(insert(CV).from_select(["canonical", "type", "reports"], summed))
        session.execute(text(f"DROP TABLE pg_temp.{staging.name}"))
    values = session.scalar(select(func.count()).select_from(CV)) or 0
    return Rebuilt(indicators=total, values=values)


def _staging(session: Session) -> Table:
    """A temporary table without a key, for the counts of each step of a rebuild on PostgreSQL."""
    staging = Table(
        "correlation_counting",
        MetaData(),
        Column("canonical", String(2048)),
        Column("type", String(20)),
        Column("reports", Integer),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{staging.name}"))
    staging.create(session.connection())
    return staging


@dataclass(frozen=True)
class Summary:
    values: int  # distinct values held by at least one report
    shared: int  # held by two reports or more
    over_limit: int  # held by more reports than the limit
    top: list[tuple[str, str, int]]  # (type, canonical, reports), most held first


def summary(session: Session, limit: int, *, top: int = 10) -> Summary:
    """What the counts say, for the operator (who sees every report): not for members."""
    values = session.scalar(select(func.count()).select_from(CV)) or 0
    shared = session.scalar(select(func.count()).select_from(CV).where(CV.reports > 1)) or 0
    over = session.scalar(select(func.count()).select_from(CV).where(CV.reports > limit)) or 0
    most = session.execute(
        select(CV.type, CV.canonical, CV.reports)
        .where(CV.reports > 1)
        .order_by(CV.reports.desc(), CV.canonical)
        .limit(top)
    )
    return Summary(values, shared, over, [(ty, value, n) for ty, value, n in most])
