"""The scanners give exactly the hits of match_records: the columnar Zeek fast path on generated logs
(containers, nulls, escapes, odd lines, several schemas, blocks cut anywhere) and on the real logs."""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commonspace.demo.sources import default_data_dir
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import Hit, match_records
from commonspace.engine.readers import open_log
from commonspace.engine.scan import BlockHits, Scanner, group_hits, hits_of
from commonspace.engine.zeek_columns import ZeekColumns
from sample_index import SAMPLE_INDEX

T = IndicatorType
IN_CI = os.environ.get("CI", "").lower() == "true"

INDEX = SAMPLE_INDEX
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tx\n"
    "#fields\tts\thost\tips\tname\tport\tnote\n"
    "#types\ttime\taddr\tset[addr]\tstring\tport\tvector[string]\n"
)
VALUES = [
    "192.0.2.1",
    "192.0.2.9",
    "198.51.100.1",
    "2001:db8::1",
    "::ffff:192.0.2.1",
    "a.b.evil.example",
    "EVIL.example.",
    "notevil.example",
    "good.example",
    "http://evil.example/x",
    "bob@evil.example",
    "D41D8CD98F00B204E9800998ECF8427E",
    "192.0.2.1:443",
    "-",
    "(empty)",
    "",
    "x",
    "ünïcode.example",
    "evil\u3002example",
]


def reference(path: Path, fmt: str = "auto") -> list[Hit]:
    return list(match_records(open_log(path, fmt), INDEX))


def scanned(path: Path, fmt: str = "auto", chunk_size: int | None = None, memo: int = 1 << 16) -> list[Hit]:
    scanner = Scanner(INDEX, memo=memo)
    out: list[Hit] = []
    for block in open_log(path, fmt, chunk_size=chunk_size).blocks():
        out.extend(hits_of(scanner.scan(block)))
    return out


cell = st.sampled_from(VALUES)
container = st.lists(cell, min_size=0, max_size=4).map(",".join)
line = st.tuples(
    st.sampled_from(["1.5", "2.25", "-", "192.0.2.1"]),  # a corrupt time column stays silent
    cell,
    container,
    cell,
    st.sampled_from(["53", "443", "-"]),
    container,
).map("\t".join)
odd = st.sampled_from(
    [
        "",  # blank
        "only\tthree\tcolumns",
        "#close\t2024",
        "esc\\x41\t192.0.2.1\ta\\x2cb,192.0.2.1\tevil.example\t1\t-",
        "1.0\t192.0.2.1\t-\tb.evil.example\t53\t-\r",  # \r\n line ending
        "1.0\t192.0.2.1\t-\tx\t53\t-\textra",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.one_of(line, line, line, odd), min_size=1, max_size=40),
    chunk_size=st.sampled_from([64, 300, 4096, 1 << 20]),
    memo=st.sampled_from([1, 3, 1 << 16]),
    split=st.integers(min_value=0, max_value=40),
)
def test_zeek_fast_path_equals_record_by_record(
    tmp_path: Path, lines: list[str], chunk_size: int, memo: int, split: int
) -> None:
    body = [*lines[:split], HEADER.rstrip("\n"), *lines[split:]]  # a second log inside the file
    path = tmp_path / "x.log"
    path.write_text(HEADER + "\n".join(body) + "\n", encoding="utf-8")
    assert scanned(path, chunk_size=chunk_size, memo=memo) == reference(path)


def test_the_fast_path_takes_clean_blocks_and_refuses_odd_ones(tmp_path: Path) -> None:
    clean = tmp_path / "clean.log"
    clean.write_text(HEADER + "1.0\t192.0.2.1\t192.0.2.9,192.0.2.1\ta.b.evil.example\t53\t-\n")
    columns = ZeekColumns(INDEX, memo=10)
    (block,) = open_log(clean).blocks()
    found = columns.scan(block)
    assert isinstance(found, BlockHits)
    # One cell a field (the host hits an address and its network); the elements of a set come last.
    assert [(line, cell.field, len(cell.hits)) for line, cell in found] == [
        (8, "host", 2),
        (8, "name", 3),
        (8, "ips", 2),
    ]
    for odd_line in ("1.0\t192.0.2.1\n", "1.0\t192.0.2.1\t-\tx\t53\t-\r\n", "1\t\\x41\t-\t-\t-\t-\n"):
        path = tmp_path / "odd.log"
        path.write_text(HEADER + odd_line)
        (block,) = open_log(path).blocks()
        assert columns.scan(block) is None  # parsed record by record instead


