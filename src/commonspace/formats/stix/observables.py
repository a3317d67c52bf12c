"""The cyber-observables of our indicator types: which object property holds which of our types, the
values read out of an observable, and the observable written for a value (with its deterministic id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import orjson

from commonspace.domain.vocab import IndicatorType
from commonspace.formats.stix.common import Obj

T = IndicatorType

# The observables whose ``value`` is one of ours, each way round.
VALUE_SCOS = {
    "ipv4-addr": T.IPV4,
    "ipv6-addr": T.IPV6,
    "domain-name": T.DOMAIN,
    "url": T.URL,
    "email-addr": T.EMAIL,
}
VALUE_OBJECT: dict[IndicatorType, str] = {
    **{type_: otype for otype, type_ in VALUE_SCOS.items()},
    T.IPV4_CIDR: "ipv4-addr",
    T.IPV6_CIDR: "ipv6-addr",
}
OUR_SCOS = frozenset({*VALUE_SCOS, "file", "autonomous-system"})
HASH_KEYS = {T.MD5: "MD5", T.SHA1: "SHA-1", T.SHA256: "SHA-256", T.SHA512: "SHA-512"}
_HASH_TYPES = {"MD5": T.MD5, "SHA1": T.SHA1, "SHA256": T.SHA256, "SHA512": T.SHA512}

# STIX 2.1 section 2.9: the namespace of the deterministic ids of cyber-observables.
_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def comparison_type(object_type: str, path: Sequence[str], value: str) -> IndicatorType | None:
    """Our type for an equality comparison on ``object_type:path``, or None when it is not ours."""
    if len(path) == 1:
        prop = path[0]
        if prop == "value":
            if object_type == "ipv4-addr":
                return T.IPV4_CIDR if "/" in value else T.IPV4
            if object_type == "ipv6-addr":
                return T.IPV6_CIDR if "/" in value else T.IPV6
            return VALUE_SCOS.get(object_type)
        if object_type == "file" and prop == "name":
            return T.FILENAME
        if object_type == "autonomous-system" and prop == "number":
            return T.ASN
    elif len(path) == 2:
        if object_type == "file" and path[0] == "hashes":
            return _HASH_TYPES.get(path[1].strip("'").upper().replace("-", "").replace("_", ""))
        if object_type == "email-message" and path[0] in ("from_ref", "sender_ref") and path[1] == "value":
            return T.EMAIL
    return None


def as_number(value: str) -> int:
    """The number of an AS of ours ("AS13335" or "13335")."""
    return int(value.upper().removeprefix("AS"))


def observable_values(obj: Obj) -> list[tuple[IndicatorType, str]]:
    """The values of ours a cyber-observable holds (a file: each hash of ours, then its name)."""
    otype = obj.get("type")
    if otype in VALUE_SCOS:
        value = obj.get("value")
        if not isinstance(value, str):
            return []
        type_ = comparison_type(otype, ("value",), value)
        return [(type_, value)] if type_ is not None else []
    if otype == "autonomous-system":
        number = obj.get("number")
        return [(T.ASN, f"AS{number}")] if type(number) is int else []
    if otype == "file":
        found: list[tuple[IndicatorType, str]] = []
        hashes = obj.get("hashes")
        if isinstance(hashes, dict):
            for key, value in hashes.items():
                hash_type = comparison_type("file", ("hashes", str(key)), "")
                if hash_type is not None and isinstance(value, str):
                    found.append((hash_type, value))
        name = obj.get("name")
        if isinstance(name, str):
            found.append((T.FILENAME, name))
        return found
    return []


def observable_of(type_: IndicatorType, value: str, markings: list[str]) -> Obj:
    """The cyber-observable of one value, with its deterministic id (STIX 2.1 section 2.9)."""
    contributing: Obj
    if type_ is T.ASN:
        otype, contributing = "autonomous-system", {"number": as_number(value)}
    elif type_ in HASH_KEYS:
        otype, contributing = "file", {"hashes": {HASH_KEYS[type_]: value}}
    elif type_ is T.FILENAME:
        otype, contributing = "file", {"name": value}
    else:
        otype = VALUE_OBJECT[type_]
        contributing = {"value": value}
    name = orjson.dumps(contributing, option=orjson.OPT_SORT_KEYS).decode()
    observable: Obj = {
        "type": otype,
        "spec_version": "2.1",
        "id": f"{otype}--{uuid.uuid5(_SCO_NAMESPACE, name)}",
        **contributing,
    }
    if markings:
        observable["object_marking_refs"] = markings
    return observable
