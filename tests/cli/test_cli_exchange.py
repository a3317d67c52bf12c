"""``commonspace import`` and ``export``: files in and out, with progress, a summary and clear errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from commonspace.cli import app
from commonspace.demo.sources import default_data_dir

runner = CliRunner()
PUBLISHER = "pub@cert.example"
READER = "reader@bank.example"
IN_CI = os.environ.get("CI", "").lower() == "true"


def cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--database", db, *args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


@pytest.fixture
def db(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "commonspace.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    ok(cli(url, "org", "add", "CERT", "--kind", "government", "--country", "FR"))
    ok(cli(url, "org", "add", "Bank", "--kind", "enterprise", "--country", "DE"))
    ok(cli(url, "user", "add", PUBLISHER, "--org", "CERT", "--role", "publisher"))
    ok(cli(url, "user", "add", READER, "--org", "Bank", "--role", "reader"))
    return url


def test_import_then_export_in_every_format(db: str, tmp_path: Path) -> None:
    source = tmp_path / "iocs.csv"
    source.write_text("type,value,to_detect\nipv4,198.51.100.7,true\ndomain,evil.example,true\n")
    result = ok(
        cli(db, "import", str(source), "--as", PUBLISHER, "--tlp", "GREEN", "--distribution", "community")
    )
    assert "reports created" in result.stdout and "indicators added" in result.stdout
    again = ok(
        cli(db, "import", str(source), "--as", PUBLISHER, "--tlp", "GREEN", "--distribution", "community")
    )
    assert "reports already there" in again.stdout
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in again.stdout.splitlines()
        if line.count("│") == 3
    }
    assert lines["reports created"] == "0" and lines["indicators added"] == "0"
    bundle = json.loads(ok(cli(db, "export", "--as", READER, "--format", "stix")).stdout)
    patterns = sorted(o["pattern"] for o in bundle["objects"] if o["type"] == "indicator")
    assert patterns == ["[domain-name:value = 'evil.example']", "[ipv4-addr:value = '198.51.100.7']"]
    # Documentation values are on the built-in warninglists: detection formats keep them only when told.
    assert ok(cli(db, "export", "--as", READER, "--format", "text")).stdout == ""
    blocklist = ok(cli(db, "export", "--as", READER, "--format", "text", "--include-warninglisted")).stdout
    assert blocklist.split() == ["198.51.100.7", "evil.example"]
    rules = tmp_path / "out" / "commonspace.rules"
    rules.parent.mkdir()
    ok(cli(db, "export", "--as", READER, "--format", "suricata", "--include-warninglisted", "-o", str(rules)))
    assert "evil.example" in rules.read_text()


def test_bad_files_are_refused_whole_with_the_place_and_reason(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("type,value\nipv4,198.51.100.7\nipv4,300.1.1.1\n")
    result = cli(db, "import", str(bad), "--as", PUBLISHER)
    assert result.exit_code == 1 and "line 3" in result.stderr and "nothing was imported" in result.stderr
    assert json.loads(ok(cli(db, "export", "--as", PUBLISHER, "--format", "stix")).stdout)["objects"] == []
    skipped = ok(cli(db, "import", str(bad), "--as", PUBLISHER, "--skip-invalid"))
    assert "skipped: " in skipped.stderr and "line 3" in skipped.stderr


def test_readers_cannot_import(db: str, tmp_path: Path) -> None:
    source = tmp_path / "list.txt"
    source.write_text("198.51.100.7\n")
    result = cli(db, "import", str(source), "--as", READER)
    assert result.exit_code == 1 and "import" in result.stderr


def test_dry_run_shows_free_text_indicators(db: str, tmp_path: Path) -> None:
    source = tmp_path / "mail.html"
    source.write_text(
        "<html><body><p>Payload from <a href='hxxp://drop[.]top/x.exe'>here</a></p></body></html>"
    )
    result = ok(cli(db, "import", str(source), "--as", PUBLISHER, "--dry-run"))
    assert "http://drop.top/x.exe" in result.stdout and "nothing written" in result.stdout


def test_eset_misp_events_import_and_the_malformed_one_is_named(db: str) -> None:
    eset = default_data_dir() / "misp" / "eset"
    if not eset.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data is required under CI=true: {eset} is missing")
        pytest.skip("no shared data")
    broken = next(eset.glob("pypi_backdoor*.json"))
    result = cli(db, "import", str(broken), "--as", PUBLISHER)
    assert result.exit_code == 1 and "line 37373, column 12" in result.stderr
    events = sorted(
        p for p in eset.glob("*.json") if "pypi_backdoor" not in p.name and "dnsbirthday" not in p.name
    )
    result = ok(cli(db, "import", *map(str, events[:5]), "--as", PUBLISHER))
    assert "reports created" in result.stdout
