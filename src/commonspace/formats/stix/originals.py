"""The original objects a report kept on import, on their way back out: which are given back on export.

An original indicator, observable or observed-data is given back only while every value it holds is still
among the report's indicators: one left out on export (narrowed away from the reader, or deleted) must not
travel inside the original object, nor in what refers to it.
"""

from __future__ import annotations

import orjson

from commonspace.domain import canonical
from commonspace.domain.vocab import IndicatorType
from commonspace.formats.model import IndicatorItem, RawObject, ReportItem
from commonspace.formats.stix.common import Obj
from commonspace.formats.stix.observables import OUR_SCOS, observable_values
from commonspace.formats.stix.patterns import Unreadable, read_pattern

_INSPECTED = frozenset({"report", "indicator", "observed-data", "relationship", "sighting", *OUR_SCOS})


def loaded(obj: Obj | RawObject) -> Obj | RawObject:
    """Objects read further on export as dicts; the others stay serialised."""
    if isinstance(obj, RawObject) and obj.type in _INSPECTED:
        body = orjson.loads(obj.body)
        return body if isinstance(body, dict) else obj
    return obj


def object_id(obj: Obj | RawObject) -> str | None:
    if isinstance(obj, RawObject):
        return obj.id
    oid = obj.get("id")
    return oid if isinstance(oid, str) else None


def _key(type_: IndicatorType, value: str) -> tuple[IndicatorType, str] | None:
    """(type, canonical value), or None when the value is not one we could have stored."""
    try:
        return type_, canonical.canonicalize(type_, value)
    except canonical.InvalidIndicator:
        return None


def _drawn(obj: Obj) -> list[tuple[IndicatorType, str]]:
    """The values of ours an original object holds, as read on import."""
    otype = obj.get("type")
    if otype == "indicator" and obj.get("pattern_type") == "stix" and isinstance(obj.get("pattern"), str):
        try:
            return read_pattern(obj["pattern"])
        except Unreadable:
            return []
    if otype == "observed-data":
        embedded = obj.get("objects")
        if isinstance(embedded, dict):
            return [v for o in embedded.values() if isinstance(o, dict) for v in observable_values(o)]
        return []
    if otype in OUR_SCOS:
        return observable_values(obj)
    return []


def item_type(item: IndicatorItem) -> IndicatorType | None:
    """The type of an indicator, detected from its value when it has none."""
    return item.type if item.type is not None else canonical.detect_type(item.value)


def to_withhold(report: ReportItem, originals: dict[str, Obj | RawObject]) -> set[str]:
    """The originals that hold a value the report's indicators no longer have, and what refers to them."""
    present: dict[str, set[tuple[IndicatorType, str] | None]] = {}
    for item in report.indicators:
        if item.source_id and item.source_id in originals:
            type_ = item_type(item)
            if type_ is not None:
                present.setdefault(item.source_id, set()).add(_key(type_, item.value))
    found: set[str] = set()
    for oid, obj in originals.items():
        if isinstance(obj, dict):
            for type_, value in _drawn(obj):
                key = _key(type_, value)
                if key is not None and key not in present.get(oid, ()):
                    found.add(oid)
                    break
    if not found:
        return found
    for oid, obj in originals.items():  # observed-data over a withheld observable
        if (
            isinstance(obj, dict)
            and obj.get("type") == "observed-data"
            and any(ref in found for ref in obj.get("object_refs") or ())
        ):
            found.add(oid)
    for oid, obj in originals.items():  # relationships and sightings that touch what is withheld
        if isinstance(obj, dict) and obj.get("type") in ("relationship", "sighting"):
            ends = [obj.get("source_ref"), obj.get("target_ref"), obj.get("sighting_of_ref")]
            ends.extend(obj.get("observed_data_refs") or ())
            if any(end in found for end in ends):
                found.add(oid)
    return found
