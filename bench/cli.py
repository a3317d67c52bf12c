"""``python -m bench``: measure, print a table, write the results as JSON."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench import correlation, data, databases, insert, match, memory, search, stix, world

RESULTS = Path(__file__).with_name("results")
TARGET_INSERT_PER_SECOND = 100_000
TARGET_SEARCH_MS = 200.0
PHASES = ("insert", "search", "stix", "match", "correlation")
# The phases that load the generated indicators first (stix brings its own data).
WORLD_PHASES = ("insert", "search")


def _csv(choices: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        wrong = [v for v in values if v not in choices]
        if wrong or not values:
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {', '.join(choices)}")
        return values

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--size", type=int, default=1_000_000, help="indicators to insert (default 1,000,000)")
    p.add_argument(
        "--databases",
        type=_csv(databases.KINDS),
        default=list(databases.KINDS),
        help="sqlite, postgresql or both, comma-separated (default both)",
    )
    p.add_argument(
        "--only",
        type=_csv(PHASES),
        default=list(PHASES),
        help="insert (the service and its peer), search, stix (a STIX bundle imported, beside stix2.parse), "
        "match (logs matched, beside grep and a naive matcher), correlation (a full recorrelation and one "
        "report correlated, on a database of their own), comma-separated (default all); for insert "
        "and search the indicators are loaded through the service either way",
    )
    p.add_argument("--reports", type=int, help="reports to spread them over (default size/1000, ≤ 1000)")
    p.add_argument("--batch", type=int, default=100_000, help="items per add_indicators call (API limit)")
    p.add_argument("--values", type=int, default=1000, help="values per search")
    p.add_argument("--runs", type=int, default=15, help="timed searches (each with other values)")
    p.add_argument("--warmup", type=int, default=2, help="searches run first and not counted")
    p.add_argument("--limit", type=int, default=1000, help="page size of the search (API maximum: 1000)")
    p.add_argument(
        "--stix-bundle",
        type=Path,
        help=f"the STIX 2.1 bundle to import (default: {stix.BUNDLE.as_posix()} of the shared data folder)",
    )
    p.add_argument("--stix-runs", type=int, default=3, help="timed imports, and as many stix2 parses")
    p.add_argument(
        "--match-mb", type=float, default=500, help="megabytes of Zeek dns.log to match (default 500)"
    )
    p.add_argument("--match-runs", type=int, default=3, help="timed runs of each log matcher")
    p.add_argument(
        "--correlation-size",
        type=int,
        default=10_000_000,
        help="indicators loaded for the correlation bench (default 10,000,000)",
    )
    p.add_argument(
        "--correlation-report", type=int, default=10_000, help="indicators of the report correlated"
    )
    p.add_argument("--correlation-runs", type=int, default=5, help="timed correlations of that report")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--untyped", type=float, default=0.1, help="share of items sent without a type")
    p.add_argument(
        "--analyze",
        choices=("auto", "always", "never"),
        default="auto",
        help="refresh planner statistics after loading; auto: PostgreSQL only, as its autovacuum would",
    )
    p.add_argument(
        "--postgres-url", help=f"server to create the database on (${databases.POSTGRES_VARIABLE})"
    )
    p.add_argument("--output", type=Path, default=RESULTS, help="directory for the JSON results")
    p.add_argument("--keep", action="store_true", help="keep the databases (their location is printed)")
    p.add_argument("--quiet", action="store_true")
    return p


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop: how fast this machine ran Python during the run (virtual
    machines vary by tens of per cent from one minute to the next), to compare runs with."""
    started = time.perf_counter()
    sum(i * i for i in range(2_000_000))
    return round(time.perf_counter() - started, 3)


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure: the load before the run says how busy it was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_probe_seconds_at_start": cpu_probe(),
    }
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=RESULTS.parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = None
    return info


