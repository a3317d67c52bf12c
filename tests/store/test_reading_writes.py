"""Reads that leave a trace must not fail when another writer commits during the read (SQLite WAL)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from commonspace.accounts import service as accounts
from commonspace.audit import service as audit
from commonspace.domain.vocab import OrgKind, Role
from commonspace.store import tables as t
from commonspace.store.db import mark_reading, run_queued_writes, session_factory, transaction


def test_trace_of_a_read_is_written_after_a_concurrent_commit(engine: Engine) -> None:
    writers = session_factory(engine, writer=True)
    with transaction(writers) as session:
        org = accounts.create_organisation(session, None, name="Org", kind=OrgKind.GOVERNMENT, country="FR")
        member = accounts.create_member(session, None, email="a@org.example", org=org, role=Role.ANALYST)
        subject = accounts.subject_for(session, member)
    before = _events(engine)

    with session_factory(engine)() as reading:
        mark_reading(reading)
        with reading.begin():
            reading.scalar(select(func.count()).select_from(t.Report))  # the read snapshot starts here
            audit.record(reading, subject, "report.read", "report", "r-1", org.id)
            # Another request writes and commits while this read is still open.
            with transaction(writers) as other:
                accounts.create_organisation(other, None, name="Other", kind=OrgKind.ENTERPRISE, country="DE")
        run_queued_writes(reading, writers)

    assert _events(engine) == before + 2  # the other organisation's creation, then the read


def test_outside_a_read_the_trace_joins_the_transaction(engine: Engine) -> None:
    writers = session_factory(engine, writer=True)
    with transaction(writers) as session:
        org = accounts.create_organisation(session, None, name="Org", kind=OrgKind.GOVERNMENT, country="FR")
        before = _events(engine)  # not yet committed: this other connection sees none of it
        audit.record(session, None, "report.read", "report", "r-1", org.id)
        assert session.scalar(select(func.count()).select_from(t.AuditEvent)) == 2
    assert before == 0
    assert _events(engine) == 2


def _events(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(t.AuditEvent)) or 0
