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
    bindparam,
    func,
    not_,
    or_,
    select,
    text,
    true,
)
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
from commonspace.domain import canonical
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
    probes = _Probes()
    lengths: dict[IndicatorType, list[int]] = {}

    def present(network_type: IndicatorType) -> list[int]:
        if network_type not in lengths:
            found = search._present_prefix_lengths(session, network_type, _TOP[network_type])
            lengths[network_type] = found
        return lengths[network_type]

    for pos, value in enumerate(values):
        type_ = value.type
        probes.exact[(type_.value, value.canonical)].append((pos, Link.EQUAL))
        if type_ in _NETWORK_OF:
            network_type = _NETWORK_OF[type_]
            for network in _around(type_, value.canonical, present(network_type)):
                probes.exact[(network_type.value, network)].append((pos, Link.CONTAINED_IN))
        elif type_ in keys.NETWORK_TYPES:
            address, _, prefix = value.canonical.partition("/")
            shorter = [n for n in present(type_) if n < int(prefix)]
            for network in _around(type_, address, shorter):
                probes.exact[(type_.value, network)].append((pos, Link.CONTAINED_IN))
            low, high = keys.network_range(type_, value.canonical)
            probes.ranges.append((pos, low, high, int(prefix), ""))
        elif type_ is T.DOMAIN and value.host_key:
            for parent in canonical.parent_domains(value.canonical)[1:]:
                if "." in parent:
                    probes.exact[(T.DOMAIN.value, parent)].append((pos, Link.PARENT_DOMAIN))
            low, high = keys.domain_range(value.host_key)
            probes.ranges.append((pos, low, high, -1, low))
        elif type_ in (T.URL, T.EMAIL) and value.host_key:
            host = ".".join(reversed(value.host_key[:-1].split(".")))
            for parent in canonical.parent_domains(host):
                if "." in parent:
                    probes.exact[(T.DOMAIN.value, parent)].append((pos, Link.CONTAINED_IN))
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
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL jit = off"))  # as the search does: estimates of ranges set it off
    probes = _probes(session, values)
    # Their indicators: seen by the subject, in another report, not on a warninglist unless asked.
    wanted: list[ColumnElement[bool]] = []
    if subject is not None:
        wanted.append(policy.indicator_filter(subject))
    if exclude_report is not None:
        wanted.append(I.report_id != exclude_report)
    if not include_warninglisted:
        wanted.append(I.warninglists.is_(None))
    found: _Found = defaultdict(lambda: defaultdict(dict))
    over: set[int] = set()
    _exact(session, probes, wanted, limit, found, over)
    _ranges(session, probes, wanted, limit, found, over)
    return _assemble(session, subject, values, limit, found, over)


def _exact(
    session: Session,
    probes: _Probes,
    wanted: list[ColumnElement[bool]],
    limit: int,
    found: _Found,
    over: set[int],
) -> None:
    """Every (type, canonical) to look up, in one statement, for at most limit + 1 of the indicators
    wanted each: as many reports, since a report holds a value once."""
    keys = list(probes.exact)
    if not keys:
        return
    held: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for n, report_id, id_, uuid in _rows(session, _held_statement(session, keys, wanted, limit + 1)):
        held[n].append((report_id, id_, uuid))
    for n, (type_, value) in enumerate(keys):
        if len(held[n]) > limit:
            over.update(pos for pos, _ in probes.exact[(type_, value)])
    for n, (type_, value) in enumerate(keys):
        for pos, kind in probes.exact[(type_, value)]:
            if pos not in over:
                for report_id, id_, uuid in held[n]:
                    found[pos][report_id][id_] = Match(kind, type_, value, uuid, id_)


