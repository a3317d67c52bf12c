"""The JSON values of a MISP file read leniently (MISP writes numbers and flags as strings), and described
in a few words for error messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def describe(value: Any) -> str:
    """What a JSON value is, in a few words, for error messages."""
    if isinstance(value, dict):
        if not value:
            return "an empty object"
        keys = ", ".join(f'"{key}"' for key in list(value)[:5]) + (", …" if len(value) > 5 else "")
        return f"an object with the key{'s' if len(value) > 1 else ''} {keys}"
    if isinstance(value, list):
        if not value:
            return "an empty list"
        first = "a list" if isinstance(value[0], list) else describe(value[0])  # no deeper: bounded
        return f"a list of {len(value)} item{'s' if len(value) > 1 else ''}, the first {first}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return "a string" if isinstance(value, str) else "a number"


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def as_bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no"):
        return False
    return default


def as_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def as_epoch(value: Any) -> datetime | None:
    """A MISP timestamp: seconds since 1970 as a number or a string; 0 and empty are none."""
    if value is None or value == "":
        return None
    seconds = as_integer(value)
    if seconds is None:
        raise ValueError(f"{value!r} is not a UNIX time")
    try:
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{value!r} is out of range") from None


def as_day(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if as_integer(value) is not None:
        return as_epoch(value)
    try:
        day = date.fromisoformat(as_text(value).strip()[:10])
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_iso(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(as_text(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
