"""Matching logs: ``commonspace match`` beside ``grep -F -w -f`` and a naive Python set matcher.

Input: the WRCCDC 2018 Zeek ``dns.log`` of the shared data folder, its data lines repeated (under its
header) to about ``--match-mb`` megabytes; as indicators, IPsum's addresses and the domains of the
cloudflare-top100k warninglist (what ``canonical.detect`` accepts of them), one value a line.

Each contender runs as a whole process, writing its output to a file (grep stops at the first match when
its output is ``/dev/null``), in turn, ``--match-runs`` times; the median is reported:

* ``commonspace match LOG --indicators VALUES -o OUT``: the full semantics (addresses, networks, names and
  their subdomains, in every column), one JSON line per record, field and indicator; its time includes
  starting Python, reading and canonicalising the values and building the index.
* ``grep -F -w -f VALUES LOG > OUT`` (``LC_ALL=C.UTF-8``: with ``LC_ALL=C``, GNU grep 3.8 takes four times as
  long and ten times the memory on these patterns): the matching lines; exact words only, so neither
  networks nor subdomains.
* ``python -m bench.naive_match``: each line split on tabs and commas, each token looked up in a set of
  the values; the matching lines.

Each also runs twice on a log of only the header: its start-up (the interpreter, reading the 220,430
values, building grep's automaton or our index). Throughput is the log's size over the median wall time
less the start-up, the target's measure; the whole command's time is reported beside it. Peak memory is
the child's maximum resident set size. The index's own size is measured apart, with tracemalloc, as bytes
per indicator.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from commonspace.demo.sources import default_data_dir
from commonspace.domain import canonical
from commonspace.engine.index import IndicatorIndex

LOG = Path("logs", "zeek-wrccdc2018", "dns.log")
IPSUM = Path("indicators", "ipsum", "ipsum.txt")
DOMAINS = Path("warninglists", "cloudflare-top100k.json")
TARGET_RATIO_TO_GREP = 1.5
TARGET_INDEX_BYTES = 100.0


def make_log(source: Path, target: Path, megabytes: float) -> int:
    """``source``'s header, then its data lines repeated to about ``megabytes``; returns the line count."""
    lines = source.read_bytes().splitlines(keepends=True)
    header = [line for line in lines if line.startswith(b"#") and not line.startswith(b"#close")]
    body = b"".join(line for line in lines if not line.startswith(b"#"))
    copies = max(1, round(megabytes * 1e6 / len(body)))
    with target.open("wb") as out:
        out.writelines(header)
        for _ in range(copies):
            out.write(body)
    return len(header) + copies * body.count(b"\n")


def make_values(data: Path, target: Path) -> dict[str, int]:
    """IPsum's addresses and the top-100k domains, one a line; returns how many of each were kept."""
    addresses = [
        line.split()[0]
        for line in (data / IPSUM).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    domains = json.loads((data / DOMAINS).read_text())["list"]
    kept: list[str] = []
    counts = {"ipv4": 0, "domain": 0, "refused": 0}
    for value in [*addresses, *domains]:
        found = canonical.detect(value)
        if found is None or found[0].value not in counts:
            counts["refused"] += 1
            continue
        counts[found[0].value] += 1
        kept.append(found[1])
    target.write_text("\n".join(kept) + "\n")
    return counts


def index_bytes(values: Path) -> dict[str, Any]:
    """The index's memory (tracemalloc: Python objects and numpy arrays), per indicator."""
    indicators = [
        ("ipv4" if value[-1].isdigit() else "domain", value, ref)
        for ref, value in enumerate(values.read_text().split())
    ]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = IndicatorIndex(indicators)
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"indicators": len(index), "bytes": size, "bytes_per_indicator": round(size / len(index), 1)}


