"""The ``commonspace`` command on a real SQLite file: what it prints, what it refuses, what it changes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from commonspace.accounts import service as accounts
from commonspace.cli import app
from commonspace.cli.context import Context
from commonspace.domain.errors import Unauthenticated
from commonspace.domain.vocab import TLP, Distribution, OrgKind, Role
from commonspace.policy import Subject
from commonspace.reports import service as reports
from commonspace.reports.schemas import ReportIn
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.store.db import make_engine, session_factory, transaction
from commonspace.store.migrate import is_current

runner = CliRunner()
PASSWORD = "correct horse battery staple"


def cli(db: str, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, ["--database", db, *args], input=input)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def refused(result: Result, *phrases: str) -> str:
    """The command failed with exit code 1, nothing on stdout, and an error on stderr saying ``phrases``."""
    assert result.exit_code == 1, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert not isinstance(result.exception, Exception), repr(result.exception)  # no crash
    assert result.stdout == ""
    error = " ".join(result.stderr.split())
    assert error.startswith("error: "), result.stderr
    for phrase in phrases:
        assert phrase in error, f"{phrase!r} not in {error!r}"
    return error


@contextmanager
def session_on(db: str) -> Iterator[Session]:
    """A committed transaction on the database the commands use."""
    engine = make_engine(db)
    try:
        with transaction(session_factory(engine, writer=True)) as session:
            yield session
    finally:
        engine.dispose()


def key_subject(db: str, key: str) -> Subject:
    with session_on(db) as session:
        return accounts.authenticate_key(session, key)


def printed_key(result: Result) -> tuple[str, str]:
    """(UUID, key) from the output of ``apikey create``: the key alone on the last line."""
    found = re.search(r"API key ([0-9a-f-]{36}) for", result.stdout)
    assert found, result.stdout
    return found.group(1), result.stdout.strip().splitlines()[-1]


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The URL of a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'commonspace.db'}"


@pytest.fixture
def ready(tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an initialised, empty SQLite database (a copy of the migrated template)."""
    path = tmp_path / "ready.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


# --- a small world: three organisations, a bilateral channel, four reports ----------------------------

ADMIN = "admin@cert.example"
PUBLISHER = "publisher@cert.example"
ANALYST = "analyst@bka.example"
READER = "reader@bank.example"


@dataclass(frozen=True)
class World:
    db: str
    reports: dict[str, str]  # title -> UUID


@pytest.fixture
def world(ready: str) -> World:
    with session_on(ready) as s:
        cert = accounts.create_organisation(s, None, name="CERT-FR", kind=OrgKind.GOVERNMENT, country="FR")
        bka = accounts.create_organisation(s, None, name="BKA", kind=OrgKind.GOVERNMENT, country="DE")
        bank = accounts.create_organisation(s, None, name="Nordbank", kind=OrgKind.ENTERPRISE, country="NO")
        for email, org, role in (
            (ADMIN, cert, Role.ORG_ADMIN),
            (PUBLISHER, cert, Role.PUBLISHER),
            (ANALYST, bka, Role.ANALYST),
            (READER, bank, Role.READER),
        ):
            accounts.create_member(s, None, email=email, org=org, role=role)
        sharing.create_group(s, None, name="CERT-FR/BKA", owner=cert, members=[bka])
        shared = {
            "Phishing wave": {"tlp": TLP.GREEN, "distribution": Distribution.COMMUNITY},
            "Ransomware C2": {
                "tlp": TLP.AMBER,
                "distribution": Distribution.SHARING_GROUP,
                "sharing_group": "CERT-FR/BKA",
            },
            "Own eyes only": {"tlp": TLP.RED, "distribution": Distribution.ORGANISATION},
            "Draft for all": {"tlp": TLP.CLEAR, "distribution": Distribution.COMMUNITY},
        }
        uuids = {}
        for title, fields in shared.items():
            report = reports.create_report(
                s, None, ReportIn.model_validate({"title": title, **fields}), org=cert
            )
            if not title.startswith("Draft"):
                reports.publish_report(s, None, report.uuid)
            uuids[title] = report.uuid
        # The analyst at BKA opens the shared report: the access log of CERT-FR shows it.
        analyst = accounts.subject_by_email(s, ANALYST, via="api")
        reports.get_report(s, analyst, uuids["Ransomware C2"])
    return World(ready, uuids)


