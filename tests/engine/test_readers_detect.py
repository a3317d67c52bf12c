"""Format detection from the first bytes of the content (after gunzip, whatever the file is called)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from commonspace.engine.readers import FORMATS, LogFormat, detect_format, open_log

ZEEK = "#separator \\x09\n#set_separator\t,\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\tevil.example\n"
EVE = '{"timestamp":"2021-06-06T15:59:46+0200","event_type":"alert","src_ip":"10.0.0.1"}\n' * 3
ZEEK_JSON = '{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","query":"a.example"}\n' * 3
ZEEK_JSON_PATH = '{"_path":"files","ts":"2018-03-24T17:15:20Z","fuid":"F1"}\n'
OTHER_JSON = '{"host":"a.example","count":3}\n{"host":"b.example","count":4}\n'
NCSA = '203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "curl/8.0"\n' * 3
CSV = "ip,domain,first_seen\n198.51.100.7,evil.example,2026-01-01\n198.51.100.8,bad.example,2026-01-02\n"
TSV = CSV.replace(",", "\t")
SEMICOLON = CSV.replace(",", ";")
PIPE = CSV.replace(",", "|")
TEXT = "Dear team, we saw beacons to evil.example.\nPlease block 198.51.100.7; thanks, the SOC\n"

CASES = [
    (ZEEK, LogFormat.ZEEK),
    ("\ufeff" + ZEEK, LogFormat.ZEEK),
    (EVE, LogFormat.EVE),
    (ZEEK_JSON, LogFormat.ZEEK_JSON),
    (ZEEK_JSON_PATH, LogFormat.ZEEK_JSON),
    (OTHER_JSON, LogFormat.EVE),  # other JSON lines read like EVE: the same leaves
    (NCSA, LogFormat.NCSA),
    (CSV, LogFormat.CSV),
    (TSV, LogFormat.CSV),
    (SEMICOLON, LogFormat.CSV),
    (PIPE, LogFormat.CSV),
    (TEXT, LogFormat.TEXT),
    ("", LogFormat.TEXT),
    ("just one line, with a comma\n", LogFormat.TEXT),
    ('{"pretty": [\n  1, 2\n]}\n', LogFormat.TEXT),  # one JSON document over several lines: not JSON lines
    ("a,b\n1,2,3\n4\n", LogFormat.TEXT),  # inconsistent widths
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_detect_format(text: str, expected: LogFormat) -> None:
    assert detect_format(text.encode(), complete=True) is expected


@pytest.mark.parametrize(("text", "expected"), CASES)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_open_log_detects_by_content_not_name(
    tmp_path: Path, text: str, expected: LogFormat, gz: bool
) -> None:
    path = tmp_path / "misleading.json.txt"  # neither the name nor the suffix is looked at
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    reader = open_log(path)
    assert reader.format is expected and reader.path == path


def test_a_line_longer_than_the_head() -> None:
    line = b'{"event_type":"fileinfo","payload":"' + b"A" * 70_000 + b'"}'
    assert detect_format(line[:65536]) is LogFormat.EVE
    line = b'{"ts":1.0,"uid":"C1","data":"' + b"A" * 70_000 + b'"}'
    assert detect_format(line[:65536]) is LogFormat.ZEEK_JSON


def test_a_cut_last_line_is_not_judged() -> None:
    head = EVE.encode() + b'{"event_type":"al'
    assert detect_format(head) is LogFormat.EVE


def test_forced_and_unknown_formats(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text(CSV)
    assert open_log(path, "text").format is LogFormat.TEXT
    assert FORMATS == ("auto", "zeek", "zeek-json", "eve", "csv", "ncsa", "text")
    with pytest.raises(ValueError, match="unknown log format 'bro'"):
        open_log(path, "bro")
    with pytest.raises(OSError):
        open_log(tmp_path / "missing.log")