# Runs a command and writes "seconds peak-RSS-KiB" of it to the descriptor its first argument names. A
# child's peak resident size starts at its parent's (Linux keeps it across fork and exec), and this
# bench's own process holds the index it measured: so the command is started from this small process
# instead, which times it too.
_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(int(sys.argv[1]), f"{time.perf_counter() - started} {usage.ru_maxrss}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(command: list[str], stdout: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Runs ``command`` with its output to ``stdout``; returns (seconds, peak RSS MiB) of the command."""
    read, write = os.pipe()
    try:
        with stdout.open("wb") as out:
            process = subprocess.run(
                [sys.executable, "-S", "-c", _LAUNCHER, str(write), *command],
                stdout=out,
                stderr=subprocess.PIPE,
                env=env,
                pass_fds=(write,),
                check=False,
            )
        os.close(write)
        write = -1
        measured = os.read(read, 200).decode().split()
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
    if process.returncode not in (0, 1) or len(measured) != 2:  # grep says 1 when nothing matched
        stderr = process.stderr.decode(errors="replace").strip()[-500:]
        raise RuntimeError(f"{shlex.join(command)} failed ({process.returncode}): {stderr}")
    return float(measured[0]), int(measured[1]) / 1024


def count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: lines.read(1 << 20), b""))


