"""``commonspace warninglists`` (list, check, refresh), the ``--warninglists`` folder and its environment
variable, flags set on import, and ``export --exclude-warninglisted / --include-warninglisted``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from commonspace.cli import app
from commonspace.store import tables as t
from commonspace.store.db import make_engine, session_factory, transaction
from commonspace.warninglists import service

runner = CliRunner()
PUBLISHER = "pub@cert.example"
READER = "reader@bank.example"
RESOLVERS = {"name": "Test resolvers", "type": "cidr", "list": ["9.9.9.9"], "description": "", "version": 1}
HOSTING = {"name": "Test hosting", "type": "string", "list": ["evil-c2.top"], "version": 2}


def cli(db: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["--database", db, *args], env=env)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def refused(result: Result, *phrases: str) -> str:
    assert result.exit_code == 1, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert not isinstance(result.exception, Exception), repr(result.exception)  # no crash
    error = " ".join(result.stderr.split())
    assert error.startswith("error: "), result.stderr
    for phrase in phrases:
        assert phrase in error, f"{phrase!r} not in {error!r}"
    return error


def write_lists(folder: Path, **lists: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for list_id, document in lists.items():
        (folder / f"{list_id}.json").write_bytes(orjson.dumps(document))
    return folder


def rows(output: str) -> list[list[str]]:
    """The cells of each row of a table printed by the command (not the header, drawn with ┃)."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines() if "│" in line]


@pytest.fixture(autouse=True)
def forget_the_lists() -> Iterator[None]:
    yield
    service.reset()  # the commands configure this process's lists: leave none behind for other tests


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


def flags(db: str) -> dict[str, tuple[list[str] | None, bool]]:
    """The stored flags of every indicator by canonical value, and whether the column is SQL NULL."""
    engine = make_engine(db)
    try:
        with transaction(session_factory(engine)) as session:
            query = select(
                t.Indicator.canonical, t.Indicator.warninglists, t.Indicator.warninglists.is_(None)
            )
            return {canonical: (stored, is_null) for canonical, stored, is_null in session.execute(query)}
    finally:
        engine.dispose()


def test_list_shows_the_built_in_lists_and_those_of_the_folder(db: str, tmp_path: Path) -> None:
    builtin = ok(cli(db, "warninglists", "list"))
    assert ["rfc1918", "List of RFC 1918 CIDR blocks", "cidr", "3"] in rows(builtin.stdout)
    assert builtin.stdout.splitlines()[-1] == "8 lists: 8 built-in"
    folder = write_lists(
        tmp_path / "lists", **{"test-resolvers": RESOLVERS, "rfc1918": {**RESOLVERS, "name": "Mine"}}
    )
    for result in (
        cli(db, "--warninglists", str(folder), "warninglists", "list"),
        cli(db, "warninglists", "list", env={"COMMONSPACE_WARNINGLISTS": str(folder)}),
    ):
        table = rows(ok(result).stdout)
        assert ["test-resolvers", "Test resolvers", "cidr", "1"] in table
        assert ["rfc1918", "Mine", "cidr", "1"] in table  # the folder's copy replaces the built-in list
        assert len(table) == 9
        assert result.stdout.splitlines()[-1] == f"9 lists: 7 built-in, 2 from {folder}"


def test_list_warns_of_entries_it_skips(db: str, tmp_path: Path) -> None:
    folder = write_lists(tmp_path / "lists", odd={**RESOLVERS, "list": ["9.9.9.9", "not-a-network"]})
    result = ok(cli(db, "--warninglists", str(folder), "warninglists", "list"))
    assert ["odd", "Test resolvers", "cidr", "2"] in rows(result.stdout)
    assert "odd.json: entry 'not-a-network' skipped" in " ".join(result.stderr.split())


def test_check_says_which_lists_a_value_is_on(db: str, tmp_path: Path) -> None:
    folder = write_lists(tmp_path / "lists", **{"test-resolvers": RESOLVERS})
    result = ok(
        cli(
            db,
            "--warninglists",
            str(folder),
            "warninglists",
            "check",
            "9.9.9[.]9",
            "10.1.2.3",
            "hxxp://a.example/x",
            "evil-c2.top",
        )
    )
    assert rows(result.stdout) == [
        ["9.9.9[.]9", "ipv4", "test-resolvers", "Test resolvers"],
        ["10.1.2.3", "ipv4", "rfc1918", "List of RFC 1918 CIDR blocks"],
        ["10.1.2.3", "ipv4", "rfc5735", "List of RFC 5735 CIDR blocks"],
        ["hxxp://a.example/x", "url", "special-use-domains", "List of reserved and special-use domain names"],
        ["evil-c2.top", "domain", "", "on no warninglist"],
    ]
    named = ok(cli(db, "warninglists", "check", "--type", "filename", "invoice.pdf"))
    assert rows(named.stdout) == [["invoice.pdf", "filename", "", "on no warninglist"]]
    refused(
        cli(db, "warninglists", "check", "invoice.pdf"), "cannot tell the type of 'invoice.pdf'", "--type"
    )
    refused(cli(db, "warninglists", "check", "--type", "ipv4", "010.1.1.1"), "invalid ipv4 '010.1.1.1'")


