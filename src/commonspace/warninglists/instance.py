"""The warninglists this instance uses: the built-in lists and those of a configured folder.

The instance uses the built-in lists (reserved and private address ranges, special-use domain names) and,
when one is configured, every list of a folder in MISP's format: ``--warninglists DIR`` of the
``commonspace`` command, else the ``COMMONSPACE_WARNINGLISTS`` environment variable. A list of the folder
replaces the built-in list of the same id or name. The lists are read once per process, when first
needed, and kept: reading MISP's 136 lists takes about a second.

Nothing here touches the database (the flags stored on indicators are :mod:`.service`'s), so a command
that only needs the lists starts without loading it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists import WarningList, WarningListError, WarningLists
from commonspace.engine.warninglists.load import warninglist_files

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
