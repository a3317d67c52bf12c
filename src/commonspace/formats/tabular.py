"""CSV files in and out, and plain lists of values in (docs/formats.md describes the columns).

Reading: a header row names the columns, case-insensitively and in any order; only ``value`` is required.
The delimiter is sniffed among ``,``, ``;`` and tab; the text is UTF-8, with or without a byte order mark.
Every value passes through ``commonspace.domain.canonical``: it is refanged, typed (the ``type`` column, or
detection when it is empty) and checked; the item keeps the refanged value and its type. A bad row is a
:class:`Problem` at its physical line (a quoted line break counts as a line): with ``skip_invalid`` it is
left out and listed, otherwise :class:`FormatError` is raised with every problem found.

Writing: RFC 4180 (CRLF line ends, fields quoted when needed), UTF-8 without a byte order mark, one row per
indicator. A cell that a spreadsheet would run as a formula — starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, after any single quotes — gets one more single quote in front (OWASP's advice
against CSV injection), so a spreadsheet shows text; negative numbers and values such as ``-`` get it too.
Reading removes one leading quote from a cell of that shape, so :func:`parse_csv` of :func:`to_csv` gives
the same indicators back; a hand-written cell such as ``'=x`` is read as ``=x`` for the same reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from commonspace.domain import canonical
from commonspace.domain.vocab import TLP, IndicatorType
from commonspace.formats.model import Exchange, FormatError, IndicatorItem, Problem, ReportItem

COLUMNS = (
    "report", "report_uuid", "type", "value", "comment", "to_detect",
    "first_seen", "last_seen", "confidence", "tags", "tlp",
)  # fmt: skip
_KNOWN = frozenset(COLUMNS)
_DELIMITERS = (",", ";", "\t")
_FORMULA = re.compile(r"'*[=+\-@\t\r]")  # what gets a quote on export
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")  # what loses one on import
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_CONFIDENCE = re.compile(r"[0-9]{1,3}")
_VALUE_END = re.compile(r"[\s;]")


# --- reading ---------------------------------------------------------------------------------------
def parse_csv(data: bytes, *, source: str = "", skip_invalid: bool = False) -> Exchange:
    """Read a CSV file of indicators into an Exchange (see the module's documentation)."""
    text = _decode(data, source)
    delimiter, header = _sniff(text, source)
    exchange = Exchange(source=source)
    reports: dict[str, ReportItem] = {}
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    next(reader)  # the header, read by _sniff
    line = reader.line_num + 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if all(not cell.strip() for cell in row):
                continue
            exchange.objects_read += 1
            reasons: list[str] = []
            if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
                reasons.append(f"{len(row)} fields where the header has {len(header)}")
            cells = {name: _unneutralise(cell) for name, cell in zip(header, row, strict=False) if name}
            item, title, tlp = _row(cells, reasons)
            if reasons or item is None:
                problems.append(Problem(source, f"line {start}", "; ".join(reasons)))
                continue
            title = title or _default_title(source, "CSV")
            report = reports.get(title)
            if report is None:
                report = reports[title] = ReportItem(title=title)
                exchange.reports.append(report)
            if tlp is not None and report.tlp not in (None, tlp):
                problems.append(Problem(source, f"line {start}", f"TLP {tlp} differs from the report's"))
                continue
            report.tlp = tlp or report.tlp
            report.indicators.append(item)
    except csv.Error as exc:  # broken quoting: what follows cannot be trusted, whatever skip_invalid says
        raise FormatError([Problem(source, f"line {line}", f"not valid CSV ({exc})")]) from None
    return _finish(exchange, problems, skip_invalid)


@dataclass(slots=True)
class ListValues:
    """The values of a plain list, in the order of the file: ``entries[i]`` is the type and canonical form
    of the i-th, ``written[i]`` the value as written (refanged) where that differs from the canonical."""

    entries: list[tuple[IndicatorType, str]]
    written: dict[int, str]
    problems: list[Problem]
    read: int
    """Lines holding a value: neither blank nor comments."""


def read_list(data: bytes, *, source: str = "", skip_invalid: bool = False) -> ListValues:
    """Read a plain list: one value per line, typed by detection. What follows white space or ``;`` on a
    line is ignored; blank lines and lines starting with ``#`` are skipped.

    Lists of hundreds of thousands of addresses and names are common (blocklists, top-sites lists), so one
    expression first sorts every line at C speed; only lines that are not a canonical address or name as
    written take the general path (refanging, detection).
    """
    text = _decode(data, source)
    # Lines end at \r\n, \r or \n (split by str methods: quicker than an expression).
    lines = (text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text).split("\n")
    entries: list[tuple[IndicatorType, str]] = []
    written: dict[int, str] = {}
    problems: list[Problem] = []
    ipv4, domain = IndicatorType.IPV4, IndicatorType.DOMAIN
    plain_values = map(canonical.PLAIN_VALUE.fullmatch, lines)
    for number, (line, plain) in enumerate(zip(lines, plain_values, strict=True), start=1):
        if plain is not None:
            entries.append((ipv4 if plain.lastindex else domain, line))
            continue
        line = line.strip()
        if not line or line[0] == "#":
            continue
        # A printable ASCII line holds no white space but spaces: then the regular expression is not needed.
        whole = line.isascii() and line.isprintable() and " " not in line and ";" not in line
        value = line if whole else _VALUE_END.split(line, maxsplit=1)[0]
        found = canonical.detect(value)
        if found is None:
            reason = f"{_shown(value)} is not a value of a known type (a file name needs a CSV type column)"
            problems.append(Problem(source, f"line {number}", reason))
            continue
        if found[1] != value:  # a canonical value is its own refanged form
            written[len(entries)] = canonical.refang(value)
        entries.append(found)
    if problems and not skip_invalid:
        raise FormatError(problems)
    return ListValues(entries, written, problems, len(entries) + len(problems))


def parse_plain(data: bytes, *, source: str = "", skip_invalid: bool = False) -> Exchange:
    """A plain list (see :func:`read_list`) as one report holding its values."""
    values = read_list(data, source=source, skip_invalid=skip_invalid)
    exchange = Exchange(source=source, objects_read=values.read, problems=values.problems)
    if values.entries:
        written = values.written
        indicators = [
            IndicatorItem(value=written.get(i, value), type=type_, canonical=value)
            for i, (type_, value) in enumerate(values.entries)
        ]
        exchange.reports.append(ReportItem(title=_default_title(source, "List"), indicators=indicators))
    return exchange


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError([Problem(source, f"line {line}", "the file is not UTF-8 text")]) from None


def _sniff(text: str, source: str) -> tuple[str, list[str]]:
    """The delimiter that makes the first row a header with a ``value`` column (the widest such row)."""
    best: tuple[str, list[str]] | None = None
    for delimiter in _DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), [])
        except csv.Error:
            continue
        names = [re.sub(r"[\s-]+", "_", name.strip().lower()) for name in first]
        if "value" in names and (best is None or len(names) > len(best[1])):
            best = delimiter, names
    if best is None:
        reason = "the first row must be a header naming the columns, with at least a 'value' column"
        raise FormatError([Problem(source, "line 1", reason)])
    doubled = sorted({n for n in best[1] if n in _KNOWN and best[1].count(n) > 1})
    if doubled:
        raise FormatError([Problem(source, "line 1", f"column {doubled[0]!r} appears more than once")])
    # Unknown columns (another tool's extras) are ignored, as is report_uuid: our identifiers stay ours.
    return best[0], [n if n in _KNOWN and n != "report_uuid" else "" for n in best[1]]


