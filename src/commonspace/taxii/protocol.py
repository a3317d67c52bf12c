"""TAXII 2.1 as this server speaks it: media types, limits, timestamps, discovery and the API root."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from commonspace.domain.errors import CommonspaceError

MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
PREFIX = "/taxii2/"
API_ROOT = "/taxii2/api/"
MAX_CONTENT_LENGTH = 100 * 1024 * 1024


def bad_request(message: str) -> CommonspaceError:
    """A request TAXII answers with 400 (a filter or cursor it cannot read)."""
    return CommonspaceError(message)


# --- timestamps --------------------------------------------------------------------------------------

_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(text: object) -> datetime | None:
    """A STIX (RFC 3339) timestamp with a time zone, in UTC, to the microsecond; None if not one."""
    if not isinstance(text, str) or "T" not in text.upper():
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    value = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value, count=1)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def stamp(moment: datetime) -> str:
    """A TAXII timestamp, to the microsecond, so that ``added_after`` a date given back is exact."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_key(text: str) -> str:
    """A version in one spelling, for order and comparison (the text itself when it is no timestamp)."""
    moment = parse_timestamp(text)
    return stamp(moment) if moment is not None else text


# --- the server's description ------------------------------------------------------------------------


def discovery() -> dict[str, Any]:
    return {
        "title": "Commonspace",
        "description": "Cyber-threat reports and indicators shared under one access policy, as STIX 2.1.",
        "default": API_ROOT,
        "api_roots": [API_ROOT],
    }


def api_root() -> dict[str, Any]:
    return {
        "title": "Commonspace",
        "description": "One collection per scope you may read: the community, your organisation, each of "
        "its sharing groups, and everything marked TLP:CLEAR.",
        "versions": [MEDIA_TYPE],
        "max_content_length": MAX_CONTENT_LENGTH,
    }