def run(
    megabytes: float, runs: int, *, data: Path | None = None, keep: bool = False, log: Callable[[str], None]
) -> dict[str, Any]:
    data = data or default_data_dir()
    if not (data / LOG).is_file():
        return {"skipped": f"no {LOG.as_posix()} in the shared data folder"}
    work = Path(tempfile.mkdtemp(prefix="commonspace-bench-match-"))
    logfile, values = work / "dns.log", work / "values.txt"
    lines = make_log(data / LOG, logfile, megabytes)
    kinds = make_values(data, values)
    size = logfile.stat().st_size
    log(f"match: {size / 1e6:,.0f} MB of dns.log ({lines:,} lines), {kinds['ipv4']:,} addresses and "
        f"{kinds['domain']:,} domains")  # fmt: skip
    executable = Path(sys.executable)
    commonspace = [str(executable.with_name("commonspace"))]
    if not Path(commonspace[0]).exists():
        commonspace = [str(executable), "-m", "commonspace.cli"]
    out = work / "output"
    # Each contender: (command on a log, its environment, whether it writes OUT itself, not to stdout).
    grep_env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def ours(log: Path) -> list[str]:
        return [*commonspace, "match", str(log), "--indicators", str(values), "-o", str(out)]

    def grep(log: Path) -> list[str]:
        return ["grep", "-F", "-w", "-f", str(values), str(log)]

    def naive(log: Path) -> list[str]:
        return [str(executable), "-m", "bench.naive_match", str(values), str(log)]

    contenders: dict[str, tuple[Callable[[Path], list[str]], dict[str, str] | None, bool]] = {
        "commonspace": (ours, None, True),
        "grep": (grep, grep_env, False),
        "naive": (naive, None, False),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    peaks: dict[str, list[float]] = {name: [] for name in contenders}
    outputs: dict[str, int] = {}
    # Start-up (interpreter, reading the values, building the index or automaton): each on a log of only
    # its header, so that throughput can be told apart from it.
    empty = work / "empty.log"
    empty.write_bytes(b"".join(line for line in (data / LOG).read_bytes().splitlines(True)[:8]))
    startup: dict[str, float] = {}
    try:
        index = index_bytes(values)
        for name, (command, env, writes_itself) in contenders.items():
            startup[name] = min(
                timed(command(empty), work / "stdout" if writes_itself else out, env)[0] for _ in range(2)
            )
            log(f"match: {name} starts in {startup[name]:.2f} s")
        for turn in range(runs):
            for name, (command, env, writes_itself) in contenders.items():
                seconds, peak = timed(command(logfile), work / "stdout" if writes_itself else out, env)
                times[name].append(seconds)
                peaks[name].append(peak)
                outputs[name] = count_lines(out)
                out.unlink()
                log(f"match: run {turn + 1}: {name} {seconds:.2f} s, {peak:,.0f} MiB")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    if keep:
        log(f"match: inputs kept in {work}")
    result: dict[str, Any] = {
        "log": {"megabytes": round(size / 1e6, 1), "lines": lines},
        "indicators": kinds,
        "index": {**index, "target_bytes_per_indicator": TARGET_INDEX_BYTES},
    }
    for name, (command, _, _) in contenders.items():
        median = statistics.median(times[name])
        scanning = max(median - startup[name], 1e-3)
        result[name] = {
            "seconds_median": round(median, 3),
            "seconds_best": round(min(times[name]), 3),
            "startup_seconds": round(startup[name], 3),
            "mb_per_second": round(size / 1e6 / median, 1),
            "mb_per_second_after_startup": round(size / 1e6 / scanning, 1),
            "lines_per_second": round(lines / median),
            "peak_rss_mb": round(max(peaks[name]), 1),
            "output_lines": outputs[name],
            "command": shlex.join(command(logfile)),
        }
    ours = result["commonspace"]
    # Throughput: the log's bytes over the time spent on them, start-up aside (both have one: grep builds
    # its automaton of the 220,430 values, commonspace reads and canonicalises them and builds its index).
    result["ratio_to_grep"] = round(
        ours["mb_per_second_after_startup"] / result["grep"]["mb_per_second_after_startup"], 2
    )
    result["ratio_to_grep_whole_command"] = round(
        result["grep"]["seconds_median"] / ours["seconds_median"], 2
    )
    result["ratio_to_naive"] = round(
        ours["mb_per_second_after_startup"] / result["naive"]["mb_per_second_after_startup"], 2
    )
    result["target_ratio_to_grep"] = TARGET_RATIO_TO_GREP
    result["meets_target"] = result["ratio_to_grep"] >= TARGET_RATIO_TO_GREP
    result["index"]["meets_target"] = index["bytes_per_indicator"] <= TARGET_INDEX_BYTES
    return result


def rows(result: dict[str, Any] | None) -> list[tuple[str, ...]]:
    """The bench table's rows: (database, measure, service, peer, ratio, target, peak RSS MiB)."""
    if not result:
        return []
    if "skipped" in result:
        return [("-", "log matching", f"skipped: {result['skipped']}", "", "", "", "")]
    ours, grep, naive = result["commonspace"], result["grep"], result["naive"]
    met = "met" if result["meets_target"] else "MISSED"
    index = result["index"]
    return [
        (
            "-",
            f"match {result['log']['megabytes']:,.0f} MB dns.log, MB/s after start-up",
            f"{ours['mb_per_second_after_startup']:,}",
            f"{grep['mb_per_second_after_startup']:,} grep",
            f"{result['ratio_to_grep']:.2f}× grep -F -w",
            f"≥ {TARGET_RATIO_TO_GREP}× {met}",
            f"{ours['peak_rss_mb']:,.0f} / {grep['peak_rss_mb']:,.0f}",
        ),
        (
            "-",
            "match, whole command, s median (start-up)",
            f"{ours['seconds_median']:,} ({ours['startup_seconds']})",
            f"{grep['seconds_median']:,} ({grep['startup_seconds']})",
            f"{result['ratio_to_grep_whole_command']:.2f}× grep",
            "",
            "",
        ),
        (
            "-",
            "match, lines/s median",
            f"{ours['lines_per_second']:,}",
            f"{naive['lines_per_second']:,} naive",
            f"{result['ratio_to_naive']:.2f}× naive set",
            "",
            f"{naive['peak_rss_mb']:,.0f}",
        ),
        (
            "-",
            f"match index, bytes/indicator ({index['indicators']:,})",
            f"{index['bytes_per_indicator']:,}",
            "",
            "",
            f"≤ {TARGET_INDEX_BYTES:.0f} {'met' if index['meets_target'] else 'MISSED'}",
            "",
        ),
    ]