def _row(cells: dict[str, str], reasons: list[str]) -> tuple[IndicatorItem | None, str, TLP | None]:
    """The item of one row, its report title and TLP; what is wrong is appended to ``reasons``."""
    get = {name: cell.strip() for name, cell in cells.items()}.get
    title = get("report", "")
    tlp = _tlp(get("tlp", ""), reasons)
    value = get("value", "")
    if not value:
        reasons.append("the value is empty")
        return None, title, tlp
    type_ = _type(value, get("type", ""), reasons)
    item = IndicatorItem(value=canonical.refang(value), type=type_, comment=cells.get("comment", ""))
    flag = get("to_detect", "").lower()
    if flag:
        if flag not in _BOOLEANS:
            reasons.append(f"to_detect {_shown(flag)} is not one of true, false, 1, 0, yes, no")
        item.to_detect = _BOOLEANS.get(flag, True)
    item.first_seen = _time("first_seen", get("first_seen", ""), reasons)
    item.last_seen = _time("last_seen", get("last_seen", ""), reasons)
    if item.first_seen and item.last_seen and item.first_seen > item.last_seen:
        reasons.append("first_seen is after last_seen")
    confidence = get("confidence", "")
    if confidence:
        if not _CONFIDENCE.fullmatch(confidence) or int(confidence) > 100:
            reasons.append(f"confidence {_shown(confidence)} is not a whole number from 0 to 100")
        else:
            item.confidence = int(confidence)
    tags = (tag.strip() for tag in get("tags", "").split(";"))
    item.tags = list(dict.fromkeys(tag for tag in tags if tag))
    return item, title, tlp


