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
    text,
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
    networks: set[str] = field(default_factory=set)  # the keys of ``exact`` that only networks brought
    # Each value as given (stripped): its detected type and canonical form, None when it is none.
    given: dict[str, tuple[IndicatorType, str] | None] = field(default_factory=dict)

    def answers(self, indicator: t.Indicator) -> list[str]:
        found = set(self.exact.get(indicator.canonical, ()))
        key = indicator.host_key
        if key and self.host_keys:
            # The query keys that are prefixes of this one end where its labels end: look those up.
            end = key.find(".")
            while end >= 0:
                found.update(self.host_keys.get(key[: end + 1], ()))
                end = key.find(".", end + 1)
        return sorted(found)


def _index_values(values: Sequence[str]) -> _ValueIndex:
    if len(values) > MAX_VALUES:
        raise Invalid(f"at most {MAX_VALUES} values per search, got {len(values)}", field="values")
    index = _ValueIndex()
    for raw in values:
        if not raw.strip():
            continue
        found = canonical.detect(raw)  # the type and the canonical value, canonicalised once
        index.given[raw.strip()] = found
        if found is None:  # a filename or anything free-form: compared as given, refanged as stored
            index.exact[canonical.refang(raw)].add(raw.strip())
            continue
        type_, value = found
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
                if network not in index.exact:
                    index.networks.add(network)
                index.exact[network] |= raws


def _value_condition(session: Session, index: _ValueIndex) -> ColumnElement[bool]:
    """``indicator.id IN (...)`` the indicators the values find, found by index look-ups only: one
    ``canonical`` look-up per exact value, one ``host_key`` range scan per domain. The values and the
    domains travel as a JSON array on SQLite, as arrays on PostgreSQL: the statement is the same
    whatever their number (compiled once, no limit on parameters, no SQL text of thousands of literals)."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return _inline_condition(index)
    exact = sorted(index.exact)
    keys = sorted(index.host_keys)
    found: list[Select[Any]] = []
    if exact and dialect == "postgresql":
        # The values and the networks around IPs apart: two smaller look-ups, each of which the planner
        # costs below a scan of the table (one of thousands of values it may cost above).
        networks = sorted(index.networks)
        given = sorted(index.exact.keys() - index.networks)
        for name, group in (("exact", given), ("networks", networks)):
            if group:
                condition = t.Indicator.canonical == any_(bindparam(name, group, type_=ARRAY(Text)))
                found.append(select(t.Indicator.id).where(condition))
    elif exact:
        values = func.json_each(bindparam("exact", json.dumps(exact))).table_valued("value")
        found.append(select(t.Indicator.id).where(t.Indicator.canonical.in_(select(values.c.value))))
    if keys:
        # Joined to the list of keys: one index range scan each, "key and below" being the range
        # [key, key[:-1] + "/") as in _below().
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
    ids = union(*found) if len(found) > 1 else found[0]
    if dialect == "postgresql":
        # The ids as one array, computed first: the page is then read along the primary key over just
        # those ids, in order, stopping at its end. PostgreSQL cannot estimate the range join (it takes
        # a tenth of the table per key), so the plan must not depend on that estimate; nor may JIT
        # compilation, which the estimate would set off (a second and more, for a query of milliseconds):
        # search_indicators turns it off.
        return t.Indicator.id == any_(func.array(ids.scalar_subquery()))
    return t.Indicator.id.in_(ids)


def _inline_condition(index: _ValueIndex) -> ColumnElement[bool]:
    exact = sorted(index.exact)
    conditions: list[ColumnElement[bool]] = []
    if exact:
        # Rendered inline: thousands of values would exceed SQLite's limit on bound parameters.
        conditions.append(
            t.Indicator.canonical.in_(bindparam("exact", exact, expanding=True, literal_execute=True))
        )
    conditions.extend(_below(key) for key in sorted(index.host_keys))
    return or_(*conditions)


def _below(key: str) -> ColumnElement[bool]:
    """The host key and every key below it: the range [key, key[:-1] + "/"), "/" following "."."""
    return and_(t.Indicator.host_key >= key, t.Indicator.host_key < key[:-1] + "/")


def search_indicators(
    session: Session,
    subject: Subject | None,
    q: IndicatorQuery,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[Hit]:
    return _search(session, subject, q, _index_values(q.values), limit=limit, cursor=cursor)


def _search(
    session: Session,
    subject: Subject | None,
    q: IndicatorQuery,
    index: _ValueIndex,
    *,
    limit: int,
    cursor: str | None,
) -> Page[Hit]:
    # The reports are joined for the policy and the report filters, but loaded apart (a page has few).
    query = select(t.Indicator).join(t.Report, t.Report.id == t.Indicator.report_id)
    if subject is not None:
        query = query.where(policy.indicator_filter(subject))
    if q.values:
        if not index.exact and not index.host_keys:
            return Page([], None)
        _add_networks(session, index)
        query = query.where(_value_condition(session, index))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL jit = off"))  # for this transaction only: see _value_condition
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


@dataclass(frozen=True)
class ValueHits:
    """One searched value, as given, and the indicators it found (exactly, as a network around an IP,
    or under a domain)."""

    value: str
    type: IndicatorType | None  # None: not an indicator value (still compared as given, as file names are)
    canonical: str | None
    hits: list[Hit]


@dataclass(frozen=True)
class ValueSearch:
    values: list[ValueHits]  # in the order given, each (stripped) value once
    truncated: bool  # more indicators matched than ``limit``: some values may have more hits, or some


def search_values(
    session: Session,
    subject: Subject | None,
    values: Sequence[str],
    *,
    types: Sequence[IndicatorType] = (),
    limit: int = 1000,
) -> ValueSearch:
    """search_indicators for many pasted values, its hits grouped back under the values that found them
    (a hit found by two values is under both)."""
    given = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    q = IndicatorQuery(values=given, types=types)
    index = _index_values(given)
    page = _search(session, subject, q, index, limit=limit, cursor=None)
    hits: dict[str, list[Hit]] = {value: [] for value in given}
    for hit in page.items:
        for value in hit.matched:
            hits[value].append(hit)
    results = []
    for value in given:
        found = index.given.get(value)
        results.append(
            ValueHits(value, found[0] if found else None, found[1] if found else None, hits[value])
        )
    return ValueSearch(results, truncated=page.next_cursor is not None)


def _reports(session: Session, ids: set[int]) -> dict[int, t.Report]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(t.Report).where(t.Report.id.in_(sorted(ids))))}
