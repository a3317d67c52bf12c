"""The work behind correlation: the values and ranges to look up, the statements that find the other
reports' values among what the member may see, and the answers assembled (see ``correlation.service``)."""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from commonspace import policy
from commonspace.audit import service as audit
from commonspace.correlation import keys
from commonspace.correlation.model import (
    MAX_MATCHES,
    Correlated,
    Correlation,
    Link,
    Match,
    ReportRef,
    Value,
)
from commonspace.domain import canonical, collector
from commonspace.domain.vocab import IndicatorType
from commonspace.policy import Subject
from commonspace.reports import search
from commonspace.store import tables as t
from commonspace.store.db import write_soon

ROW_CAP = 50_000  # rows of the ranges read in one statement before going range by range
I = t.Indicator  # noqa: E741 - the table, as in SQL
R = t.Report
T = IndicatorType
_NETWORK_OF = {T.IPV4: T.IPV4_CIDR, T.IPV6: T.IPV6_CIDR}
_NAME = {type_: type_.value for type_ in T}
_TOP = {T.IPV4_CIDR: 32, T.IPV6_CIDR: 128}
_IN_CHUNK = 10_000


# --- the work ---------------------------------------------------------------------------------------


@dataclass
class _Probes:
    """What to look for: exact (type, canonical) keys, each for some of our values and with the kind of
    link it makes; and ranges of host keys, each for one value (low, high, prefix, skip: see _ranges)."""

    exact: dict[tuple[str, str], list[tuple[int, Link]]] = field(default_factory=lambda: defaultdict(list))
    ranges: list[tuple[int, str, str, int, str]] = field(default_factory=list)


def _probes(session: Session, values: Sequence[Value]) -> _Probes:
    """The probes of ``values``. Thousands of values a page: the loop keeps to local names and plain
    strings (an enumeration's ``.value`` is a Python-level property)."""
    probes = _Probes()
    exact, ranges = probes.exact, probes.ranges
    lengths: dict[IndicatorType, list[int]] = {}

    def present(network_type: IndicatorType) -> list[int]:
        if network_type not in lengths:
            found = search._present_prefix_lengths(session, network_type, _TOP[network_type])
            lengths[network_type] = found
        return lengths[network_type]

    equal, contained_in, parent_domain = Link.EQUAL, Link.CONTAINED_IN, Link.PARENT_DOMAIN
    domain = T.DOMAIN.value
    for pos, value in enumerate(values):
        type_, text_ = value.type, value.canonical
        exact[(_NAME[type_], text_)].append((pos, equal))
        if type_ in _NETWORK_OF:
            network_type = _NETWORK_OF[type_]
            network_name = _NAME[network_type]
            for network in _around(type_, text_, present(network_type)):
                exact[(network_name, network)].append((pos, contained_in))
        elif type_ in keys.NETWORK_TYPES:
            address, _, prefix = text_.partition("/")
            length = int(prefix)
            shorter = [n for n in present(type_) if n < length]
            network_name = _NAME[type_]
            for network in _around(type_, address, shorter):
                exact[(network_name, network)].append((pos, contained_in))
            low, high = keys.network_range(type_, text_)
            ranges.append((pos, low, high, length, ""))
        elif type_ is T.DOMAIN and value.host_key:
            for parent in canonical.parent_domains(text_)[1:]:
                if "." in parent:
                    exact[(domain, parent)].append((pos, parent_domain))
            low, high = keys.domain_range(value.host_key)
            ranges.append((pos, low, high, -1, low))
        elif type_ in (T.URL, T.EMAIL) and value.host_key:
            host = ".".join(reversed(value.host_key[:-1].split(".")))
            for parent in canonical.parent_domains(host):
                if "." in parent:
                    exact[(domain, parent)].append((pos, contained_in))
    return probes


def _around(type_: IndicatorType, address: str, lengths: list[int]) -> list[str]:
    if type_ in (T.IPV4, T.IPV4_CIDR):
        return keys.ipv4_networks_containing(address, lengths)
    return canonical.ip_networks_containing(address, lengths)


_Found = dict[int, dict[int, dict[int, Match]]]  # our value's position -> their report -> their id -> match


def _correlate(
    session: Session,
    subject: Subject | None,
    values: Sequence[Value],
    exclude_report: int | None,
    limit: int,
    include_warninglisted: bool,
) -> list[Correlation]:
    if not values:
        return []
    with collector.paused():  # around the call: its temporaries are gone when the collector is back
        return _correlate_paused(session, subject, values, exclude_report, limit, include_warninglisted)


