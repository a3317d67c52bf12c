"""The neutral shape every format reads into and writes from: reports, their indicators, and raw objects.

Parsers (STIX, MISP, CSV, plain lists, free text) turn a file into an :class:`Exchange`; the import service
writes an Exchange into the database, all or nothing. The export service reads the reports a member may see
into an Exchange, and serialisers turn it into a file. Nothing here knows the database, the web or the
access policy: the formats are pure.

A problem found while parsing names where it is (file, line or object index, object id) and why; with
``skip_invalid`` the parser leaves the bad item out and lists the problem, otherwise the import stops and
nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from commonspace.domain import canonical
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ThreatLevel


class FormatError(ValueError):
    """Input that cannot be read at all, or a bad item when invalid items are not to be skipped."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:10]) + (" …" if len(problems) > 10 else ""))


@dataclass(frozen=True)
class Problem:
    """Where (``source``: a file name; ``where``: "line 12", "object 3", "Event.Attribute[7]"…) and why."""

    source: str
    where: str
    reason: str
    object_id: str | None = None

    def __str__(self) -> str:
        ident = f" ({self.object_id})" if self.object_id else ""
        place = f"{self.source}: " if self.source else ""
        return f"{place}{self.where}{ident}: {self.reason}"


@dataclass(slots=True)
class RawObject:
    """An object kept as serialised JSON (with the few fields storage needs), so that a large import never
    holds every object as Python dicts at once. Not frozen, though never changed: a large bundle makes one
    per object, and a frozen dataclass takes several times as long to make."""

    id: str
    type: str
    modified: str  # as written; "" when it has none
    body: bytes

    @classmethod
    def of(cls, obj: dict[str, Any], body: bytes) -> RawObject:
        return cls(str(obj["id"]), str(obj.get("type", "")), str(obj.get("modified", "")), body)


@dataclass
class IndicatorItem:
    value: str
    type: IndicatorType | None = None  # detected by the canonicaliser when None
    comment: str = ""
    to_detect: bool = True
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    confidence: int | None = None
    tags: list[str] = field(default_factory=list)
    # Where it came from, to give the original back on export (a STIX indicator or observable id, a MISP
    # attribute uuid) and, for MISP object attributes, the object's name and the attribute's relation.
    source_id: str | None = None
    relation: str | None = None
    uuid: str | None = None  # ours, on export (value is then the canonical value and type is set)
    created: datetime | None = None
    modified: datetime | None = None
    canonical: str | None = None  # the canonical value, when the reader has computed it (lists do)

    def typed(self) -> tuple[IndicatorType, str] | None:
        """Its type and canonical value: the given type (or the detected one) and the value in its form;
        None when no type is given and none is detected.

        Raises :class:`~commonspace.domain.canonical.InvalidIndicator` for a value that is not of its
        given type (the readers check them, so only a reader's bug gets there)."""
        if self.type is not None and self.canonical:
            return self.type, self.canonical
        found = canonical.detect(self.value)
        if found is not None and (self.type is None or found[0] is self.type):
            return found
        if self.type is not None:
            return self.type, canonical.canonicalize(self.type, self.value)
        return None


@dataclass
class OrgItem:
    """The organisation a report names as its author (STIX identity, MISP Orgc); informational."""

    name: str
    source_id: str | None = None
    country: str | None = None
    uuid: str | None = None  # ours, on export
    kind: str | None = None  # ours, on export (government, enterprise, ...)


@dataclass
class ReportItem:
    title: str
    summary: str = ""
    category: str | None = None
    threat_level: ThreatLevel | None = None
    tlp: TLP | None = None  # None: the importer's default
    distribution: Distribution | None = None  # None: the importer's default
    sharing_group: str | None = None  # a sharing group's UUID or name, with Distribution.SHARING_GROUP
    created: datetime | None = None
    modified: datetime | None = None
    published: bool = True
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    victim_countries: list[str] = field(default_factory=list)
    victim_sectors: list[str] = field(default_factory=list)
    loss: tuple[Decimal, str] | None = None
    tags: list[str] = field(default_factory=list)
    indicators: list[IndicatorItem] = field(default_factory=list)
    author: OrgItem | None = None
    # The report's identity in its source format (STIX report id, MISP event uuid): importing it again
    # updates this report instead of adding another.
    source_id: str | None = None
    # Objects kept as they are and given back on export (STIX: the report itself and every object it
    # refers to that is not an indicator; MISP: nothing). Each is a JSON object with "id" and "type", as a
    # dict or already serialised.
    objects: list[dict[str, Any] | RawObject] = field(default_factory=list)
    # What the format holds that has no place here (MISP attributes of unsupported types, …), kept as
    # lines of the summary's "Notes" and counted in the import summary.
    notes: list[str] = field(default_factory=list)
    uuid: str | None = None  # ours, on export


@dataclass
class Exchange:
    reports: list[ReportItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the items left out (with skip_invalid)
    source: str = ""
    objects_read: int = 0  # objects, events or lines read, for the summary and speed figures
