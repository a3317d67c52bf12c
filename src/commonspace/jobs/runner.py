"""Running jobs: the context handlers get, the worker loop, and background worker threads.

A handler is a plain callable ``handler(ctx) -> dict`` whose dict becomes the job's result; handlers
are registered in an explicit ``dict[str, Handler]`` given to the worker. A handler reports progress
with ``ctx.progress(done, total)`` regularly (that is also the job's heartbeat, and where a requested
cancellation stops it) and opens its own transactions with ``ctx.session()``. It must not hold a write
transaction open while calling ``progress``: on SQLite the two writers would wait on each other.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from commonspace.jobs import service
from commonspace.jobs.service import JobCancelled, JobLost, JobState
from commonspace.store.db import transaction

__all__ = [
    "Handler",
    "JobCancelled",
    "JobContext",
    "JobLost",
    "Worker",
    "default_worker_id",
    "start_background_workers",
]

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
RECOVER_EVERY_SECONDS = 60.0


@dataclass
class JobContext:
    """What a handler knows of its job, and its way back to the database."""

    factory: sessionmaker[Session]
    job_id: int
    uuid: str
    kind: str
    params: dict[str, Any]
    attempt: int
    worker_id: str
    member_id: int | None
    org_id: int | None
    total: int | None = None

    def progress(self, done: int, total: int | None = None) -> None:
        """Record ``done`` (of ``total``) and the heartbeat in a short transaction of its own.

        Raises ``JobCancelled`` when cancellation was requested, ``JobLost`` when the job was taken
        from this worker (recovered as stale); either way the handler should just let it propagate.
        """
        if total is not None:
            self.total = total
        with transaction(self.factory) as session:
            cancel = service.heartbeat(session, self.job_id, self.worker_id, self.attempt, done, total)
        if cancel:
            raise JobCancelled(f"job {self.uuid} was cancelled")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction, committed on success and rolled back on error."""
        with transaction(self.factory) as session:
            yield session


Handler = Callable[[JobContext], dict[str, Any]]


def _process_alive(worker_id: str) -> bool:
    """Whether the process in a ``host:pid:index`` worker id (of this host) still runs."""
    try:
        pid = int(worker_id.split(":")[1])
        os.kill(pid, 0)
    except (IndexError, ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def default_worker_id(index: int = 0) -> str:
    """``host:pid:index``: unique among the workers alive at one time."""
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Worker:
    """Claims queued jobs one at a time and runs them with the registered handlers."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        handlers: Mapping[str, Handler],
        worker_id: str,
        poll_interval: float = 0.5,
        *,
        stale_after: timedelta = STALE_AFTER,
        recover_every: float = RECOVER_EVERY_SECONDS,
    ) -> None:
        self.factory = factory
        self.handlers = dict(handlers)
        self.worker_id = worker_id[:200]
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.recover_every = recover_every

    def recover(self) -> int:
        """Take back jobs left running by lost workers (see ``service.recover_stale``): at once for
        workers of this host whose process is gone (a restart), after ``stale_after`` for others."""
        with transaction(self.factory) as session:
            host = self.worker_id.split(":", 1)[0]
            dead = [
                job_id for job_id, worker in service.running_on(session, host) if not _process_alive(worker)
            ]
            count: int = service.recover_stale(session, self.stale_after, dead=dead)
        if count:
            logger.warning("recovered %d stale job(s)", count)
        return count

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue was empty."""
        with transaction(self.factory) as session:
            job = service.claim(session, self.worker_id)
            if job is None:
                return False
            ctx = JobContext(
                factory=self.factory,
                job_id=job.id,
                uuid=job.uuid,
                kind=job.kind,
                params=dict(job.params or {}),
                attempt=job.attempts,
                worker_id=self.worker_id,
                member_id=job.member_id,
                org_id=job.org_id,
                total=job.total,
            )
        self._run(ctx)
        return True

    def run_forever(self, stop_event: threading.Event) -> None:
        """Run jobs until ``stop_event`` is set; recover stale jobs at start and every minute."""
        next_recovery = 0.0
        while not stop_event.is_set():
            try:
                if time.monotonic() >= next_recovery:
                    self.recover()
                    next_recovery = time.monotonic() + self.recover_every
                if self.run_once():
                    continue
            except Exception:
                # The database went away, most likely: keep the worker alive and try again later.
                logger.exception("job worker %s: error in the worker loop", self.worker_id)
            stop_event.wait(self.poll_interval)

    def _run(self, ctx: JobContext) -> None:
        handler = self.handlers.get(ctx.kind)
        if handler is None:
            self._finish(ctx, JobState.FAILED, error=f"no handler for job kind {ctx.kind}")
            return
        logger.info("job %s (%s) attempt %d started by %s", ctx.uuid, ctx.kind, ctx.attempt, self.worker_id)
        try:
            result = handler(ctx)
        except JobCancelled:
            self._finish(ctx, JobState.CANCELLED)
            return
        except JobLost:
            logger.warning(
                "job %s was taken from worker %s; its outcome is discarded", ctx.uuid, self.worker_id
            )
            return
        except Exception as exc:
            logger.exception("job %s (%s) failed", ctx.uuid, ctx.kind)
            self._finish(ctx, JobState.FAILED, error=str(exc) or type(exc).__name__)
            return
        if not isinstance(result, dict):
            self._finish(ctx, JobState.FAILED, error=f"handler returned {type(result).__name__}, not a dict")
            return
        try:
            self._finish(ctx, JobState.SUCCEEDED, result=result)
        except Exception as exc:  # e.g. a result that is not JSON
            logger.exception("job %s: result could not be stored", ctx.uuid)
            self._finish(ctx, JobState.FAILED, error=f"result could not be stored: {exc}")

    def _finish(
        self,
        ctx: JobContext,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with transaction(self.factory) as session:
            done = service.finish(
                session, ctx.job_id, self.worker_id, ctx.attempt, state, result=result, error=error
            )
        if done:
            logger.info("job %s (%s) %s", ctx.uuid, ctx.kind, state.value)
        else:
            logger.warning(
                "job %s was taken from worker %s; %s not recorded", ctx.uuid, self.worker_id, state
            )


def start_background_workers(
    factory: sessionmaker[Session],
    handlers: Mapping[str, Handler],
    count: int,
    stop_event: threading.Event,
    *,
    poll_interval: float = 0.5,
    stale_after: timedelta = STALE_AFTER,
) -> list[threading.Thread]:
    """Start ``count`` daemon threads running workers (e.g. inside the web server); set ``stop_event``
    and join the threads to stop them. A job running at shutdown is recovered by the next start."""
    threads: list[threading.Thread] = []
    for index in range(count):
        worker = Worker(
            factory, handlers, default_worker_id(index), poll_interval=poll_interval, stale_after=stale_after
        )
        thread = threading.Thread(
            target=worker.run_forever, args=(stop_event,), name=f"commonspace-job-worker-{index}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads
