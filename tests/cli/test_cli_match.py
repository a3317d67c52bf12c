"""``commonspace match``: hits as JSON Lines, from files' indicators or those a member may see; a summary;
sightings; warninglists; errors that say what is wrong and leave no half-written output."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from commonspace.cli import app
from commonspace.store import tables as t

runner = CliRunner()
PUBLISHER = "pub@cert.example"
ANALYST = "analyst@bank.example"
READER = "reader@bank.example"

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tuid\tid.orig_h\tid.resp_h\tquery\tanswers\n"
    "#types\ttime\tstring\taddr\taddr\tstring\tvector[string]\n"
)
DNS = HEADER + (
    "1.0\tC1\t10.0.0.1\t10.0.0.53\twww.evil.example\tcdn.evil.example,203.0.113.7\n"  # line 8
    "2.0\tC2\t10.0.0.2\t10.0.0.53\tgood.example\t-\n"  # line 9
    "3.0\tC3\t10.0.0.3\t10.0.0.53\tsecret.example\t203.0.113.99\n"  # line 10
)


def cli(db: str | None, *args: str) -> Result:
    return runner.invoke(app, [*(["--database", db] if db else []), *args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def hits(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "dns.log"
    path.write_text(DNS)
    return path


@pytest.fixture
def db(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "commonspace.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    ok(cli(url, "org", "add", "CERT", "--kind", "government", "--country", "FR"))
    ok(cli(url, "org", "add", "Bank", "--kind", "enterprise", "--country", "DE"))
    ok(cli(url, "user", "add", PUBLISHER, "--org", "CERT", "--role", "publisher"))
    ok(cli(url, "user", "add", ANALYST, "--org", "Bank", "--role", "analyst"))
    ok(cli(url, "user", "add", READER, "--org", "Bank", "--role", "reader"))
    shared = tmp_path / "shared.csv"
    shared.write_text("type,value\ndomain,evil.example\nipv4-cidr,203.0.113.0/28\n")
    ok(cli(url, "import", str(shared), "--as", PUBLISHER, "--distribution", "community"))
    own = tmp_path / "own.csv"
    own.write_text("type,value\ndomain,secret.example\n")
    ok(cli(url, "import", str(own), "--as", PUBLISHER, "--distribution", "organisation"))
    return url


def test_a_list_gives_one_line_per_record_field_and_indicator(log: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.txt"
    values.write_text("# a comment\nevil.example ; what follows is ignored\n203.0.113.0/24\n10.0.0.53\n")
    result = ok(cli(None, "match", str(log), "--indicators", str(values)))
    found = hits(result.stdout)
    assert all(hit["log"] == str(log) for hit in found)
    assert [
        tuple(hit[key] for key in ("line", "field", "observed", "indicator", "type")) for hit in found
    ] == [
        (8, "id.resp_h", "10.0.0.53", "10.0.0.53", "ipv4"),
        (8, "query", "www.evil.example", "evil.example", "domain"),
        # The elements of a set: one line per indicator, with the first element that hit it.
        (8, "answers", "cdn.evil.example", "evil.example", "domain"),
        (8, "answers", "203.0.113.7", "203.0.113.0/24", "ipv4-cidr"),
        (9, "id.resp_h", "10.0.0.53", "10.0.0.53", "ipv4"),
        (10, "id.resp_h", "10.0.0.53", "10.0.0.53", "ipv4"),
        (10, "answers", "203.0.113.99", "203.0.113.0/24", "ipv4-cidr"),
    ]
    assert all(set(hit) == {"log", "line", "field", "observed", "indicator", "type"} for hit in found)


def test_processes_gzip_and_summary(tmp_path: Path) -> None:
    body = "".join(f"{i}.0\tC{i}\t10.0.0.{i % 7}\t10.0.0.53\th{i}.evil.example\t-\n" for i in range(3000))
    plain = tmp_path / "big.log"
    plain.write_text(HEADER + body)
    packed = tmp_path / "big.log.gz"
    packed.write_bytes(gzip.compress((HEADER + body).encode()))
    values = tmp_path / "values.csv"
    values.write_text("type,value\ndomain,evil.example\nipv4,10.0.0.3\n")
    one = ok(cli(None, "match", str(plain), "--indicators", str(values), "--workers", "1")).stdout
    two = ok(cli(None, "match", str(plain), "--indicators", str(values), "--workers", "2")).stdout
    assert one == two and len(one.splitlines()) == 3000 + 3000 // 7 + 1
    packed_hits = ok(cli(None, "match", str(packed), "--indicators", str(values), "--workers", "2")).stdout
    assert packed_hits == one.replace(str(plain), str(packed))
    summary = ok(cli(None, "match", str(plain), "--indicators", str(values), "--summary")).stdout
    assert "evil.example" in summary and "3,000" in summary and "429" in summary
    assert "3,429 hit(s) of 2 indicator(s) in 1 log(s)" in summary
    assert "{" not in summary  # without -o, --summary prints the table instead of the hits


def test_output_file_is_written_whole_or_not_at_all(log: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.txt"
    values.write_text("evil.example\n")
    out = tmp_path / "hits.jsonl"
    result = ok(cli(None, "match", str(log), "--indicators", str(values), "-o", str(out), "--summary"))
    assert len(hits(out.read_text())) == 2 and "2 hit(s)" in result.stdout
    assert not list(tmp_path.glob("*.partial"))
    missing = cli(
        None, "match", str(log), str(tmp_path / "nope.log"), "--indicators", str(values), "-o", str(out)
    )
    assert missing.exit_code == 1 and "nope.log: no such file" in missing.stderr
    assert len(hits(out.read_text())) == 2  # the earlier output stays as it was
    assert not list(tmp_path.glob("*.partial"))


def test_bad_input_is_named(log: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.txt"
    values.write_text("evil.example\nnot a value at all\n")
    bad = cli(None, "match", str(log), "--indicators", str(values))
    assert bad.exit_code == 1 and "line 2" in bad.stderr and "--skip-invalid" in bad.stderr
    skipped = ok(cli(None, "match", str(log), "--indicators", str(values), "--skip-invalid"))
    assert "skipped: " in skipped.stderr and len(hits(skipped.stdout)) == 2
    fmt = cli(None, "match", str(log), "--indicators", str(values), "--format", "pcap")
    assert fmt.exit_code == 1 and "--format pcap" in fmt.stderr
    neither = cli(None, "match", str(log))
    assert neither.exit_code == 1 and "--indicators" in neither.stderr and "--as" in neither.stderr
    no_member = cli(None, "match", str(log), "--indicators", str(values), "--record-sightings")
    assert no_member.exit_code == 1 and "needs --as" in no_member.stderr


def test_warninglisted_indicators_can_be_left_out(log: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.txt"
    # 10/8 is private and .example names are for documentation: both on the built-in lists.
    values.write_text("evil.example\n10.0.0.0/8\nc2-panel.info\n")
    log.write_text(DNS + "4.0\tC4\t10.0.0.4\t10.0.0.53\tx.c2-panel.info\t-\n")
    every = hits(ok(cli(None, "match", str(log), "--indicators", str(values))).stdout)
    assert {h["indicator"] for h in every} == {"evil.example", "10.0.0.0/8", "c2-panel.info"}
    kept = ok(cli(None, "match", str(log), "--indicators", str(values), "--exclude-warninglisted", "builtin"))
    assert {h["indicator"] for h in hits(kept.stdout)} == {"c2-panel.info"}
    assert "2 indicator(s) on a warninglist left out" in kept.stderr
    missing = cli(None, "match", str(log), "--indicators", str(values), "--exclude-warninglisted", "/nowhere")
    assert missing.exit_code == 1 and "/nowhere" in missing.stderr


def test_a_member_matches_only_what_it_may_see_and_records_sightings(db: str, log: Path) -> None:
    # The CERT's organisation-only report holds secret.example: the bank never hears of it.
    own = hits(ok(cli(db, "match", str(log), "--as", PUBLISHER)).stdout)
    bank = hits(ok(cli(db, "match", str(log), "--as", ANALYST)).stdout)
    assert "secret.example" in {h["indicator"] for h in own}
    assert {h["indicator"] for h in bank} == {"evil.example", "203.0.113.0/28"}
    (report,) = {r for h in bank for r in h["reports"]}  # type: ignore[attr-defined]
    assert all(h["reports"] == [report] for h in bank)
    assert len(bank) == 3  # line 8: query, answers (name), answers (address); line 10's address is outside
    refused = cli(db, "match", str(log), "--as", READER, "--record-sightings")
    assert refused.exit_code == 1 and "cannot record sightings" in refused.stderr
    recorded = ok(cli(db, "match", str(log), "--as", ANALYST, "--record-sightings", "--summary"))
    assert "2 sighting(s) recorded" in recorded.stderr
    engine = create_engine(db)
    with Session(engine) as session:
        rows = session.execute(
            select(t.Indicator.canonical, t.Sighting.count, t.Organisation.name)
            .join(t.Sighting, t.Sighting.indicator_id == t.Indicator.id)
            .join(t.Organisation, t.Organisation.id == t.Sighting.org_id)
        ).all()
        reads = session.execute(
            select(t.AuditEvent.object_uuid, t.Organisation.name)
            .join(t.Organisation, t.Organisation.id == t.AuditEvent.org_id)
            .where(t.AuditEvent.action == "report.read", t.AuditEvent.detail["path"].as_string() == "match")
        ).all()
    engine.dispose()
    assert sorted(rows) == [("203.0.113.0/28", 1, "Bank"), ("evil.example", 2, "Bank")]
    # The CERT's access log shows the bank's matches naming its report (not the CERT's own).
    assert reads and set(reads) == {(report, "Bank")}


def test_the_spark_engine_prints_what_the_local_engine_prints(log: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("pyspark") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pyspark is part of the dev extra: under CI the Spark engine must be tested")
        pytest.skip("pyspark is not installed")
    values = tmp_path / "values.txt"
    values.write_text("evil.example\n203.0.113.0/24\n10.0.0.53\n")
    log.write_text(DNS + "not a zeek line\n")
    local = ok(cli(None, "match", str(log), "--indicators", str(values)))
    # In a process of its own: a test process may hold a SparkContext already, and there is one a process.
    command = [sys.executable, "-m", "commonspace.cli", "match", str(log), "--indicators", str(values)]
    command += ["--engine", "spark", "--spark-master", "local[1]"]
    spark = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert spark.returncode == 0, spark.stderr
    assert spark.stdout == local.stdout and len(hits(local.stdout)) == 7
    assert "1 malformed line(s) skipped (first: line 11)" in spark.stderr


def test_matching_files_does_not_load_the_database_layer(log: Path, tmp_path: Path) -> None:
    """Matching files against files needs no database: its start-up imports neither SQLAlchemy nor the
    other commands' services (a second or more of a short run). A new process, so that nothing is loaded."""
    values = tmp_path / "values.txt"
    values.write_text("evil.example\n203.0.113.7\n")
    out = tmp_path / "hits.jsonl"
    argv = ["commonspace", "match", str(log), "--indicators", str(values), "-o", str(out)]
    heavy = ("sqlalchemy", "alembic", "commonspace.accounts")
    script = (
        f"import sys\nsys.argv = {argv!r}\n"
        "from commonspace.cli import main\n"
        "try:\n    main()\nexcept SystemExit as end:\n    assert not end.code, end.code\n"
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert len(hits(out.read_text())) == 3  # the query's parent, the answer's parent, the answer's address
