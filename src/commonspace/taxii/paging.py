"""The filters of a TAXII request (id, type, spec version, ``added_after``, version), the entries they
select (one version of one object each) and their pages, with opaque ``next`` cursors.

Objects come ordered by date added, then id, then version (versions of one object: by version); ``next``
holds the position of the last one given. Filters apply in this order: id, type and spec version,
``added_after``, then the version (``last`` by default), then the cursor.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from commonspace.taxii.protocol import STIX_MEDIA_TYPE, bad_request, parse_timestamp, version_key

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Filters:
    added_after: datetime | None = None
    limit: int = DEFAULT_LIMIT
    next: str | None = None
    ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    versions: tuple[str, ...] = ()  # "first", "last", "all" or timestamps; () means the endpoint's default
    spec_versions: frozenset[str] = frozenset()


def parse_filters(query: Mapping[str, Sequence[str]]) -> Filters:
    """The TAXII query parameters (each may repeat, values separated by commas); 400 when unreadable."""

    def values(name: str) -> list[str]:
        return [v.strip() for raw in query.get(name, ()) for v in raw.split(",") if v.strip()]

    added_after = None
    after = values("added_after")
    if len(after) > 1:
        raise bad_request("give added_after once")
    if after:
        added_after = parse_timestamp(after[0])
        if added_after is None:
            raise bad_request(f"added_after {after[0]!r} is not a timestamp such as 2025-03-01T12:00:00.000Z")
    limit = DEFAULT_LIMIT
    limits = values("limit")
    if limits:
        try:
            limit = int(limits[0])
        except ValueError:
            raise bad_request(f"limit {limits[0]!r} is not a whole number") from None
        if limit < 1:
            raise bad_request("limit must be at least 1")
        limit = min(limit, MAX_LIMIT)
    nexts = [v for v in query.get("next", ()) if v]
    versions = values("match[version]")
    for version in versions:
        if version not in ("first", "last", "all") and parse_timestamp(version) is None:
            raise bad_request(f"match[version] {version!r} is not first, last, all or a timestamp")
    return Filters(
        added_after=added_after,
        limit=limit,
        next=nexts[0] if nexts else None,
        ids=frozenset(values("match[id]")),
        types=frozenset(values("match[type]")),
        versions=tuple(versions),
        spec_versions=frozenset(values("match[spec_version]")),
    )


@dataclass
class Entry:
    """One version of one object of a collection."""

    id: str
    type: str
    spec_version: str
    version: str  # as the object writes it (modified, else created), else the date added
    key: str  # the version in one spelling, for order and matching
    date_added: datetime
    obj: dict[str, Any]
    added: str = ""  # the date added as written (set once the date is final)

    def manifest_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date_added": self.added,
            "version": self.version,
            "media_type": STIX_MEDIA_TYPE,
        }


@dataclass(frozen=True)
class Page:
    items: list[Entry]
    more: bool
    next: str | None


Key = tuple[str, str, str]


def by_added(entry: Entry) -> Key:
    return (entry.added, entry.id, entry.key)


def by_version(entry: Entry) -> Key:
    return (entry.key, entry.added, entry.id)


def _encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> Key | None:
    if cursor is None:
        return None
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raw = None
    if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(part, str) for part in raw)):
        raise bad_request(f"next {cursor!r} is not a cursor this server gave")
    return (raw[0], raw[1], raw[2])


def paginate(entries: list[Entry], filters: Filters, key: Callable[[Entry], Key]) -> Page:
    ordered = sorted(entries, key=key)
    return page_of(ordered, [key(e) for e in ordered], filters, key)


def page_of(
    ordered: Sequence[Entry], keys: Sequence[Key], filters: Filters, key: Callable[[Entry], Key]
) -> Page:
    """The page after the cursor of entries already in order (``keys``: theirs, in the same order)."""
    after = _decode_cursor(filters.next)
    start = 0 if after is None else bisect.bisect_right(keys, after)
    items = list(ordered[start : start + filters.limit])
    more = len(ordered) > start + filters.limit
    return Page(items, more, _encode_cursor(key(items[-1])) if more and items else None)


def select_versions(entries: list[Entry], wanted: Sequence[str]) -> list[Entry]:
    """Of each object, the versions asked for: first, last, all, or those of the timestamps given."""
    if "all" in wanted:
        return entries
    stamps = {version_key(w) for w in wanted if w not in ("first", "last")}
    by_id: dict[str, list[Entry]] = {}
    for entry in entries:
        by_id.setdefault(entry.id, []).append(entry)
    out: list[Entry] = []
    for versions in by_id.values():
        if len(versions) == 1:  # most objects: first, last and any version it has are this one
            if "first" in wanted or "last" in wanted or versions[0].key in stamps:
                out.append(versions[0])
            continue
        versions.sort(key=lambda e: e.key)
        keep = {v.key for v in versions if v.key in stamps}
        if "first" in wanted:
            keep.add(versions[0].key)
        if "last" in wanted:
            keep.add(versions[-1].key)
        out.extend(v for v in versions if v.key in keep)
    return out


def filtered(entries: list[Entry], filters: Filters, default_version: str = "last") -> list[Entry]:
    kept = [
        e
        for e in entries
        if (not filters.ids or e.id in filters.ids)
        and (not filters.types or e.type in filters.types)
        and (not filters.spec_versions or e.spec_version in filters.spec_versions)
        and (filters.added_after is None or e.date_added > filters.added_after)
    ]
    return select_versions(kept, filters.versions or (default_version,))
