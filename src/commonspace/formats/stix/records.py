"""What is kept of each object read: its record. An object is read when its ``type`` and ``id``
(``<type>--<UUID>``) are sound, it passes the checks, and, for a STIX indicator, its pattern can be read.
What is kept is its serialised form (:class:`RawObject`), a few references, the indicators drawn from it,
and, for the few types that are read further (reports, identities, marking definitions), the object itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from commonspace.domain.vocab import IndicatorType
from commonspace.formats.model import IndicatorItem, RawObject
from commonspace.formats.stix.checks import check
from commonspace.formats.stix.common import ID, Ids, Obj, read_timestamp
from commonspace.formats.stix.observables import OUR_SCOS, observable_values
from commonspace.formats.stix.patterns import Unreadable, read_pattern


@dataclass(slots=True)
class Record:
    """What is kept of one valid object."""

    id: str
    type: str
    modified: str
    raw: RawObject
    index: int
    obj: Obj | None = None  # reports, identities and marking definitions, read further
    refs: tuple[str, ...] = ()  # object_refs of a report or an observed-data
    ends: tuple[str, ...] = ()  # what a relationship or a sighting connects
    uses: tuple[str, ...] = ()  # created_by_ref, marking refs, extension definitions
    author: str | None = None
    items: Sequence[IndicatorItem] = ()
    observed: tuple[datetime | None, datetime | None] | None = None  # an observed-data's first and last


def _compact(body: bytes) -> bytes:
    """A copy of what orjson.dumps returned in a block of its own size: orjson's own result sits in a
    buffer of at least 4 KiB, which, kept for every object of a large bundle, would be most of the memory."""
    return bytes(memoryview(body))


def _record(obj: Obj, otype: str, oid: str, index: int, uses: tuple[str, ...], ids: Ids) -> Record:
    """What is kept of a valid object; raises Unreadable for an indicator whose pattern cannot be read."""
    modified = obj.get("modified")
    modified = modified if isinstance(modified, str) else ""
    author = obj.get("created_by_ref")
    record = Record(oid, otype, modified, RawObject(oid, otype, modified, _compact(orjson.dumps(obj))), index)
    record.uses = uses
    if author is not None:
        record.author = ids(author)
    if otype in ("report", "identity", "marking-definition"):
        record.obj = obj
        if otype == "report":
            record.refs = tuple(map(ids, obj["object_refs"]))  # type: ignore[arg-type]  # all checked
    elif otype == "relationship":
        record.ends = (obj["source_ref"], obj["target_ref"])
    elif otype == "sighting":
        record.ends = (obj["sighting_of_ref"], *(obj.get("observed_data_refs") or ()))
    elif otype == "indicator":
        if obj["pattern_type"] == "stix":
            values = read_pattern(obj["pattern"])
            record.items = _indicator_items(obj, oid, values)
    elif otype == "observed-data":
        record.refs = tuple(map(ids, obj.get("object_refs") or ()))  # type: ignore[arg-type]
        first, last = read_timestamp(obj["first_observed"]), read_timestamp(obj["last_observed"])
        record.observed = (first, last)
        record.items = [
            IndicatorItem(value, type_, to_detect=False, first_seen=first, last_seen=last, source_id=oid)
            for embedded in (obj.get("objects") or {}).values()
            for type_, value in observable_values(embedded)
        ]
    elif otype in OUR_SCOS:
        record.items = [
            IndicatorItem(value, type_, to_detect=False, source_id=oid)
            for type_, value in observable_values(obj)
        ]
    return record


def _indicator_items(obj: Obj, oid: str, values: list[tuple[IndicatorType, str]]) -> list[IndicatorItem]:
    if not values:
        return []
    name, description = obj.get("name"), obj.get("description")
    comment = name or description or ""
    confidence = obj.get("confidence")
    kinds = obj.get("indicator_types")
    to_detect = obj.get("revoked") is not True and not (isinstance(kinds, list) and "benign" in kinds)
    first_seen, last_seen = read_timestamp(obj.get("valid_from")), read_timestamp(obj.get("valid_until"))
    created, modified = read_timestamp(obj.get("created")), read_timestamp(obj.get("modified"))
    labels = obj.get("labels") or []
    return [
        IndicatorItem(
            value=value,
            type=type_,
            comment=comment,
            to_detect=to_detect,
            first_seen=first_seen,
            last_seen=last_seen,
            confidence=confidence,
            tags=list(labels),
            source_id=oid,
            created=created,
            modified=modified,
        )
        for type_, value in values
    ]


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def read_object(obj: Any, index: int, ids: Ids) -> Record | tuple[list[str], str | None]:
    """The record of a valid object, or (the reasons it is not valid, its id when it has one)."""
    if not isinstance(obj, dict):
        return [f"expected a STIX object, found {type(obj).__name__}"], None
    otype, oid = obj.get("type"), obj.get("id")
    ident = oid if isinstance(oid, str) else None
    if not isinstance(otype, str):
        return ["the object has no type"], ident
    if otype == "bundle":
        return ["a bundle inside a bundle"], ident
    if ident is None:
        return ["the object has no id"], None
    match = ID.fullmatch(ident)
    if match is None or match.group(1) != otype:
        return [f"id {ident!r} is not {otype + '--'!r} followed by a UUID"], ident
    reasons, uses = check(obj, otype, ids)
    if reasons:
        return reasons, ident
    try:
        return _record(obj, otype, ident, index, uses, ids)
    except Unreadable as exc:
        return [f"cannot read pattern {_short(obj['pattern'])}: {exc}"], ident


def newer(candidate: Record, current: Record) -> bool:
    """Whether ``candidate`` is a later version than ``current`` (a tie goes to the later in the file)."""
    new, old = read_timestamp(candidate.modified), read_timestamp(current.modified)
    if new is None or old is None:
        return True
    return new >= old