def _held_statement(
    session: Session, keys: list[tuple[str, str]], wanted: list[ColumnElement[bool]], each: int
) -> Select[Any]:
    """(n, report_id, id, uuid): for each (type, canonical) of ``keys`` (its position: ``n``), at most
    ``each`` of the indicators wanted that hold it: one index look-up on ``canonical`` per value, stopping
    after ``each`` rows. A LATERAL join on PostgreSQL; on SQLite, which has none, a correlated ``id IN
    (... LIMIT)``. Either way the statement is one, and its rows at most ``each`` a value, however many
    reports hold it."""
    if session.get_bind().dialect.name == "postgresql":
        given = (
            func.unnest(
                bindparam("types", [type_ for type_, _ in keys], type_=ARRAY(Text)),
                bindparam("values", [value for _, value in keys], type_=ARRAY(Text)),
            )
            .table_valued("type", "canonical", with_ordinality="n")
            .render_derived()
        )
        held = (
            select(I.report_id, I.id, I.uuid)
            .join(R, R.id == I.report_id)
            .where(I.canonical == given.c.canonical, I.type == given.c.type, *wanted)
            .limit(each)
            .lateral()
        )
        return (
            select((given.c.n - 1).label("n"), held.c.report_id, held.c.id, held.c.uuid)
            .select_from(given)
            .join(held, true())
        )
    given = func.json_each(bindparam("keys", json.dumps(keys))).table_valued("key", "value")
    # ``type || ''``: found by ``canonical`` alone, never along the (type, prefix_len) index, which SQLite
    # would otherwise pick without statistics, and read every indicator of the type.
    held_ids = (
        select(I.id)
        .join(R, R.id == I.report_id)
        .where(
            I.canonical == func.json_extract(given.c.value, "$[1]"),
            I.type + "" == func.json_extract(given.c.value, "$[0]"),
            *wanted,
        )
        .limit(each)
    )
    row = aliased(t.Indicator)
    return (
        select(given.c.key.label("n"), row.report_id, row.id, row.uuid)
        .select_from(given)
        .join(row, row.id.in_(held_ids))
    )


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
        for row in rows:
            _add_range_match(found, ranges[row.pos][0], row)
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
            for row in _rows(session, query.order_by(I.id).limit(MAX_MATCHES + 1)):
                _add_range_match(found, pos, row)


def _add_range_match(found: _Found, pos: int, row: Any) -> None:
    kind = Link.SUBDOMAIN if row.type == T.DOMAIN.value else Link.CONTAINS
    found[pos][row.report_id][row.id] = Match(kind, row.type, row.canonical, row.uuid, row.id)


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
    """The ranges as a table the statement joins to: a JSON array on SQLite, arrays on PostgreSQL (one
    statement whatever their number, compiled once, no limit on parameters)."""
    if session.get_bind().dialect.name == "postgresql":
        columns = list(zip(*(bounds for _, *bounds in ranges), strict=True))
        table = (
            func.unnest(
                bindparam("lows", list(columns[0]), type_=ARRAY(Text)),
                bindparam("highs", list(columns[1]), type_=ARRAY(Text)),
                bindparam("prefixes", list(columns[2]), type_=ARRAY(Integer)),
                bindparam("skips", list(columns[3]), type_=ARRAY(Text)),
            )
            .table_valued("low", "high", "prefix", "skip", with_ordinality="n")
            .render_derived()
        )
        c = table.c
        return table, c.low, c.high, c.prefix, c.skip, c.n - 1
    data = json.dumps([[low, high, prefix, skip] for _, low, high, prefix, skip in ranges])
    table = func.json_each(bindparam("ranges", data)).table_valued("key", "value")
    item = table.c.value
    return (
        table,
        func.json_extract(item, "$[0]"),
        func.json_extract(item, "$[1]"),
        func.json_extract(item, "$[2]"),
        func.json_extract(item, "$[3]"),
        table.c.key,
    )


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
    handling of each (tens of thousands of rows for a large report)."""
    return list(session.connection().execute(statement))


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
            matches = [by_id[i] for i in sorted(by_id)] if len(by_id) > 1 else list(by_id.values())
            more = len(matches) > MAX_MATCHES
            correlated.append(Correlated(reports[report_id], matches[:MAX_MATCHES], more))
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
    org_ids = sorted({row.org_id for row in rows})
    orgs = {o.id: o for o in session.scalars(select(t.Organisation).where(t.Organisation.id.in_(org_ids)))}
    return {
        row.id: ReportRef(row.id, row.uuid, row.title, row.tlp, row.status, row.org_id, orgs[row.org_id])
        for row in rows
    }
