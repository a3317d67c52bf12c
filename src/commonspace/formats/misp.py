"""The MISP core format in and out: events, search results and feeds, read into and written from an Exchange.

Reading
-------
:func:`parse_misp` reads one file holding a single event (``{"Event": {…}}``, or the event's own fields
with ``info`` as PyMISP writes them), a search result (``{"response": [{"Event": …}, …]}``) or a bare
list of ``{"Event": …}``. :func:`parse_misp_feed` reads a MISP feed: a folder with ``manifest.json``,
which lists the events by uuid, and one ``<uuid>.json`` file per event.

An event is a report: ``info`` is its title, ``date`` its creation time (``timestamp`` when there is no
date) and ``timestamp`` its last change, ``published`` says whether it is published (not when absent),
``threat_level_id`` 1 to 4 is high, medium, low or undefined, ``distribution`` 0 to 4 is organisation,
community, connected-communities, community (MISP's "all communities") or sharing-group, the latter named
by the ``SharingGroup``'s name (its uuid when it has no name). Of the event's tags, ``tlp:*`` give the
TLP (the most restrictive when several do; ``tlp:white`` is CLEAR), the first valid ``rsit:class="type"``
gives the category, and the others are kept as tags. ``Orgc`` is the author, the event uuid the report's
source id, and the event reports (``EventReport``, Markdown) make the summary.

Every attribute of the event and of its objects that is not deleted is read, with its uuid as source id,
``to_ids`` as the to-detect flag (true when absent), its comment, first and last seen times, last change
and tags; an object attribute has the relation ``<object name>/<object relation>``:

======================================================  ============================================
MISP type                                               indicators
======================================================  ============================================
``ip-src``, ``ip-dst``                                  ``ipv4``, ``ipv6``, ``ipv4-cidr``, ``ipv6-cidr``
``ip-src|port``, ``ip-dst|port``                        the address (the port is dropped)
``domain``, ``hostname``; ``hostname|port``             ``domain``; the host (the port is dropped)
``domain|ip``                                           ``domain`` and the address: two indicators
``url``; ``uri`` with a scheme and a host               ``url``
``email``, ``email-src``, ``-dst``, ``-reply-to``       ``email``
``md5``, ``sha1``, ``sha256``, ``sha512``               the same
``filename``                                            ``filename``
``filename|md5`` (``|sha1``, ``|sha256``, ``|sha512``)  ``filename`` and the hash: two indicators
``malware-sample``                                      ``filename`` and ``md5`` (not the sample)
``AS``                                                  ``asn``
======================================================  ============================================

Each value passes through ``commonspace.domain.canonical``: a value it refuses is a :class:`Problem`.
Attributes of every other type (``link``, ``text``, ``regkey``, ``ssdeep``, ``imphash``, a ``uri`` that is
only a path…) are no problem: each becomes a line of the report's notes, ``type: value (comment)``, or
``type (object/relation): value (comment)`` for an object attribute. A ``link`` is among them on purpose:
it points at an analysis (a blog post, a sandbox report), it is not an observable of the attack. Sightings
and proposals (``ShadowAttribute``) are not imported; when present, one note line says how many there were.

Writing
-------
:func:`to_misp` gives one ``{"Event": {…}}`` per report, :func:`to_misp_bytes` the file: the single event
when there is one report, ``{"response": [...]}`` otherwise. Indicators become attributes:

================================================  ==============  ================
our type                                          MISP type       category
================================================  ==============  ================
``ipv4``, ``ipv6``, ``ipv4-cidr``, ``ipv6-cidr``  ``ip-dst``      Network activity
``domain``                                        ``domain``      Network activity
``url``                                           ``url``         Network activity
``email``                                         ``email-src``   Payload delivery
``md5``, ``sha1``, ``sha256``, ``sha512``         the same        Payload delivery
``filename``                                      ``filename``    Payload delivery
``asn``                                           ``AS``          Network activity
================================================  ==============  ================

Each attribute has our uuid (else the MISP uuid it came from, else one derived from the event and the
value, stable from one export to the next), the to-detect flag as ``to_ids``, the comment, the last change
as ``timestamp``, first and last seen times, the tags, and distribution 5 (as the event); the value is the
canonical one, an AS number without its ``AS`` (as MISP stores it). The confidence has no place in a MISP
attribute and is not written.

An indicator whose relation says it came from a MISP object is written inside an ``Object`` entry of that
name with its ``object_relation``; consecutive such indicators of one object name form one object, and a
new object starts when the name changes, another indicator comes between, or a relation repeats. Read
back, the relations are the same. The distribution is written 0 (organisation), 1 (community), 2
(connected-communities) or 4 (sharing-group, with ``SharingGroup`` holding the group's uuid or name; a
report that names no group is written 0, the narrowest). The TLP is written as its TLP 2.0 tag
(``tlp:clear``, ``tlp:green``, ``tlp:amber``, ``tlp:amber+strict``, ``tlp:red``), the category as its
``rsit:`` tag, the threat level as ``threat_level_id`` (4 when none), the author as ``Orgc``, the analysis
as 2 (completed), and the summary as an event report.
"""

