"""What is kept of each object read: its record. An object is read when its ``type`` and ``id``
(``<type>--<UUID>``) are sound, it passes the checks, and, for a STIX indicator, its pattern can be read.
What is kept is its serialised form (:class:`RawObject`), a few references, the indicators drawn from it,
and, for the few types that are read further (reports, identities, marking definitions), the object itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from commonspace.domain.vocab import IndicatorType
from commonspace.formats.model import IndicatorItem, RawObject
from commonspace.formats.stix.checks import check
from commonspace.formats.stix.common import ID, TIMESTAMP_SHAPE, UUID_PATTERN, Ids, Obj, read_timestamp
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


def _record(obj: Obj, otype: str, oid: str, index: int, uses: tuple[str, ...], ids: Ids) -> Record:
    """What is kept of a valid object; raises Unreadable for an indicator whose pattern cannot be read."""
    modified = obj.get("modified")
    modified = modified if isinstance(modified, str) else ""
    author = obj.get("created_by_ref")
    # A copy of what orjson.dumps returned, in a block of its own size: orjson's own result sits in a buffer
    # of several KiB, which, kept for every object of a large bundle, would be most of the memory.
    body = bytes(memoryview(orjson.dumps(obj)))
    record = Record(oid, otype, modified, RawObject(oid, otype, modified, body), index)
    record.uses = uses
    if author is not None:
        record.author = ids.known.get(author)  # checked, so already known
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


_RELATIONSHIP_ID = re.compile("relationship--" + UUID_PATTERN)


def _plain_relationship(obj: Obj, oid: Any, index: int, ids: Ids) -> Record | None:
    """The record of a relationship in the plain form nearly all are in, exactly as the long way gives it
    (``check`` then ``_record``); None for any other relationship, which then goes the long way.

    Plain: every property ``check`` reads is present and sound where it must be, absent or sound where it
    may be, and labels, confidence, granular markings and extensions are absent; a timestamp's day is at
    most 28 (the later ones are the calendar's business, left to the long way). Relationships are most of
    the objects of a large bundle (four in five of ATT&CK's), and this is about twice as fast."""
    get = obj.get
    known = ids.known.get
    created, modified = get("created"), get("modified")
    source, target = get("source_ref"), get("target_ref")
    spec_version, name, description = get("spec_version"), get("name"), get("description")
    if (
        type(oid) is not str
        or _RELATIONSHIP_ID.fullmatch(oid) is None
        or (spec_version is not None and spec_version != "2.1")
        or get("relationship_type") is None
        or type(created) is not str
        or TIMESTAMP_SHAPE(created) is None
        or created[8:10] > "28"
        or type(modified) is not str
        or TIMESTAMP_SHAPE(modified) is None
        or modified[8:10] > "28"
        or type(source) is not str
        or not (known(source) or ids(source))
        or type(target) is not str
        or not (known(target) or ids(target))
        or (name is not None and type(name) is not str)
        or (description is not None and type(description) is not str)
        or get("labels") is not None
        or get("confidence") is not None
        or get("granular_markings") is not None
        or get("extensions") is not None
    ):
        return None
    uses: list[str | None] = []
    author = get("created_by_ref")
    if author is not None:
        uses.append((type(author) is str and known(author)) or ids(author))
    markings = get("object_marking_refs")
    if markings is not None:
        if type(markings) is not list:
            return None
        uses += [(type(r) is str and known(r)) or ids(r) for r in markings]
    if None in uses:
        return None
    body = bytes(memoryview(orjson.dumps(obj)))  # see _record
    record = Record(oid, "relationship", modified, RawObject(oid, "relationship", modified, body), index)
    record.uses = tuple(uses)  # type: ignore[arg-type]  # no None left
    record.author = uses[0] if author is not None else None
    record.ends = (source, target)
    return record


def read_object(obj: Any, index: int, ids: Ids) -> Record | tuple[list[str], str | None]:
    """The record of a valid object, or (the reasons it is not valid, its id when it has one)."""
    if not isinstance(obj, dict):
        return [f"expected a STIX object, found {type(obj).__name__}"], None
    otype, oid = obj.get("type"), obj.get("id")
    if otype == "relationship":
        plain = _plain_relationship(obj, oid, index, ids)
        if plain is not None:
            return plain
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
