"""The records of a bundle gathered into reports (see the package's documentation for the mapping): what
each STIX report holds, the container of what no report holds, their TLP, authors and indicators."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from commonspace.domain.vocab import TLP, IndicatorType
from commonspace.formats.model import IndicatorItem, OrgItem, ReportItem
from commonspace.formats.stix.common import read_timestamp
from commonspace.formats.stix.markings import TLP_MARKINGS, TLP_RANK, marked_tlp
from commonspace.formats.stix.observables import OUR_SCOS
from commonspace.formats.stix.records import Record


class _Held:
    """The records one report holds, in order, each once."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    def add(self, record: Record | None) -> None:
        if record is not None and record.id not in self.records:
            self.records[record.id] = record


def _uses(records: Iterable[Record]) -> dict[str, None]:
    """The ids the records use, each once, in the order of their first use (a few ids, used by thousands)."""
    return dict.fromkeys([ref for record in records for ref in record.uses])


def _hold_used(held: _Held, by_id: dict[str, Record]) -> None:
    """Add the identities, marking definitions and extension definitions the held records use (and those
    these use, and so on), in the order of their first use."""
    added: list[Record] = list(held.records.values())
    while added:
        added = [by_id[ref] for ref in _uses(added) if ref not in held.records and ref in by_id]
        for record in added:
            held.records[record.id] = record


def _tlp_of_markings(records: Iterable[Record]) -> dict[str, TLP]:
    """Marking ids that mean a TLP: the official ones, and TLP marking definitions of the bundle."""
    found = dict(TLP_MARKINGS)
    for record in records:
        tlp = marked_tlp(record.obj or {})
        if tlp is not None:
            found[record.id] = tlp
    return found


def _strictest(records: Iterable[Record], tlps: dict[str, TLP]) -> TLP | None:
    found = [tlps[ref] for ref in _uses(records) if ref in tlps]
    return max(found, key=TLP_RANK.__getitem__) if found else None


def _org(identity: Record | None) -> OrgItem | None:
    if identity is None or identity.type != "identity" or identity.obj is None:
        return None
    return OrgItem(name=identity.obj["name"], source_id=identity.id)


def _items(held: _Held) -> list[IndicatorItem]:
    """The indicators drawn from the held records, each (source, type, value) once."""
    observed: dict[str, tuple[datetime | None, datetime | None]] = {}
    for record in held.records.values():
        when = record.observed
        if when is not None:
            for ref in record.refs:
                observed.setdefault(ref, when)
    items: list[IndicatorItem] = []
    seen: set[tuple[str | None, IndicatorType | None, str]] = set()
    for record in [r for r in held.records.values() if r.items]:
        times = observed.get(record.id) if record.type in OUR_SCOS else None
        for template in record.items:
            key = (template.source_id, template.type, template.value)
            if key in seen:
                continue
            seen.add(key)
            item = replace(template, tags=list(template.tags))
            if times is not None:
                item.first_seen, item.last_seen = times
            items.append(item)
    return items


def _report_item(
    held: _Held, by_id: dict[str, Record], tlps: dict[str, TLP], report: Record | None
) -> ReportItem:
    """The report of ``report`` (None: the container of the objects no report holds) and what it holds."""
    records = list(held.records.values())
    if report is not None and report.obj is not None:
        obj = report.obj
        item = ReportItem(
            title=obj["name"],
            summary=obj.get("description") or "",
            created=read_timestamp(obj["created"]),
            modified=read_timestamp(obj["modified"]),
            tags=list(obj.get("labels") or ()),
            author=_org(by_id.get(obj.get("created_by_ref") or "")),
            source_id=report.id,
        )
    else:
        authors = {r.author for r in records if r.author is not None}
        author = _org(by_id.get(authors.pop())) if len(authors) == 1 else None
        item = ReportItem(title="", author=author)
    item.tlp = _strictest(records, tlps)
    item.indicators = _items(held)
    item.objects = [r.raw for r in records]
    return item


def reports_of(
    kept: list[Record], by_id: dict[str, Record], container_id: Callable[[], str], source: str
) -> list[ReportItem]:
    """A report per STIX report, and one for the objects no report holds."""
    reports = [r for r in kept if r.type == "report"]
    helds: list[_Held] = []
    for report in reports:
        held = _Held()
        held.add(report)
        for ref in report.refs:
            target = by_id.get(ref)
            held.add(target)
            if target is not None and target.type == "observed-data":
                for observable in target.refs:
                    held.add(by_id.get(observable))
        helds.append(held)
    if helds:
        holders: dict[str, list[_Held]] = {}
        for held in helds:
            for oid in held.records:
                holders.setdefault(oid, []).append(held)
        for record in kept:
            for end in record.ends:
                for held in holders.get(end, ()):
                    held.add(record)
    for held in helds:
        _hold_used(held, by_id)
    claimed = {oid for held in helds for oid in held.records}
    rest = _Held()
    rest.records = {r.id: r for r in kept if r.id not in claimed}  # kept: one record per id
    tlps = _tlp_of_markings(r for r in kept if r.type == "marking-definition")
    items = [_report_item(held, by_id, tlps, report) for report, held in zip(reports, helds, strict=True)]
    if rest.records:
        _hold_used(rest, by_id)
        container = _report_item(rest, by_id, tlps, None)
        container.source_id = container_id()
        container.title = source or f"STIX bundle {container.source_id}"
        items.append(container)
    return items
