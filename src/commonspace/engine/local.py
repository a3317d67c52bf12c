"""The local engine: logs scanned on this machine, block by block, on several processes.

The parent reads each log (it alone knows the headers in force and the physical line numbers) and hands
its blocks, in order, to worker processes; each worker scans a block against its copy of the index
(inherited at fork, never pickled), renders the hits as JSON Lines and counts them; the parent writes the
results in the blocks' order. At most two blocks a worker are in flight, so memory stays bounded
whatever the size of the log. With one worker (or where processes cannot be forked) the same work runs
in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path

from commonspace.engine import spans
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import DEFAULT_MEMO, Hit
from commonspace.engine.output import Describe, Renderer, Tally
from commonspace.engine.readers import Block, LineParser, LogFormat, LogReader, open_log
from commonspace.engine.scan import Scanner, group_hits

Write = Callable[[bytes], object]
BLOCK_SIZE = 512 << 10
"""Bytes of a log a worker scans at a time: blocks that stay in the processor's caches scan fastest (512 KiB
beat 256 KiB, 1, 2 and 4 MiB on Zeek logs), and the hand-overs to workers stay cheap beside them."""
Answer = tuple[bytes, Tally, list[int]]
"""What scanning a block gives back: its JSON Lines, its tally, the lines its parser skipped."""
SpanAnswer = tuple[Tally, tuple[int, list[int]], bool]
"""What scanning a span gives back: its tally, its skipped lines (count, first few), an over-long line."""


@dataclass
class LogSummary:
    """What reading one log gave: its format, size, skipped lines, and why reading stopped early."""

    path: str
    format: str
    size: int
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    read_error: str | None = None


@dataclass
class Result:
    """The logs read, and the hits counted (by indicator value, and by the caller's references)."""

    logs: list[LogSummary] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)


def default_workers() -> int:
    """One worker a core this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


class _Work:
    """A process's side: scans, renders and counts blocks (state kept between blocks)."""

    def __init__(self, index: IndicatorIndex, describe: Describe | None, render: bool, memo: int) -> None:
        self.scanner = Scanner(index, memo=memo)
        self.describe = describe
        self.render = render
        self.renderers: dict[str, Renderer] = {}

    def __call__(
        self, log: str, first_line: int, data: bytes, parser: LineParser
    ) -> tuple[bytes, Tally, list[int]]:
        skipped: list[int] = []
        parser.skip = skipped.append
        hits = self.scanner.scan(Block(first_line, data, parser))
        tally = Tally()
        tally.add(hits)
        output = b""
        if self.render:
            renderer = self.renderers.get(log)
            if renderer is None:
                renderer = self.renderers[log] = Renderer(log, self.describe)
            output = renderer.render(hits)
        return output, tally, skipped

    def count_span(
        self, path: Path, format: LogFormat, start: int, end: int, chunk_size: int
    ) -> spans.Counted:
        return spans.count_span(path, format, start, end, chunk_size)

    def scan_span(self, log: str, task: spans.SpanTask, chunk_size: int, output: Path) -> SpanAnswer:
        """Scans one span of a log, its JSON Lines written to ``output``."""
        reader, span = spans.open_span(task, chunk_size)
        tally = Tally()
        renderer = Renderer(log, self.describe) if self.render else None
        with output.open("wb") as out:
            for block in reader.blocks():
                hits = self.scanner.scan(block)
                tally.add(hits)
                if renderer is not None:
                    out.write(renderer.render(hits))
        return tally, (reader.skipped, list(reader.skipped_lines)), span.long_line


_worker: _Work | None = None


def _start_worker(work: _Work) -> None:
    global _worker
    _worker = work


def _run(task: tuple[str, int, bytes, LineParser]) -> Answer:
    assert _worker is not None, "worker not started"
    return _worker(*task)


def _count(task: tuple[Path, LogFormat, int, int, int]) -> spans.Counted:
    assert _worker is not None, "worker not started"
    return _worker.count_span(*task)


def _scan_span(task: tuple[str, spans.SpanTask, int, Path]) -> SpanAnswer:
    assert _worker is not None, "worker not started"
    return _worker.scan_span(*task)


def _fork_pool(workers: int, work: _Work) -> Pool | None:
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker, initargs=(work,))


