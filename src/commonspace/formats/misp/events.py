"""The events of one MISP file read into reports, their attributes into indicators or note lines."""

from __future__ import annotations

from typing import Any

from commonspace.domain import canonical
from commonspace.domain.taxonomy import category_problem
from commonspace.domain.vocab import Distribution, IndicatorType
from commonspace.formats.misp.types import (
    DISTRIBUTIONS,
    IMPORTED,
    IP,
    LAST_PART_OPTIONAL,
    PORT,
    RSIT_TAG,
    THREAT_LEVELS,
    TLP_ORDER,
    TLP_TAGS,
    URI,
    T,
)
from commonspace.formats.misp.values import (
    as_bool,
    as_day,
    as_epoch,
    as_integer,
    as_iso,
    as_list,
    as_text,
    describe,
)
from commonspace.formats.model import FormatError, IndicatorItem, OrgItem, Problem, ReportItem

_NOTE_LENGTH = 500  # characters of a value kept in a note line
_EXPECTED = (
    'expected a MISP event {"Event": {…}}, a search result {"response": [{"Event": {…}}, …]} '
    'or a list of {"Event": {…}}'
)


class Reader:
    """Reads the events of one file, collecting problems."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, where: str, reason: str, object_id: str | None = None) -> None:
        self.problems.append(Problem(self.source, where, reason, object_id))

    def not_misp(self, document: Any) -> FormatError:
        return FormatError(
            [Problem(self.source, "top level", f"not a MISP event: {_EXPECTED}; found {describe(document)}")]
        )

    def events(self, document: Any) -> list[tuple[str, Any]]:
        """(where, event) for each event of the document; raises FormatError when it holds no MISP events."""
        if isinstance(document, dict):
            if "Event" in document:
                return [("Event", document["Event"])]
            if "response" in document:
                response = document["response"]
                if isinstance(response, dict) and "Event" in response:
                    return [("response.Event", response["Event"])]
                if isinstance(response, list):
                    return self.listed(response, "response")
                raise self.not_misp(document)
            if isinstance(document.get("info"), str):  # the event's own fields, as PyMISP writes them
                return [("Event", document)]
        elif isinstance(document, list):
            return self.listed(document, "")
        raise self.not_misp(document)

    def listed(self, items: list[Any], where: str) -> list[tuple[str, Any]]:
        if items and not any(_listed_event(item) for item in items):
            raise self.not_misp(items)  # an event index, a list of sharing groups or feeds…
        events: list[tuple[str, Any]] = []
        for i, item in enumerate(items):
            if isinstance(item, dict) and "Event" in item:
                events.append((f"{where}[{i}].Event", item["Event"]))
            elif _listed_event(item):
                events.append((f"{where}[{i}]", item))
            else:
                self.problem(f"{where}[{i}]", f'expected {{"Event": {{…}}}}, found {describe(item)}')
        return events

    # --- an event ------------------------------------------------------------------------------------------
    def event(self, event: Any, where: str) -> ReportItem | None:
        if not isinstance(event, dict):
            self.problem(where, f"expected an event object, found {describe(event)}")
            return None
        event_uuid = as_text(event.get("uuid")) or None
        title = as_text(event.get("info")).strip()
        if not title:
            self.problem(where, 'the event has no "info" (its title)', event_uuid)
            return None
        before = len(self.problems)
        report = ReportItem(
            title=title, source_id=event_uuid, published=as_bool(event.get("published"), False)
        )
        report.distribution, report.sharing_group = self.distribution(event, where, event_uuid)
        level = as_integer(event.get("threat_level_id"))
        report.threat_level = THREAT_LEVELS.get(level) if level is not None else None
        try:
            report.modified = as_epoch(event.get("timestamp"))
            report.created = as_day(event.get("date")) or report.modified
        except ValueError as exc:
            self.problem(where, f"bad date or timestamp: {exc}", event_uuid)
        if len(self.problems) > before:
            return None  # an event whose reach or time is unclear is left out whole
        self.tags(report, _tag_names(event.get("Tag")))
        report.author = _org(event.get("Orgc"))
        report.summary = _summary(event.get("EventReport"))

        counts = {
            "sightings": len(as_list(event.get("Sighting"))),
            "proposals": len(as_list(event.get("ShadowAttribute"))),
        }
        for j, attribute in enumerate(as_list(event.get("Attribute"))):
            self.attribute(report, attribute, f"{where}.Attribute[{j}]", None, counts)
        for k, obj in enumerate(as_list(event.get("Object"))):
            if not isinstance(obj, dict):
                self.problem(f"{where}.Object[{k}]", f"expected an object, found {describe(obj)}")
                continue
            if as_bool(obj.get("deleted"), False):
                continue
            name = as_text(obj.get("name")).strip() or "object"
            for j, attribute in enumerate(as_list(obj.get("Attribute"))):
                self.attribute(report, attribute, f"{where}.Object[{k}].Attribute[{j}]", name, counts)
        if counts["sightings"]:
            report.notes.append(f"sightings: {counts['sightings']} in the MISP event, not imported")
        if counts["proposals"]:
            report.notes.append(f"proposals: {counts['proposals']} in the MISP event, not imported")
        return report

    def distribution(
        self, event: dict[str, Any], where: str, event_uuid: str | None
    ) -> tuple[Distribution | None, str | None]:
        raw = event.get("distribution")
        if raw is None or raw == "":
            return None, None
        number = as_integer(raw)
        if number not in DISTRIBUTIONS:
            self.problem(where, f"distribution {raw!r} is not one of 0, 1, 2, 3, 4", event_uuid)
            return None, None
        distribution = DISTRIBUTIONS[number]
        if distribution is not Distribution.SHARING_GROUP:
            return distribution, None
        group = event.get("SharingGroup")
        group = group if isinstance(group, dict) else {}
        name = as_text(group.get("name")).strip() or as_text(group.get("uuid")).strip()
        if not name:
            self.problem(
                where, "distribution 4 (a sharing group) without the SharingGroup's name or uuid", event_uuid
            )
        return distribution, name or None

    @staticmethod
    def tags(report: ReportItem, names: list[str]) -> None:
        for name in names:
            tlp = TLP_TAGS.get(name.lower().replace(" ", ""))
            if tlp is not None:
                if report.tlp is None or TLP_ORDER.index(tlp) > TLP_ORDER.index(report.tlp):
                    report.tlp = tlp
                continue
            rsit = RSIT_TAG.fullmatch(name)
            if rsit and report.category is None:
                category = f"{rsit.group(1).lower()}/{rsit.group(2).lower()}"
                if category_problem(category) is None:
                    report.category = category
                    continue
            if name not in report.tags:
                report.tags.append(name)

    # --- an attribute --------------------------------------------------------------------------------------
    def attribute(
        self, report: ReportItem, attribute: Any, where: str, object_name: str | None, counts: dict[str, int]
    ) -> None:
        if not isinstance(attribute, dict):
            self.problem(where, f"expected an attribute object, found {describe(attribute)}")
            return
        if as_bool(attribute.get("deleted"), False):
            return
        counts["sightings"] += len(as_list(attribute.get("Sighting")))
        counts["proposals"] += len(as_list(attribute.get("ShadowAttribute")))
        attribute_uuid = as_text(attribute.get("uuid")) or None
        misp_type = as_text(attribute.get("type")).strip()
        value = attribute.get("value")
        comment = as_text(attribute.get("comment")).strip()
        relation = None
        if object_name is not None:
            relation = f"{object_name}/{as_text(attribute.get('object_relation')).strip() or misp_type}"
        if not misp_type:
            self.problem(where, 'the attribute has no "type"', attribute_uuid)
            return
        kinds = IMPORTED.get(misp_type)
        if kinds == (URI,) and "://" not in canonical.refang(as_text(value)):
            kinds = None  # a path such as "/gate.php" is no URL of ours
        if kinds is None:
            if value is not None and _one_line(value):
                report.notes.append(_note(misp_type, value, relation, comment))
            return
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"the {misp_type} attribute has no value", attribute_uuid)
            return
        try:
            first_seen = as_iso(attribute.get("first_seen"))
            last_seen = as_iso(attribute.get("last_seen"))
            modified = as_epoch(attribute.get("timestamp"))
        except ValueError as exc:
            self.problem(where, f"{misp_type} {value!r}: bad time: {exc}", attribute_uuid)
            return
        parts = value.rsplit("|", len(kinds) - 1) if len(kinds) > 1 else [value]
        if len(parts) < len(kinds) and misp_type not in LAST_PART_OPTIONAL:
            self.problem(
                where, f"{misp_type} {value!r}: expected {len(kinds)} parts separated by '|'", attribute_uuid
            )
            return
        items: list[IndicatorItem] = []
        for kind, part in zip(kinds, parts, strict=False):
            if kind == PORT or not part.strip():
                continue
            type_ = _ip_type(part) if kind == IP else T.URL if kind == URI else T(kind)
            try:
                canonical.canonicalize(type_, part)
            except canonical.InvalidIndicator as exc:
                self.problem(where, f"{misp_type} {value!r}: {exc}", attribute_uuid)
                return
            items.append(
                IndicatorItem(
                    value=part.strip(),
                    type=type_,
                    comment=comment,
                    to_detect=as_bool(attribute.get("to_ids"), True),
                    first_seen=first_seen,
                    last_seen=last_seen,
                    tags=_tag_names(attribute.get("Tag")),
                    source_id=attribute_uuid,
                    relation=relation,
                    modified=modified,
                )
            )
        if not items:
            self.problem(where, f"the {misp_type} attribute has no value", attribute_uuid)
        report.indicators.extend(items)


def _listed_event(item: Any) -> bool:
    """An item of a list or search result that is an event: wrapped, or bare with its attributes (an
    index entry has the event's "info" but none of its attributes or objects: it is not an event)."""
    if not isinstance(item, dict):
        return False
    if "Event" in item:
        return True
    return isinstance(item.get("info"), str) and ("Attribute" in item or "Object" in item)


def _ip_type(value: str) -> IndicatorType:
    text = canonical.refang(value)
    if "/" in text:
        return T.IPV6_CIDR if ":" in text else T.IPV4_CIDR
    return T.IPV6 if ":" in text else T.IPV4


def _note(misp_type: str, value: Any, relation: str | None, comment: str) -> str:
    head = f"{misp_type} ({relation})" if relation else misp_type
    return f"{head}: {_one_line(value)}" + (f" ({_one_line(comment)})" if comment else "")


def _one_line(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _NOTE_LENGTH else text[: _NOTE_LENGTH - 1] + "…"


def _summary(reports: Any) -> str:
    """The event reports (Markdown): the one as it is, several each under its name."""
    found = [
        (as_text(r.get("name")).strip(), as_text(r.get("content")).strip())
        for r in as_list(reports)
        if isinstance(r, dict) and not as_bool(r.get("deleted"), False) and as_text(r.get("content")).strip()
    ]
    if len(found) == 1:
        return found[0][1]
    return "\n\n".join(f"## {name or 'Report'}\n\n{content}" for name, content in found)


def _org(value: Any) -> OrgItem | None:
    if not isinstance(value, dict) or not as_text(value.get("name")).strip():
        return None
    return OrgItem(name=as_text(value.get("name")).strip(), source_id=as_text(value.get("uuid")) or None)


def _tag_names(tags: Any) -> list[str]:
    names: list[str] = []
    for tag in as_list(tags):
        name = as_text(tag.get("name") if isinstance(tag, dict) else tag).strip()
        if name and name not in names:
            names.append(name)
    return names
