"""The Spark task's Zeek TSV path is the local engine's columnar scanner, and gives exactly what matching the
span's records one by one gives: the same hits in the same order, the same skipped lines, the same span
bounds, line count and headers, on spans and on whole files (plain, gzip, and read from a line on).

The logs are made up by hypothesis: separators, set separators and null markers of every kind, set and
vector columns, numeric columns, columns named alike, ``-``/``(empty)``/empty cells, escapes, ``\\r\\n``
line ends, malformed and blank lines, and new headers in the middle of the file. No Spark is needed.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.vocab import IndicatorType
from commonspace.engine import scan
from commonspace.engine.match import Hit, match_records
from commonspace.engine.readers import Block, LogFormat, open_log
from commonspace.engine.readers.spans import Span, ZeekSpanReader, span_reader
from commonspace.engine.readers.zeek import Schema
from commonspace.engine.scan import BlockHits
from commonspace.engine.spans import count_span, plan
from commonspace.engine.spark.tasks import HitRow, Outcome, Task, run_task
from commonspace.engine.zeek_columns import ZeekColumns
from sample_index import SAMPLE_INDEX

T = IndicatorType
INDEX = SAMPLE_INDEX
VALUES = [
    "192.0.2.1",
    "192.0.2.9",
    "198.51.100.1",
    "2001:db8::1",
    "a.b.evil.example",
    "EVIL.example.",
    "good.example",
    "http://evil.example/x",
    "bob@evil.example",
    "D41D8CD98F00B204E9800998ECF8427E",
    "-",
    "(empty)",
    "EMPTY",
    "",
    "x",
    "evil\u3002example",
]
ODD_VALUES = [
    "esc\\x41.evil.example",  # an escape: the block is parsed record by record
    "a|b.evil.example",  # splits a line when "|" separates the columns
    "a b.evil.example",  # and when " " does
]
TYPES = ["string", "addr", "set[string]", "vector[string]", "set[addr]", "count", "bool", "vector[interval]"]


def _row(hit: Hit) -> HitRow:
    return (hit.line, hit.field, hit.observed, hit.indicator, hit.type.value, hit.ref)


def record_by_record(task: Task) -> Outcome:
    """What the task gives when its Zeek records are matched one by one (the task's path before the
    columnar scanner), for the outcomes to be compared whole."""
    path = Path(task.path)
    if task.whole:
        reader = open_log(path, LogFormat.ZEEK)
        records = (record for record in reader if record.line >= task.from_line)
        hits = [_row(hit) for hit in match_records(records, INDEX)]
        return Outcome(hits, reader.skipped, reader.skipped_lines, reader.read_error)
    span = Span(path, task.start, task.end, task.first_line, zeek=True)
    reader = span_reader(ZeekSpanReader, span)
    assert isinstance(reader, ZeekSpanReader) and task.schema is not None
    reader.schema = task.schema
    hits = [_row(hit) for hit in match_records(reader, INDEX)]
    return Outcome(
        hits,
        reader.skipped,
        reader.skipped_lines,
        None,
        span.begin,
        span.stop,
        span.lines,
        False,
        span.headers,
    )


def span_tasks(path: Path, bounds: list[int]) -> list[Task]:
    """The file's spans between these bounds, each with its first line and the headers in force where it
    starts (as the driver finds them)."""
    ranges = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    counted = [count_span(path, LogFormat.ZEEK, a, b, 1 << 20) for a, b in ranges]
    return [
        Task(str(path), LogFormat.ZEEK, start=t.start, end=t.end, first_line=t.first_line, schema=t.schema)
        for t in plan(path, LogFormat.ZEEK, ranges, counted)
    ]


# --- made-up logs ---------------------------------------------------------------------------------------
@dataclass
class Log:
    """A log being made up: its text so far, and the separators and column count in force."""

    parts: list[str] = field(default_factory=list)
    separator: str = "\t"
    set_separator: str = ","
    columns: int = 0


def _headers(draw: st.DrawFn, log: Log) -> None:
    """The header lines that start a log, under new separators and columns."""
    log.separator = separator = draw(st.sampled_from(["\t", "|", " "]))
    log.set_separator = ","
    lines = [f"#separator \\x{ord(separator):02x}"]
    if draw(st.booleans()):
        log.set_separator = draw(st.sampled_from([";", "::"]))
        empty = draw(st.sampled_from(["(empty)", "EMPTY"]))
        lines += [f"#set_separator{separator}{log.set_separator}", f"#empty_field{separator}{empty}"]
    names = _names(draw, ["ts", "a", "b", "query", "answers", "id.orig_h"])
    lines += [
        f"#unset_field{separator}-",
        f"#path{separator}x",
        "#fields" + separator + separator.join(names),
    ]
    if draw(st.integers(0, 3)):  # mostly with #types (without, no column is a set nor numeric)
        types = draw(st.lists(st.sampled_from(TYPES), min_size=len(names), max_size=len(names)))
        lines.append("#types" + separator + separator.join(types))
    log.columns = len(names)
    log.parts.append("\n".join(lines) + "\n")


def _names(draw: st.DrawFn, names: list[str]) -> list[str]:
    """Column names: mostly two or more, all different (else the columnar path is not taken)."""
    if draw(st.integers(0, 4)):
        return draw(st.lists(st.sampled_from(names), min_size=2, max_size=5, unique=True))
    return draw(st.lists(st.sampled_from(names[:3]), min_size=1, max_size=4))


def _cell(draw: st.DrawFn, log: Log, rough: int) -> str:
    values = st.sampled_from(VALUES)
    if rough and draw(st.integers(0, 30)) < rough:
        values = st.sampled_from(ODD_VALUES)
    if draw(st.integers(0, 2)):
        return draw(values)
    return log.set_separator.join(draw(st.lists(values, max_size=3)))  # a set or vector (or not)


@st.composite
def zeek_logs(draw: st.DrawFn) -> str:
    """A Zeek TSV file: mostly rows under its headers; ``rough`` makes odd lines and cells likelier (with
    none, every block may take the columnar path)."""
    rough = draw(st.sampled_from([0, 0, 1, 3]))
    log = Log()
    _headers(draw, log)
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 39))
        if kind == 0:  # another log, under other headers
            _headers(draw, log)
        elif kind == 1:  # new columns, the same separators
            names = _names(draw, ["a", "b", "c", "d"])
            log.columns = len(names)
            log.parts.append("#fields" + log.separator + log.separator.join(names) + "\n")
        elif kind == 2:
            log.parts.append("#close\tx\n")
        elif kind < 3 + rough:  # one column too many or too few, a blank line, junk
            count = log.columns + draw(st.sampled_from([-1, 1]))
            row = log.separator.join(_cell(draw, log, rough) for _ in range(count))
            log.parts.append(draw(st.sampled_from([row, "", "junk"])) + "\n")
        else:
            row = log.separator.join(_cell(draw, log, rough) for _ in range(log.columns))
            log.parts.append(row + ("\r\n" if rough and kind == 3 + rough else "\n"))
    text = "".join(log.parts)
    return text if draw(st.booleans()) else text.removesuffix("\n")  # a last line without a newline


@settings(max_examples=300, deadline=None)
@given(
    text=zeek_logs(),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    from_line=st.integers(1, 40),
    packed=st.booleans(),
)
def test_zeek_tasks_give_what_matching_record_by_record_gives(
    text: str, cuts: list[float], from_line: int, packed: bool
) -> None:
    data = text.encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.log"
        path.write_bytes(data)
        size = len(data)
        bounds = sorted({0, size, *(int(cut * size) for cut in cuts)})
        for task in span_tasks(path, bounds):
            assert run_task(task, INDEX) == record_by_record(task)
        whole = Path(folder) / "whole.log"
        whole.write_bytes(gzip.compress(data) if packed else data)
        task = Task(str(whole), LogFormat.ZEEK, whole=True, end=size, from_line=from_line)
        assert run_task(task, INDEX) == record_by_record(task)


# --- the path taken -------------------------------------------------------------------------------------
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tid.orig_h\tquery\tanswers\ttags\n"
    "#types\ttime\taddr\tstring\tvector[string]\tset[string]\n"
)


def _clean_log(rows: int) -> str:
    """Rows that all hit, with sets of several elements (given after the other values) and of one."""
    lines = [HEADER]
    for n in range(rows):
        answers = f"x{n % 7}.evil.example,192.0.2.{n % 3},2001:db8::1" if n % 4 else "-"
        tags = "bob@evil.example" if n % 5 else "(empty)"
        lines.append(f"1.{n}\t192.0.2.{n % 5}\tq{n % 11}.b.evil.example\t{answers}\t{tags}\n")
    return "".join(lines)


@pytest.fixture
def columnar_only(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each block the columnar scanner was given was taken; parsing a block record by record
    fails the test."""
    taken: list[bool] = []
    scan_columns = ZeekColumns.scan

    def spy(self: ZeekColumns, block: Block) -> BlockHits | None:
        found = scan_columns(self, block)
        taken.append(found is not None)
        return found

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a clean Zeek block was parsed record by record")

    monkeypatch.setattr(ZeekColumns, "scan", spy)
    monkeypatch.setattr(scan, "scan_block", refuse)
    return taken


