"""Whether an object is valid STIX 2.1, as far as it is read here, checked by hand and cheaply
(``stix2.parse`` is about eighteen times slower on the ATT&CK bundle): ``spec_version`` "2.1" when
present, the required properties of the STIX 2.1 objects, timestamps in the STIX form (kept as written),
and the types of the properties read here. (``type`` and ``id``, and the pattern of an indicator, are
checked where the object is read: see ``records``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commonspace.formats.stix.common import TIMESTAMP_SHAPE, Ids, Obj, valid_timestamp
from commonspace.formats.stix.observables import OUR_SCOS, VALUE_SCOS

# The required properties of the STIX 2.1 objects (beyond type and id); SDOs and SROs also need created
# and modified.
_SDO_REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "location": (),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
}
_SDO_REQUIRED = {t: ("created", "modified", *props) for t, props in _SDO_REQUIRED.items()}
_OTHER_REQUIRED: dict[str, tuple[str, ...]] = {
    "marking-definition": ("created",),
    "language-content": ("created", "modified", "object_ref", "contents"),
    "extension-definition": ("created", "modified", "name", "schema", "version", "extension_types"),
}
_REQUIRED = _SDO_REQUIRED | _OTHER_REQUIRED
_TIMESTAMP_PROPERTIES = (
    "created",
    "modified",
    "published",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
)
_SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)


_TIMESTAMP_HELP = "is not a STIX timestamp (RFC 3339 in UTC ending in 'Z', such as 2024-01-31T12:00:00.000Z)"
# The timestamps of each type (any other type: all of them), so that an object is asked only for its own.
_SEEN = ("created", "modified", "first_seen", "last_seen")
_TIMESTAMPS_OF: dict[str, tuple[str, ...]] = {
    **{t: ("created", "modified") for t in _REQUIRED},
    **{
        t: _SEEN
        for t in ("campaign", "infrastructure", "intrusion-set", "malware", "sighting", "threat-actor")
    },
    "report": ("created", "modified", "published"),
    "indicator": ("created", "modified", "valid_from", "valid_until"),
    "observed-data": ("created", "modified", "first_observed", "last_observed"),
    "marking-definition": ("created",),
    **{t: () for t in _SCO_TYPES},
}
_STRING_PROPERTIES = ("name", "description")


def check(obj: Obj, otype: str, ids: Ids) -> tuple[list[str], tuple[str, ...]]:
    """Why this object (with a valid type and id) is not valid STIX 2.1 as far as it is read here, and the
    ids it uses (created_by_ref, its markings, the extension definitions of its extensions).

    This runs for every object of a bundle, so the common cases are written out: a timestamp is matched
    here rather than through ``valid_timestamp``, and an id already seen is looked up in ``ids.known``
    before ``ids`` is asked (each Python call costs about as much as the test it makes)."""
    reasons: list[str] = []
    get = obj.get
    known = ids.known.get
    spec_version = get("spec_version")
    if spec_version is not None and spec_version != "2.1":
        reasons.append(f"spec_version {spec_version!r}: only STIX 2.1 is read")
    required = _REQUIRED.get(otype)
    if required is not None and None in map(get, required):
        reasons += [f"the required property {p!r} is missing" for p in required if get(p) is None]
    for prop in _TIMESTAMPS_OF.get(otype, _TIMESTAMP_PROPERTIES):
        value = get(prop)
        if value is not None and not (
            type(value) is str
            and TIMESTAMP_SHAPE(value) is not None
            and (value[8:10] <= "28" or valid_timestamp(value))
        ):
            reasons.append(f"{prop} {value!r} {_TIMESTAMP_HELP}")
    uses: list[str] = []
    author = get("created_by_ref")
    if author is not None:
        ref = (type(author) is str and known(author)) or ids(author)
        if ref is None:
            reasons.append(f"created_by_ref {author!r} is not a STIX id")
        else:
            uses.append(ref)
    markings = get("object_marking_refs")
    if markings is not None:
        listed = markings if type(markings) is list else [None]
        refs = [(type(r) is str and known(r)) or ids(r) for r in listed]
        if None in refs:
            reasons.append("object_marking_refs must be a list of STIX ids")
        else:
            uses.extend(refs)  # type: ignore[arg-type]  # no None left
    if otype in _SCO_TYPES:
        if otype in OUR_SCOS:
            reasons += _check_observable(obj, otype)
    else:
        value = get("name")
        if value is not None and type(value) is not str:
            reasons.append("name must be a string")
        value = get("description")
        if value is not None and type(value) is not str:
            reasons.append("description must be a string")
        if otype == "relationship":  # most objects of a large bundle
            for prop in ("source_ref", "target_ref"):
                value = get(prop)
                if value is not None and not ((type(value) is str and known(value)) or ids(value)):
                    reasons.append(f"{prop} {value!r} is not a STIX id")
        elif otype in _CHECKS_OF:
            reasons += _CHECKS_OF[otype](obj, ids)
    labels = get("labels")
    if labels is not None and not _strings(labels):
        reasons.append("labels must be a list of strings")
    confidence = get("confidence")
    if confidence is not None and (type(confidence) is not int or not 0 <= confidence <= 100):
        reasons.append(f"confidence {confidence!r} is not a whole number from 0 to 100")
    granular = get("granular_markings")
    if granular is not None:
        if type(granular) is not list or not all(isinstance(g, dict) for g in granular):
            reasons.append("granular_markings must be a list of objects")
        else:
            for marking in (g["marking_ref"] for g in granular if g.get("marking_ref") is not None):
                ref = ids(marking)
                if ref is None:
                    reasons.append(f"the marking_ref {marking!r} of granular_markings is not a STIX id")
                else:
                    uses.append(ref)
    extensions = get("extensions")
    if extensions is not None:
        if type(extensions) is not dict:
            reasons.append("extensions must be an object")
        else:
            for key in extensions:
                ref = ids(key) if key.startswith("extension-definition--") else None
                if ref is not None:
                    uses.append(ref)
    return reasons, tuple(uses)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _refs(obj: Obj, ids: Ids, single: tuple[str, ...], lists: tuple[str, ...]) -> list[str]:
    reasons = []
    for prop in single:
        value = obj.get(prop)
        if value is not None and ids(value) is None:
            reasons.append(f"{prop} {value!r} is not a STIX id")
    for prop in lists:
        value = obj.get(prop)
        if value is not None and not (type(value) is list and all(ids(v) is not None for v in value)):
            reasons.append(f"{prop} must be a list of STIX ids")
    return reasons


def _check_indicator(obj: Obj, ids: Ids) -> list[str]:
    return [f"{p} must be a string" for p in ("pattern", "pattern_type") if type(obj.get(p, "")) is not str]


def _check_observed(obj: Obj, ids: Ids) -> list[str]:
    reasons = _refs(obj, ids, (), ("object_refs",))
    embedded = obj.get("objects")
    if embedded is not None and not (
        type(embedded) is dict
        and all(isinstance(o, dict) and isinstance(o.get("type"), str) for o in embedded.values())
    ):
        reasons.append("objects must map keys to cyber-observable objects, each with a type")
    elif embedded is None and obj.get("object_refs") is None:
        reasons.append("the required property 'object_refs' is missing")
    return reasons


def _check_marking(obj: Obj, ids: Ids) -> list[str]:
    if ("definition_type" in obj and "definition" in obj) or ("name" in obj and "extensions" in obj):
        return []
    return ["a marking definition needs definition_type and definition, or name and extensions"]


_CHECKS_OF: dict[str, Callable[[Obj, Ids], list[str]]] = {
    "indicator": _check_indicator,
    "observed-data": _check_observed,
    "marking-definition": _check_marking,
    "relationship": lambda obj, ids: _refs(obj, ids, ("source_ref", "target_ref"), ()),  # inlined in check
    "sighting": lambda obj, ids: _refs(
        obj, ids, ("sighting_of_ref",), ("observed_data_refs", "where_sighted_refs")
    ),
    **{
        t: lambda obj, ids: _refs(obj, ids, (), ("object_refs",))
        for t in ("report", "grouping", "note", "opinion")
    },
}


def _check_observable(obj: Obj, otype: str) -> list[str]:
    if otype in VALUE_SCOS:
        value = obj.get("value")
        return [] if isinstance(value, str) else ["the required property 'value' is missing or not a string"]
    if otype == "autonomous-system":
        number = obj.get("number")
        return [] if type(number) is int else ["the required property 'number' is missing or not a number"]
    hashes, name = obj.get("hashes"), obj.get("name")
    reasons = []
    if hashes is None and name is None:
        reasons.append("a file needs hashes or a name")
    if hashes is not None and not (
        isinstance(hashes, dict) and all(isinstance(v, str) for v in hashes.values())
    ):
        reasons.append("hashes must map algorithm names to strings")
    if name is not None and not isinstance(name, str):
        reasons.append("name must be a string")
    return reasons
