"""The Spark engine against the local one: on the same logs and indicators, Spark (in local mode) gives the
same hits in the same order, with the same skipped lines.

The logs: every real log of the shared data folder (Zeek TSV and JSON, Suricata EVE, Argus CSV, cut into
spans of 2 MiB), small files of every format written here (gzip, quoted CSV cells over several lines,
malformed lines, several Zeek logs in one file, a line too long for the readers, empty files), cut into
spans of a few bytes so that line numbers are carried over many spans, and logs made up by hypothesis.

One SparkContext serves the whole session. Without PySpark or Java these tests skip, except under
``CI=true`` where they fail.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import random
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commonspace.demo.sources import default_data_dir
from commonspace.domain.canonical import detect, ip_networks_containing, parent_domains
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import Hit, match_records
from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.readers._base import MAX_LINE
from commonspace.engine.spark import SparkMatches, SparkNotInstalled, match_on_spark, spark_context

if TYPE_CHECKING:
    from pyspark import SparkContext

IN_CI = os.environ.get("CI", "").lower() == "true"
T = IndicatorType
Indicators = list[tuple[IndicatorType, str, int]]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the Spark tests must run under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkContext]:
    """One local SparkContext (two cores) for the session."""
    if importlib.util.find_spec("pyspark") is None:
        _unavailable("PySpark is not installed (pip install -e '.[dev]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("no Java runtime for Spark")
    previous = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # no warning about the host name resolving to a loopback
    try:
        context = spark_context("local[2]", settings={"spark.sql.shuffle.partitions": "2"})
    finally:
        if previous is None:
            del os.environ["SPARK_LOCAL_IP"]
        else:
            os.environ["SPARK_LOCAL_IP"] = previous
    yield context
    context.stop()


def local(
    paths: Sequence[Path], indicators: Indicators, fmt: str = "auto"
) -> tuple[list[tuple[str, Hit]], dict[str, tuple[int, list[int]]]]:
    """The reference: the local engine, file after file; and each file's skipped lines."""
    index = IndicatorIndex(indicators)
    hits: list[tuple[str, Hit]] = []
    skipped: dict[str, tuple[int, list[int]]] = {}
    for path in paths:
        reader = open_log(path, fmt)
        hits += [(str(path), hit) for hit in match_records(reader, index)]
        skipped[str(path)] = (reader.skipped, reader.skipped_lines)
    return hits, skipped


def agree(
    spark: SparkContext, paths: Sequence[Path], indicators: Indicators, fmt: str = "auto", **options: Any
) -> tuple[SparkMatches, list[tuple[str, Hit]]]:
    """Runs both engines; asserts the same hits in the same order and the same skipped lines."""
    expected, skipped = local(paths, indicators, fmt)
    run = match_on_spark(paths, indicators, fmt=fmt, context=spark, **options)
    got = list(run)
    assert len(got) == len(expected)
    assert got == expected
    assert {path: (run.skipped[path], run.skipped_lines[path]) for path in skipped} == skipped
    return run, got


# --- the real logs ------------------------------------------------------------------------------------
def _sampled_indicators(paths: list[Path], ipsum: Path) -> Indicators:
    """Values seen rarely at the start of the logs, some with their networks and parent domains, and the
    IPsum blocklist: hits of every kind the logs allow, but not on every line."""
    rng = random.Random(2018)
    seen: Counter[str] = Counter()
    for path in paths:
        for number, record in enumerate(open_log(path)):
            if number >= 2000:
                break
            seen.update(value for _, value in record.values)
    found: dict[tuple[IndicatorType, str], None] = {}
    for value, count in sorted(seen.items()):
        guessed = detect(value) if count <= 2 and rng.random() < 0.3 else None
        if guessed is None:
            continue
        type_, canonical = guessed
        found[type_, canonical] = None
        if type_ in (T.IPV4, T.IPV6) and rng.random() < 0.1:
            for network in ip_networks_containing(canonical, [24 if type_ is T.IPV4 else 64]):
                found[T.IPV4_CIDR if type_ is T.IPV4 else T.IPV6_CIDR, network] = None
        elif type_ is T.DOMAIN and canonical.count(".") >= 3 and rng.random() < 0.2:
            found[T.DOMAIN, parent_domains(canonical)[1]] = None
    indicators = [(type_, value, ref) for ref, (type_, value) in enumerate(found)]
    # The same value under two references gives two hits.
    indicators += [(type_, value, -ref - 1) for type_, value, ref in indicators[::9]]
    for line in ipsum.read_text().splitlines():
        if line and not line.startswith("#"):
            indicators.append((T.IPV4, line.split()[0], len(indicators)))
    return indicators