# --- init and the database ---------------------------------------------------------------------------


def test_init_creates_the_database_and_is_idempotent(db: str) -> None:
    first = ok(cli(db, "init"))
    assert first.stdout.strip() == f"database ready: {db}"
    ok(cli(db, "init"))
    engine = make_engine(db)
    try:
        assert is_current(engine)
    finally:
        engine.dispose()
    ok(cli(db, "org", "list"))


@pytest.mark.parametrize("command", [["org", "list"], ["report", "list"], ["group", "list"]])
def test_an_uninitialised_database_says_to_run_init(db: str, command: list[str]) -> None:
    refused(cli(db, *command), "not initialised", "run 'commonspace init'")


def test_messages_hide_a_database_password() -> None:
    shown = Context("postgresql://commonspace:s3cret@db.example:5432/cs").shown_url
    assert "s3cret" not in shown
    assert shown.startswith("postgresql://commonspace:")


# --- organisations --------------------------------------------------------------------------------


def test_org_add_and_list(ready: str) -> None:
    added = ok(cli(ready, "org", "add", "CERT-FR", "--kind", "government", "--country", "fr"))
    uuid = added.stdout.split(": ")[-1].strip()
    ok(cli(ready, "org", "add", "INTERPOL", "--kind", "international-organisation"))
    listed = ok(cli(ready, "org", "list")).stdout
    rows = {line.split("│")[1].strip(): line for line in listed.splitlines() if line.startswith("│")}
    assert set(rows) == {"CERT-FR", "INTERPOL"}
    assert "FR" in rows["CERT-FR"] and "government" in rows["CERT-FR"]
    assert uuid in rows["CERT-FR"], "the UUID is printed in full, even when the output is not a terminal"


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["--kind", "government", "--country", "XX"], ["'XX' is not an ISO 3166-1 country", "(country)"]),
        (["--kind", "government", "--country", "FRA"], ["'FRA' is not an ISO 3166-1 alpha-2 code"]),
        (["--kind", "enterprise"], ["a enterprise organisation needs a country"]),
        (
            ["--kind", "international-organisation", "--country", "FR"],
            ["an international organisation has no country"],
        ),
    ],
)
def test_org_add_refuses_a_bad_country(ready: str, args: list[str], phrases: list[str]) -> None:
    refused(cli(ready, "org", "add", "Somebody", *args), *phrases)
    assert "Somebody" not in ok(cli(ready, "org", "list")).stdout


def test_org_add_refuses_a_duplicate_name(ready: str) -> None:
    ok(cli(ready, "org", "add", "CERT-FR", "--kind", "government", "--country", "FR"))
    refused(cli(ready, "org", "add", "CERT-FR", "--kind", "government", "--country", "FR"), "already exists")


def test_org_add_is_for_site_admins(world: World) -> None:
    refused(
        cli(world.db, "org", "add", "X", "--kind", "government", "--country", "FR", "--as", ADMIN),
        "only site administrators create organisations",
    )


def test_names_are_printed_as_given_not_as_markup(ready: str) -> None:
    name = "[/][bold]Evil[/bold] Corp"
    assert name in ok(cli(ready, "org", "add", name, "--kind", "enterprise", "--country", "DE")).stdout
    assert name in ok(cli(ready, "org", "list")).stdout
    refused(
        cli(ready, "user", "add", "x@y.example", "--org", "[red]nobody", "--role", "reader"), "'[red]nobody'"
    )


# --- members and API keys ---------------------------------------------------------------------------