def _correlate_paused(
    session: Session,
    subject: Subject | None,
    values: Sequence[Value],
    exclude_report: int | None,
    limit: int,
    include_warninglisted: bool,
) -> list[Correlation]:
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL jit = off"))  # as the search does: estimates of ranges set it off
        # The reports seen travel as an array that must be a constant to be hashed (see _seen_among):
        # never a generic plan, which the driver's prepared statements would come to.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    probes = _probes(session, values)
    # Their indicators: seen by the subject, in another report, not on a warninglist unless asked.
    others: list[ColumnElement[bool]] = []
    if exclude_report is not None:
        others.append(I.report_id != exclude_report)
    if not include_warninglisted:
        others.append(I.warninglists.is_(None))
    wanted = others if subject is None else [policy.indicator_filter(subject), *others]
    # The same without a join to ``report``, for the look-ups of values on PostgreSQL: given the reports
    # seen (or with no policy to check).
    alone: list[ColumnElement[bool]] | None = others if subject is None else None
    if postgres and subject is not None:
        reports = _reports_seen(session, subject)
        if reports is not None:
            alone = [_seen_among(subject, reports), *others]
    found: _Found = defaultdict(lambda: defaultdict(dict))
    over: set[int] = set()
    _exact(session, probes, wanted, alone, limit, found, over)
    _ranges(session, probes, wanted, limit, found, over)
    return _assemble(session, subject, values, limit, found, over)


# The most reports seen passed by id: past that, sending and planning the array (the planner estimates the
# share of each id) costs more than joining each indicator to its report, which costs some 100 ms for a
# 10,000-value page (the array: some 60 ms for 20,000 ids, 300 ms for 100,000).
_SEEN_CAP = 20_000


def _reports_seen(session: Session, subject: Subject) -> list[int] | None:
    """The ids of the reports ``subject`` may see (``policy.report_filter``), or None past ``_SEEN_CAP``."""
    seen = select(R.id).where(policy.report_filter(subject)).limit(_SEEN_CAP + 1)
    reports = list(session.scalars(seen))
    return reports if len(reports) <= _SEEN_CAP else None


def _seen_among(subject: Subject, reports: list[int]) -> ColumnElement[bool]:
    """``policy.indicator_filter(subject)`` said of an indicator alone, given ``reports``, those the
    subject may see (``policy.report_filter``). The policy sees an indicator as its report unless the
    indicator narrows the report's distribution: its report must be one of ``reports`` (a hashed look-up in
    a constant array, where joining each of some 30,000 rows to its report took a third of the look-ups'
    time), and only for an indicator that narrows (rare) is the policy's own filter checked against its
    report."""
    narrowing_seen = select(R.id).where(R.id == I.report_id, policy.indicator_filter(subject)).exists()
    in_reports = I.report_id == any_(bindparam("reports_seen", reports, type_=ARRAY(Integer)))
    return and_(in_reports, or_(I.distribution.is_(None), narrowing_seen))


def _exact(
    session: Session,
    probes: _Probes,
    wanted: list[ColumnElement[bool]],
    alone: list[ColumnElement[bool]] | None,
    limit: int,
    found: _Found,
    over: set[int],
) -> None:
    """Every (type, canonical) to look up, in one statement, for at most limit + 1 of the indicators
    wanted each: as many reports, since a report holds a value once. ``wanted`` is said of an indicator
    joined to its report, ``alone`` (when given) of an indicator alone."""
    keys = list(probes.exact)
    if not keys:
        return
    held: dict[int, list[tuple[int, int, str]]] = defaultdict(list)  # only the keys that hold any
    statement = _held_statement(session, keys, wanted, alone, limit + 1)
    for n, report_id, id_, uuid in _rows(session, statement):
        held[n].append((report_id, id_, uuid))
    for n, rows in held.items():
        if len(rows) > limit:
            over.update(pos for pos, _ in probes.exact[keys[n]])
    for n, rows in held.items():
        type_, value = key = keys[n]
        for pos, kind in probes.exact[key]:
            if pos not in over:
                linked = found[pos]
                for report_id, id_, uuid in rows:
                    linked[report_id][id_] = Match(kind, type_, value, uuid, id_)