def test_a_folder_or_list_that_cannot_be_used_is_named_with_the_reason(db: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    refused(cli(db, "--warninglists", str(missing), "warninglists", "list"), str(missing), "does not exist")
    a_file = tmp_path / "list.txt"
    a_file.write_text("9.9.9.9\n")
    refused(cli(db, "--warninglists", str(a_file), "warninglists", "check", "9.9.9.9"), "is not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(cli(db, "--warninglists", str(empty), "warninglists", "list"), "holds no warninglists")
    broken = write_lists(tmp_path / "broken", good=RESOLVERS)
    (broken / "bad.json").write_text('{"name": "Bad", "list": [')
    refused(
        cli(db, "--warninglists", str(broken), "warninglists", "list"),
        "the warninglists cannot be used",
        str(broken / "bad.json"),
        "is not valid JSON",
    )
    (broken / "bad.json").write_bytes(orjson.dumps({"type": "cidr", "list": ["1.2.3.4"]}))
    refused(
        cli(db, "--warninglists", str(broken), "warninglists", "refresh"), "bad.json", "'name' is missing"
    )


def test_imports_are_flagged_and_exports_leave_them_out_as_asked(db: str, tmp_path: Path) -> None:
    folder = write_lists(tmp_path / "lists", **{"test-resolvers": RESOLVERS})
    source = tmp_path / "iocs.csv"
    source.write_text("type,value\nipv4,9.9.9.9\nipv4,45.9.148.3\ndomain,evil-c2.top\n")
    with_lists = ("--warninglists", str(folder))
    ok(
        cli(
            db,
            *with_lists,
            "import",
            str(source),
            "--as",
            PUBLISHER,
            "--tlp",
            "GREEN",
            "--distribution",
            "community",
        )
    )
    assert flags(db) == {
        "9.9.9.9": (["test-resolvers"], False),
        "45.9.148.3": (None, True),
        "evil-c2.top": (None, True),
    }

    def export(fmt: str, *options: str) -> list[str]:
        return sorted(ok(cli(db, "export", "--as", READER, "--format", fmt, *options)).stdout.split())

    assert export("text") == ["45.9.148.3", "evil-c2.top"]
    assert export("text", "--exclude-warninglisted") == ["45.9.148.3", "evil-c2.top"]
    assert export("text", "--include-warninglisted") == ["45.9.148.3", "9.9.9.9", "evil-c2.top"]
    csv = " ".join(export("csv"))
    assert "9.9.9.9" in csv and "45.9.148.3" in csv
    without = " ".join(export("csv", "--exclude-warninglisted"))
    assert "9.9.9.9" not in without and "45.9.148.3" in without


def test_refresh_brings_the_flags_up_to_date_after_the_lists_changed(db: str, tmp_path: Path) -> None:
    source = tmp_path / "iocs.csv"
    source.write_text("type,value\nipv4,9.9.9.9\nipv4,45.9.148.3\ndomain,evil-c2.top\nipv4,10.0.0.1\n")
    ok(cli(db, "import", str(source), "--as", PUBLISHER))  # the built-in lists alone
    assert flags(db)["9.9.9.9"] == (None, True) and flags(db)["10.0.0.1"] == (["rfc1918", "rfc5735"], False)
    folder = write_lists(tmp_path / "lists", **{"test-resolvers": RESOLVERS})
    with_lists = ("--warninglists", str(folder), "warninglists", "refresh")
    result = ok(cli(db, *with_lists, "--batch", "1"))
    assert result.stdout.strip() == "4 indicators checked: 1 changed, 2 on a warninglist."
    assert flags(db)["9.9.9.9"] == (["test-resolvers"], False)
    again = ok(cli(db, *with_lists))
    assert again.stdout.strip() == "4 indicators checked: 0 changed, 2 on a warninglist."
    write_lists(folder, **{"test-hosting": HOSTING})  # the resolvers' list is gone, another came
    changed = ok(cli(db, *with_lists, "--batch", "3"))
    assert changed.stdout.strip() == "4 indicators checked: 2 changed, 2 on a warninglist."
    assert flags(db) == {
        "9.9.9.9": (None, True),
        "45.9.148.3": (None, True),
        "evil-c2.top": (["test-hosting"], False),
        "10.0.0.1": (["rfc1918", "rfc5735"], False),
    }