def test_clean_zeek_spans_and_files_take_the_columnar_path(tmp_path: Path, columnar_only: list[bool]) -> None:
    """Every block of a clean log (one column count, no escapes) is scanned column by column, in spans
    and in whole files, and the spans' hits put together are the whole file's."""
    path = tmp_path / "dns.log"
    path.write_text(_clean_log(3000) + "#close\t2024\n" + HEADER.replace("query", "host") + _clean_log(50))
    size = path.stat().st_size
    tasks = [
        *span_tasks(path, [0, size // 3, size // 2, size]),
        Task(str(path), LogFormat.ZEEK, whole=True, end=size),
        Task(str(path), LogFormat.ZEEK, whole=True, end=size, from_line=2000),
    ]
    for task in tasks:
        columnar_only.clear()
        outcome = run_task(task, INDEX)
        assert columnar_only and all(columnar_only)
        assert outcome == record_by_record(task)
        assert len(outcome.hits) > 1000
    assert [hit for task in tasks[:3] for hit in run_task(task, INDEX).hits] == run_task(tasks[3], INDEX).hits


def test_malformed_lines_and_new_headers_in_a_span(tmp_path: Path) -> None:
    """Lines of another column count are skipped and reported (blank ones are passed over); lines after a
    new ``#fields`` are read under it; the elements of a set of several come after the record's other
    values, a set of one stays in its column's place."""
    path = tmp_path / "dns.log"
    path.write_text(
        HEADER
        + "1.0\t192.0.2.1\tevil.example\t192.0.2.9,a.b.evil.example\td41d8cd98f00b204e9800998ecf8427e\n"
        + "1.1\tonly three\n"
        + "\n"
        + "#fields\tquery\tanswers\n"
        + "b.evil.example\t2001:db8::1\n"
        + "1.2\t192.0.2.1\tevil.example\t-\t-\n"
    )
    (task,) = span_tasks(path, [0, path.stat().st_size])
    outcome = run_task(task, INDEX)
    assert outcome == record_by_record(task)
    assert [(line, field, observed, ref) for line, field, observed, _, _, ref in outcome.hits] == [
        (8, "id.orig_h", "192.0.2.1", 4),
        (8, "id.orig_h", "192.0.2.1", 5),
        (8, "query", "evil.example", 1),
        (8, "query", "evil.example", 2),
        (8, "tags", "d41d8cd98f00b204e9800998ecf8427e", 9),
        (8, "answers", "192.0.2.9", 5),
        (8, "answers", "a.b.evil.example", 3),
        (8, "answers", "a.b.evil.example", 1),
        (8, "answers", "a.b.evil.example", 2),
        (12, "query", "b.evil.example", 3),
        (12, "query", "b.evil.example", 1),
        (12, "query", "b.evil.example", 2),
        (12, "answers", "2001:db8::1", 6),
    ]
    assert (outcome.skipped, outcome.skipped_lines) == (2, [9, 13])
    assert len(outcome.headers) == 7 and outcome.headers[-1] == "#fields\tquery\tanswers"
    assert outcome.lines == 13


def test_columns_named_alike_report_an_indicator_once(tmp_path: Path) -> None:
    """A record reports an indicator once a field name: two columns of one name that hit the same
    indicator give one hit, as matching record by record does."""
    path = tmp_path / "x.log"
    path.write_text("#separator \\x09\n#fields\ta\tb\ta\nx.evil.example\t-\ty.evil.example\n")
    (task,) = span_tasks(path, [0, path.stat().st_size])
    outcome = run_task(task, INDEX)
    assert outcome == record_by_record(task)
    assert [observed for _, _, observed, *_ in outcome.hits] == ["x.evil.example", "x.evil.example"]


def test_a_zeek_span_without_a_schema_starts_as_a_file_does(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text(_clean_log(5))
    task = Task(str(path), LogFormat.ZEEK, start=0, end=path.stat().st_size)
    assert run_task(task, INDEX) == record_by_record(replace(task, schema=Schema()))
