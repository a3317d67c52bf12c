"""NCSA access logs (combined and common) and plain text: fields, nulls, junk requests, malformed lines,
the tokeniser, physical lines, plain and gzip."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.records import Record

COMBINED = (
    '203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?id=1 HTTP/1.0" 200 2326 '
    '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"\n'
)
COMMON = '198.51.100.2 - - [10/Oct/2000:13:55:37 -0700] "POST /login HTTP/1.1" 302 -\n'
JUNK = '192.0.2.44 - - [10/Oct/2000:13:55:38 -0700] "\\x16\\x03\\x01" 400 226 "-" "say \\"hi\\""\n'


def write(tmp_path: Path, text: str | bytes, *, gz: bool = False, name: str = "access.log") -> Path:
    data = text.encode() if isinstance(text, str) else text
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_ncsa_fields(tmp_path: Path, gz: bool) -> None:
    reader = open_log(write(tmp_path, COMBINED + COMMON + JUNK, gz=gz))
    assert reader.format is LogFormat.NCSA
    assert list(reader) == [
        Record(
            1,
            (
                ("host", "203.0.113.7"),
                ("user", "frank"),
                ("time", "10/Oct/2000:13:55:36 -0700"),
                ("method", "GET"),
                ("url", "/apache_pb.gif?id=1"),
                ("protocol", "HTTP/1.0"),
                ("status", "200"),
                ("bytes", "2326"),
                ("referer", "http://www.example.com/start.html"),
                ("user_agent", "Mozilla/4.08 [en] (Win98; I ;Nav)"),
            ),
        ),
        Record(
            2,
            (
                ("host", "198.51.100.2"),
                ("time", "10/Oct/2000:13:55:37 -0700"),
                ("method", "POST"),
                ("url", "/login"),
                ("protocol", "HTTP/1.1"),
                ("status", "302"),
            ),
        ),
        Record(
            3,
            (
                ("host", "192.0.2.44"),
                ("time", "10/Oct/2000:13:55:38 -0700"),
                ("url", "\\x16\\x03\\x01"),  # a junk request is kept whole as the target
                ("status", "400"),
                ("bytes", "226"),
                ("user_agent", 'say "hi"'),
            ),
        ),
    ]
    assert reader.skipped == 0


def test_ncsa_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    text = (
        COMBINED
        + "\n"
        + "garbage line\n"
        + COMBINED.replace("[10/Oct", "10/Oct")
        + COMMON.rstrip("\n")
        + "\r\n"
    )
    reader = open_log(write(tmp_path, text), "ncsa")
    assert [r.line for r in reader] == [1, 5]
    assert reader.skipped == 2 and reader.skipped_lines == [3, 4]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_text_tokens(tmp_path: Path, gz: bool) -> None:
    text = (
        "Nov 29 12:00:01 gw sshd[311]: Failed password for root from 203.0.113.9 port 52144 ssh2\n"
        "\n"
        "  ,;()  \n"  # punctuation only: no record
        'Beacon to "http://evil.example/a?b=1&c=%20#frag" (see <mailer@bad.example>), then evil.example.\n'
        "[198.51.100.7:8080];'x'|y\tC:\\Users\\x\\run.exe fe80::1 ...\n"
    )
    reader = open_log(write(tmp_path, text, gz=gz, name="notes.txt"))
    assert reader.format is LogFormat.TEXT
    records = list(reader)
    assert [r.line for r in records] == [1, 4, 5]
    assert all(field == "text" for r in records for field, _ in r.values)
    assert [v for _, v in records[0].values] == [
        "Nov", "29", "12:00:01", "gw", "sshd", "311", ":", "Failed", "password", "for", "root", "from",
        "203.0.113.9", "port", "52144", "ssh2",
    ]  # fmt: skip
    assert [v for _, v in records[1].values] == [
        "Beacon", "to", "http://evil.example/a?b=1&c=%20#frag", "see", "mailer@bad.example", "then",
        "evil.example",
    ]  # fmt: skip
    assert [v for _, v in records[2].values] == [
        "198.51.100.7:8080", "x", "y", "C:\\Users\\x\\run.exe", "fe80::1", "..",
    ]  # fmt: skip
    (block,) = list(reader.blocks())
    assert list(block.records_at([5, 4])) == records[1:]


def test_text_invalid_utf8_and_long_lines(tmp_path: Path) -> None:
    text = b"caf\xe9 evil.example\n" + b"x" * 5000 + b"\nlast 198.51.100.1"
    reader = open_log(write(tmp_path, text), "text", chunk_size=1000, max_line=3000)
    assert list(reader) == [
        Record(1, (("text", "caf\ufffd"), ("text", "evil.example"))),
        Record(3, (("text", "last"), ("text", "198.51.100.1"))),
    ]
    assert reader.skipped == 1 and reader.skipped_lines == [2]
