"""The driver's side: planning the tasks, running them in waves, checking spans, putting hits in order."""

from __future__ import annotations

import stat
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.match import Hit
from commonspace.engine.readers import LogFormat, open_log
from commonspace.engine.readers._base import CHUNK_SIZE, GZIP_MAGIC, MAX_LINE, SKIPPED_KEPT, read_head
from commonspace.engine.readers.tabular import CsvReader
from commonspace.engine.readers.zeek import Schema, apply_header
from commonspace.engine.spark.session import spark_context
from commonspace.engine.spark.tasks import CsvStart, Indicator, Outcome, Task, run_tasks

if TYPE_CHECKING:
    from pyspark import SparkContext

SPLIT_SIZE = 32 << 20
"""The bytes of a file each task reads, by default (files no larger are read whole by one task)."""
OPEN_COST = 4 << 20
"""What opening a file is reckoned to cost, in bytes read, when small files are packed into partitions."""

EMPTY = "empty"
"""What a file without a byte is marked with: it has no task (and no hit)."""

_TYPES = {t.value: t for t in IndicatorType}


@dataclass
class _File:
    """One file of the run: how it is read, and what its spans have told so far."""

    path: str
    format: LogFormat
    size: int
    whole: str | None = None
    """Why one task reads it whole, if it does."""
    schema: Schema | None = None
    """Zeek TSV: the headers at the start of the file, taken to be in force at every later span."""
    csv: CsvStart | None = None
    """CSV: how spans after the first read their rows."""
    first_csv: CsvStart | None = None
    """CSV: how the first span reads its rows (after the leading comments; the first row tells the names)."""
    bounds: list[int] = field(default_factory=list)
    """Where the spans start, then the file's size."""
    # What the spans read so far have told:
    line: int = 1
    """The line the next span starts on."""
    headers: Schema = field(default_factory=Schema)
    """Zeek TSV: the headers in force where the next span starts."""
    done: bool = False
    """Whether the rest of the file was read by another task (its remaining spans are not used)."""
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)

    def tasks(self) -> list[Task]:
        if self.whole is not None:
            return [Task(self.path, self.format, whole=True, end=self.size)]
        tasks = []
        for start, end in zip(self.bounds, self.bounds[1:], strict=False):
            csv = self.first_csv if start == 0 else self.csv
            schema = (Schema() if start == 0 else self.schema) if self.format is LogFormat.ZEEK else None
            tasks.append(Task(self.path, self.format, start=start, end=end, schema=schema, csv=csv))
        return tasks

    def count(self, outcome: Outcome, shift: int) -> None:
        self.skipped += outcome.skipped
        room = SKIPPED_KEPT - len(self.skipped_lines)
        self.skipped_lines += [line + shift for line in outcome.skipped_lines[:room]]


@dataclass
class _Step:
    """A task's outcome on its way to the hits: ``outcome`` is None until a task run again gives it."""

    plan: _File
    task: Task
    outcome: Outcome | None
    first: int
    """The line the task's first line is in the file."""


def _line_start(path: Path, line: int) -> int | None:
    """Where physical line ``line`` starts in the file, or None past its end."""
    remaining, position = line - 1, 0
    with path.open("rb") as raw:
        while remaining > 0:
            chunk = raw.read(CHUNK_SIZE)
            if not chunk:
                return None
            count = chunk.count(b"\n")
            if count < remaining:
                remaining -= count
                position += len(chunk)
                continue
            at = -1
            for _ in range(remaining):
                at = chunk.index(b"\n", at + 1)
            return position + at + 1
    return position


def _head_schema(path: Path) -> Schema:
    """The Zeek headers in force after the header lines the file starts with."""
    schema = Schema()
    for line in read_head(path).split(b"\n")[:-1]:  # whole lines only
        if not line.startswith(b"#"):
            break
        schema = apply_header(schema, line.decode("utf-8", "replace"))
    return schema


def plan_file(path: Path, fmt: str, split_size: int) -> _File:
    """How to read one file: its format as ``open_log`` finds it, and its spans (or why it is read whole)."""
    reader = open_log(path, fmt)
    plan = _File(str(path), reader.format, reader.size)
    if not stat.S_ISREG(path.stat().st_mode):
        plan.whole = "not a regular file"
        return plan
    if plan.size == 0:
        plan.whole = EMPTY
        return plan
    with path.open("rb") as raw:
        gzip = raw.read(2) == GZIP_MAGIC
    if gzip:
        plan.whole = "gzip"
        return plan
    if plan.size <= split_size:
        plan.whole = "no larger than a split"
        return plan
    lowest = 1  # the lowest start of a span after the first
    if plan.format is LogFormat.CSV:
        layout = CsvReader(path).layout()
        rest = None if layout.rest is None else _line_start(path, layout.rest)
        if layout.names is None or rest is None:
            plan.whole = "CSV without a row after its first"
            return plan
        plan.first_csv = CsvStart(layout.delimiter, layout.first, None)
        plan.csv = CsvStart(layout.delimiter, 0, layout.names)
        lowest = rest  # the first span holds the leading comments and the first row
    elif plan.format is LogFormat.ZEEK:
        plan.schema = _head_schema(path)
    starts = [start for start in range(split_size, plan.size, split_size) if start >= lowest]
    plan.bounds = [0, *starts, plan.size]
    if len(plan.bounds) == 2:
        plan.whole = "no larger than a split"
    return plan


