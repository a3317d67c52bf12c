"""The durable job runner, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from commonspace.domain.errors import Forbidden
from commonspace.domain.vocab import Role
from commonspace.jobs import service
from commonspace.jobs.runner import (
    Handler,
    JobCancelled,
    JobContext,
    Worker,
    default_worker_id,
    start_background_workers,
)
from commonspace.jobs.schemas import JobOut
from commonspace.jobs.service import JobState
from commonspace.policy import Subject
from commonspace.store import tables
from commonspace.store.db import session_factory, transaction
from commonspace.store.tables import utcnow


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    made: sessionmaker[Session] = session_factory(engine)
    return made


def make_subject(factory: sessionmaker[Session], org: str, email: str, role: Role = Role.ANALYST) -> Subject:
    with transaction(factory) as session:
        organisation = session.query(tables.Organisation).filter_by(name=org).one_or_none()
        if organisation is None:
            organisation = tables.Organisation(name=org, kind="government")
            session.add(organisation)
            session.flush()
        member = tables.Member(email=email, org_id=organisation.id, role=role.value)
        session.add(member)
        session.flush()
        return Subject(member_id=member.id, org_id=organisation.id, role=role)


@pytest.fixture
def alice(factory: sessionmaker[Session]) -> Subject:
    return make_subject(factory, "Org A", "alice@a.example")


def submit(factory: sessionmaker[Session], subject: Subject | None, kind: str, **kwargs: Any) -> str:
    with transaction(factory) as session:
        uuid: str = service.submit(session, subject, kind, kwargs.pop("params", {}), **kwargs).uuid
        return uuid


def load(factory: sessionmaker[Session], uuid: str) -> tables.Job:
    with transaction(factory) as session:
        return session.query(tables.Job).filter_by(uuid=uuid).one()


def counting(ctx: JobContext) -> dict[str, Any]:
    n = int(ctx.params["n"])
    for i in range(1, n + 1):
        ctx.progress(i, total=n)
        if i == 2:
            with ctx.session() as session:
                seen = session.query(tables.Job).filter_by(id=ctx.job_id).one()
                assert (seen.progress, seen.total, seen.state) == (2, n, "running")
    return {"counted": n}


def failing(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(1)
    raise RuntimeError("the feed is malformed at line 3")


def test_submit_claim_run_succeed(factory: sessionmaker[Session], alice: Subject) -> None:
    uuid = submit(factory, alice, "count", params={"n": 3})
    with transaction(factory) as session:
        job = service.get(session, alice, uuid)
        assert job is not None
        assert JobOut.model_validate(job).state is JobState.QUEUED
    worker = Worker(factory, {"count": counting}, "w1")
    assert worker.run_once() is True
    assert worker.run_once() is False
    job = load(factory, uuid)
    assert job.state == "succeeded"
    assert job.result == {"counted": 3}
    assert (job.progress, job.total, job.attempts, job.worker, job.error) == (3, 3, 1, "w1", None)
    assert job.started is not None and job.finished is not None and job.heartbeat is not None
    out = JobOut.model_validate(job)
    assert out.result == {"counted": 3} and out.state is JobState.SUCCEEDED


def test_failure_stores_the_error(factory: sessionmaker[Session], alice: Subject) -> None:
    bad = submit(factory, alice, "fail")
    unknown = submit(factory, alice, "mystery")
    worker = Worker(factory, {"fail": failing}, "w1")
    assert worker.run_once() and worker.run_once()
    job = load(factory, bad)
    assert (job.state, job.error, job.progress, job.result) == (
        "failed",
        "the feed is malformed at line 3",
        1,
        None,
    )
    job = load(factory, unknown)
    assert (job.state, job.error) == ("failed", "no handler for job kind mystery")


def test_cancel_queued(factory: sessionmaker[Session], alice: Subject) -> None:
    uuid = submit(factory, alice, "count", params={"n": 1})
    with transaction(factory) as session:
        job = service.request_cancel(session, alice, uuid)
        assert job is not None and job.state == "cancelled" and job.finished is not None
    assert Worker(factory, {"count": counting}, "w1").run_once() is False
    assert load(factory, uuid).state == "cancelled"


def test_cancel_running(factory: sessionmaker[Session], alice: Subject) -> None:
    started, go = threading.Event(), threading.Event()
    seen: list[str] = []

    def slow(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(1, total=10)
        started.set()
        assert go.wait(10)
        try:
            ctx.progress(2)
        except JobCancelled:
            seen.append("cancelled")
            raise
        return {"finished": True}

    uuid = submit(factory, alice, "slow")
    thread = threading.Thread(target=Worker(factory, {"slow": slow}, "w1").run_once)
    thread.start()
    assert started.wait(10)
    with transaction(factory) as session:
        job = service.request_cancel(session, alice, uuid)
        assert job is not None and job.state == "running" and job.cancel_requested
    go.set()
    thread.join(10)
    assert seen == ["cancelled"]
    job = load(factory, uuid)
    assert (job.state, job.progress, job.result) == ("cancelled", 2, None)
    with transaction(factory) as session:  # cancelling a finished job changes nothing
        again = service.request_cancel(session, alice, uuid)
        assert again is not None and again.state == "cancelled"


def _age_heartbeat(factory: sessionmaker[Session], uuid: str) -> None:
    with transaction(factory) as session:
        stale = utcnow() - timedelta(hours=1)
        session.execute(update(tables.Job).where(tables.Job.uuid == uuid).values(heartbeat=stale))


def test_stale_recovery_requeues_then_fails(factory: sessionmaker[Session], alice: Subject) -> None:
    uuid = submit(factory, alice, "count", params={"n": 1}, max_attempts=2)
    fresh = submit(factory, alice, "count", params={"n": 1})
    for attempt in (1, 2):
        with transaction(factory) as session:
            job = service.claim(session, f"dead-{attempt}")
            assert job is not None and job.uuid == uuid and job.attempts == attempt
        with transaction(factory) as session:  # a live heartbeat is left alone
            assert service.recover_stale(session, timedelta(minutes=1)) == 0
        _age_heartbeat(factory, uuid)
        with transaction(factory) as session:
            assert service.recover_stale(session, timedelta(minutes=1)) == 1
        job = load(factory, uuid)
        if attempt == 1:
            assert (job.state, job.worker, job.attempts) == ("queued", None, 1)
            with transaction(factory) as session:  # the lost worker's late writes are fenced off
                assert not service.finish(session, job.id, "dead-1", 1, JobState.SUCCEEDED, result={})
                with pytest.raises(service.JobLost):
                    service.heartbeat(session, job.id, "dead-1", 1, done=1)
    job = load(factory, uuid)
    assert (job.state, job.error, job.attempts) == ("failed", "worker lost after 2 attempts", 2)
    assert load(factory, fresh).state == "queued"


def test_worker_start_recovers_stale_jobs(factory: sessionmaker[Session], alice: Subject) -> None:
    uuid = submit(factory, alice, "count", params={"n": 2})
    with transaction(factory) as session:
        assert service.claim(session, "crashed") is not None
    _age_heartbeat(factory, uuid)
    worker = Worker(factory, {"count": counting}, "w2", stale_after=timedelta(minutes=1))
    assert worker.recover() == 1
    assert worker.run_once()
    job = load(factory, uuid)
    assert (job.state, job.attempts, job.worker, job.result) == ("succeeded", 2, "w2", {"counted": 2})


def test_visibility(factory: sessionmaker[Session], alice: Subject) -> None:
    colleague = make_subject(factory, "Org A", "carol@a.example")
    admin_a = make_subject(factory, "Org A", "admin@a.example", Role.ORG_ADMIN)
    bob = make_subject(factory, "Org B", "bob@b.example")
    admin_b = make_subject(factory, "Org B", "admin@b.example", Role.ORG_ADMIN)
    site = make_subject(factory, "Org B", "root@b.example", Role.SITE_ADMIN)
    uuid = submit(factory, alice, "count", params={"n": 1})
    system = submit(factory, None, "count", params={"n": 1})
    with transaction(factory) as session:
        for who in (alice, admin_a, site):
            assert service.get(session, who, uuid) is not None
            assert [j.uuid for j in service.list_jobs(session, who) if j.uuid == uuid] == [uuid]
        for who in (colleague, bob, admin_b):
            assert service.get(session, who, uuid) is None
            assert service.list_jobs(session, who) == []
            assert service.request_cancel(session, who, uuid) is None
        assert (
            service.get(session, site, system) is not None and service.get(session, admin_a, system) is None
        )
        assert len(service.list_jobs(session, site, state="queued")) == 2
        assert service.list_jobs(session, site, state=JobState.RUNNING) == []
        with pytest.raises(Forbidden):
            service.request_cancel(
                session, Subject(alice.member_id, alice.org_id, alice.role, read_only=True), uuid
            )
    assert load(factory, uuid).state == "queued"


def _recording(runs: list[tuple[str, str]], lock: threading.Lock) -> Handler:
    def record(ctx: JobContext) -> dict[str, Any]:
        with lock:
            runs.append((ctx.uuid, ctx.worker_id))
        time.sleep(0.005)
        ctx.progress(1, total=1)
        return {"ran_by": ctx.worker_id}

    return record


def test_two_workers_never_run_a_job_twice(factory: sessionmaker[Session], alice: Subject) -> None:
    uuids = {submit(factory, alice, "record") for _ in range(20)}
    runs: list[tuple[str, str]] = []
    handlers = {"record": _recording(runs, threading.Lock())}
    workers = [Worker(factory, handlers, f"w{i}") for i in (1, 2)]

    def drain(worker: Worker) -> None:
        while worker.run_once():
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(u for u, _ in runs) == sorted(uuids)
    for uuid, worker_id in runs:
        job = load(factory, uuid)
        assert (job.state, job.attempts, job.result) == ("succeeded", 1, {"ran_by": worker_id})


def test_background_workers(factory: sessionmaker[Session], alice: Subject) -> None:
    uuids = {submit(factory, alice, "record") for _ in range(10)}
    runs: list[tuple[str, str]] = []
    stop = threading.Event()
    threads = start_background_workers(
        factory, {"record": _recording(runs, threading.Lock())}, 2, stop, poll_interval=0.05
    )
    deadline = time.monotonic() + 30
    while len(runs) < len(uuids) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert sorted(u for u, _ in runs) == sorted(uuids)
    assert {load(factory, u).state for u in uuids} == {"succeeded"}


def test_restart_recovers_jobs_of_dead_local_processes_at_once(
    factory: sessionmaker[Session], alice: Subject
) -> None:
    """After a restart, a job held by a process of this host that no longer exists is resumed at once,
    while one held by a live process (or another host) waits for its heartbeat to go stale."""
    me = default_worker_id()
    host = me.split(":", 1)[0]
    dead_job = submit(factory, alice, "count")
    live_job = submit(factory, alice, "count")
    remote_job = submit(factory, alice, "count")
    with transaction(factory) as session:
        for uuid, worker in (
            (dead_job, f"{host}:999999999:0"),
            (live_job, me),
            (remote_job, "elsewhere:1:0"),
        ):
            session.execute(
                update(tables.Job)
                .where(tables.Job.uuid == uuid)
                .values(state="running", worker=worker, started=utcnow(), heartbeat=utcnow(), attempts=1)
            )
    worker = Worker(factory, {"count": counting}, f"{host}:{os.getpid()}:1", stale_after=timedelta(hours=1))
    assert worker.recover() == 1
    assert load(factory, dead_job).state == JobState.QUEUED.value
    assert load(factory, live_job).state == JobState.RUNNING.value
    assert load(factory, remote_job).state == JobState.RUNNING.value