def test_real_logs_give_the_same_hits_on_spark(spark: SparkContext) -> None:
    root = default_data_dir()
    logs = root / "logs"
    if not logs.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {logs}")
        pytest.skip(f"no shared logs at {logs}")
    paths = sorted(
        path
        for folder in ("zeek-wrccdc2018", "slips")
        for path in (logs / folder).iterdir()
        if path.is_file() and path.name != "LICENSE"
    )
    indicators = _sampled_indicators(paths, root / "indicators" / "ipsum" / "ipsum.txt")
    run, hits = agree(spark, paths, indicators, split_size=2 << 20)
    assert len(hits) > 10_000
    assert {hit.type for _, hit in hits} >= {T.IPV4, T.IPV4_CIDR, T.DOMAIN}
    formats = set(run.formats.values())
    assert formats >= {LogFormat.ZEEK, LogFormat.ZEEK_JSON, LogFormat.EVE, LogFormat.CSV}
    split = [path for path in run.formats if path not in run.whole]
    assert any(path.endswith("dns.json") for path in split) and any(
        path.endswith("dns.log") for path in split
    )
    assert run.tasks > 30


# --- small files of every format ------------------------------------------------------------------------
INDICATORS: Indicators = [
    (T.DOMAIN, "evil.example", 1),
    (T.DOMAIN, "evil.example", 2),
    (T.DOMAIN, "c2.bad.example", 3),
    (T.IPV4, "192.0.2.1", 4),
    (T.IPV4_CIDR, "198.51.100.0/24", 5),
    (T.IPV6, "2001:db8::1", 6),
    (T.URL, "http://evil.example/payload", 7),
    (T.EMAIL, "ceo@bad.example", 8),
    (T.MD5, "d41d8cd98f00b204e9800998ecf8427e", 9),
    (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 10),
]

ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#open\t2024-04-12-19-29-12\n"
    "#fields\tts\tuid\tid.orig_h\tquery\tanswers\ttags\tok\n"
    "#types\ttime\tstring\taddr\tstring\tvector[string]\tset[string]\tbool\n"
)
ZEEK_OTHER = (
    "#separator \\x7c\n#set_separator|;\n#empty_field|(empty)\n#unset_field|-\n#path|http\n"
    "#fields|ts|host|uri|referrer\n#types|time|string|string|string\n"
)