class SparkMatches(Iterator[tuple[str, Hit]]):
    """The hits of a run on Spark, in order, as ``(path, hit)``; what the reading met, once it is over.

    Spark starts (when no context was given) at the first ``next()``, and stops when the hits are all
    given or ``close()`` is called, which also cancels the jobs still running.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        indicators: list[Indicator],
        *,
        fmt: str,
        master: str,
        progress: Callable[[int], None] | None,
        context: SparkContext | None,
        split_size: int,
        wave: int | None,
    ) -> None:
        self.paths = [str(path) for path in paths]
        self.indicators = indicators
        self.fmt = fmt
        self.master = master
        self.progress = progress
        self.context = context
        self.split_size = split_size
        self.wave = wave
        self.formats: dict[str, LogFormat] = {}
        """Each file's format, as given or detected."""
        self.whole: dict[str, str] = {}
        """The files one task read whole, and why (gzip, small, a line longer than ``MAX_LINE``...)."""
        self.skipped: dict[str, int] = {}
        """How many malformed lines each file had (as ``LogReader.skipped`` counts them)."""
        self.skipped_lines: dict[str, list[int]] = {}
        """The first few of them."""
        self.read_errors: dict[str, str] = {}
        """Why reading a file stopped early (a damaged gzip file)."""
        self.tasks = 0
        """How many tasks ran, those run again included."""
        self.reruns: list[tuple[str, str]] = []
        """The tasks run again: the file and why."""
        self._hits = self._run()

    def __next__(self) -> tuple[str, Hit]:
        return next(self._hits)

    def close(self) -> None:
        """Stops the run: jobs still running are cancelled, a context started for the run is stopped."""
        self._hits.close()

    def __enter__(self) -> SparkMatches:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the run --------------------------------------------------------------------------------------
    def _run(self) -> Generator[tuple[str, Hit], None, None]:
        files = [plan_file(Path(path), self.fmt, self.split_size) for path in self.paths]
        tasks: list[tuple[_File, Task]] = []
        for plan in files:
            self.formats[plan.path] = plan.format
            if plan.whole is not None:
                self.whole[plan.path] = plan.whole
            if plan.whole != EMPTY:
                tasks += [(plan, task) for task in plan.tasks()]
        for plan in files:
            self.skipped[plan.path] = 0
            self.skipped_lines[plan.path] = []
        if not tasks:
            return
        context = self.context if self.context is not None else spark_context(self.master)
        broadcast = context.broadcast(self.indicators)
        run = partial(run_tasks, token=uuid.uuid4().hex, indicators=broadcast)
        group = f"commonspace-match-{uuid.uuid4().hex}"
        partitions = pack([task for _, task in tasks], self.split_size)
        waves = _Waves(context, partitions, run, group, self.wave).outcomes()
        try:
            done = 0
            position = 0
            for outcomes in waves:
                steps = []
                for outcome in outcomes:
                    plan, task = tasks[position]
                    position += 1
                    self.tasks += 1
                    done += task.size
                    step = self._check(plan, task, outcome)
                    if step is not None:
                        steps.append(step)
                self._rerun(context, run, [step for step in steps if step.outcome is None])
                for step in steps:
                    yield from self._give(step)
                if self.progress is not None:
                    self.progress(done)
        finally:
            waves.close()  # cancels the jobs still running
            broadcast.destroy()
            if self.context is None:
                context.stop()

    def _check(self, plan: _File, task: Task, outcome: Outcome) -> _Step | None:
        """Checks a task's outcome against what the file's earlier spans told: the step that gives its
        hits (with a task to run again instead, where the span could not know enough), or None when
        another task reads its lines."""
        if outcome.error is not None:
            raise ValueError(outcome.error)
        if plan.done:
            return None
        if task.whole:
            return _Step(plan, task, outcome, task.first_line)
        first = plan.line
        if outcome.long_line:
            # The readers may drop such a line, depending on where their chunks fall: read as they do.
            plan.done = True
            why = f"a line longer than {MAX_LINE} bytes"
            self.whole[plan.path] = f"from line {first}: {why}"
            return self._again(
                plan, Task(plan.path, plan.format, whole=True, end=plan.size, from_line=first), why
            )
        plan.line = first + outcome.lines
        step = _Step(plan, task, outcome, first)
        if plan.format is LogFormat.ZEEK:
            assumed, actual = task.schema, plan.headers
            for header in outcome.headers:
                plan.headers = apply_header(plan.headers, header)
            if assumed != actual and outcome.lines:
                exact = replace(task, start=outcome.begin, end=outcome.stop, first_line=first, schema=actual)
                step = self._again(plan, exact, "the Zeek headers changed before the span")
        if plan.format is LogFormat.CSV and outcome.cut and task.end < plan.size:
            # A quoted cell runs on into the next span: one task reads the rest of the file.
            plan.done = True
            rest = replace(task, start=outcome.begin, end=plan.size, first_line=first)
            step = self._again(plan, rest, "a quoted CSV cell across a split")
        return step

    def _again(self, plan: _File, task: Task, why: str) -> _Step:
        """A step whose task is run again (its lines numbered in place: from 1 for a whole file)."""
        self.reruns.append((plan.path, why))
        return _Step(plan, task, None, task.first_line)

    def _rerun(self, context: SparkContext, run: Any, steps: list[_Step]) -> None:
        """Runs the steps' tasks, all at once."""
        if not steps:
            return
        self.tasks += len(steps)
        outcomes: list[Outcome] = context.runJob(
            context.parallelize([[s.task] for s in steps], len(steps)), run
        )
        for step, outcome in zip(steps, outcomes, strict=True):
            if outcome.error is not None:
                raise ValueError(outcome.error)
            step.outcome = outcome

    def _give(self, step: _Step) -> Iterator[tuple[str, Hit]]:
        """The step's hits, in their place; its skipped lines counted."""
        plan, task, outcome = step.plan, step.task, step.outcome
        assert outcome is not None
        if task.from_line > 1:  # the whole file, read again: its count of skipped lines is the file's
            plan.skipped, plan.skipped_lines = 0, []
        shift = step.first - task.first_line
        plan.count(outcome, shift)
        self._finish(plan, outcome)
        path, types = plan.path, _TYPES
        for line, field_, observed, indicator, type_, ref in outcome.hits:
            yield path, Hit(line + shift, field_, observed, indicator, types[type_], ref)

    def _finish(self, plan: _File, outcome: Outcome) -> None:
        self.skipped[plan.path] = plan.skipped
        self.skipped_lines[plan.path] = plan.skipped_lines
        if outcome.read_error is not None:
            self.read_errors[plan.path] = outcome.read_error


