"""Reading warninglists: a MISP warninglist from its decoded JSON, from a file, and every list of a folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from commonspace.engine.warninglists.model import (
    BUILTIN_SOURCE,
    CATEGORIES,
    ListType,
    WarningList,
    WarningListError,
)


def _text_field(document: Mapping[str, object], key: str, source: str, default: str) -> str:
    value = document.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise WarningListError(source, f"{key!r} must be a string, not {_json_kind(value)}")
    return value


def _json_kind(value: object) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    kinds |= {dict: "an object", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def parse_warninglist(document: object, *, id: str, source: str = BUILTIN_SOURCE) -> WarningList:
    """A warninglist from its decoded JSON; raises :class:`WarningListError` naming ``source``."""
    if not isinstance(document, dict):
        raise WarningListError(
            source, f"expected a JSON object (a MISP warninglist), not {_json_kind(document)}"
        )
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise WarningListError(source, "'name' is missing or empty")
    kind = document.get("type", "string")  # MISP's default
    if isinstance(kind, list) and kind:
        kind = kind[0]  # MISP takes the first of a list of types
    if kind not in ListType.__members__.values():
        allowed = ", ".join(t.value for t in ListType)
        raise WarningListError(source, f"'type' is {kind!r}; expected one of {allowed}")
    raw = document.get("list")
    if isinstance(raw, dict):
        raw = list(raw)  # {"value": "comment", ...}, which MISP accepts too
    if not isinstance(raw, list):
        raise WarningListError(source, f"'list' must be an array of entries, not {_json_kind(raw)}")
    for position, entry in enumerate(raw):
        if type(entry) is not str and (isinstance(entry, bool) or not isinstance(entry, int)):
            raise WarningListError(source, f"entry {position} of 'list' is {_json_kind(entry)}, not a string")
    entries = [text for text in (str(entry).strip() for entry in raw) if text]
    if not entries:
        raise WarningListError(source, "'list' has no entries")
    matching = document.get("matching_attributes") or []
    if not isinstance(matching, list) or not all(isinstance(m, str) for m in matching):
        raise WarningListError(source, "'matching_attributes' must be an array of MISP attribute types")
    version = document.get("version", 1)
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int):
        raise WarningListError(source, f"'version' must be a whole number, not {version!r}")
    category = _text_field(document, "category", source, "false_positive").replace("-", "_")
    if category not in CATEGORIES:
        raise WarningListError(source, f"'category' is {category!r}; expected false_positive or known")
    return WarningList(
        id=id,
        name=name.strip(),
        type=ListType(kind),
        entries=tuple(entries),
        matching_attributes=tuple(matching),
        description=_text_field(document, "description", source, ""),
        version=version,
        category=category,
        source=source,
    )


def load_warninglist(path: str | Path, *, id: str | None = None) -> WarningList:
    """Read one warninglist file; raises :class:`WarningListError` naming the file and the reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WarningListError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WarningListError(str(path), f"is not valid JSON ({exc})") from None
    list_id = id or (path.parent.name if path.name == "list.json" else path.stem)
    return parse_warninglist(document, id=list_id, source=str(path))


def warninglist_files(directory: str | Path) -> list[tuple[str, Path]]:
    """The warninglists of a folder as ``(id, file)``, by id: each ``<id>.json`` file and each
    ``<id>/list.json``; given a clone of MISP's repository, its ``lists`` folder."""
    root = Path(directory)
    if (root / "lists").is_dir():
        root = root / "lists"
    if not root.is_dir():
        raise WarningListError(str(root), "is not a folder")
    found: list[tuple[str, Path]] = []
    for child in sorted(root.iterdir()):
        if child.suffix == ".json" and child.is_file():
            found.append((child.stem, child))
        elif child.is_dir() and (child / "list.json").is_file():
            found.append((child.name, child / "list.json"))
    return sorted(found)


@dataclass(frozen=True)
class Loaded:
    """The lists read from a folder, and (when skipping bad lists) the errors of those left out."""

    lists: tuple[WarningList, ...]
    errors: tuple[WarningListError, ...] = ()


def load_directory(directory: str | Path, *, skip_invalid: bool = False) -> Loaded:
    """Read every warninglist of a folder. A list that cannot be used raises :class:`WarningListError`,
    or with ``skip_invalid`` is left out and reported in :attr:`Loaded.errors`. Two lists with the same
    id or name are an error of the second one."""
    lists: list[WarningList] = []
    errors: list[WarningListError] = []
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    for list_id, path in warninglist_files(directory):
        try:
            warninglist = load_warninglist(path, id=list_id)
            if list_id in ids:
                raise WarningListError(str(path), f"the id {list_id!r} is already taken by {ids[list_id]}")
            if warninglist.name in names:
                raise WarningListError(
                    str(path), f"the name {warninglist.name!r} is already taken by {names[warninglist.name]}"
                )
        except WarningListError as exc:
            if not skip_invalid:
                raise
            errors.append(exc)
            continue
        ids[list_id] = names[warninglist.name] = str(path)
        lists.append(warninglist)
    return Loaded(tuple(lists), tuple(errors))