from __future__ import annotations

import contextlib
import re
import uuid as uuidlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from commonspace.domain import canonical
from commonspace.domain.taxonomy import category_problem, category_tag
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ThreatLevel
from commonspace.formats.model import Exchange, FormatError, IndicatorItem, OrgItem, Problem, ReportItem

T = IndicatorType

# --- the vocabularies, both ways ---------------------------------------------------------------------------
_THREAT_LEVELS = {1: ThreatLevel.HIGH, 2: ThreatLevel.MEDIUM, 3: ThreatLevel.LOW, 4: ThreatLevel.UNDEFINED}
_THREAT_LEVEL_IDS = {level: number for number, level in _THREAT_LEVELS.items()}

_DISTRIBUTIONS = {
    0: Distribution.ORGANISATION,
    1: Distribution.COMMUNITY,
    2: Distribution.CONNECTED_COMMUNITIES,
    3: Distribution.COMMUNITY,  # "all communities": as wide as anything here, read as the community
    4: Distribution.SHARING_GROUP,
}
_DISTRIBUTION_IDS = {
    Distribution.ORGANISATION: 0,
    Distribution.COMMUNITY: 1,
    Distribution.CONNECTED_COMMUNITIES: 2,
    Distribution.SHARING_GROUP: 4,
}

_TLP_TAGS = {
    "tlp:white": TLP.CLEAR,
    "tlp:clear": TLP.CLEAR,
    "tlp:green": TLP.GREEN,
    "tlp:amber": TLP.AMBER,
    "tlp:amber+strict": TLP.AMBER_STRICT,
    "tlp:red": TLP.RED,
}
_TLP_ORDER = (TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED)  # least to most restrictive
_RSIT_TAG = re.compile(r'rsit:([a-z-]+)="([a-z-]+)"', re.IGNORECASE)

# The parts of each MISP type that is read ("|" separates the parts of composite types). A part is one of
# our types, "ip" (an address or a network), "uri" (a URL when it has a scheme) or "port" (dropped).
_IP, _URI, _PORT = "ip", "uri", "port"
_IMPORTED: dict[str, tuple[str, ...]] = {
    "ip-src": (_IP,),
    "ip-dst": (_IP,),
    "ip-src|port": (_IP, _PORT),
    "ip-dst|port": (_IP, _PORT),
    "domain": (T.DOMAIN,),
    "hostname": (T.DOMAIN,),
    "hostname|port": (T.DOMAIN, _PORT),
    "domain|ip": (T.DOMAIN, _IP),
    "url": (T.URL,),
    "uri": (_URI,),
    "email": (T.EMAIL,),
    "email-src": (T.EMAIL,),
    "email-dst": (T.EMAIL,),
    "email-reply-to": (T.EMAIL,),
    "md5": (T.MD5,),
    "sha1": (T.SHA1,),
    "sha256": (T.SHA256,),
    "sha512": (T.SHA512,),
    "filename": (T.FILENAME,),
    "filename|md5": (T.FILENAME, T.MD5),
    "filename|sha1": (T.FILENAME, T.SHA1),
    "filename|sha256": (T.FILENAME, T.SHA256),
    "filename|sha512": (T.FILENAME, T.SHA512),
    "malware-sample": (T.FILENAME, T.MD5),
    "AS": (T.ASN,),
}
# Composite types whose last part may be missing: ports, and the hash of a sample PyMISP is about to upload.
_LAST_PART_OPTIONAL = frozenset({"ip-src|port", "ip-dst|port", "hostname|port", "malware-sample"})