def pack(tasks: list[Task], split_size: int) -> list[list[Task]]:
    """Consecutive tasks in partitions of about ``split_size`` bytes, each task reckoned ``OPEN_COST``
    more (at most an eighth of a split), as Spark packs small files: a span fills a partition alone, small
    files share one."""
    open_cost = min(OPEN_COST, split_size // 8)
    partitions: list[list[Task]] = []
    total = 0
    for task in tasks:
        weight = task.size + open_cost
        if not partitions or total + weight > split_size:
            partitions.append([])
            total = 0
        partitions[-1].append(task)
        total += weight
    return partitions


class _Waves:
    """Runs the partitions a wave at a time, in order, the next wave running while the hits of one are
    taken: Spark stays busy, and the driver holds the outcomes of two waves at most."""

    def __init__(
        self,
        context: SparkContext,
        partitions: list[list[Task]],
        run: Any,
        group: str,
        wave: int | None = None,
    ) -> None:
        self.context = context
        self.rdd = context.parallelize(partitions, len(partitions))  # one element a partition
        self.run = run
        self.group = group
        size = wave or max(8, 4 * context.defaultParallelism)
        count = len(partitions)
        self.waves = [list(range(i, min(i + size, count))) for i in range(0, count, size)]

    def _job(self, partitions: list[int]) -> list[Outcome]:
        self.context.setJobGroup(self.group, "commonspace match", interruptOnCancel=True)
        outcomes: list[Outcome] = self.context.runJob(self.rdd, self.run, partitions)
        return outcomes

    def outcomes(self) -> Generator[list[Outcome], None, None]:
        """Each wave's outcomes, in order."""
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="commonspace-spark")
        running: deque[Future[list[Outcome]]] = deque()
        try:
            for partitions in self.waves[:2]:
                running.append(pool.submit(self._job, partitions))
            following = 2
            while running:
                outcomes = running.popleft().result()
                if following < len(self.waves):
                    running.append(pool.submit(self._job, self.waves[following]))
                    following += 1
                yield outcomes
        finally:
            if running:
                self.context.cancelJobGroup(self.group)
            pool.shutdown(wait=True, cancel_futures=True)
