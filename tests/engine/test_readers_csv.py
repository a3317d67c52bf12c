"""CSV and TSV with a header: sniffed delimiters, cells under column names, quoted newlines and the
physical line a record starts on, leading comments, header-less files, refused rows, blocks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.records import Record


def write(tmp_path: Path, text: str, *, gz: bool = False, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_each_cell_under_its_column(tmp_path: Path, delimiter: str, gz: bool) -> None:
    rows = [["ip", "domain", "comment"], ["198.51.100.7", "evil.example", "c2"], ["198.51.100.8", "", "x"]]
    text = "".join(delimiter.join(row) + "\n" for row in rows)
    reader = open_log(write(tmp_path, text, gz=gz))
    assert reader.format is LogFormat.CSV
    assert list(reader) == [
        Record(2, (("ip", "198.51.100.7"), ("domain", "evil.example"), ("comment", "c2"))),
        Record(3, (("ip", "198.51.100.8"), ("comment", "x"))),  # the empty cell is left out
    ]


def test_quoted_newlines_blank_lines_and_comments(tmp_path: Path) -> None:
    text = (
        "# exported 2026-11-29\n"
        "\n"
        "value,comment,seen\n"
        '"evil.example","two\n'
        'lines, and a comma",2026-01-01\n'
        "\n"
        '198.51.100.7,"three\n'
        "\n"
        'lines",2026-01-02\r\n'
        "  good.example ,  spaced ,2026-01-03\n"
    )
    reader = open_log(write(tmp_path, text))
    assert reader.format is LogFormat.CSV
    assert list(reader) == [
        Record(
            4, (("value", "evil.example"), ("comment", "two\nlines, and a comma"), ("seen", "2026-01-01"))
        ),
        Record(7, (("value", "198.51.100.7"), ("comment", "three\n\nlines"), ("seen", "2026-01-02"))),
        Record(10, (("value", "good.example"), ("comment", "spaced"), ("seen", "2026-01-03"))),
    ]


def test_quoted_newlines_across_small_chunks_and_blocks(tmp_path: Path) -> None:
    rows = [f'h{i}.example,"note\n{i}",{i}\n' for i in range(200)]
    path = write(tmp_path, "domain,note,n\n" + "".join(rows))
    reader = open_log(path, chunk_size=64)
    records = list(reader)
    assert [r.line for r in records] == [2 + 2 * i for i in range(200)]
    assert records == list(open_log(path))
    blocks = list(reader.blocks())
    assert len(blocks) > 10
    assert [r for b in blocks for r in b.records()] == records
    # Every block's records start within its lines.
    for block in blocks:
        assert all(block.first_line <= r.line < block.first_line + block.line_count for r in block.records())
    block = blocks[3]
    inside = block.first_line + 1
    (record,) = [r for r in block.records() if r.line <= inside < r.line + 2]
    assert list(block.records_at([inside])) == [record]


def test_wider_rows_and_header_less_files(tmp_path: Path) -> None:
    text = (
        "# IP/domain, threat level, description\n"
        "23.253.126.58,high,Simda CC\n"
        "bncv00.no-ip.info, critical, Zusy,x\n"
    )
    records = list(open_log(write(tmp_path, text), "csv"))
    assert records == [
        Record(2, (("column1", "23.253.126.58"), ("column2", "high"), ("column3", "Simda CC"))),
        Record(
            3,
            (
                ("column1", "bncv00.no-ip.info"),
                ("column2", "critical"),
                ("column3", "Zusy"),
                ("column4", "x"),
            ),
        ),
    ]
    text = "a,b\n1,2,3\n"
    assert list(open_log(write(tmp_path, text, name="wide.csv"), "csv")) == [
        Record(2, (("a", "1"), ("b", "2"), ("column3", "3")))
    ]


def test_refused_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    huge = "x" * 200_000  # beyond the csv module's field limit
    text = f'value,comment\nok.example,fine\nbad.example,"{huge}"\nafter.example,fine\n'
    reader = open_log(write(tmp_path, text))
    records = list(reader)
    assert [r.line for r in records] == [2, 4]
    assert reader.skipped == 1 and reader.skipped_lines == [3]
