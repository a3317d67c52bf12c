"""Writing MISP: one event per report, and the file that holds them."""

from __future__ import annotations

import contextlib
import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any

import orjson

from commonspace.domain import canonical
from commonspace.domain.taxonomy import category_tag
from commonspace.domain.vocab import ThreatLevel
from commonspace.formats.misp.common import NAMESPACE, UUID
from commonspace.formats.misp.types import DISTRIBUTION_IDS, EXPORTED, THREAT_LEVEL_IDS, TLP_TAGS, T
from commonspace.formats.model import Exchange, IndicatorItem, ReportItem


def to_misp(exchange: Exchange) -> list[dict[str, Any]]:
    """One ``{"Event": {…}}`` per report, in the MISP core format."""
    return [{"Event": _event(report)} for report in exchange.reports]


def to_misp_bytes(exchange: Exchange) -> bytes:
    """The MISP file: ``{"Event": {…}}`` for one report, ``{"response": [{"Event": …}, …]}`` otherwise."""
    events = to_misp(exchange)
    document: dict[str, Any] = events[0] if len(events) == 1 else {"response": events}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def _uuid(*, ours: str | None, given: str | None, seed: str) -> str:
    """Our uuid; else the source's uuid when it is one; else one derived from ``seed``, stable across runs."""
    if ours:
        return ours
    if given and UUID.fullmatch(given):
        return given.lower()
    return str(uuidlib.uuid5(NAMESPACE, seed))


def _timestamp(moment: datetime | None) -> str | None:
    return str(int(moment.timestamp())) if moment else None


def _seen(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat(timespec="microseconds")


def _event(report: ReportItem) -> dict[str, Any]:
    created = report.created or report.modified
    event_uuid = _uuid(
        ours=report.uuid,
        given=report.source_id,
        seed=f"report/{report.title}/{created.isoformat() if created else ''}",
    )
    event: dict[str, Any] = {"uuid": event_uuid, "info": report.title}
    if created:
        event["date"] = (created.astimezone(UTC) if created.tzinfo else created).date().isoformat()
    if stamp := _timestamp(report.modified or report.created):
        event["timestamp"] = stamp
    event["published"] = report.published
    event["threat_level_id"] = str(THREAT_LEVEL_IDS[report.threat_level or ThreatLevel.UNDEFINED])
    event["analysis"] = "2"
    if report.distribution is not None:
        number = DISTRIBUTION_IDS[report.distribution]
        group = (report.sharing_group or "").strip()
        if number == 4 and not group:
            number = 0  # a group we cannot name: the narrowest reach instead
        event["distribution"] = str(number)
        if number == 4:
            event["SharingGroup"] = {"uuid": group.lower()} if UUID.fullmatch(group) else {"name": group}
    if report.author:
        org: dict[str, Any] = {"name": report.author.name}
        org_uuid = report.author.uuid or report.author.source_id
        if org_uuid:
            org["uuid"] = org_uuid
        event["Orgc"] = org
    event["Tag"] = [{"name": name} for name in _event_tags(report)]

    attributes: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    used: set[str] = set()
    current: dict[str, Any] | None = None
    relations: set[str] = set()
    for item in report.indicators:
        attribute = _attribute(item, event_uuid, used)
        if attribute is None:
            continue
        name, slash, relation = (item.relation or "").partition("/")
        if not (slash and name and relation):
            attributes.append(attribute)
            current = None
            continue
        attribute["object_relation"] = relation
        if current is None or current["name"] != name or relation in relations:
            object_uuid = str(uuidlib.uuid5(NAMESPACE, f"{event_uuid}/object/{attribute['uuid']}"))
            current = {"name": name, "uuid": object_uuid, "distribution": "5", "Attribute": []}
            objects.append(current)
            relations = set()
        current["Attribute"].append(attribute)
        relations.add(relation)
    event["Attribute"] = attributes
    event["Object"] = objects
    if report.summary.strip():
        report_uuid = str(uuidlib.uuid5(NAMESPACE, f"{event_uuid}/summary"))
        event["EventReport"] = [
            {"uuid": report_uuid, "name": report.title, "content": report.summary, "distribution": "5"}
        ]
    return event


def _event_tags(report: ReportItem) -> list[str]:
    names: list[str] = []
    if report.tlp is not None:
        names.append(report.tlp.tag)  # TLP 2.0 spelling: tlp:clear, tlp:amber+strict, …
    if report.category:
        names.append(category_tag(report.category))
    for tag in report.tags:
        if report.tlp is not None and tag.lower().replace(" ", "") in TLP_TAGS:
            continue  # the report's TLP is the one that counts
        if tag not in names:
            names.append(tag)
    return names


def _attribute(item: IndicatorItem, event_uuid: str, used: set[str]) -> dict[str, Any] | None:
    """The attribute of an indicator; None when it has no type and the canonicaliser cannot tell one."""
    type_ = item.type
    value = item.value
    if type_ is None:
        detected = canonical.detect(value)
        if detected is None:
            return None
        type_, value = detected
    else:
        # A value the canonicaliser refuses is written as given: export does not judge, the receiver will.
        with contextlib.suppress(canonical.InvalidIndicator):
            value = canonical.canonicalize(type_, value)
    misp_type, category = EXPORTED[type_]
    if type_ is T.ASN:
        value = value.upper().removeprefix("AS").strip()  # MISP keeps AS numbers as bare numbers
    seed = f"{event_uuid}/{item.source_id or ''}/{type_}/{value}"
    attribute_uuid = _uuid(ours=item.uuid, given=item.source_id, seed=seed)
    attempt = 0
    while attribute_uuid in used:  # the second half of a composite MISP attribute (domain|ip), a repeat
        attempt += 1
        attribute_uuid = str(uuidlib.uuid5(NAMESPACE, f"{seed}/{attempt}"))
    used.add(attribute_uuid)
    attribute: dict[str, Any] = {
        "uuid": attribute_uuid,
        "type": misp_type,
        "category": category,
        "value": value,
        "to_ids": item.to_detect,
        "comment": item.comment,
        "distribution": "5",  # as the event
        "disable_correlation": False,
    }
    if stamp := _timestamp(item.modified or item.created):
        attribute["timestamp"] = stamp
    if first_seen := _seen(item.first_seen):
        attribute["first_seen"] = first_seen
    if last_seen := _seen(item.last_seen):
        attribute["last_seen"] = last_seen
    if item.tags:
        attribute["Tag"] = [{"name": name} for name in item.tags]
    return attribute