def _type(value: str, given: str, reasons: list[str]) -> IndicatorType | None:
    if not given:
        found = canonical.detect(value)
        if found is None:
            reasons.append(f"the type of {_shown(value)} is not recognised; give it in the type column")
        return found[0] if found else None
    try:
        type_ = IndicatorType(given.lower())
    except ValueError:
        known = ", ".join(t.value for t in IndicatorType)
        reasons.append(f"unknown type {_shown(given)} (known: {known})")
        return None
    try:
        canonical.canonicalize(type_, value)
    except canonical.InvalidIndicator as exc:
        reasons.append(f"invalid {type_.value} {_shown(value)}: {exc.reason}")
    return type_


def _time(column: str, text: str, reasons: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        reasons.append(f"{column} {_shown(text)} is not an ISO 8601 time")
        return None
    if moment.utcoffset() is None:
        reasons.append(f"{column} {_shown(text)} has no time zone (add Z or +01:00)")
        return None
    return moment


def _tlp(text: str, reasons: list[str]) -> TLP | None:
    if not text:
        return None
    try:
        return TLP(text.upper().removeprefix("TLP:"))
    except ValueError:
        reasons.append(f"TLP {_shown(text)} is not one of {', '.join(t.value for t in TLP)}")
        return None


def _unneutralise(cell: str) -> str:
    return cell[1:] if _NEUTRALISED.match(cell) else cell


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _default_title(source: str, kind: str) -> str:
    name = PurePosixPath(source.replace("\\", "/")).name
    return name or f"{kind} import"


def _finish(exchange: Exchange, problems: list[Problem], skip_invalid: bool) -> Exchange:
    if problems and not skip_invalid:
        raise FormatError(problems)
    exchange.problems.extend(problems)
    return exchange


# --- writing ---------------------------------------------------------------------------------------
def to_csv(exchange: Exchange) -> bytes:
    """One row per indicator of every report, under the header of :data:`COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for cells in _rows(exchange):
        writer.writerow([_neutralise(cell) for cell in cells])
    return out.getvalue().encode("utf-8")


def _rows(exchange: Exchange) -> Iterator[list[str]]:
    for report in exchange.reports:
        tlp = report.tlp.value if report.tlp else ""
        for item in report.indicators:
            yield [
                report.title,
                report.uuid or "",
                item.type.value if item.type else "",
                item.value,
                item.comment,
                "true" if item.to_detect else "false",
                _iso(item.first_seen),
                _iso(item.last_seen),
                "" if item.confidence is None else str(item.confidence),
                ";".join(item.tags),
                tlp,
            ]


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return (moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)).isoformat()


def _neutralise(cell: str) -> str:
    return "'" + cell if _FORMULA.match(cell) else cell
