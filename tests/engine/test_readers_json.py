"""Zeek JSON, Suricata EVE and other JSON lines: leaves under dotted paths, lists, numbers as text, nulls
and booleans left out, malformed lines skipped and counted, plain and gzip."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from commonspace.engine.readers import LogFormat, open_log

EVE_DNS = (
    '{"timestamp":"2021-06-06T15:59:46.457984+0200","flow_id":1374195536821504,"event_type":"dns",'
    '"src_ip":"10.0.0.5","src_port":51698,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP",'
    '"dns":{"type":"answer","id":1,"rrname":"evil.example","rrtype":"A","rcode":"NOERROR",'
    '"answers":[{"rrname":"evil.example","rrtype":"A","ttl":60,"rdata":"198.51.100.7"}],'
    '"grouped":{"A":["198.51.100.7","198.51.100.8"]}},"tx_id":null,"alert":{"rev":1.5,"blocked":false}}'
)
EVE_HTTP = (
    '{"event_type":"http","src_ip":"10.0.0.6","http":{"hostname":"bad.example","url":"/x.php?a=1",'
    '"http_user_agent":"","length":0},"tls":{"sni":"bad.example"},"nested":[[1,[2]],{"k":"v"}]}'
)
ZEEK_JSON = (
    '{"_path":"dns","ts":"2018-03-24T17:15:20.865716Z","uid":"CqK","id.orig_h":"10.47.1.100",'
    '"id.orig_p":41772,"query":"ise.wrccdc.org","AA":false,"answers":["ise.wrccdc.cpp.edu","134.71.3.16"],'
    '"TTLs":[2230.0,41830.0],"rtt":0.0008699893951416016}'
)


def write(tmp_path: Path, text: str | bytes, *, gz: bool = False, name: str = "eve.json") -> Path:
    data = text.encode() if isinstance(text, str) else text
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_eve_leaves_under_dotted_paths(tmp_path: Path, gz: bool) -> None:
    reader = open_log(write(tmp_path, EVE_DNS + "\n" + EVE_HTTP + "\n", gz=gz))
    assert reader.format is LogFormat.EVE
    dns, http = list(reader)
    assert dns.line == 1 and http.line == 2
    assert dns.values == (
        ("timestamp", "2021-06-06T15:59:46.457984+0200"),
        ("flow_id", "1374195536821504"),
        ("event_type", "dns"),
        ("src_ip", "10.0.0.5"),
        ("src_port", "51698"),
        ("dest_ip", "10.0.0.1"),
        ("dest_port", "53"),
        ("proto", "UDP"),
        ("dns.type", "answer"),
        ("dns.id", "1"),
        ("dns.rrname", "evil.example"),
        ("dns.rrtype", "A"),
        ("dns.rcode", "NOERROR"),
        ("dns.answers.rrname", "evil.example"),
        ("dns.answers.rrtype", "A"),
        ("dns.answers.ttl", "60"),
        ("dns.answers.rdata", "198.51.100.7"),
        ("dns.grouped.A", "198.51.100.7"),
        ("dns.grouped.A", "198.51.100.8"),
        ("alert.rev", "1.5"),  # null and false left out
    )
    assert http.values == (
        ("event_type", "http"),
        ("src_ip", "10.0.0.6"),
        ("http.hostname", "bad.example"),
        ("http.url", "/x.php?a=1"),
        ("http.length", "0"),  # the empty user agent is left out
        ("tls.sni", "bad.example"),
        ("nested", "1"),
        ("nested", "2"),
        ("nested.k", "v"),
    )
    assert reader.skipped == 0


def test_zeek_json_keeps_zeek_names(tmp_path: Path) -> None:
    reader = open_log(write(tmp_path, ZEEK_JSON + "\n", name="dns.log"))
    assert reader.format is LogFormat.ZEEK_JSON
    (record,) = list(reader)
    assert record.values == (
        ("_path", "dns"),
        ("ts", "2018-03-24T17:15:20.865716Z"),
        ("uid", "CqK"),
        ("id.orig_h", "10.47.1.100"),
        ("id.orig_p", "41772"),
        ("query", "ise.wrccdc.org"),
        ("answers", "ise.wrccdc.cpp.edu"),
        ("answers", "134.71.3.16"),
        ("TTLs", "2230.0"),
        ("TTLs", "41830.0"),
        ("rtt", "0.0008699893951416016"),
    )


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    text = (
        b"\n"  # blank: ignored, not counted
        + EVE_HTTP.encode()
        + b"\n"
        + b'{"event_type": "dns", "truncated\n'
        + b"[1, 2, 3]\n"  # JSON, but not an object
        + b"   \r\n"
        + b'{"src_ip": "10.0.0.9", "big": 123456789012345678901234567890, "bad": "\xff\xfe"}\r\n'
        + b"not json at all\n"
        + EVE_DNS.encode()  # no final newline
    )
    reader = open_log(write(tmp_path, text), "eve")
    records = list(reader)
    assert [r.line for r in records] == [2, 6, 8]
    # Invalid UTF-8 and integers beyond 64 bits still read (by the standard library's parser).
    assert records[1].values == (
        ("src_ip", "10.0.0.9"),
        ("big", "123456789012345678901234567890"),
        ("bad", "\ufffd\ufffd"),
    )
    assert reader.skipped == 3 and reader.skipped_lines == [3, 4, 7]


def test_physical_lines_across_chunks(tmp_path: Path) -> None:
    lines = [EVE_DNS.replace("10.0.0.5", f"10.0.{i // 256}.{i % 256}") for i in range(300)]
    lines[10] = ""
    lines[20] = "{broken"
    path = write(tmp_path, "\n".join(lines) + "\n", gz=True)
    reader = open_log(path, chunk_size=1000)
    records = list(reader)
    assert len(records) == 298 and reader.skipped == 1 and reader.skipped_lines == [21]
    assert all(
        dict(r.values)["src_ip"] == f"10.0.{(r.line - 1) // 256}.{(r.line - 1) % 256}" for r in records
    )
    assert records == list(open_log(path))


def test_records_at_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "\n".join([EVE_HTTP, EVE_DNS, "{bad", EVE_HTTP]) + "\n")
    reader = open_log(path)
    (block,) = list(reader.blocks())
    assert [r.line for r in block.records_at([4, 2, 3, 9])] == [2, 4]
    assert reader.skipped == 1 and reader.skipped_lines == [3]