def test_user_add_reads_the_password_from_stdin(world: World) -> None:
    added = ok(
        cli(
            world.db,
            "user",
            "add",
            "New.Analyst@CERT.example",
            "--org",
            "CERT-FR",
            "--role",
            "analyst",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
    )
    assert added.stdout.strip() == "member new.analyst@cert.example (analyst) added to CERT-FR"
    assert PASSWORD not in added.output
    with session_on(world.db) as session:
        member = accounts.authenticate_password(session, "new.analyst@cert.example", PASSWORD)
        assert member.role == "analyst"


def test_user_add_refuses_a_short_password(world: World) -> None:
    result = cli(
        world.db, "user", "add", "x@cert.example", "--org", "CERT-FR", "--role", "reader", "--password-stdin",
        input="short\n",
    )  # fmt: skip
    refused(result, "at least 12 characters")


def test_user_add_as_an_org_admin_stays_in_their_organisation(world: World) -> None:
    ok(cli(world.db, "user", "add", "x@cert.example", "--org", "CERT-FR", "--role", "reader", "--as", ADMIN))
    refused(
        cli(world.db, "user", "add", "y@bka.example", "--org", "BKA", "--role", "reader", "--as", ADMIN),
        "only the organisation's administrators manage its members",
    )
    refused(
        cli(
            world.db,
            "user",
            "add",
            "z@cert.example",
            "--org",
            "CERT-FR",
            "--role",
            "site-admin",
            "--as",
            ADMIN,
        ),
        "only site administrators grant the site-admin role",
    )


def test_user_update_disable_takes_effect_on_the_next_request(world: World) -> None:
    _, key = printed_key(ok(cli(world.db, "apikey", "create", ANALYST)))
    assert key_subject(world.db, key).email == ANALYST

    disabled = ok(cli(world.db, "user", "update", ANALYST, "--disable"))
    assert disabled.stdout.strip() == f"member {ANALYST}: role analyst, disabled True"
    with pytest.raises(Unauthenticated):
        key_subject(world.db, key)
    refused(cli(world.db, "report", "list", "--as", ANALYST), f"member '{ANALYST}' is disabled")

    ok(cli(world.db, "user", "update", ANALYST, "--enable"))
    assert key_subject(world.db, key).email == ANALYST


def test_user_update_changes_the_role(world: World) -> None:
    ok(cli(world.db, "user", "update", PUBLISHER, "--role", "reader", "--as", ADMIN))
    with session_on(world.db) as session:
        member = session.scalars(select(t.Member).where(t.Member.email == PUBLISHER)).one()
        assert member.role == "reader"


def test_apikey_create_prints_a_key_that_authenticates(world: World) -> None:
    result = ok(cli(world.db, "apikey", "create", PUBLISHER, "--name", "feed"))
    _, key = printed_key(result)
    assert key.startswith("cs_")
    subject = key_subject(world.db, key)
    assert (subject.email, subject.role, subject.read_only) == (PUBLISHER, Role.PUBLISHER, False)


def test_apikey_create_read_only_and_expiring(world: World) -> None:
    uuid, key = printed_key(
        ok(cli(world.db, "apikey", "create", ANALYST, "--read-only", "--expires-days", "30"))
    )
    assert key_subject(world.db, key).read_only
    with session_on(world.db) as session:
        api_key = session.scalars(select(t.ApiKey).where(t.ApiKey.uuid == uuid)).one()
        assert api_key.expires is not None


def test_apikey_revoke(world: World) -> None:
    uuid, key = printed_key(ok(cli(world.db, "apikey", "create", READER)))
    key_subject(world.db, key)
    assert ok(cli(world.db, "apikey", "revoke", uuid)).stdout.strip() == f"API key {uuid} revoked"
    with pytest.raises(Unauthenticated):
        key_subject(world.db, key)


def test_apikey_revoke_of_another_organisation_is_not_found(world: World) -> None:
    uuid, _ = printed_key(ok(cli(world.db, "apikey", "create", READER)))
    refused(cli(world.db, "apikey", "revoke", uuid, "--as", ADMIN), f"no API key '{uuid}'")
    refused(cli(world.db, "apikey", "revoke", "no-such-key"), "no API key 'no-such-key'")


# --- sharing groups ---------------------------------------------------------------------------------


def test_group_add_with_members_and_list_as(world: World) -> None:
    created = ok(cli(world.db, "group", "add", "Banks", "--owner", "Nordbank", "--member", "CERT-FR"))
    assert created.stdout.startswith("sharing group Banks created: ")

    def groups(email: str) -> dict[str, str]:
        out = ok(cli(world.db, "group", "list", "--as", email)).stdout
        cells = [line.split("│")[1:3] for line in out.splitlines() if line.startswith("│")]
        return {name.strip(): members.strip() for name, members in cells}

    assert groups(ADMIN) == {"Banks": "CERT-FR, Nordbank", "CERT-FR/BKA": "BKA, CERT-FR"}
    assert groups(ANALYST) == {"CERT-FR/BKA": "BKA, CERT-FR"}
    assert groups(READER) == {"Banks": "CERT-FR, Nordbank"}


def test_group_add_is_for_the_owner_organisation(world: World) -> None:
    refused(
        cli(world.db, "group", "add", "Mine", "--owner", "CERT-FR", "--as", READER),
        "only publishers and administrators create sharing groups",
    )
    refused(cli(world.db, "group", "add", "X", "--owner", "Nobody"), "no organisation 'Nobody'")


# --- reports and the access log ------------------------------------------------------------------------


def titles(db: str, *args: str) -> set[str]:
    return {r["title"] for r in json.loads(ok(cli(db, "report", "list", "--json", *args)).stdout)}


def test_report_list_shows_exactly_what_the_policy_allows(world: World) -> None:
    everything = {"Phishing wave", "Ransomware C2", "Own eyes only", "Draft for all"}
    assert titles(world.db) == everything  # the operator
    assert titles(world.db, "--as", PUBLISHER) == everything  # the creator organisation, drafts included
    assert titles(world.db, "--as", ANALYST) == {"Phishing wave", "Ransomware C2"}  # community + channel
    assert titles(world.db, "--as", READER) == {"Phishing wave"}  # community only


def test_report_list_json_and_filters(world: World) -> None:
    [report] = json.loads(
        ok(cli(world.db, "report", "list", "--json", "--tlp", "AMBER", "--as", ANALYST)).stdout
    )
    assert report["uuid"] == world.reports["Ransomware C2"]
    assert report["sharing_group"]["name"] == "CERT-FR/BKA"
    assert report["organisation"]["name"] == "CERT-FR"
    assert titles(world.db, "--status", "draft") == {"Draft for all"}
    assert titles(world.db, "--text", "PHISHING") == {"Phishing wave"}


def test_report_list_table(world: World) -> None:
    out = ok(cli(world.db, "report", "list", "--as", READER)).stdout
    assert "Phishing wave" in out and world.reports["Phishing wave"] in out
    assert "Ransomware C2" not in out


def test_report_list_as_an_unknown_member(world: World) -> None:
    refused(cli(world.db, "report", "list", "--as", "nobody@nowhere.example"), "no member")


def test_audit_access_for_an_org_admin(world: World) -> None:
    events = json.loads(ok(cli(world.db, "audit", "access", "--as", ADMIN, "--json")).stdout)
    reads = [e for e in events if e["member"] == ANALYST]
    assert reads == [
        {
            "at": reads[0]["at"],
            "action": "report.read",
            "object": world.reports["Ransomware C2"],
            "member": ANALYST,
            "organisation": "BKA",
            "api_key_id": None,
            "via": "api",
        }
    ]
    table = ok(cli(world.db, "audit", "access", "--as", ADMIN)).stdout
    assert ANALYST in table and world.reports["Ransomware C2"] in table


def test_audit_access_is_refused_to_a_publisher(world: World) -> None:
    refused(cli(world.db, "audit", "access", "--as", PUBLISHER), "only organisation administrators")


def test_audit_access_needs_as(world: World) -> None:
    result = cli(world.db, "audit", "access")
    assert result.exit_code == 2
    assert "--as" in result.output


# --- the installed command ------------------------------------------------------------------------


def test_python_m_commonspace_cli_runs_the_real_command(tmp_path: Path) -> None:
    """Outside the test runner: a new interpreter, real streams, the real entry point."""
    command = [sys.executable, "-m", "commonspace.cli"]
    helped = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert helped.returncode == 0, helped.stderr
    assert "Usage: commonspace [OPTIONS] COMMAND [ARGS]..." in helped.stdout
    for name in ("init", "serve", "worker", "org", "user", "apikey", "group", "report", "audit"):
        assert re.search(rf"│ {name}\s", helped.stdout), name

    url = f"sqlite:///{tmp_path / 'sub.db'}"
    missing = subprocess.run(
        [*command, "--database", url, "org", "list"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "run 'commonspace init'" in missing.stderr
    assert "Traceback" not in missing.stderr
