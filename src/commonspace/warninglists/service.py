"""The warninglists this instance uses, and the flags they put on stored indicators.

Which lists the instance uses is :mod:`.instance`'s (imported here, so that callers have one module).

An indicator's ``warninglists`` column holds the sorted ids of the lists its canonical value was on when
it was stored, last changed or last refreshed; SQL NULL (never an empty list, never JSON ``null``) when it
was on none, so that ``warninglists IS NULL`` selects the values on no list. After the lists change,
:func:`refresh_batch` recomputes the stored flags (``commonspace warninglists refresh``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from sqlalchemy import JSON, bindparam, func, select, update
from sqlalchemy.orm import Session

from commonspace.domain.vocab import IndicatorType
from commonspace.store import tables as t
from commonspace.warninglists.instance import (
    DIRECTORY_VARIABLE,
    Flags,
    InstanceLists,
    active,
    configure,
    configured_directory,
    load,
    reset,
    use,
)

__all__ = [
    "DIRECTORY_VARIABLE",
    "Flags",
    "InstanceLists",
    "Refreshed",
    "active",
    "configure",
    "configured_directory",
    "count_indicators",
    "json_text",
    "load",
    "refresh_batch",
    "reset",
    "store_flags",
    "use",
]


def json_text(flags: Flags) -> str | None:
    """The flags as the column's text, for the bulk insert that bypasses SQLAlchemy; None stays NULL."""
    return orjson.dumps(flags).decode() if flags else None


_TABLE = t.Base.metadata.tables[t.Indicator.__tablename__]
# none_as_null: a value on no list is SQL NULL; the column's own JSON type would store None as 'null'.
_SET_FLAGS = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(warninglists=bindparam("flags", type_=JSON(none_as_null=True)))
)


def store_flags(session: Session, flags: Mapping[int, Flags]) -> None:
    """Set the flags of these indicators (by id), in one statement executed for all of them."""
    if flags:
        session.execute(_SET_FLAGS, [{"row_id": i, "flags": f or None} for i, f in flags.items()])


def count_indicators(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(t.Indicator)) or 0


@dataclass(frozen=True)
class Refreshed:
    checked: int  # indicators of the batch
    changed: int  # whose flags changed
    flagged: int  # on at least one list now
    last_id: int  # where the next batch starts (after this id)


def refresh_batch(session: Session, lists: InstanceLists, *, after: int = 0, size: int = 5000) -> Refreshed:
    """Recompute the flags of the ``size`` indicators following id ``after``, in the order of their ids,
    and store those that changed. Each distinct value of the batch is checked once."""
    query = (
        select(
            t.Indicator.id,
            t.Indicator.type,
            t.Indicator.canonical,
            t.Indicator.warninglists,
            t.Indicator.warninglists.is_(None),
        )
        .where(t.Indicator.id > after)
        .order_by(t.Indicator.id)
        .limit(size)
    )
    rows = session.execute(query).all()
    computed: dict[tuple[str, str], Flags] = {}
    changes: dict[int, Flags] = {}
    flagged = 0
    for row_id, type_, canonical, old, is_null in rows:
        key = (type_, canonical)
        if key not in computed:
            computed[key] = lists.flags(IndicatorType(type_), canonical)
        new = computed[key]
        flagged += new is not None
        # Also rewrite a JSON 'null' or '[]' as SQL NULL, and an unsorted list as the sorted one.
        if (old or None) != new or (new is None and not is_null):
            changes[row_id] = new
    store_flags(session, changes)
    return Refreshed(len(rows), len(changes), flagged, rows[-1][0] if rows else after)
