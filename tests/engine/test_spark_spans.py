"""The Spark engine without Spark: adjacent spans hold adjacent whole lines, each line in exactly one span,
whatever the split size, the chunk size and the line lengths; a task finds its lines by itself; long lines
are noted; Zeek header lines are kept; a span task gives what the file's reader gives for its lines; and
the driver, with the tasks run in this process, puts spans of a few bytes together into what the reader
gives for the whole file (many examples cheaply: the Spark tests themselves run few)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import match_records
from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.readers._base import MAX_LINE
from commonspace.engine.readers.spans import Span
from commonspace.engine.readers.zeek import Schema
from commonspace.engine.spark import SparkMatches
from commonspace.engine.spark.run import plan_file
from commonspace.engine.spark.tasks import Task, run_task


def spans(path: Path, split: int, chunk_size: int) -> list[tuple[Span, bytes]]:
    """The spans of the file for this split size, each with the bytes it gave."""
    size = path.stat().st_size
    bounds = [*range(0, size, split), size] if size else [0, 0]
    out = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        span = Span(path, start, end, chunk_size=chunk_size)
        out.append((span, b"".join(data for _, data in span.chunks())))
    return out


@settings(max_examples=300, deadline=None)
@given(
    content=st.lists(
        st.sampled_from([b"", b"a", b"bc", b"\n", b"\r\n", b"#x", b"defgh", b"\n\n"]), max_size=40
    ),
    split=st.integers(1, 40),
    chunk_size=st.integers(1, 9),
)
def test_spans_tile_the_file_in_whole_lines(content: list[bytes], split: int, chunk_size: int) -> None:
    data = b"".join(content)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log"
        path.write_bytes(data)
        parts = spans(path, split, chunk_size)
    expected = data if not data or data.endswith(b"\n") else data + b"\n"
    assert b"".join(read for _, read in parts) == expected
    for span, read in parts:
        assert read.count(b"\n") == span.lines
        assert read == b"" or read.endswith(b"\n")
        assert not span.long_line and span.ended
    # Each span starts where its predecessor stopped, at a line start.
    stops = [span.stop for span, _ in parts if span.lines]
    begins = [span.begin for span, _ in parts if span.lines]
    assert begins[:1] in ([], [0]) and begins[1:] == stops[:-1]
    assert all(begin == 0 or data[begin - 1 : begin] == b"\n" for begin in begins)


def test_a_span_numbers_its_lines_and_reads_past_its_end_to_finish_a_line(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"one\ntwo\nthree\nfour")
    span = Span(path, 5, 9, first_line=7)  # "two" starts at 4 (not ours); "three" at 8 (ours)
    assert list(span.chunks()) == [(7, b"three\n")]
    assert (span.begin, span.stop, span.lines) == (8, 14, 1)
    span = Span(path, 9, 18, chunk_size=2)
    assert b"".join(data for _, data in span.chunks()) == b"four\n"
    assert (span.begin, span.stop, span.lines) == (14, 18, 1)
    assert list(Span(path, 10, 13).chunks()) == []  # no line starts in it


def test_a_line_longer_than_max_line_stops_the_span(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"short\n" + b"x" * (MAX_LINE + 1) + b"\nafter\n")
    span = Span(path, 0, 10)
    list(span.chunks())
    assert span.long_line
    exact = tmp_path / "exact"
    exact.write_bytes(b"short\n" + b"x" * MAX_LINE + b"\n")
    span = Span(exact, 0, 10)
    assert b"".join(data for _, data in span.chunks()).count(b"\n") == 2 and not span.long_line


def test_zeek_header_lines_that_may_change_the_schema_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_bytes(
        b"#separator \\x09\n#path\tconn\n#fields\ta\tb\n1\t2\n#close\tx\n#types\tstring\tstring\n"
    )
    span = Span(path, 0, path.stat().st_size, zeek=True, chunk_size=7)
    list(span.chunks())
    assert span.headers == ["#separator \\x09", "#fields\ta\tb", "#types\tstring\tstring"]


def test_a_span_task_gives_what_the_reader_gives_for_its_lines(tmp_path: Path) -> None:
    index = IndicatorIndex([(IndicatorType.DOMAIN, "evil.example", 1), (IndicatorType.IPV4, "192.0.2.1", 2)])
    path = tmp_path / "log.json"
    lines = [b'{"a": "x%d.evil.example", "b": "192.0.2.1"}' % n if n % 3 else b"not json" for n in range(40)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    expected = list(match_records(open_log(path), index))
    task = Task(str(path), LogFormat.EVE, start=0, end=path.stat().st_size)
    outcome = run_task(task, index)
    assert [hit[0] for hit in outcome.hits] == [hit.line for hit in expected]
    assert outcome.skipped == 14 and outcome.skipped_lines == [1, 4, 7, 10, 13, 16, 19, 22, 25, 28]
    assert outcome.lines == 40 and not outcome.cut and not outcome.long_line


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("# comment\nip,name\n192.0.2.1,a\n" + "192.0.2.2,b\n" * 20, None),
        ("# only comments\n" * 10, "CSV without a row after its first"),
        ("ip,name\n", "CSV without a row after its first"),
    ],
)
def test_csv_plans_keep_the_header_in_the_first_span(tmp_path: Path, text: str, whole: str | None) -> None:
    path = tmp_path / "data.csv"
    path.write_text(text)
    plan = plan_file(path, "csv", 5)
    assert plan.whole == whole
    if whole is None:
        assert plan.bounds[1] >= text.index("192.0.2.1")  # the comment and the header row are in span 0
        assert plan.csv is not None and plan.csv.names == ("ip", "name")


def test_zeek_plans_take_the_headers_the_file_starts_with(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\ta\tb\n#types\tstring\taddr\n" + "x\t192.0.2.1\n" * 10)
    plan = plan_file(path, "auto", 16)
    assert plan.format is LogFormat.ZEEK
    assert plan.schema == Schema(fields=("a", "b"), types=("string", "addr"))


# --- the driver's checks, with Spark replaced by a stand-in that runs the tasks in this process ---------
class InProcess:
    """What the driver asks of a SparkContext, done here: each partition's tasks run in turn."""

    defaultParallelism = 2

    def broadcast(self, value: object) -> SimpleNamespace:
        return SimpleNamespace(value=value, destroy=lambda: None)

    def parallelize(self, partitions: list[object], slices: int) -> list[object]:
        assert slices == len(partitions)
        return partitions

    def runJob(self, rdd: list[object], run: Any, partitions: list[int] | None = None) -> list[object]:
        chosen = range(len(rdd)) if partitions is None else partitions
        return [outcome for i in chosen for outcome in run(iter([rdd[i]]))]

    def setJobGroup(self, *args: object, **kwargs: object) -> None:
        pass

    def cancelJobGroup(self, group: str) -> None:
        pass


