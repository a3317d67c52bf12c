"""The warninglists this instance uses, and the flags they put on stored indicators.

The instance uses the built-in lists (reserved and private address ranges, special-use domain names) and,
when one is configured, every list of a folder in MISP's format: ``--warninglists DIR`` of the
``commonspace`` command, else the ``COMMONSPACE_WARNINGLISTS`` environment variable. A list of the folder
replaces the built-in list of the same id or name. The lists are read once per process, when first
needed, and kept: reading MISP's 136 lists takes about a second.

An indicator's ``warninglists`` column holds the sorted ids of the lists its canonical value was on when
it was stored, last changed or last refreshed; SQL NULL (never an empty list, never JSON ``null``) when it
was on none, so that ``warninglists IS NULL`` selects the values on no list. After the lists change,
:func:`refresh_batch` recomputes the stored flags (``commonspace warninglists refresh``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import JSON, bindparam, func, select, update
from sqlalchemy.orm import Session

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists import WarningList, WarningListError, WarningLists
from commonspace.engine.warninglists.load import warninglist_files
from commonspace.store import tables as t

DIRECTORY_VARIABLE = "COMMONSPACE_WARNINGLISTS"

Flags = list[str] | None  # the ids of the lists a value is on, sorted; None when on none


class InstanceLists:
    """The lists in use, with the flags of a value (:meth:`flags`) and the names of stored ids."""

    def __init__(self, lists: WarningLists, directory: Path | None = None) -> None:
        self.lists = lists
        self.directory = directory
        self._ids = {w.name: w.id for w in lists}
        self._by_id = {w.id: w for w in lists}

    def flags(self, type_: IndicatorType, canonical: str) -> Flags:
        """The sorted ids of the lists the canonical value is on, or None."""
        names = self.lists.check(type_, canonical)
        return sorted(self._ids[name] for name in names) if names else None

    def name(self, list_id: str) -> str:
        """The name of a list; its id when the instance no longer has it (flags from older lists)."""
        found = self._by_id.get(list_id)
        return found.name if found is not None else list_id

    def get(self, list_id: str) -> WarningList | None:
        return self._by_id.get(list_id)


def load(directory: str | Path | None) -> InstanceLists:
    """The built-in lists, and those of ``directory``; raises :class:`WarningListError` naming the folder
    or the file and what is wrong with it."""
    if directory is None:
        return InstanceLists(WarningLists.builtin())
    path = Path(directory)
    if not path.is_dir():
        reason = "does not exist" if not path.exists() else "is not a folder"
        raise WarningListError(str(path), f"{reason} (the folder of warninglists)")
    if not warninglist_files(path):
        raise WarningListError(
            str(path), "holds no warninglists: expected <id>.json files or <id>/list.json folders"
        )
    return InstanceLists(WarningLists.from_directory(path), path)


# --- the lists of this process ------------------------------------------------------------------------


@dataclass
class _State:
    configured: bool = False  # False: the environment variable says which folder
    directory: Path | None = None
    loaded: InstanceLists | None = None


_state = _State()
_lock = threading.Lock()


def configure(directory: str | Path | None) -> None:
    """Use the built-in lists and those of ``directory`` (None: the built-in lists alone) from now on,
    read when they are next needed."""
    path = Path(directory) if directory is not None else None
    with _lock:
        _state.configured, _state.directory, _state.loaded = True, path, None


def use(lists: WarningLists | InstanceLists) -> None:
    """Use these lists from now on, until :func:`configure` or :func:`reset` (tests inject lists so)."""
    loaded = lists if isinstance(lists, InstanceLists) else InstanceLists(lists)
    with _lock:
        _state.configured, _state.directory, _state.loaded = True, loaded.directory, loaded


def reset() -> None:
    """Forget the lists: the environment variable says again which to use, read when next needed."""
    with _lock:
        _state.configured, _state.directory, _state.loaded = False, None, None


def configured_directory() -> Path | None:
    """The folder of lists configured for this process, if any."""
    with _lock:
        if _state.configured:
            return _state.directory
    value = os.environ.get(DIRECTORY_VARIABLE, "").strip()
    return Path(value) if value else None


def active() -> InstanceLists:
    """The lists in use, read on first use (under a lock: concurrent first uses read them once)."""
    directory = configured_directory()
    with _lock:
        if _state.loaded is None:
            _state.loaded = load(directory)
        return _state.loaded


# --- stored flags -----------------------------------------------------------------------------------------


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