def test_a_column_without_dots_or_colons_is_not_looked_up(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text(HEADER + "".join(f"1.0\t-\t-\tname{i}\t53\t-\n" for i in range(50)))
    columns = ZeekColumns(INDEX, memo=1 << 16)
    for block in open_log(path).blocks():
        assert not columns.scan(block)
    assert all(not column.answers for plan in columns._plans.values() if plan for column in plan.columns)


def test_group_hits_keeps_order_and_runs() -> None:
    hits = [
        Hit(3, "a", "x.evil.example", "evil.example", T.DOMAIN, 1),
        Hit(3, "a", "x.evil.example", "evil.example", T.DOMAIN, 2),
        Hit(3, "b", "192.0.2.1", "192.0.2.1", T.IPV4, 4),
        Hit(3, "a", "bob@evil.example", "bob@evil.example", T.EMAIL, 8),  # the same field, later
        Hit(5, "a", "192.0.2.1", "192.0.2.1", T.IPV4, 4),
    ]
    grouped = group_hits(hits)
    assert [(line, cell.field, len(cell.hits)) for line, cell in grouped] == [
        (3, "a", 2),
        (3, "b", 1),
        (3, "a", 1),
        (5, "a", 1),
    ]
    assert list(hits_of(grouped)) == hits


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_other_formats_go_record_by_record(tmp_path: Path, gz: bool) -> None:
    text = (
        b'{"dns": {"rrname": "a.b.evil.example"}, "src_ip": "192.0.2.1", "answers": ["192.0.2.1", "x"]}\n'
        b"not json\n"
        b'{"url": "http://evil.example/x", "n": 1}\n'
    )
    path = tmp_path / "eve.json"
    path.write_bytes(gzip.compress(text) if gz else text)
    assert scanned(path) == reference(path) != []


# --- the real logs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logs() -> Path:
    root = default_data_dir() / "logs"
    if not root.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {root}")
        pytest.skip(f"no shared logs at {root}")
    return root


def sampled_index(paths: list[Path], seed: int) -> IndicatorIndex:
    """Indicators drawn from the logs' own values (addresses, their /24s, names, parents of names)."""
    rng = random.Random(seed)
    values: set[str] = set()
    for path in paths:
        for record in open_log(path):
            for _, value in record.values:
                if rng.random() < 0.02:
                    values.add(value)
    indicators: list[tuple[IndicatorType, str, int]] = []
    for value in sorted(values):
        parts = value.split(".")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            indicators.append((T.IPV4, value, len(indicators)))
            indicators.append((T.IPV4_CIDR, ".".join(parts[:3]) + ".0/24", len(indicators)))
        elif len(parts) >= 2 and parts[-1].isalpha() and all(parts) and value.isascii() and " " not in value:
            indicators.append((T.DOMAIN, ".".join(parts[-2:]).lower(), len(indicators)))
    index = IndicatorIndex([(t, v, r) for t, v, r in indicators if _valid(t, v)])
    assert len(index) > 20
    return index


def _valid(type_: IndicatorType, value: str) -> bool:
    try:
        IndicatorIndex([(type_, value, 0)])
    except ValueError:
        return False
    return True


def test_real_zeek_logs_fast_path_equals_record_by_record(logs: Path) -> None:
    paths = [
        logs / "zeek-wrccdc2018/dns.log",
        logs / "zeek-wrccdc2018/ssl.log",
        logs / "zeek-wrccdc2018/x509.log",
        logs / "zeek-wrccdc2018/weird.log",
        logs / "slips/test18-malicious-ctu-sme-11-win__zeek-labeled__conn.log.labeled",
    ]
    index = sampled_index(paths, seed=5)
    total = 0
    for path in paths:
        expected = list(match_records(open_log(path), index))
        scanner = Scanner(index)
        got = [hit for block in open_log(path).blocks() for hit in hits_of(scanner.scan(block))]
        assert got == expected, path.name
        total += len(got)
    assert total > 1000