def _zeek(rows: int = 30) -> str:
    lines = [ZEEK_HEADER]
    for n in range(rows):
        answers = f"x{n}.evil.example,198.51.100.{n},192.0.2.{n % 3}" if n % 4 else "-"
        lines.append(f"15219117{n:02d}.1\tC{n}\t10.0.0.{n}\tq{n}.evil.example\t{answers}\t(empty)\tT\n")
    lines.append("1521911799.1\tC99\tonly three columns\n")  # malformed: skipped
    lines.append("1521911799.2\tC98\t192.0.2.1\tescaped\\x09evil.example\t-\t-\tF\n")
    lines.append("#close\t2024-04-12-19-34-07\n")
    # A second log in the same file, under other separators and columns.
    lines.append(ZEEK_OTHER)
    for n in range(rows // 2):
        lines.append(f"15219118{n:02d}.5|www.c2.bad.example|/p?{n}|http://evil.example/payload\n")
    lines.append(ZEEK_HEADER)
    lines += [f"1.0\tD{n}\t2001:db8::1\t-\t-\tevil.example,a\tT\n" for n in range(rows // 3)]
    return "".join(lines)


def _eve() -> str:
    lines = []
    for n in range(40):
        if n % 11 == 5:
            lines.append('{"event_type": "dns", "broken\n')
            continue
        if n % 13 == 7:
            lines.append("\n")
            continue
        lines.append(
            f'{{"timestamp": "2024-01-01T00:00:{n:02d}", "event_type": "dns", "src_ip": "192.0.2.{n % 4}", '
            f'"dest_ip": "198.51.100.{n}", "dns": {{"rrname": "h{n}.evil.example", '
            f'"answers": [{{"rdata": "2001:db8::1"}}, "a.c2.bad.example"]}}, "n": {n}, "ok": true}}\n'
        )
    return "".join(lines)


def _zeek_json() -> str:
    return "".join(
        f'{{"ts": 1.{n}, "uid": "C{n}", "id.orig_h": "192.0.2.1", "query": "q{n}.evil.example", '
        f'"md5": "D41D8CD98F00B204E9800998ECF8427E"}}\n'
        for n in range(30)
    )


def _csv(rows_: int = 40) -> str:
    rows = ["# exported\n", "\n", "ip,domain,note,url\n"]
    for n in range(rows_):
        if n % 9 == 4:  # a quoted cell over three lines
            rows.append(f'198.51.100.{n},"m{n}.evil.example","first\nsecond, still\nthird",x\n')
        elif n % 9 == 6:  # wider rows, past the rows the delimiter is sniffed from
            extra = ",extra,more" if n > 20 or rows_ < 20 else ""
            rows.append(f'192.0.2.1,ok.example,"a ""quoted"" note",http://evil.example/payload{extra}\n')
        elif n % 9 == 8:
            rows.append("\n")
        else:
            rows.append(f"10.1.{n}.1,h{n}.c2.bad.example,plain,\n")
    return "".join(rows)


def _csv_open_quote(rows_: int = 15) -> str:
    """A quote that never closes: the rest of the file is one cell, as the csv module reads it."""
    rows = ["ip;name\n"] + [f"192.0.2.{n};n{n}.evil.example\n" for n in range(rows_)]
    rows.append('198.51.100.1;"open\n')
    rows += [f"192.0.2.{n};evil.example\n" for n in range(rows_ * 2 // 3)]
    return "".join(rows)


def _csv_headerless() -> str:
    return "".join(f"192.0.2.{n % 3},{'evil.example' if n % 2 else 'fine.example'},{n}\n" for n in range(40))


def _ncsa() -> str:
    lines = []
    for n in range(30):
        if n % 7 == 3:
            lines.append("garbage that is no access log line\n")
            continue
        lines.append(
            f'192.0.2.{n % 2} - - [10/Oct/2000:13:55:{n:02d} -0700] "GET /p{n}?u=http://evil.example/payload '
            f'HTTP/1.1" 200 {n} "http://ref.evil.example/" "Mozilla/5.0 \\"x\\""\n'
        )
    return "".join(lines)


def _text(rows: int = 30) -> str:
    lines = []
    for n in range(rows):
        lines.append(
            f"{n}: connection from 192.0.2.{n % 5} to [2001:db8::1]:443, mail ceo@bad.example; "
            "see http://evil.example/payload (hash "
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855).\r\n"
        )
        if n % 6 == 0:
            lines.append("   \n")
    lines.append("no newline at the end: evil.example")
    return "".join(lines)


def _small_files(folder: Path) -> list[Path]:
    texts = {
        "dns.log": _zeek(),
        "eve.json": _eve(),
        "zeek.json": _zeek_json(),
        "data.csv": _csv(),
        "open.csv": _csv_open_quote(),
        "headerless.csv": _csv_headerless(),
        "access.log": _ncsa(),
        "notes.txt": _text(),
        "empty.log": "",
        "blank.log": "\n\n\n",
    }
    paths = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, newline="")
        paths.append(path)
    for name in ("dns.log", "data.csv", "notes.txt"):
        packed = folder / f"{name}.gz"
        packed.write_bytes(gzip.compress((folder / name).read_bytes()))
        paths.append(packed)
    return paths


def test_small_files_of_every_format_give_the_same_hits(spark: SparkContext, tmp_path: Path) -> None:
    paths = _small_files(tmp_path)
    done: list[int] = []
    run, hits = agree(spark, paths, INDICATORS, split_size=401, progress=done.append)
    assert {hit.type for _, hit in hits} == {t for t, _, _ in INDICATORS}
    assert {Path(path).name for path, _ in hits} == {
        p.name for p in paths if p.name not in ("empty.log", "blank.log")
    }
    assert [run.formats[str(p)] for p in paths[:8]] == [
        LogFormat.ZEEK,
        LogFormat.EVE,
        LogFormat.ZEEK_JSON,
        LogFormat.CSV,
        LogFormat.CSV,
        LogFormat.CSV,
        LogFormat.NCSA,
        LogFormat.TEXT,
    ]
    assert all(run.whole[str(p)] == "gzip" for p in paths if p.suffix == ".gz")
    assert str(paths[0]) not in run.whole and str(paths[1]) not in run.whole
    assert done == sorted(done) and done[-1] == sum(p.stat().st_size for p in paths)


def test_spans_of_a_few_bytes_carry_lines_headers_and_rows_over(spark: SparkContext, tmp_path: Path) -> None:
    texts = {
        "dns.log": _zeek(rows=7),
        "data.csv": _csv(12),
        "open.csv": _csv_open_quote(5),
        "notes.txt": _text(5),
    }
    paths = []
    for name, text in texts.items():
        paths.append(tmp_path / name)
        paths[-1].write_text(text, newline="")
    run, hits = agree(spark, paths, INDICATORS, split_size=64)
    assert len(hits) > 100 and run.tasks > 50
    reasons = {why for _, why in run.reruns}
    # The second and third Zeek logs of the file are read again under their headers; a quoted cell that
    # runs over a split has the rest of the file read by one task.
    assert reasons == {"the Zeek headers changed before the span", "a quoted CSV cell across a split"}


def test_a_format_given_rather_than_detected(spark: SparkContext, tmp_path: Path) -> None:
    path = tmp_path / "dns.log"
    path.write_text(_zeek())
    agree(spark, [path], INDICATORS, fmt="text", split_size=401)


def test_a_line_longer_than_the_readers_take(spark: SparkContext, tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    head = "".join(f"{n} 192.0.2.1 evil.example\n" for n in range(2000))
    with path.open("w") as out:
        out.write(head)
        out.write("evil.example " + "x" * (MAX_LINE + 10) + "\n")
        out.write(head)
    run, hits = agree(spark, [path], INDICATORS, split_size=4 << 20)
    assert hits[-1][1].line == 4001 and len(hits) >= 3 * 4000
    assert "a line longer than" in run.whole[str(path)]


# --- made-up logs ---------------------------------------------------------------------------------------
TOKENS = [
    "192.0.2.1",
    "198.51.100.77",
    "10.0.0.1",
    "evil.example",
    "x.c2.bad.example",
    "http://evil.example/payload",
    "ceo@bad.example",
    "2001:db8::1",
    "d41d8cd98f00b204e9800998ecf8427e",
    "fine",
    '"',
    ",",
    "#",
    "{",
    "\\x41",
    "-",
    "é",
]


@st.composite
def made_up_logs(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["text", "csv", "eve", "zeek"]))
    lines = draw(st.lists(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=5), min_size=0, max_size=25))
    endings = draw(st.sampled_from(["\n", "\r\n"]))
    if kind == "csv":
        body = "".join(",".join(cells) + endings for cells in lines)
        return kind, "a,b,c\n" + body
    if kind == "eve":  # every fourth line is no JSON
        return kind, "".join(
            (json.dumps({"event_type": "x", "v": cells}) if i % 4 else " ".join(cells)) + endings
            for i, cells in enumerate(lines)
        )
    if kind == "zeek":
        rows = "".join("\t".join((cells + ["-", "-", "-"])[:3]) + endings for cells in lines)
        return kind, "#separator \\x09\n#fields\ta\tb\tc\n#types\tstring\tstring\tset[string]\n" + rows
    return kind, "".join(" ".join(cells) + endings for cells in lines)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(logs=st.lists(made_up_logs(), min_size=1, max_size=3), split_size=st.integers(24, 160))
def test_made_up_logs_give_the_same_hits(
    spark: SparkContext, logs: list[tuple[str, str]], split_size: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number, (kind, text) in enumerate(logs):
            path = Path(folder) / f"{number}.{kind}"
            path.write_bytes(text.encode())
            paths.append(path)
        agree(spark, paths, INDICATORS, split_size=split_size)


# --- the run itself -------------------------------------------------------------------------------------
def test_closing_early_cancels_the_run_and_leaves_the_context_usable(
    spark: SparkContext, tmp_path: Path
) -> None:
    paths = _small_files(tmp_path)
    run = match_on_spark(paths, INDICATORS, context=spark, split_size=50, wave=4)
    first = next(run)
    run.close()
    assert first == local(paths, INDICATORS)[0][0]
    assert list(run) == []
    assert list(match_on_spark(paths[:1], INDICATORS, context=spark))[0] == first


def test_invalid_indicators_and_formats_raise(spark: SparkContext, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("192.0.2.1\n")
    with pytest.raises(ValueError, match="not an IPv4 address"):
        list(match_on_spark([path], [(T.IPV4, "not an address", 1)], context=spark))
    with pytest.raises(ValueError):
        match_on_spark([path], [("no such type", "x", 1)], context=spark)
    with pytest.raises(ValueError, match="unknown log format"):
        match_on_spark([path], INDICATORS, fmt="xml", context=spark)
    with pytest.raises(FileNotFoundError):
        list(match_on_spark([tmp_path / "missing.log"], INDICATORS, context=spark))
    assert list(match_on_spark([], INDICATORS, context=spark)) == []


def test_without_pyspark_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes "import pyspark" fail
    with pytest.raises(SparkNotInstalled, match=r"commonspace\[spark\]") as raised:
        match_on_spark([tmp_path / "a.log"], INDICATORS)
    assert isinstance(raised.value, ImportError)
    with pytest.raises(SparkNotInstalled, match=r"commonspace\[spark\]"):
        spark_context()


def test_without_java_the_error_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(SparkNotInstalled, match="Java"):
        spark_context()