def _held_statement(
    session: Session,
    keys: list[tuple[str, str]],
    wanted: list[ColumnElement[bool]],
    alone: list[ColumnElement[bool]] | None,
    each: int,
) -> Select[Any]:
    """(n, report_id, id, uuid): for each (type, canonical) of ``keys`` (its position: ``n``), at most
    ``each`` of the indicators wanted that hold it: one index look-up on ``canonical`` per value, stopping
    after ``each`` rows. A LATERAL join on PostgreSQL, where the look-ups are index-only scans
    (``ix_indicator_canonical`` covers the columns read) and, given ``alone``, join no row to its report;
    on SQLite, which has none, a correlated ``id IN (... LIMIT)``. Either way the statement is one, and its
    rows at most ``each`` a value, however many reports hold it."""
    given, (type_, value), n = _json_table(session, "keys", keys, (Text, Text))
    if session.get_bind().dialect.name == "postgresql":
        their = select(I.report_id, I.id, I.uuid).where(I.canonical == value, I.type == type_)
        joined = their.join(R, R.id == I.report_id).where(*wanted)
        held = (joined if alone is None else their.where(*alone)).limit(each).lateral()
        return (
            select(n.label("n"), held.c.report_id, held.c.id, held.c.uuid)
            .select_from(given)
            .join(held, true())
        )
    # ``type || ''``: found by ``canonical`` alone, never along the (type, prefix_len) index, which SQLite
    # would otherwise pick without statistics, and read every indicator of the type.
    held_ids = (
        select(I.id)
        .join(R, R.id == I.report_id)
        .where(I.canonical == value, I.type + "" == type_, *wanted)
        .limit(each)
    )
    row = aliased(t.Indicator)
    return (
        select(n.label("n"), row.report_id, row.id, row.uuid)
        .select_from(given)
        .join(row, row.id.in_(held_ids))
    )


def _json_table(
    session: Session, name: str, rows: Sequence[Sequence[Any]], types: Sequence[type[Text] | type[Integer]]
) -> tuple[FromClause, list[ColumnElement[Any]], ColumnElement[Any]]:
    """``rows`` as a table a statement joins to, passed as one JSON array parameter: (the table, its
    columns, each row's position from 0). One statement whatever their number, compiled once, with no
    limit on parameters. SQLite reads it with ``json_each``; PostgreSQL with ``jsonb_array_elements``,
    which takes a few milliseconds where arrays of tens of thousands of values took tens (the driver
    writes each array element by element, in Python), and whose row estimate does not change with the
    number of rows, so neither does the plan."""
    data = json.dumps(rows)
    if session.get_bind().dialect.name == "postgresql":
        array = func.jsonb_array_elements(cast(bindparam(name, data, type_=Text), JSONB))
        table = array.table_valued("value", with_ordinality="n").render_derived()
        columns: list[ColumnElement[Any]] = []
        for i, type_ in enumerate(types):
            item = table.c.value.op("->>", return_type=Text)(literal_column(str(i)))
            columns.append(cast(item, Integer) if type_ is Integer else item)
        return table, columns, table.c.n - 1
    table = func.json_each(bindparam(name, data)).table_valued("key", "value")
    columns = [func.json_extract(table.c.value, f"$[{i}]") for i in range(len(types))]
    return table, columns, table.c.key


def _ranges(
    session: Session,
    probes: _Probes,
    wanted: list[ColumnElement[bool]],
    limit: int,
    found: _Found,
    over: set[int],
) -> None:
    """What lies under our domains (their subdomains: ``subdomain``; their URLs and e-mail addresses:
    ``contains``) and inside our networks (``contains``). A range is [low, high); ``prefix`` leaves out
    the networks that are not narrower than ours (-1 for a domain), ``skip`` the domain itself (equal,
    and found as such)."""
    ranges = [r for r in probes.ranges if r[0] not in over]
    if not ranges:
        return
    table, low, high, prefix, skip, position = _range_table(session, ranges)
    statement = (
        select(position.label("pos"), I.id, I.uuid, I.report_id, I.type, I.canonical)
        .select_from(table)
        .join(I, _in_range(low, high, prefix, skip))
        .join(R, R.id == I.report_id)
        .where(*wanted)
        .limit(ROW_CAP + 1)
    )
    rows = _rows(session, statement)
    if len(rows) <= ROW_CAP:
        for n, id_, uuid, report_id, type_, value in rows:
            _add_range_match(found, ranges[n][0], id_, uuid, report_id, type_, value)
        return
    for pos, *bounds in ranges:  # a great many values under some of them: one range at a time
        if pos in over:
            continue
        condition = _in_range(*bounds)
        reports = _their_reports(wanted).where(condition).distinct().limit(limit + 1)
        report_ids = [row[0] for row in _rows(session, reports)]
        if len(report_ids) > limit:
            over.add(pos)
            continue
        for report_id in report_ids:
            query = _their(wanted).where(condition, I.report_id == report_id)
            for id_, uuid, their_report, type_, value in _rows(
                session, query.order_by(I.id).limit(MAX_MATCHES + 1)
            ):
                _add_range_match(found, pos, id_, uuid, their_report, type_, value)


def _add_range_match(
    found: _Found, pos: int, id_: int, uuid: str, report_id: int, type_: str, value: str
) -> None:
    kind = Link.SUBDOMAIN if type_ == _NAME[T.DOMAIN] else Link.CONTAINS
    found[pos][report_id][id_] = Match(kind, type_, value, uuid, id_)