def match_logs(
    paths: Sequence[Path],
    index: IndicatorIndex,
    *,
    fmt: str = "auto",
    write: Write | None = None,
    describe: Describe | None = None,
    workers: int | None = None,
    memo: int = DEFAULT_MEMO,
    progress: Callable[[int], None] | None = None,
    names: Sequence[str] | None = None,
    chunk_size: int = BLOCK_SIZE,
) -> Result:
    """Matches every log against the index; the JSON Lines go to ``write`` (when given), in log order.

    ``names`` are what the output calls the logs (default: the paths as given). ``progress`` is called
    with the bytes of all logs read so far. Raises ``ValueError`` for an unknown format and ``OSError``
    for a log that cannot be read, before anything is written for that log.
    """
    workers = default_workers() if workers is None else max(1, workers)
    work = _Work(index, describe, write is not None, memo)
    result = Result()
    names = [str(path) for path in paths] if names is None else list(names)
    pool = _fork_pool(workers, work)
    done_before = 0
    try:
        for path, name in zip(paths, names, strict=True):
            read = _Log(result, write, progress, done_before)
            reader = open_log(Path(path), fmt, chunk_size=chunk_size, progress=read.advance)
            read.reader = reader
            summary = LogSummary(name, reader.format.value, reader.size)
            result.logs.append(summary)
            # A log cut into spans is done; else (a line too long for spans), it is read block by block.
            if _spanned(pool, name, Path(path), reader.format, workers, chunk_size, read, summary):
                done_before += reader.size
                continue
            if pool is None:
                for block in reader.blocks():
                    read.finish(work(name, block.first_line, block.data, block.parser))
            else:
                pending: deque[AsyncResult[Answer]] = deque()
                for block in reader.blocks():
                    if len(pending) >= 2 * workers:
                        read.finish(pending.popleft().get())
                    task = (name, block.first_line, block.data, block.parser)
                    del block
                    pending.append(pool.apply_async(_run, (task,)))
                while pending:
                    read.finish(pending.popleft().get())
            summary.skipped = reader.skipped
            summary.skipped_lines = list(reader.skipped_lines)
            summary.read_error = reader.read_error
            done_before += reader.size
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return result


def _spanned(
    pool: Pool | None,
    name: str,
    path: Path,
    format: LogFormat,
    workers: int,
    chunk_size: int,
    read: _Log,
    summary: LogSummary,
) -> bool:
    if pool is None or not spans.spannable(path, format, workers):
        return False
    return _match_spans(pool, name, path, format, workers, chunk_size, read, summary)


def _match_spans(
    pool: Pool,
    name: str,
    path: Path,
    format: LogFormat,
    workers: int,
    chunk_size: int,
    read: _Log,
    summary: LogSummary,
) -> bool:
    """One log cut into spans that the workers read themselves (see :mod:`commonspace.engine.spans`);
    False, with nothing written, when a line is too long for that (the log is then read block by block)."""
    ranges = spans.cut(summary.size, workers)
    counted = pool.map(_count, [(path, format, start, end, chunk_size) for start, end in ranges], chunksize=1)
    if any(count.long_line for count in counted):
        return False
    tasks = spans.plan(path, format, ranges, counted)
    skipped: list[tuple[int, list[int]]] = []
    with tempfile.TemporaryDirectory(prefix="commonspace-match-") as directory:
        outputs = [Path(directory, f"{i}.jsonl") for i in range(len(tasks))]
        answers = pool.imap(
            _scan_span, [(name, task, chunk_size, out) for task, out in zip(tasks, outputs, strict=True)]
        )
        for task, output, (tally, skips, long_line) in zip(tasks, outputs, answers, strict=True):
            assert not long_line, "the first pass found no over-long line"
            if read.write is not None:
                with output.open("rb") as lines:
                    for chunk in iter(lambda: lines.read(1 << 20), b""):  # noqa: B023 - used at once
                        read.write(chunk)
            output.unlink()
            read.result.tally.merge(tally)
            skipped.append(skips)
            read.advance(task.end)
    summary.skipped, summary.skipped_lines = spans.kept_skips(skipped)
    return True


class _Log:
    """The parent's side of one log: progress, and the answers of its blocks taken in order."""

    def __init__(
        self, result: Result, write: Write | None, progress: Callable[[int], None] | None, base: int
    ) -> None:
        self.result = result
        self.write = write
        self.progress = progress
        self.base = base
        self.reader: LogReader | None = None

    def advance(self, read: int) -> None:
        if self.progress is not None:
            self.progress(self.base + read)

    def finish(self, answer: Answer) -> None:
        output, tally, skipped = answer
        if output and self.write is not None:
            self.write(output)
        self.result.tally.merge(tally)
        if self.reader is not None:
            for line in skipped:
                self.reader.skip_line(line)


def collect_hits(
    hits: Iterable[tuple[str, Hit]],
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    write: Write | None = None,
    describe: Describe | None = None,
    batch: int = 10_000,
) -> Result:
    """Renders and counts hits that another engine found, given as ``(str(path), Hit)`` in log order,
    as :func:`match_logs` does its own (the output names each log as ``str(path)``)."""
    result = Result()
    for path in paths:
        reader = open_log(Path(path), fmt)
        result.logs.append(LogSummary(str(path), reader.format.value, reader.size))
    renderers: dict[str, Renderer] = {}

    def flush(log: str, run: list[Hit]) -> None:
        found = group_hits(run)
        result.tally.add(found)
        if write is not None:
            renderer = renderers.get(log)
            if renderer is None:
                renderer = renderers[log] = Renderer(log, describe)
            write(renderer.render(found))

    log: str | None = None
    run: list[Hit] = []
    for name, hit in hits:
        # A batch ends between records, never inside one: its cells are whole.
        if name != log or (len(run) >= batch and hit.line != run[-1].line):
            if log is not None and run:
                flush(log, run)
            log, run = name, []
        run.append(hit)
    if log is not None and run:
        flush(log, run)
    return result