def _phase_start() -> float | None:
    """Before a measured phase: a new memory peak, and the bench's own objects (world, queries) moved
    out of the garbage collector's way, so that its pauses in the measured code are the code's own.
    Returns the resident memory at the start of the phase."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    memory.reset_peak()
    return memory.current_mb()


def run_database(kind: str, args: argparse.Namespace, w: data.World, log: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with databases.fresh_database(kind, postgres_url=args.postgres_url, keep=args.keep) as engine:
        out["database"] = databases.describe(engine)
        log(f"{kind}: {out['database']}")
        rss_at_start = _phase_start()
        started = time.perf_counter()
        loaded = world.create(engine, w)
        out["setup"] = {
            "seconds": round(time.perf_counter() - started, 3),
            "peak_rss_mb": memory.peak_mb(),
            "rss_at_start_mb": rss_at_start,
        }
        log(f"{kind}: {len(w.reports)} reports created in {out['setup']['seconds']} s; inserting {w.size:,}")

        rss_at_start = _phase_start()
        stats = data.Stats()
        service = insert.service_insert(
            engine, w, loaded, batch=args.batch, stats=stats, progress=not args.quiet
        )
        out["dataset"] = {
            "indicators": service.items,
            "rows_stored": service.rows,
            "by_type": dict(sorted(stats.by_type.items())),
            "untyped": stats.untyped,
            "narrowed": stats.narrowed,
            "tagged": stats.tagged,
            "respelled_duplicates": stats.respelled,
            "popular_values": stats.popular,
        }
        out["insert"] = {
            "service": {**service.summary(), "peak_rss_mb": memory.peak_mb(), "rss_at_start_mb": rss_at_start}
        }
        log(f"{kind}: service insert {service.summary()}")
        if "insert" in args.only:
            rss_at_start = _phase_start()
            peer = insert.peer_insert(engine, service.batches)
            out["insert"]["peer"] = {
                **peer.summary(),
                "peak_rss_mb": memory.peak_mb(),
                "rss_at_start_mb": rss_at_start,
                "what": "plain DBAPI executemany of the stored rows into a bare table with the same indexes",
                "indexes": insert.peer_indexes(),
            }
            log(f"{kind}: peer insert {peer.summary()}")
            rate, peer_rate = out["insert"]["service"]["per_second"], out["insert"]["peer"]["per_second"]
            out["insert"]["ratio_service_to_peer"] = round(rate / peer_rate, 3) if peer_rate else None
            out["insert"]["target_per_second"] = TARGET_INSERT_PER_SECOND
            out["insert"]["meets_target"] = bool(rate and rate >= TARGET_INSERT_PER_SECOND)

        analyzed = args.analyze == "always" or (args.analyze == "auto" and kind == "postgresql")
        started = time.perf_counter()
        databases.settle(engine, analyze=analyzed)
        settled = time.perf_counter() - started
        log(f"{kind}: checkpoint{' and statistics' if analyzed else ''} in {settled:.1f} s")
        out["analyzed"] = analyzed
        if "search" in args.only:
            out["search"] = _search(engine, args, w, loaded, log)
    return out


def _search(engine: Engine, args: argparse.Namespace, w: data.World, loaded: world.Loaded, log: Any) -> Any:
    _phase_start()
    pool = data.popular_pool(w.seed, w.size)
    candidates = data.search_candidates(w, pool)
    queries = [data.query_set(w, candidates, run, args.values) for run in range(args.warmup + args.runs)]
    del candidates, pool
    prepare_mb = memory.peak_mb()
    rss_at_start = _phase_start()
    result = search.run(engine, loaded.searcher, queries, limit=args.limit, warmup=args.warmup)
    service, peer = result.service.summary(), result.peer.summary()
    kinds: dict[str, int] = {}
    for q in queries[args.warmup :]:
        for kind, n in q.kinds.items():
            kinds[kind] = kinds.get(kind, 0) + n
    answered = sorted(result.values_answered)
    out = {
        "values": args.values,
        "limit": args.limit,
        "subject": "analyst of an organisation that owns no report, member of 2 of 4 sharing groups",
        "service": service,
        "audit_write": {
            k: v for k, v in result.audit_write.summary().items() if k in ("median_ms", "p95_ms")
        },
        "peer": {
            **peer,
            "what": "one plain SELECT ... WHERE canonical IN (canonical values): no policy, no containment",
        },
        "ratio_service_to_peer": round(service["median_ms"] / peer["median_ms"], 2)
        if service["median_ms"] and peer["median_ms"]
        else None,
        "values_answered_on_first_page_median": answered[len(answered) // 2] if answered else None,
        "pages_with_more": result.more_pages,
        "hit_share_all_pages": [round(x, 3) for x in result.hit_shares],
        "query_kinds_per_run": {k: round(v / max(1, args.runs)) for k, v in sorted(kinds.items())},
        "prepare_peak_rss_mb": prepare_mb,
        "peak_rss_mb": memory.peak_mb(),
        "rss_at_start_mb": rss_at_start,
        "target_ms": TARGET_SEARCH_MS,
        "meets_target": bool(service["median_ms"] and service["median_ms"] <= TARGET_SEARCH_MS),
    }
    log(f"service search {service}; peer {peer}")
    return out


def table(results: dict[str, Any]) -> str:
    head = ("database", "measure", "service", "peer", "ratio", "target", "peak RSS MiB")
    rows: list[tuple[str, ...]] = [head]
    for kind, r in results.items():
        ins = r.get("insert", {})
        if "peer" in ins:
            s, p = ins["service"], ins["peer"]
            rows.append(
                (
                    kind,
                    "bulk insert, indicators/s",
                    f"{s['per_second']:,}",
                    f"{p['per_second']:,}",
                    f"{ins['ratio_service_to_peer']:.2f}× raw",
                    f"≥ {TARGET_INSERT_PER_SECOND:,} {'met' if ins['meets_target'] else 'MISSED'}",
                    f"{s['peak_rss_mb']:,.0f} / {p['peak_rss_mb']:,.0f}",
                )
            )
        if "search" in r:
            s = r["search"]
            rows.append(
                (
                    kind,
                    f"search {s['values']:,} values, median ms",
                    f"{s['service']['median_ms']:,.1f}",
                    f"{s['peer']['median_ms']:,.1f}",
                    f"{s['ratio_service_to_peer']:.1f}× raw",
                    f"≤ {TARGET_SEARCH_MS:.0f} ms {'met' if s['meets_target'] else 'MISSED'}",
                    f"{s['peak_rss_mb']:,.0f}",
                )
            )
            rows.append(
                (
                    kind,
                    "search, p95 ms",
                    f"{s['service']['p95_ms']:,.1f}",
                    f"{s['peer']['p95_ms']:,.1f}",
                    "",
                    "",
                    "",
                )
            )
            if "audit_write" in s:
                audit = s["audit_write"]
                rows.append(
                    (kind, "then its audit write, median ms", f"{audit['median_ms']:,.1f}", "", "", "", "")
                )
        rows.extend(_stix_rows(kind, r.get("stix")))
        rows.extend(match.rows(r.get("match")))
        rows.extend(correlation.rows(kind, r.get("correlation")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _stix_rows(kind: str, s: dict[str, Any] | None) -> list[tuple[str, ...]]:
    if not s:
        return []
    if "skipped" in s:
        return [(kind, "STIX import", "skipped: no bundle", "", "", "", "")]
    service, peer, usage = s["service"], s["peer"], s["memory"]
    peer_median = f"{peer['per_second_median']:,}" if "skipped" not in peer else "not measured"
    peer_best = f"{peer['per_second_best']:,}" if "skipped" not in peer else ""
    ratio = s["ratio_service_to_peer"]
    best_ratio = s["ratio_service_to_peer_best"]
    met = "met" if s["meets_target"] else "MISSED"
    return [
        (
            kind,
            f"STIX import {s['bundle']['objects']:,} objects, objects/s median",
            f"{service['per_second_median']:,}",
            peer_median,
            f"{ratio:.1f}× stix2.parse" if ratio else "",
            f"≥ {stix.TARGET_RATIO:.0f}× {met}",
            "",
        ),
        (
            kind,
            "STIX import, objects/s best",
            f"{service['per_second_best']:,}",
            peer_best,
            f"{best_ratio:.1f}× stix2.parse" if best_ratio else "",
            "",
            "",
        ),
        (
            kind,
            "STIX import, peak RSS growth",
            f"{usage['multiple_of_file']:.2f}× the file ({usage['file_mb']:,.1f} MiB)",
            "",
            "",
            f"≤ {stix.TARGET_MEMORY_MULTIPLE:.0f}× {'met' if usage['meets_target'] else 'MISSED'}",
            f"+{usage['growth_mb']:,.0f}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Stopped with SIGTERM (kill), still drop the PostgreSQL database and remove the SQLite file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    args = parser().parse_args(argv)
    command = shlex.join([Path(sys.executable).name, "-m", "bench", *argv])
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(f"  {msg}", flush=True))
    reports = args.reports or min(1000, max(5, args.size // 1000))
    loads = any(phase in args.only for phase in WORLD_PHASES)
    w = data.make_world(args.seed, args.size, reports, args.untyped) if loads else None
    print(f"command: {command}", flush=True)
    started = datetime.now(UTC)
    output: dict[str, Any] = {
        "command": command,
        "argv": argv,
        "started": started.isoformat(timespec="seconds"),
        "machine": _machine(),
        "parameters": {
            "size": args.size,
            "reports": len(w.reports) if w else None,
            "batch": args.batch,
            "values": args.values,
            "runs": args.runs,
            "warmup": args.warmup,
            "limit": args.limit,
            "seed": args.seed,
            "untyped_share": args.untyped,
            "databases": args.databases,
            "only": args.only,
            "analyze": args.analyze,
            "stix_runs": args.stix_runs,
            "match_mb": args.match_mb,
            "match_runs": args.match_runs,
            "correlation_size": args.correlation_size,
            "correlation_report": args.correlation_report,
            "correlation_runs": args.correlation_runs,
        },
        "targets": {
            "insert_per_second": TARGET_INSERT_PER_SECOND,
            "search_median_ms": TARGET_SEARCH_MS,
            "stix_ratio_to_peer": stix.TARGET_RATIO,
            "stix_peak_rss_growth_multiple_of_file": stix.TARGET_MEMORY_MULTIPLE,
            "match_ratio_to_grep": match.TARGET_RATIO_TO_GREP,
            "match_index_bytes_per_indicator": match.TARGET_INDEX_BYTES,
            "correlation_rebuild_seconds": correlation.TARGET_REBUILD_SECONDS,
            "correlation_report_ms": correlation.TARGET_REPORT_MS,
        },
        "method": {
            "insert": insert.__doc__,
            "search": search.__doc__,
            "stix": stix.__doc__,
            "match": match.__doc__,
            "correlation": correlation.__doc__,
            "memory": memory.__doc__,
            "gc": "collected and frozen before each measured phase (the bench's own objects are no garbage "
            "the measured code should pay for)",
        },
        "memory_per_phase": memory.reset_peak(),
        "results": {},
    }
    if w is not None:
        for kind in args.databases:
            output["results"][kind] = run_database(kind, args, w, log)
    if "stix" in args.only:
        measured = stix.run(
            args.stix_bundle,
            args.databases,
            runs=max(1, args.stix_runs),
            postgres_url=args.postgres_url,
            keep=args.keep,
            log=log,
        )
        for kind, result in measured.items():
            output["results"].setdefault(kind, {})["stix"] = result
    if "match" in args.only:
        output["results"]["match"] = {
            "match": match.run(args.match_mb, max(1, args.match_runs), keep=args.keep, log=log)
        }
    if "correlation" in args.only:
        measured = correlation.run(
            args.databases,
            size=args.correlation_size,
            report_size=args.correlation_report,
            runs=max(1, args.correlation_runs),
            seed=args.seed,
            postgres_url=args.postgres_url,
            keep=args.keep,
            log=log,
        )
        for kind, result in measured.items():
            output["results"].setdefault(kind, {})["correlation"] = result
    output["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    output["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    output["machine"]["cpu_probe_seconds_at_end"] = cpu_probe()
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"bench-{started:%Y%m%d-%H%M%S}-{args.size if w else '-'.join(args.only)}.json"
    path.write_text(json.dumps(output, indent=2) + "\n")
    print()
    print(table(output["results"]))
    print()
    print(f"command: {command}")
    print(f"results: {path}")
    return 0