PIECES = {
    "text": ["192.0.2.1", "evil.example.", " ", "x", "\r", "(a.evil.example)", "é"],
    "csv": ["192.0.2.1", "evil.example", ",", '"', '""', "\n", "a b", "\r"],
    "zeek": [
        "192.0.2.1",
        "evil.example",
        "\t",
        ",",
        "-",
        "\\x41",
        "#fields\ta\tb\n",
        "#types\tstring\tset[string]\n",
        "#separator \\x2c\n#fields,a,b\n",
        "#close\tx\n",
    ],
    "eve": ['{"a": "192.0.2.1"}', '{"b": ["evil.example", 1]}', "{", "null", " "],
    "ncsa": [
        '192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET http://evil.example/ HTTP/1.0" 200 2326',
        "junk",
    ],
}
HEADS = {
    "text": "",
    "csv": "# c\nip,name\n",
    "zeek": "#separator \\x09\n#fields\ta\tb\n#types\tstring\taddr\n",
    "eve": "",
    "ncsa": "",
}
FORMATS = {"text": "text", "csv": "csv", "zeek": "zeek", "eve": "eve", "ncsa": "ncsa"}


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(PIECES)),
    lines=st.lists(st.lists(st.integers(0, 9), max_size=6), max_size=30),
    split=st.integers(1, 80),
    ending=st.sampled_from(["\n", "\r\n", ""]),
)
def test_the_driver_puts_spans_together_as_the_reader_reads_the_file(
    kind: str, lines: list[list[int]], split: int, ending: str
) -> None:
    pieces = PIECES[kind]
    body = (ending or "\n").join("".join(pieces[i % len(pieces)] for i in line) for line in lines)
    text = HEADS[kind] + body + ending
    indicators = [(IndicatorType.IPV4, "192.0.2.1", 1), (IndicatorType.DOMAIN, "evil.example", 2)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log"
        path.write_bytes(text.encode())
        reader = open_log(path, FORMATS[kind])
        expected = [(str(path), hit) for hit in match_records(reader, IndicatorIndex(indicators))]
        travelling = [(type_.value, value, ref) for type_, value, ref in indicators]
        run = SparkMatches(
            [path],
            travelling,
            fmt=FORMATS[kind],
            master="in-process",
            progress=None,
            context=InProcess(),  # type: ignore[arg-type]
            split_size=split,
            wave=3,
        )
        assert list(run) == expected
        assert (run.skipped[str(path)], run.skipped_lines[str(path)]) == (
            reader.skipped,
            reader.skipped_lines,
        )
