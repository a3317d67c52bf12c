"""``commonspace correlate``: the counts shown, and rebuilt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from commonspace.accounts import service as accounts
from commonspace.cli import app
from commonspace.correlation.service import LIMIT_VARIABLE
from commonspace.domain.vocab import OrgKind
from commonspace.reports import service as reports
from commonspace.reports.schemas import IndicatorIn, ReportIn
from commonspace.store import tables as t
from commonspace.store.db import make_engine, session_factory, transaction

runner = CliRunner()


def _cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--database", db, "correlate", *args])


@pytest.fixture
def db(tmp_path: Path, sqlite_template: Path) -> str:
    """An initialised SQLite database with three reports, two of which share a value."""
    path = tmp_path / "correlate.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with transaction(session_factory(engine, writer=True)) as session:
        org = accounts.create_organisation(session, None, name="CERT", kind=OrgKind.GOVERNMENT, country="FR")
        for values in (["45.9.148.3", "evil-c2.top"], ["45.9.148.3"], ["45.9.148.3", "other.top"]):
            items = [IndicatorIn(value=value) for value in values]
            reports.create_report(session, None, ReportIn(title="r", indicators=items), org=org)
    engine.dispose()
    return url


def test_correlate_shows_the_counts(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMIT_VARIABLE, "2")
    done = _cli(db)
    assert done.exit_code == 0, done.stderr
    assert "3 distinct values; 1 held by more than one report; 1 by more than 2" in done.stdout
    assert "45.9.148.3" in done.stdout and "evil-c2.top" not in done.stdout  # only values held twice or more


def test_correlate_rebuild_counts_again(db: str) -> None:
    engine = make_engine(db)
    with transaction(session_factory(engine, writer=True)) as session:  # counts gone wrong
        session.execute(t.CorrelationValue.__table__.delete())
        session.add(t.CorrelationValue(canonical="stale.top", type="domain", reports=7))
    done = _cli(db, "--rebuild", "--step", "2")
    assert done.exit_code == 0, done.stderr
    assert "5 indicators counted: 3 distinct values" in done.stdout
    with transaction(session_factory(engine)) as session:
        rows = session.execute(select(t.CorrelationValue.canonical, t.CorrelationValue.reports))
        assert {value: n for value, n in rows} == {"45.9.148.3": 3, "evil-c2.top": 1, "other.top": 1}
    engine.dispose()


def test_a_wrong_limit_is_an_error(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMIT_VARIABLE, "none")
    done = _cli(db)
    assert done.exit_code == 1
    assert LIMIT_VARIABLE in done.stderr and done.stdout == ""
