"""What every part of the STIX package shares: the object type, STIX ids and STIX timestamps."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]  # a STIX object as read from JSON or about to be written

# --- ids --------------------------------------------------------------------------------------------

# Any UUID is read (STIX 2.1 asks for versions 1 to 5 of RFC 4122, but newer producers write UUIDv7);
# what is written keeps to versions 1 to 5 (see stix_uuid). The type is matched lazily: the UUID holds no
# "--", so the first "--" that a UUID follows ends the type; a greedy match would run to the end of the id
# and back, which took twice as long.
UUID_PATTERN = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
ID = re.compile(r"([a-z][a-z0-9-]+?[a-z0-9])--" + UUID_PATTERN)

# Ours, for the ids of what has no UUID of its own (the bundle, an organisation known only by name).
NAMESPACE = uuid.UUID("3c0d5a57-4f1e-4b59-9a3b-2f2d0c6e7b1a")


def is_id(value: Any) -> bool:
    return isinstance(value, str) and ID.fullmatch(value) is not None


class Ids:
    """Valid STIX ids seen so far, each kept once: most references repeat a few ids (the author, the
    marking), so checking and storing each one once saves time and memory. Hot paths look a string up in
    ``known`` first and call the instance only when it is not there."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, value: Any) -> str | None:
        """``value`` (the one kept copy) when it is a valid STIX id, else None."""
        if type(value) is not str:
            return None
        known = self.known.get(value)
        if known is None and ID.fullmatch(value) is not None:
            known = self.known[value] = value
        return known


def stix_uuid(value: str | None, *fallback: str) -> str:
    """The UUID of a STIX id for our ``value``: itself when it is of a version STIX 2.1 allows (RFC 4122,
    versions 1 to 5; our reports and organisations have version 4), else a version 5 UUID derived from it
    (our indicators have version 7, which stix2-validator refuses), or from ``fallback`` without one."""
    if value:
        try:
            ours = uuid.UUID(value)
        except ValueError:
            pass
        else:
            if ours.variant == uuid.RFC_4122 and ours.version is not None and 1 <= ours.version <= 5:
                return str(ours)
            return str(uuid.uuid5(NAMESPACE, str(ours)))
    return str(uuid.uuid5(NAMESPACE, "|".join(fallback)))


# --- timestamps -------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
    r"(?:\.[0-9]+)?Z"
)


def read_timestamp(text: Any) -> datetime | None:
    """A STIX timestamp (already checked) as an aware datetime; a leap second reads as :59."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        if text[17:19] == "60":
            return datetime.fromisoformat(text[:17] + "59" + text[19:])
        return None


TIMESTAMP_SHAPE = _TIMESTAMP.fullmatch  # for loops that inline valid_timestamp


def valid_timestamp(text: Any) -> bool:
    # The expression knows every month has up to 31 days; which have fewer is the calendar's business.
    return (
        type(text) is str
        and _TIMESTAMP.fullmatch(text) is not None
        and (text[8:10] <= "28" or read_timestamp(text) is not None)
    )


def utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be in UTC already (as the database stores)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """A datetime in the STIX form: UTC, "Z", milliseconds (or microseconds when there are any)."""
    moment = utc(moment)
    micro = moment.microsecond
    fraction = f"{micro // 1000:03d}" if micro % 1000 == 0 else f"{micro:06d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
