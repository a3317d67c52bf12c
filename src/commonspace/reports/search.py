"""Indicator search: many values at once, exact after canonicalisation, plus containment.

- a value matches indicators with the same canonical value;
- an IP also matches every network indicator containing it (one exact lookup per prefix length that
  exists in the database, found with an index probe each);
- a domain also matches its subdomains, and the URLs and e-mail addresses under it (an index range scan
  over reversed labels, ``com.example.``);
- the results are the indicators the subject may see, in a stable order (by id), one page at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, exists, literal, or_, select, union_all
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.domain import canonical
from commonspace.domain.errors import Invalid
from commonspace.domain.vocab import IndicatorType
from commonspace.policy import Subject
from commonspace.reports import tags
from commonspace.reports.pagination import Page, decode_cursor, encode_cursor
from commonspace.reports.service import ReportQuery, filtered_reports
from commonspace.store import tables as t

MAX_VALUES = 10_000
_NETWORK_TYPE = {IndicatorType.IPV4: IndicatorType.IPV4_CIDR, IndicatorType.IPV6: IndicatorType.IPV6_CIDR}
_MAX_PREFIX = {IndicatorType.IPV4: 32, IndicatorType.IPV6: 128}


@dataclass(frozen=True)
class IndicatorQuery:
    values: Sequence[str] = ()
    types: Sequence[IndicatorType] = ()
    tag: str | None = None
    to_detect: bool | None = None
    seen_after: datetime | None = None
    seen_before: datetime | None = None
    report: ReportQuery = field(default_factory=ReportQuery)


@dataclass(frozen=True)
class Hit:
    indicator: t.Indicator
    report: t.Report
    matched: list[str]


@dataclass
class _ValueIndex:
    """What each query value turns into, and the way back from a hit to the values it answers."""

    exact: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    host_keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    ips: dict[IndicatorType, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))

    def answers(self, indicator: t.Indicator) -> list[str]:
        found = set(self.exact.get(indicator.canonical, ()))
        if indicator.host_key:
            for key, values in self.host_keys.items():
                if indicator.host_key.startswith(key):
                    found |= values
        return sorted(found)


def _index_values(values: Sequence[str]) -> _ValueIndex:
    if len(values) > MAX_VALUES:
        raise Invalid(f"at most {MAX_VALUES} values per search, got {len(values)}", field="values")
    index = _ValueIndex()
    for i, raw in enumerate(values):
        if not raw.strip():
            continue
        type_ = canonical.detect_type(raw)
        if type_ is None:  # a filename or anything free-form: compared as given
            index.exact[raw.strip()].add(raw.strip())
            continue
        try:
            value = canonical.canonicalize(type_, raw)
        except canonical.InvalidIndicator as exc:
            raise Invalid(str(exc), field=f"values.{i}") from exc
        index.exact[value].add(raw.strip())
        if type_ in _NETWORK_TYPE:
            index.ips[type_].setdefault(value, set()).add(raw.strip())
        elif type_ is IndicatorType.DOMAIN:
            index.host_keys[canonical.host_key(value)].add(raw.strip())
    return index


def _present_prefix_lengths(session: Session, network_type: IndicatorType, top: int) -> list[int]:
    probes = [
        select(literal(length).label("n")).where(
            exists().where(and_(t.Indicator.type == network_type.value, t.Indicator.prefix_len == length))
        )
        for length in range(top + 1)
    ]
    return sorted(session.scalars(select(union_all(*probes).subquery().c.n)))


def _add_networks(session: Session, index: _ValueIndex) -> None:
    for ip_type, ips in index.ips.items():
        lengths = _present_prefix_lengths(session, _NETWORK_TYPE[ip_type], _MAX_PREFIX[ip_type])
        if not lengths:
            continue
        for ip, raws in ips.items():
            for network in canonical.ip_networks_containing(ip, lengths):
                index.exact[network] |= raws


def _value_condition(index: _ValueIndex) -> ColumnElement[bool]:
    exact = sorted(index.exact)
    conditions: list[ColumnElement[bool]] = []
    if exact:
        # Rendered inline: thousands of values would exceed SQLite's limit on bound parameters.
        conditions.append(
            t.Indicator.canonical.in_(bindparam("exact", exact, expanding=True, literal_execute=True))
        )
    for key in sorted(index.host_keys):
        conditions.append(and_(t.Indicator.host_key >= key, t.Indicator.host_key < key[:-1] + "/"))
    return or_(*conditions)


def search_indicators(
    session: Session,
    subject: Subject | None,
    q: IndicatorQuery,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[Hit]:
    index = _index_values(q.values)
    query = select(t.Indicator, t.Report).join(t.Report, t.Report.id == t.Indicator.report_id)
    if subject is not None:
        query = query.where(policy.indicator_filter(subject))
    if q.values:
        if not index.exact and not index.host_keys:
            return Page([], None)
        _add_networks(session, index)
        query = query.where(_value_condition(index))
    report_where = filtered_reports(None, q.report).whereclause
    if report_where is not None:
        query = query.where(report_where)
    if q.types:
        query = query.where(t.Indicator.type.in_(sorted(ty.value for ty in q.types)))
    if q.tag:
        tagged = select(t.IndicatorTag.indicator_id).join(t.Tag, t.Tag.id == t.IndicatorTag.tag_id)
        query = query.where(t.Indicator.id.in_(tagged.where(t.Tag.name == tags.normalise(q.tag))))
    if q.to_detect is not None:
        query = query.where(t.Indicator.to_detect == q.to_detect)
    if q.seen_after:
        query = query.where(or_(t.Indicator.last_seen.is_(None), t.Indicator.last_seen >= q.seen_after))
    if q.seen_before:
        query = query.where(or_(t.Indicator.first_seen.is_(None), t.Indicator.first_seen < q.seen_before))
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(t.Indicator.id > after)
    rows = session.execute(query.order_by(t.Indicator.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    hits = [
        Hit(indicator, report, index.answers(indicator) if q.values else []) for indicator, report in rows
    ]
    if subject is not None:
        for report in {h.report.id: h.report for h in hits if h.report.org_id != subject.org_id}.values():
            audit.record(session, subject, "report.read", "report", report.uuid, report.org_id, path="search")
    return Page(hits, encode_cursor(rows[-1][0].id) if more and rows else None)
