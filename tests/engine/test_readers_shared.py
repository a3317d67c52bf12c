"""The real logs of the shared data folder (Zeek TSV and JSON from WRCCDC 2018, Slips' Zeek and Suricata
test captures): each reads in its detected format without a skipped line, with the record counts that
counting lines independently gives, and the same DNS log gives the same values in TSV and in JSON."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from commonspace.demo.sources import default_data_dir
from commonspace.engine.readers import LogFormat, open_log

IN_CI = os.environ.get("CI", "").lower() == "true"

# Files and their formats: what the content is, whatever the name says.
EXPECTED = {
    "zeek-wrccdc2018/dns.log": LogFormat.ZEEK,
    "zeek-wrccdc2018/ssl.log": LogFormat.ZEEK,
    "zeek-wrccdc2018/weird.log": LogFormat.ZEEK,
    "zeek-wrccdc2018/syslog.log": LogFormat.ZEEK,
    "zeek-wrccdc2018/x509.log": LogFormat.ZEEK,
    "zeek-wrccdc2018/smtp.log": LogFormat.ZEEK,
    "zeek-wrccdc2018/dns.json": LogFormat.ZEEK_JSON,
    "zeek-wrccdc2018/ssl.json": LogFormat.ZEEK_JSON,
    "slips/test6-malicious.suricata.json": LogFormat.EVE,
    "slips/test9-mixed-zeek-dir__dns.log": LogFormat.ZEEK_JSON,  # Zeek JSON under a .log name
    "slips/test9-mixed-zeek-dir__files.log": LogFormat.ZEEK_JSON,
    "slips/test9-mixed-zeek-dir__http.log": LogFormat.ZEEK_JSON,
    "slips/test18-malicious-ctu-sme-11-win__zeek-labeled__conn.log.labeled": LogFormat.ZEEK,
    "slips/test2-malicious.binetflow": LogFormat.CSV,
}


@pytest.fixture(scope="module")
def logs() -> Path:
    root = default_data_dir() / "logs"
    if not root.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {root}")
        pytest.skip(f"no shared logs at {root}")
    return root


def data_lines(path: Path) -> int:
    """Lines that are neither blank nor ``#`` comments, counted without the readers."""
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip() and not line.startswith(b"#"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_logs_read_whole(logs: Path, name: str) -> None:
    path = logs / name
    assert path.is_file(), f"missing from the shared folder: {name}"
    reader = open_log(path)
    assert reader.format is EXPECTED[name]
    records = list(reader)
    assert reader.skipped == 0 and reader.read_error is None
    expected = data_lines(path) - (1 if reader.format is LogFormat.CSV else 0)  # the CSV header
    assert len(records) == expected
    lines = [r.line for r in records]
    assert lines == sorted(set(lines))
    assert all(value and field for r in records for field, value in r.values)
    assert reader.bytes_read == reader.size


def test_zeek_tsv_and_json_agree(logs: Path) -> None:
    tsv = list(open_log(logs / "zeek-wrccdc2018/dns.log"))
    json = list(open_log(logs / "zeek-wrccdc2018/dns.json"))
    assert len(tsv) == len(json) == 53_615
    assert tsv[0].line == 9 and json[0].line == 1  # eight header lines before the first record
    # The same fields and values, but for the numbers: TSV leaves its numeric columns out, by their
    # #types (JSON has no types, and booleans are left out of both).
    written = {"_path", "_write_ts"}
    numbers = {"ts", "id.orig_p", "id.resp_p", "trans_id", "rtt", "qclass", "qtype", "rcode", "Z", "TTLs"}
    assert numbers <= {f for r in json[:1000] for f, _ in r.values}
    for a, b in zip(tsv[::7], json[::7], strict=True):
        assert a.values == tuple(p for p in b.values if p[0] not in numbers | written)
    queries = Counter(v for r in tsv for f, v in r.values if f == "query")
    assert len(queries) > 100 and "ise.wrccdc.org" in queries


def test_eve_events(logs: Path) -> None:
    records = list(open_log(logs / "slips/test6-malicious.suricata.json"))
    kinds = Counter(v for r in records for f, v in r.values if f == "event_type")
    assert kinds == {
        "flow": 3512,
        "alert": 745,
        "dns": 680,
        "http": 56,
        "anomaly": 3,
        "fileinfo": 3,
        "tls": 1,
    }
    fields = {f for r in records for f, _ in r.values}
    assert {"src_ip", "dest_ip", "dns.rrname", "http.hostname", "tls.sni", "alert.signature"} <= fields