_NETWORK, _PAYLOAD = "Network activity", "Payload delivery"
_EXPORTED: dict[IndicatorType, tuple[str, str]] = {
    T.IPV4: ("ip-dst", _NETWORK),
    T.IPV6: ("ip-dst", _NETWORK),
    T.IPV4_CIDR: ("ip-dst", _NETWORK),
    T.IPV6_CIDR: ("ip-dst", _NETWORK),
    T.DOMAIN: ("domain", _NETWORK),
    T.URL: ("url", _NETWORK),
    T.EMAIL: ("email-src", _PAYLOAD),
    T.MD5: ("md5", _PAYLOAD),
    T.SHA1: ("sha1", _PAYLOAD),
    T.SHA256: ("sha256", _PAYLOAD),
    T.SHA512: ("sha512", _PAYLOAD),
    T.FILENAME: ("filename", _PAYLOAD),
    T.ASN: ("AS", _NETWORK),
}

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "commonspace:misp")  # for uuids we must make up
_NOTE_LENGTH = 500  # characters of a value kept in a note line
_EXPECTED = (
    'expected a MISP event {"Event": {…}}, a search result {"response": [{"Event": {…}}, …]} '
    'or a list of {"Event": {…}}'
)


# --- reading ------------------------------------------------------------------------------------------------
def parse_misp(data: bytes, *, source: str = "", skip_invalid: bool = False) -> Exchange:
    """The events of one MISP file (an event, a search result or a list of events) as reports.

    Input that is not JSON, or JSON that is not MISP events, raises :class:`FormatError` whatever
    ``skip_invalid`` says. A bad event or attribute raises it too, after the whole file was read and
    with every problem found; with ``skip_invalid`` it is left out and listed in ``problems`` instead.
    """
    document = _load_json(data, source)
    reader = _Reader(source)
    events = reader.events(document)
    reports = [report for where, event in events if (report := reader.event(event, where)) is not None]
    if reader.problems and not skip_invalid:
        raise FormatError(reader.problems)
    return Exchange(reports=reports, problems=reader.problems, source=source, objects_read=len(events))


