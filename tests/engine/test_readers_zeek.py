"""Zeek TSV: headers, separators, set and vector columns split per #types, nulls, escapes, several logs in
one file, physical line numbers, malformed lines, plain and gzip, and the block fast path."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.records import Record

HEADER = (
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tdns\n"
    "#open\t2024-04-12-19-29-12\n"
    "#fields\tts\tuid\tid.orig_h\tquery\tanswers\tTTLs\ttags\n"
    "#types\ttime\tstring\taddr\tstring\tvector[string]\tvector[interval]\tset[string]\n"
)
DNS = (
    HEADER
    + "1521911720.865716\tCq1\t10.47.1.100\tise.wrccdc.org\t"
    + "ise.wrccdc.cpp.edu,134.71.3.16\t2230.0,41830.0\t-\n"
    + "1521911720.865911\tCq2\t10.47.1.101\tevil.example\t-\t-\t(empty)\n"
    + "1521911720.866000\tCq3\t10.47.1.102\tone.example\t192.0.2.1\t60.0\tx,y\n"
    + "#close\t2024-04-12-19-34-07\n"
)


def write(tmp_path: Path, text: str | bytes, *, gz: bool = False, name: str = "dns.log") -> Path:
    data = text.encode() if isinstance(text, str) else text
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read(path: Path, fmt: str = "auto", **kwargs: int) -> list[Record]:
    return list(open_log(path, fmt, **kwargs))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_columns_sets_and_nulls(tmp_path: Path, gz: bool) -> None:
    reader = open_log(write(tmp_path, DNS, gz=gz))
    assert reader.format is LogFormat.ZEEK
    records = list(reader)
    assert [r.line for r in records] == [9, 10, 11]
    # Numeric columns (ts: time, TTLs: vector[interval]) give no values.
    assert records[0].values == (
        ("uid", "Cq1"),
        ("id.orig_h", "10.47.1.100"),
        ("query", "ise.wrccdc.org"),
        ("answers", "ise.wrccdc.cpp.edu"),
        ("answers", "134.71.3.16"),
    )
    # "-" and "(empty)" are null: no value at all for them.
    assert records[1].values == (
        ("uid", "Cq2"),
        ("id.orig_h", "10.47.1.101"),
        ("query", "evil.example"),
    )
    # A one-element vector is one value, in its column's place; a longer set's elements come last.
    assert records[2].values == (
        ("uid", "Cq3"),
        ("id.orig_h", "10.47.1.102"),
        ("query", "one.example"),
        ("answers", "192.0.2.1"),
        ("tags", "x"),
        ("tags", "y"),
    )
    assert reader.skipped == 0 and reader.read_error is None


def test_only_container_columns_are_split(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n#set_separator\t,\n#fields\tuser_agent\tnames\n#types\tstring\tset[string]\n"
        "Mozilla/5.0 (KHTML, like Gecko)\ta,b\n"
    )
    (record,) = read(write(tmp_path, text))
    assert record.values == (
        ("user_agent", "Mozilla/5.0 (KHTML, like Gecko)"),
        ("names", "a"),
        ("names", "b"),
    )


def test_without_types_nothing_is_split(tmp_path: Path) -> None:
    text = "#separator \\x09\n#fields\ta\tb\n1,2\tx\n"
    assert read(write(tmp_path, text)) == [Record(3, (("a", "1,2"), ("b", "x")))]


def test_bool_columns_are_left_out(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n#fields\tAA\tquery\tflag\n#types\tbool\tstring\tstring\n"
        "T\tx.example\tT\n"
        "F\t-\tF\n"
        "T\tesc\\x41.example\tF\n"  # the slow path, for escapes, leaves them out too
    )
    assert read(write(tmp_path, text)) == [
        Record(4, (("query", "x.example"), ("flag", "T"))),  # a string column holding "T" stays
        Record(5, (("flag", "F"),)),
        Record(6, (("query", "escA.example"), ("flag", "F"))),
    ]


def test_numeric_columns_are_left_out_whole(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n#set_separator\t,\n"
        "#fields\tts\tport\tn\tttls\tname\tips\n"
        "#types\ttime\tport\tcount\tvector[interval]\tstring\tset[addr]\n"
        "1.5\t53\t192.0.2.9\t1.0,2.0\tx.example\t192.0.2.1\n"  # even a corrupt count column
        "2.5\t53\t7\t-\tesc\\x41.example\t192.0.2.1,192.0.2.2\n"  # the slow path, for escapes
    )
    assert read(write(tmp_path, text)) == [
        Record(5, (("name", "x.example"), ("ips", "192.0.2.1"))),
        Record(6, (("name", "escA.example"), ("ips", "192.0.2.1"), ("ips", "192.0.2.2"))),
    ]


def test_other_separators_and_null_markers(tmp_path: Path) -> None:
    text = (
        "#separator \\x7c\n"
        "#set_separator|;\n"
        "#empty_field|EMPTY\n"
        "#unset_field|NONE\n"
        "#fields|host|ips|note\n"
        "#types|string|set[addr]|string\n"
        "evil.example|192.0.2.1;192.0.2.2|NONE\n"
        "good.example|EMPTY|a\tb\n"
    )
    assert read(write(tmp_path, text)) == [
        Record(7, (("host", "evil.example"), ("ips", "192.0.2.1"), ("ips", "192.0.2.2"))),
        Record(8, (("host", "good.example"), ("note", "a\tb"))),
    ]


def test_escapes_are_undone(tmp_path: Path) -> None:
    text = (
        HEADER + "1.0\tC1\t10.0.0.1\tweird\\x09name.example\ta\\x2cb,c\t-\t-\n"
        "2.0\tC2\t10.0.0.2\tback\\\\slash\t-\t-\t-\n"
        "3.0\tC3\t10.0.0.3\tplain.example\t-\t-\t-\n"
        "4.0\tC4\t10.0.0.4\tcaf\\xc3\\xa9.example\t-\t-\t-\n"
    )
    records = read(write(tmp_path, text))
    assert [dict(r.values)["query"] for r in records] == [
        "weird\tname.example",
        "back\\slash",
        "plain.example",
        "café.example",
    ]
    # An escaped set separator is inside an element, not between two.
    assert [v for f, v in records[0].values if f == "answers"] == ["a,b", "c"]


def test_several_logs_in_one_file_and_physical_lines(tmp_path: Path) -> None:
    conn = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        "#fields\tts\tid.resp_h\tservice\n#types\ttime\taddr\tstring\n"
        "\n"  # a blank line: no record, still a line
        "5.0\t198.51.100.9\t-\n"
        "#close\tx\n"
    )
    text = DNS + conn
    records = read(write(tmp_path, text))
    lines = text.split("\n")
    for record in records:
        first_value = record.values[0][1]
        assert first_value in lines[record.line - 1]
    assert [r.line for r in records] == [9, 10, 11, 21]
    assert records[-1].values == (("id.resp_h", "198.51.100.9"),)


def test_a_new_fields_header_resets_the_schema(tmp_path: Path) -> None:
    text = (
        "#separator \\x09\n#fields\ta\tb\n#types\tstring\tset[string]\n1\tx,y\n"
        "#fields\tc\td\n2\tx,y\n"  # no #types: d is a plain string now
    )
    assert read(write(tmp_path, text)) == [
        Record(4, (("a", "1"), ("b", "x"), ("b", "y"))),
        Record(6, (("c", "2"), ("d", "x,y"))),
    ]


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    text = (
        "stray line before any header\n"
        + HEADER
        + "1.0\tC1\t10.0.0.1\tok.example\t-\t-\t-\n"
        + "2.0\tC2\ttoo few columns\n"
        + "3.0\tC3\t10.0.0.3\tok2.example\t-\t-\t-\textra\n"
        + "4.0\tC4\t10.0.0.4\tok3.example\t-\t-\t-\n"
        + "5.0\tC5\t10.0.0\\x41\tshort\\x09\n"  # escapes do not save a short line
    )
    reader = open_log(write(tmp_path, text), "zeek")
    assert [r.line for r in reader] == [10, 13]
    assert reader.skipped == 4 and reader.skipped_lines == [1, 11, 12, 14]
    list(reader)  # counts start afresh with each reading
    assert reader.skipped == 4


def test_crlf_line_ends(tmp_path: Path) -> None:
    text = "#separator \\x09\r\n#fields\ta\tb\r\n#types\tstring\tstring\r\nx\ty\r\n"
    assert read(write(tmp_path, text)) == [Record(4, (("a", "x"), ("b", "y")))]


def test_last_line_without_newline(tmp_path: Path) -> None:
    text = "#separator \\x09\n#fields\ta\tb\nx\ty"
    assert read(write(tmp_path, text)) == [Record(3, (("a", "x"), ("b", "y")))]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_small_chunks_give_the_same_records(tmp_path: Path, gz: bool) -> None:
    rows = "".join(
        f"{i}.0\tC{i}\t10.0.{i % 256}.1\th{i}.example\ta{i},b{i}\t1.0,2.0\t-\n" for i in range(500)
    )
    text = HEADER + rows[: len(rows) // 2] + "#close\tx\n" + HEADER + rows[len(rows) // 2 :]
    path = write(tmp_path, text, gz=gz)
    whole = read(path)
    assert read(path, chunk_size=97) == whole  # chunks cut lines and headers anywhere
    assert len(whole) == 500
    lines = text.split("\n")
    assert all(f"\t{r.values[0][1]}\t" in lines[r.line - 1] for r in whole)


def test_blocks_hold_data_lines_under_one_schema(tmp_path: Path) -> None:
    path = write(tmp_path, DNS + DNS)
    reader = open_log(path)
    blocks = list(reader.blocks())
    assert [b.first_line for b in blocks] == [9, 21]
    assert all(not line.startswith(b"#") for b in blocks for line in b.data.splitlines())
    assert [r for b in blocks for r in b.records()] == list(reader)
    # The fast path: find the lines worth parsing in the raw block, parse only those.
    block = blocks[1]
    offset = block.data.index(b"evil.example")
    line = block.first_line + block.data.count(b"\n", 0, offset)
    assert [r.line for r in block.records_at([line, line, 1, 99])] == [22]
    assert dict(next(block.records_at([line])).values)["query"] == "evil.example"


def test_progress_reports_bytes_read(tmp_path: Path) -> None:
    path = write(tmp_path, DNS * 200, gz=True)
    seen: list[int] = []
    reader = open_log(path, progress=seen.append, chunk_size=1024)
    assert sum(1 for _ in reader) == 600
    assert seen == sorted(seen) and seen[-1] == reader.bytes_read == reader.size == path.stat().st_size
