"""Indicator search: many values at once, exact after canonicalisation, plus containment.

- a value matches indicators with the same canonical value;
- an IP also matches every network indicator containing it (one exact lookup per prefix length that
  exists in the database, found with an index probe each);
- a domain also matches its subdomains, and the URLs and e-mail addresses under it (an index range scan
  over reversed labels, ``com.example.``);
- the results are the indicators the subject may see, in a stable order (by id), one page at a time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    union,
)
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
            # The query keys that are prefixes of this one end where its labels end: look those up.
            end = indicator.host_key.find(".")
            while end >= 0:
                found |= self.host_keys.get(indicator.host_key[: end + 1], set())
                end = indicator.host_key.find(".", end + 1)
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
    """The prefix lengths stored for this network type, ascending: a loose index scan of (type,
    prefix_len), one index seek per length present rather than one probe per possible length."""
    of_type = t.Indicator.type == network_type.value
    smallest = func.min(t.Indicator.prefix_len)
    lengths = select(smallest.label("n")).where(of_type).cte("lengths", recursive=True)
    following = select(smallest).where(of_type, t.Indicator.prefix_len > lengths.c.n)
    lengths = lengths.union_all(select(following.scalar_subquery()).where(lengths.c.n.is_not(None)))
    found = session.scalars(select(lengths.c.n).where(lengths.c.n.is_not(None)))
    return [n for n in found if 0 <= n <= top]


def _add_networks(session: Session, index: _ValueIndex) -> None:
    for ip_type, ips in index.ips.items():
        lengths = _present_prefix_lengths(session, _NETWORK_TYPE[ip_type], _MAX_PREFIX[ip_type])
        if not lengths:
            continue
        for ip, raws in ips.items():
            for network in canonical.ip_networks_containing(ip, lengths):
                index.exact[network] |= raws


def _value_condition(session: Session, index: _ValueIndex) -> ColumnElement[bool]:
    """``indicator.id IN (...)`` the indicators the values find, found by index look-ups only: one
    ``canonical`` look-up per exact value, one ``host_key`` range scan per domain. On SQLite and
    PostgreSQL the values travel as one parameter each (a JSON array, an array) however many there
    are, so the statement is the same for every search and never hits a limit on parameters."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return _inline_condition(index)
    exact = sorted(index.exact)
    keys = sorted(index.host_keys)
    found: list[Select[Any]] = []
    if exact and dialect == "postgresql":
        condition = t.Indicator.canonical == any_(bindparam("exact", exact, type_=ARRAY(Text)))
        found.append(select(t.Indicator.id).where(condition))
    elif exact:
        values = func.json_each(bindparam("exact", json.dumps(exact))).table_valued("value")
        found.append(select(t.Indicator.id).where(t.Indicator.canonical.in_(select(values.c.value))))
    if keys:
        # "key and below" is the range [key, key[:-1] + "/"): "/" follows "." in byte order.
        ranges: FromClause
        low: ColumnElement[Any]
        high: ColumnElement[Any]
        if dialect == "postgresql":
            ends = [key[:-1] + "/" for key in keys]
            ranges = (
                func.unnest(
                    bindparam("keys", keys, type_=ARRAY(Text)), bindparam("ends", ends, type_=ARRAY(Text))
                )
                .table_valued("key", "end")
                .render_derived()
            )
            low, high = ranges.c.key, ranges.c.end
        else:
            ranges = func.json_each(bindparam("keys", json.dumps(keys))).table_valued("value")
            low, high = ranges.c.value, func.substr(ranges.c.value, 1, func.length(ranges.c.value) - 1) + "/"
        in_range = and_(t.Indicator.host_key >= low, t.Indicator.host_key < high)
        found.append(select(t.Indicator.id).join(ranges, in_range))
    return t.Indicator.id.in_(union(*found) if len(found) > 1 else found[0])


def _inline_condition(index: _ValueIndex) -> ColumnElement[bool]:
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
    # The reports are joined for the policy and the report filters, but loaded apart (a page has few).
    query = select(t.Indicator).join(t.Report, t.Report.id == t.Indicator.report_id)
    if subject is not None:
        query = query.where(policy.indicator_filter(subject))
    if q.values:
        if not index.exact and not index.host_keys:
            return Page([], None)
        _add_networks(session, index)
        query = query.where(_value_condition(session, index))
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
    rows = list(session.scalars(query.order_by(t.Indicator.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    reports = _reports(session, {indicator.report_id for indicator in rows})
    hits = [
        Hit(indicator, reports[indicator.report_id], index.answers(indicator) if q.values else [])
        for indicator in rows
        if indicator.report_id in reports  # not so only if the report was deleted in between
    ]
    if subject is not None:
        for report in {h.report.id: h.report for h in hits if h.report.org_id != subject.org_id}.values():
            audit.record(session, subject, "report.read", "report", report.uuid, report.org_id, path="search")
    return Page(hits, encode_cursor(rows[-1].id) if more and rows else None)


def _reports(session: Session, ids: set[int]) -> dict[int, t.Report]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(t.Report).where(t.Report.id.in_(sorted(ids))))}