def _in_range(low: Any, high: Any, prefix: Any, skip: Any) -> ColumnElement[bool]:
    return and_(
        I.host_key >= low,
        I.host_key < high,
        or_(I.prefix_len.is_(None), I.prefix_len > prefix),
        not_(and_(I.type == T.DOMAIN.value, I.host_key == skip)),
    )


def _range_table(
    session: Session, ranges: Sequence[tuple[int, str, str, int, str]]
) -> tuple[FromClause, Any, Any, Any, Any, Any]:
    """The ranges as a table the statement joins to (see ``_json_table``)."""
    bounds = [bound for _, *bound in ranges]
    table, (low, high, prefix, skip), position = _json_table(
        session, "ranges", bounds, (Text, Text, Integer, Text)
    )
    return table, low, high, prefix, skip, position


def _each(session: Session, statement: Any, column: Any, values: list[str] | list[int]) -> Any:
    """``statement`` for the rows whose ``column`` is one of ``values``, found by one index look-up each
    and passed as one parameter. SQLite: ``column IN`` a JSON array. PostgreSQL: a LATERAL join to the
    array, which keeps the look-ups per value; ``column = ANY(array)`` would be costed above a scan of
    the whole table once the array holds thousands of values."""
    if session.get_bind().dialect.name == "postgresql":
        of = ARRAY(Integer) if values and isinstance(values[0], int) else ARRAY(Text)
        given = func.unnest(bindparam(None, values, type_=of)).table_valued("value").render_derived()
        each = statement.where(column == given.c.value).lateral()
        return select(*each.c).select_from(given).join(each, true())
    listed = func.json_each(bindparam(None, json.dumps(values))).table_valued("value")
    return statement.where(column.in_(select(listed.c.value)))


def _rows(session: Session, statement: Any) -> list[Any]:
    """All rows of a Core statement, run on the session's connection: plain rows, without the ORM's
    handling of each (tens of thousands of rows for a large report), fetched at once (iterating the
    result fetches them from the driver one by one)."""
    return list(session.connection().execute(statement).all())


def _their(wanted: list[ColumnElement[bool]]) -> Select[int, str, int, str, str]:
    return select(I.id, I.uuid, I.report_id, I.type, I.canonical).join(R, R.id == I.report_id).where(*wanted)


def _their_reports(wanted: list[ColumnElement[bool]]) -> Select[int]:
    return select(I.report_id).join(R, R.id == I.report_id).where(*wanted)


def _assemble(
    session: Session,
    subject: Subject | None,
    values: Sequence[Value],
    limit: int,
    found: _Found,
    over: set[int],
) -> list[Correlation]:
    listed = {
        report_id
        for pos, linked in found.items()
        if pos not in over and len(linked) <= limit
        for report_id in linked
    }
    reports = _load_reports(session, listed)
    out: list[Correlation] = []
    for pos, value in enumerate(values):
        linked = found.get(pos, {})
        if pos in over or len(linked) > limit:
            out.append(Correlation(value, True, []))
            continue
        correlated = []
        for report_id in sorted(linked, reverse=True):
            by_id = linked[report_id]
            if len(by_id) == 1:
                correlated.append(Correlated(reports[report_id], [*by_id.values()], False))
                continue
            matches = [by_id[i] for i in sorted(by_id)]
            more = len(matches) > MAX_MATCHES
            shown = matches[:MAX_MATCHES] if more else matches
            correlated.append(Correlated(reports[report_id], shown, more))
        out.append(Correlation(value, False, correlated))
    if subject is not None:
        _audit(session, subject, [(r.uuid, r.org_id) for r in reports.values() if r.org_id != subject.org_id])
    return out


def _audit(session: Session, subject: Subject, listed: list[tuple[str, int]]) -> None:
    """A read of each report of another organisation listed, as for search hits. The events are made in
    the write that follows a reading transaction (at once in a writing one): a large report lists
    thousands of reports, whose events need not hold the read up."""

    def record(writer: Session) -> None:
        for uuid, org_id in listed:
            audit.record(writer, subject, "report.read", "report", uuid, org_id, path="correlation")

    if listed:
        write_soon(session, record)


def _load_reports(session: Session, ids: set[int]) -> dict[int, ReportRef]:
    ordered = sorted(ids)
    rows: list[Any] = []
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        columns = (R.id, R.uuid, R.title, R.tlp, R.status, R.org_id)
        rows.extend(_rows(session, _each(session, select(*columns), R.id, chunk)))
    org_ids = sorted({row[5] for row in rows})
    orgs = {o.id: o for o in session.scalars(select(t.Organisation).where(t.Organisation.id.in_(org_ids)))}
    return {
        id_: ReportRef(id_, uuid, title, tlp, status, org_id, orgs[org_id])
        for id_, uuid, title, tlp, status, org_id in rows
    }