def parse_misp_feed(directory: Path, *, skip_invalid: bool = False) -> Exchange:
    """The events of a MISP feed: ``manifest.json`` and the ``<uuid>.json`` file of each event it lists.

    Problems name the file they are in. A manifest that cannot be read raises :class:`FormatError`; an
    event file that is missing or unreadable is a problem like a bad event, left out with ``skip_invalid``.
    """
    manifest_name = "manifest.json"
    try:
        manifest = _load_json((directory / manifest_name).read_bytes(), manifest_name)
    except OSError as exc:
        reason = f"cannot read the manifest: {_os_reason(exc)}"
        raise FormatError([Problem(manifest_name, "the feed", reason)]) from None
    if not isinstance(manifest, dict):
        reason = f"expected an object keyed by event uuid, found {_describe(manifest)}"
        raise FormatError([Problem(manifest_name, "top level", reason)])
    exchange = Exchange(source=directory.name)
    for key in manifest:
        if not _UUID.fullmatch(key):
            exchange.problems.append(Problem(manifest_name, f"key {key!r}", "not an event uuid"))
            continue
        name = f"{key}.json"
        try:
            data = (directory / name).read_bytes()
        except OSError as exc:
            reason = f"the manifest lists this event but its file cannot be read: {_os_reason(exc)}"
            exchange.problems.append(Problem(name, "the feed", reason, key))
            continue
        try:
            part = parse_misp(data, source=name, skip_invalid=True)
        except FormatError as exc:
            exchange.problems.extend(exc.problems)
            continue
        exchange.reports.extend(part.reports)
        exchange.problems.extend(part.problems)
        exchange.objects_read += part.objects_read
    if exchange.problems and not skip_invalid:
        raise FormatError(exchange.problems)
    return exchange


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _load_json(data: bytes, source: str) -> Any:
    try:
        return orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        line, column, reason = exc.lineno, exc.colno, exc.msg
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:  # orjson places every encoding error at line 1, column 1
            head = data[: bad.start]
            line = head.count(b"\n") + 1
            column = len(head[head.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
            reason = "not UTF-8 text"
        raise FormatError(
            [Problem(source, f"line {line}, column {column}", f"invalid JSON: {reason}")]
        ) from None


def _describe(value: Any) -> str:
    """What a JSON value is, in a few words, for error messages."""
    if isinstance(value, dict):
        if not value:
            return "an empty object"
        keys = ", ".join(f'"{key}"' for key in list(value)[:5]) + (", …" if len(value) > 5 else "")
        return f"an object with the key{'s' if len(value) > 1 else ''} {keys}"
    if isinstance(value, list):
        if not value:
            return "an empty list"
        first = "a list" if isinstance(value[0], list) else _describe(value[0])  # no deeper: bounded
        return f"a list of {len(value)} item{'s' if len(value) > 1 else ''}, the first {first}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return "a string" if isinstance(value, str) else "a number"


class _Reader:
    """Reads the events of one file, collecting problems."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, where: str, reason: str, object_id: str | None = None) -> None:
        self.problems.append(Problem(self.source, where, reason, object_id))

    def not_misp(self, document: Any) -> FormatError:
        return FormatError(
            [Problem(self.source, "top level", f"not a MISP event: {_EXPECTED}; found {_describe(document)}")]
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
                self.problem(f"{where}[{i}]", f'expected {{"Event": {{…}}}}, found {_describe(item)}')
        return events

    # --- an event ------------------------------------------------------------------------------------------
    def event(self, event: Any, where: str) -> ReportItem | None:
        if not isinstance(event, dict):
            self.problem(where, f"expected an event object, found {_describe(event)}")
            return None
        event_uuid = _text(event.get("uuid")) or None
        title = _text(event.get("info")).strip()
        if not title:
            self.problem(where, 'the event has no "info" (its title)', event_uuid)
            return None
        before = len(self.problems)
        report = ReportItem(title=title, source_id=event_uuid, published=_bool(event.get("published"), False))
        report.distribution, report.sharing_group = self.distribution(event, where, event_uuid)
        level = _integer(event.get("threat_level_id"))
        report.threat_level = _THREAT_LEVELS.get(level) if level is not None else None
        try:
            report.modified = _epoch(event.get("timestamp"))
            report.created = _day(event.get("date")) or report.modified
        except ValueError as exc:
            self.problem(where, f"bad date or timestamp: {exc}", event_uuid)
        if len(self.problems) > before:
            return None  # an event whose reach or time is unclear is left out whole
        self.tags(report, _tag_names(event.get("Tag")))
        report.author = _org(event.get("Orgc"))
        report.summary = _summary(event.get("EventReport"))

        counts = {
            "sightings": len(_list(event.get("Sighting"))),
            "proposals": len(_list(event.get("ShadowAttribute"))),
        }
        for j, attribute in enumerate(_list(event.get("Attribute"))):
            self.attribute(report, attribute, f"{where}.Attribute[{j}]", None, counts)
        for k, obj in enumerate(_list(event.get("Object"))):
            if not isinstance(obj, dict):
                self.problem(f"{where}.Object[{k}]", f"expected an object, found {_describe(obj)}")
                continue
            if _bool(obj.get("deleted"), False):
                continue
            name = _text(obj.get("name")).strip() or "object"
            for j, attribute in enumerate(_list(obj.get("Attribute"))):
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
        number = _integer(raw)
        if number not in _DISTRIBUTIONS:
            self.problem(where, f"distribution {raw!r} is not one of 0, 1, 2, 3, 4", event_uuid)
            return None, None
        distribution = _DISTRIBUTIONS[number]
        if distribution is not Distribution.SHARING_GROUP:
            return distribution, None
        group = event.get("SharingGroup")
        group = group if isinstance(group, dict) else {}
        name = _text(group.get("name")).strip() or _text(group.get("uuid")).strip()
        if not name:
            self.problem(
                where, "distribution 4 (a sharing group) without the SharingGroup's name or uuid", event_uuid
            )
        return distribution, name or None

    @staticmethod
    def tags(report: ReportItem, names: list[str]) -> None:
        for name in names:
            tlp = _TLP_TAGS.get(name.lower().replace(" ", ""))
            if tlp is not None:
                if report.tlp is None or _TLP_ORDER.index(tlp) > _TLP_ORDER.index(report.tlp):
                    report.tlp = tlp
                continue
            rsit = _RSIT_TAG.fullmatch(name)
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
            self.problem(where, f"expected an attribute object, found {_describe(attribute)}")
            return
        if _bool(attribute.get("deleted"), False):
            return
        counts["sightings"] += len(_list(attribute.get("Sighting")))
        counts["proposals"] += len(_list(attribute.get("ShadowAttribute")))
        attribute_uuid = _text(attribute.get("uuid")) or None
        misp_type = _text(attribute.get("type")).strip()
        value = attribute.get("value")
        comment = _text(attribute.get("comment")).strip()
        relation = None
        if object_name is not None:
            relation = f"{object_name}/{_text(attribute.get('object_relation')).strip() or misp_type}"
        if not misp_type:
            self.problem(where, 'the attribute has no "type"', attribute_uuid)
            return
        kinds = _IMPORTED.get(misp_type)
        if kinds == (_URI,) and "://" not in canonical.refang(_text(value)):
            kinds = None  # a path such as "/gate.php" is no URL of ours
        if kinds is None:
            if value is not None and _one_line(value):
                report.notes.append(_note(misp_type, value, relation, comment))
            return
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"the {misp_type} attribute has no value", attribute_uuid)
            return
        try:
            first_seen = _iso(attribute.get("first_seen"))
            last_seen = _iso(attribute.get("last_seen"))
            modified = _epoch(attribute.get("timestamp"))
        except ValueError as exc:
            self.problem(where, f"{misp_type} {value!r}: bad time: {exc}", attribute_uuid)
            return
        parts = value.rsplit("|", len(kinds) - 1) if len(kinds) > 1 else [value]
        if len(parts) < len(kinds) and misp_type not in _LAST_PART_OPTIONAL:
            self.problem(
                where, f"{misp_type} {value!r}: expected {len(kinds)} parts separated by '|'", attribute_uuid
            )
            return
        items: list[IndicatorItem] = []
        for kind, part in zip(kinds, parts, strict=False):
            if kind == _PORT or not part.strip():
                continue
            type_ = _ip_type(part) if kind == _IP else T.URL if kind == _URI else T(kind)
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
                    to_detect=_bool(attribute.get("to_ids"), True),
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
        (_text(r.get("name")).strip(), _text(r.get("content")).strip())
        for r in _list(reports)
        if isinstance(r, dict) and not _bool(r.get("deleted"), False) and _text(r.get("content")).strip()
    ]
    if len(found) == 1:
        return found[0][1]
    return "\n\n".join(f"## {name or 'Report'}\n\n{content}" for name, content in found)


def _org(value: Any) -> OrgItem | None:
    if not isinstance(value, dict) or not _text(value.get("name")).strip():
        return None
    return OrgItem(name=_text(value.get("name")).strip(), source_id=_text(value.get("uuid")) or None)


def _tag_names(tags: Any) -> list[str]:
    names: list[str] = []
    for tag in _list(tags):
        name = _text(tag.get("name") if isinstance(tag, dict) else tag).strip()
        if name and name not in names:
            names.append(name)
    return names


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no"):
        return False
    return default


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _epoch(value: Any) -> datetime | None:
    """A MISP timestamp: seconds since 1970 as a number or a string; 0 and empty are none."""
    if value is None or value == "":
        return None
    seconds = _integer(value)
    if seconds is None:
        raise ValueError(f"{value!r} is not a UNIX time")
    try:
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{value!r} is out of range") from None


def _day(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if _integer(value) is not None:
        return _epoch(value)
    try:
        day = date.fromisoformat(_text(value).strip()[:10])
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _iso(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(_text(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- writing ------------------------------------------------------------------------------------------------
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
    if given and _UUID.fullmatch(given):
        return given.lower()
    return str(uuidlib.uuid5(_NAMESPACE, seed))


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
    event["threat_level_id"] = str(_THREAT_LEVEL_IDS[report.threat_level or ThreatLevel.UNDEFINED])
    event["analysis"] = "2"
    if report.distribution is not None:
        number = _DISTRIBUTION_IDS[report.distribution]
        group = (report.sharing_group or "").strip()
        if number == 4 and not group:
            number = 0  # a group we cannot name: the narrowest reach instead
        event["distribution"] = str(number)
        if number == 4:
            event["SharingGroup"] = {"uuid": group.lower()} if _UUID.fullmatch(group) else {"name": group}
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
            object_uuid = str(uuidlib.uuid5(_NAMESPACE, f"{event_uuid}/object/{attribute['uuid']}"))
            current = {"name": name, "uuid": object_uuid, "distribution": "5", "Attribute": []}
            objects.append(current)
            relations = set()
        current["Attribute"].append(attribute)
        relations.add(relation)
    event["Attribute"] = attributes
    event["Object"] = objects
    if report.summary.strip():
        report_uuid = str(uuidlib.uuid5(_NAMESPACE, f"{event_uuid}/summary"))
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
        if report.tlp is not None and tag.lower().replace(" ", "") in _TLP_TAGS:
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
    misp_type, category = _EXPORTED[type_]
    if type_ is T.ASN:
        value = value.upper().removeprefix("AS").strip()  # MISP keeps AS numbers as bare numbers
    seed = f"{event_uuid}/{item.source_id or ''}/{type_}/{value}"
    attribute_uuid = _uuid(ours=item.uuid, given=item.source_id, seed=seed)
    attempt = 0
    while attribute_uuid in used:  # the second half of a composite MISP attribute (domain|ip), a repeat
        attempt += 1
        attribute_uuid = str(uuidlib.uuid5(_NAMESPACE, f"{seed}/{attempt}"))
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
