"""Writing an :class:`Exchange` as one STIX 2.1 bundle (see the package's documentation).

Ids are ``report--``, ``indicator--`` and ``identity--`` followed by our UUID when STIX 2.1 allows its
version (1 to 5), else by a version 5 UUID derived from it (indicators have version 7 UUIDs here).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from commonspace.domain.vocab import TLP
from commonspace.formats.model import Exchange, IndicatorItem, OrgItem, RawObject, ReportItem
from commonspace.formats.stix.common import NAMESPACE, Obj, is_id, read_timestamp, stamp, stix_uuid, utc
from commonspace.formats.stix.markings import (
    TLP2_EXTENSION,
    TLP2_EXTENSION_OBJECT,
    TLP2_MARKINGS,
    TLP_MARKINGS,
    TLP_RANK,
    tlp2_marking,
)
from commonspace.formats.stix.observables import observable_of
from commonspace.formats.stix.originals import item_type, loaded, object_id, to_withhold
from commonspace.formats.stix.patterns import stix_pattern

_UNKNOWN_TIME = "1970-01-01T00:00:00.000Z"  # created/modified of identities we know no date of


@dataclass
class _Writer:
    producer: str
    now: datetime
    objects: dict[str, Obj | orjson.Fragment] = field(default_factory=dict)
    identities: dict[str, Obj] = field(default_factory=dict)
    tlps: set[TLP] = field(default_factory=set)
    original_ids: set[str] = field(default_factory=set)

    def identity(self, org: OrgItem | None) -> str:
        """The id of the identity of ``org`` (the producer's when None), written once when first used."""
        if org is None:
            oid = f"identity--{uuid.uuid5(NAMESPACE, 'producer|' + self.producer)}"
            name, identity_class = self.producer, "system"
        else:
            if (
                org.uuid is None
                and org.source_id
                and is_id(org.source_id)
                and org.source_id.startswith("identity--")
            ):
                oid = org.source_id
            else:
                oid = f"identity--{stix_uuid(org.uuid, 'organisation', org.name)}"
            name, identity_class = org.name, "organization"
        if oid not in self.identities and oid not in self.original_ids:
            self.identities[oid] = {
                "type": "identity",
                "spec_version": "2.1",
                "id": oid,
                "created": _UNKNOWN_TIME,
                "modified": _UNKNOWN_TIME,
                "name": name,
                "identity_class": identity_class,
            }
        return oid

    def add(self, oid: str, obj: Obj | orjson.Fragment) -> None:
        self.objects.setdefault(oid, obj)

    def report(self, report: ReportItem) -> list[tuple[str, Obj | orjson.Fragment]]:
        rid = f"report--{stix_uuid(report.uuid, 'report', report.source_id or '', report.title)}"
        markings = [TLP2_MARKINGS[report.tlp]] if report.tlp is not None else []
        if report.tlp is not None:
            self.tlps.add(report.tlp)
        created = utc(report.created) if report.created else self.now
        modified = max(utc(report.modified), created) if report.modified else created

        originals: dict[str, Obj | RawObject] = {}
        for stored in report.objects:
            oid = object_id(stored)
            if oid is not None:
                originals.setdefault(oid, loaded(stored))
        withheld = to_withhold(report, originals)
        given_back = {oid: obj for oid, obj in originals.items() if oid not in withheld}
        original_report = given_back.get(report.source_id) if report.source_id else None
        if isinstance(original_report, dict) and original_report.get("type") == "report":
            del given_back[original_report["id"]]
        else:
            original_report = None

        parts: list[tuple[str, Obj | orjson.Fragment]] = []
        for item in report.indicators:
            if item.source_id and item.source_id in given_back:
                continue  # the original object stands for it
            parts.extend(self._indicator(item, rid, self.identity(report.author), markings, created))
        held_ids = [oid for oid in given_back] + [oid for oid, _ in parts]

        if original_report is not None:
            head = self._original_report(original_report, report, held_ids, withheld, markings)
        else:
            author = self.identity(report.author)
            head = {
                "type": "report",
                "spec_version": "2.1",
                "id": rid,
                "created": stamp(created),
                "modified": stamp(modified),
                "name": report.title or "Untitled",
                **({"description": report.summary} if report.summary else {}),
                "report_types": ["threat-report"],
                "published": stamp(created),
                "object_refs": held_ids or [author],
                **({"labels": list(report.tags)} if report.tags else {}),
                "created_by_ref": author,
                **({"object_marking_refs": markings} if markings else {}),
            }
        out: list[tuple[str, Obj | orjson.Fragment]] = [(head["id"], head)]
        for oid, obj in given_back.items():
            out.append((oid, orjson.Fragment(obj.body) if isinstance(obj, RawObject) else obj))
        return out + parts

    def _original_report(
        self, original: Obj, report: ReportItem, held: list[str], withheld: set[str], markings: list[str]
    ) -> Obj:
        """The imported STIX report, referring to everything given with it and marked with today's TLP."""
        head = dict(original)
        refs = [ref for ref in head.get("object_refs") or () if ref not in withheld]
        known = set(refs)
        refs.extend(oid for oid in held if oid not in known and oid != head["id"])
        previous = [m for m in head.get("object_marking_refs") or () if m not in TLP_MARKINGS]
        marked = previous + markings if markings else list(head.get("object_marking_refs") or ())
        changed = refs != head.get("object_refs") or marked != (head.get("object_marking_refs") or [])
        head["object_refs"] = refs or [head.get("created_by_ref") or self.identity(None)]
        if marked:
            head["object_marking_refs"] = marked
        if changed and report.modified is not None:
            before = read_timestamp(head.get("modified"))
            if before is None or utc(report.modified) > before:
                head["modified"] = stamp(report.modified)
        return head

    def _indicator(
        self, item: IndicatorItem, rid: str, author: str, markings: list[str], report_created: datetime
    ) -> list[tuple[str, Obj]]:
        type_ = item_type(item)
        if type_ is None:
            return []
        created = utc(item.created) if item.created else report_created
        modified = max(utc(item.modified), created) if item.modified else created
        first_seen = utc(item.first_seen) if item.first_seen else None
        last_seen = utc(item.last_seen) if item.last_seen else None
        uid = stix_uuid(item.uuid, rid, type_.value, item.value)
        common: Obj = {
            "spec_version": "2.1",
            "created": stamp(created),
            "modified": stamp(modified),
            "created_by_ref": author,
        }
        confidence = item.confidence if item.confidence is not None and 0 <= item.confidence <= 100 else None
        extras: Obj = {  # the properties either ends with
            **({"confidence": confidence} if confidence is not None else {}),
            **({"labels": list(item.tags)} if item.tags else {}),
            **({"object_marking_refs": markings} if markings else {}),
        }
        if item.to_detect:
            valid_from = first_seen or created
            indicator: Obj = {
                "type": "indicator",
                "id": f"indicator--{uid}",
                **common,
                **({"name": item.comment} if item.comment else {}),
                "indicator_types": ["malicious-activity"],
                "pattern": stix_pattern(type_, item.value),
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": stamp(valid_from),
                **({"valid_until": stamp(last_seen)} if last_seen and last_seen > valid_from else {}),
                **extras,
            }
            return [(indicator["id"], indicator)]
        observable = observable_of(type_, item.value, markings)
        first = first_seen or created
        last = last_seen if last_seen and last_seen >= first else first
        observed: Obj = {
            "type": "observed-data",
            "id": f"observed-data--{uid}",
            **common,
            "first_observed": stamp(first),
            "last_observed": stamp(last),
            "number_observed": 1,
            "object_refs": [observable["id"]],
            **extras,
        }
        return [(observed["id"], observed), (observable["id"], observable)]


def to_stix(exchange: Exchange, *, producer: str = "Commonspace") -> bytes:
    """One STIX 2.1 bundle of ``exchange`` (see the package's documentation), serialised with orjson."""
    writer = _Writer(producer=producer, now=datetime.now(UTC).replace(microsecond=0))
    for report in exchange.reports:
        writer.original_ids.update(oid for oid in map(object_id, report.objects) if oid is not None)
    parts = [writer.report(report) for report in exchange.reports]
    head: list[tuple[str, Obj | orjson.Fragment]] = []
    if writer.tlps:
        head.append((TLP2_EXTENSION, TLP2_EXTENSION_OBJECT))
        head.extend(
            (TLP2_MARKINGS[t], tlp2_marking(t)) for t in sorted(writer.tlps, key=TLP_RANK.__getitem__)
        )
    head.extend(writer.identities.items())
    for oid, obj in head:
        writer.add(oid, obj)
    for report_parts in parts:
        for oid, obj in report_parts:
            writer.add(oid, obj)
    bundle_id = f"bundle--{uuid.uuid5(NAMESPACE, 'bundle|' + '|'.join(writer.objects))}"
    return orjson.dumps({"type": "bundle", "id": bundle_id, "objects": list(writer.objects.values())})
