"""Correlation: the other reports that share a value with a report, or that hold a given value, among
the reports and indicators the member may see.

Two values are linked (the kind is said from the side of the value asked about):

- ``equal``: the same type and canonical value;
- ``contains``: ours is a network holding their address or narrower network, or a domain holding their
  URL's or e-mail address's host (the domain itself or below it);
- ``contained-in``: the other way round: ours is an address or network inside their network, or a URL or
  e-mail address whose host is their domain or below it;
- ``subdomain``: their domain is below ours; ``parent-domain``: their domain is above ours.

No pair is ever stored. The indicator table's indexes are the inverted index, value -> indicators ->
reports: ``canonical`` finds equal values, the networks around an address (one look-up per prefix length
present, as the search does) and the parents of a domain; ``host_key`` finds, with one range scan each,
what is under a domain and what is inside a network (``correlation.keys``). For a page of a report's
indicators, the work is a few set-based statements, whatever the page's size:

1. the values to look up and the ranges to scan are worked out in Python;
2. the values are looked up in one statement, for at most ``limit + 1`` indicators each that the member
   may see (a report holds a value once: as many reports), however many reports hold the value;
3. the ranges are scanned in one statement of at most ``ROW_CAP`` rows; past that (a network or a domain
   with a great many values under it), one range at a time, for at most ``limit + 1`` reports each.

A value linked to more than ``limit`` other reports the member may see is *over-correlating*: it is
flagged, and its reports are not listed. Everything is counted among the reports and indicators the
member may see, as they are asked for; nothing is read from the per-value counts of ``correlation_value``
(the operator's view, ``correlation.counts``), which know of every report. Which path a value takes (in
one statement or one by one) changes the work done, not the answer, so a report the member cannot see
changes nothing they can observe (MISP's CVE-2020-14969 let correlations reveal hidden events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.correlation.lookup import _correlate, _rows
from commonspace.correlation.model import (
    DEFAULT_LIMIT,
    LIMIT_VARIABLE,
    MAX_MATCHES,
    Correlated,
    Correlation,
    CorrelationPage,
    Link,
    Match,
    ReportRef,
    Value,
    over_correlation_limit,
)
from commonspace.domain.errors import Invalid, NotFound
from commonspace.domain.vocab import IndicatorType
from commonspace.policy import Subject
from commonspace.reports.indicators import canonical_form
from commonspace.reports.pagination import decode_cursor, encode_cursor
from commonspace.reports.service import get_report
from commonspace.store import tables as t

__all__ = [
    "DEFAULT_LIMIT",
    "LIMIT_VARIABLE",
    "MAX_MATCHES",
    "MAX_PAGE",
    "Correlated",
    "Correlation",
    "CorrelationPage",
    "Link",
    "Match",
    "Overview",
    "ReportRef",
    "Shared",
    "Value",
    "by_report",
    "correlate_report",
    "correlate_value",
    "over_correlation_limit",
    "overview",
]

MAX_PAGE = 10_000  # a report's indicators correlated per page
I = t.Indicator  # noqa: E741 - the table, as in SQL
R = t.Report
T = IndicatorType
_TYPES = {type_.value: type_ for type_ in T}  # a dictionary look-up; calling T(...) costs ten times it


# --- entry points ---------------------------------------------------------------------------------


def correlate_report(
    session: Session,
    subject: Subject | None,
    report: t.Report | str,
    *,
    limit: int = 1000,
    cursor: str | None = None,
    include_warninglisted: bool = False,
    threshold: int | None = None,
) -> CorrelationPage:
    """The correlations of a report's indicators, ``limit`` of them at a time (in the order they were
    added; only those that correlate are in ``items``, so a page may hold fewer, or none, and still have
    a next one). A report given by UUID is read as ``get_report`` reads it (and audited); a report row
    is checked against the policy again."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    if isinstance(report, str):
        report = get_report(session, subject, report)
    elif subject is not None and not policy.can_see_report(subject, report):
        raise NotFound(f"no report {report.uuid!r}")
    threshold = threshold or over_correlation_limit()
    query = (
        select(I.id, I.uuid, I.type, I.canonical, I.host_key)
        .join(R, R.id == I.report_id)
        .where(I.report_id == report.id)
    )
    if subject is not None:
        query = query.where(policy.indicator_filter(subject))
    if not include_warninglisted:
        query = query.where(I.warninglists.is_(None))
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(I.id > after)
    rows = _rows(session, query.order_by(I.id).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    values = [Value(_TYPES[type_], value, host_key, uuid) for _, uuid, type_, value, host_key in rows]
    found = _correlate(session, subject, values, report.id, threshold, include_warninglisted)
    items = [c for c in found if c.over_correlating or c.reports]
    return CorrelationPage(items, encode_cursor(rows[-1][0]) if more and rows else None, threshold)


def correlate_value(
    session: Session,
    subject: Subject | None,
    value: str,
    *,
    type_: IndicatorType | None = None,
    include_warninglisted: bool = False,
    threshold: int | None = None,
) -> Correlation:
    """The reports the subject may see that hold ``value`` or a value linked to it (type detected as
    the search does when not given)."""
    if not value.strip():
        raise Invalid("give a value", field="value")
    form = canonical_form(type_, value, "value")
    given = Value(T(form.type), form.canonical, form.host_key)
    threshold = threshold or over_correlation_limit()
    return _correlate(session, subject, [given], None, threshold, include_warninglisted)[0]


@dataclass
class Shared:
    """Another report, and every link between its values and those of the report asked about."""

    report: ReportRef
    links: list[tuple[Value, Match]] = field(default_factory=list)
    more: bool = False  # some links were left out (more than MAX_MATCHES for one value)


def by_report(items: Sequence[Correlation]) -> tuple[list[Shared], list[Value]]:
    """A page's correlations turned around: the other reports (those sharing most first), and the
    values that over-correlate."""
    shared: dict[int, Shared] = {}
    over: list[Value] = []
    for item in items:
        if item.over_correlating:
            over.append(item.value)
        for correlated in item.reports:
            entry = shared.setdefault(correlated.report.id, Shared(correlated.report))
            entry.links.extend((item.value, match) for match in correlated.matches)
            entry.more = entry.more or correlated.more_matches
    ordered = sorted(shared.values(), key=lambda s: (-len(s.links), -s.report.id))
    return ordered, over


@dataclass(frozen=True)
class Overview:
    """What a report's page shows: the other reports sharing values with it, and the values that
    over-correlate, for its first ``MAX_PAGE`` indicators (``partial`` when it has more)."""

    shared: list[Shared]
    over: list[Value]
    limit: int
    partial: bool
    indicators: int = MAX_PAGE


def overview(session: Session, subject: Subject | None, report: t.Report) -> Overview:
    page = correlate_report(session, subject, report, limit=MAX_PAGE)
    shared, over = by_report(page.items)
    return Overview(shared, over, page.limit, page.next_cursor is not None)
