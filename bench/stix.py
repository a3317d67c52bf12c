"""STIX import: one whole bundle (ATT&CK Enterprise, 24,771 objects) read and imported, then its peer.

Service: ``formats.files.read_path`` then ``exchange.service.import_exchange`` as a publisher, committed,
into a fresh copy of a migrated, empty database (``databases.copies``) holding one organisation and its
publisher, both made through the services before the clock starts. Timed from the read to the commit;
the read alone is reported too (``read_seconds``). Objects per second: the bundle's objects over that time.
On SQLite the commit is durable when it returns; copying the WAL into the database file (the checkpoint)
is left to a background thread (``store.db.defer_checkpoint``), which is waited for, outside the clock,
before anything else is measured.

Peer: the ``stix2`` library (the OASIS reference implementation) doing only its share of the work: the
file read, then ``stix2.parse(text, allow_custom=True)``, which gives the objects as Python objects and
stores nothing.

The runs alternate (the service on each database, then the peer, and again), so that a machine that slows
down for a minute slows both sides; the median and the best of each are reported.

Memory: in a fresh process that has only loaded the code, opened the database and found its member, the
peak resident set size during the read and import (to the commit) less the resident size just before,
as a multiple of the file's size. Linux only counts it exactly (``VmHWM`` reset through
``/proc/self/clear_refs``); it includes the SQLite pages the process maps (``mmap_size``), not the
PostgreSQL server.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from bench import databases, memory
from commonspace.accounts import service as accounts
from commonspace.demo.sources import default_data_dir
from commonspace.domain.vocab import OrgKind, Role
from commonspace.exchange.service import ImportSummary, import_exchange
from commonspace.formats import files
from commonspace.policy import Subject
from commonspace.store.db import make_engine, session_factory, transaction, wait_for_checkpoints

BUNDLE = Path("stix", "attack", "enterprise-attack-18.1-reconstructed-stix21.json")
TARGET_RATIO = 10.0  # the service's objects per second over the peer's
TARGET_MEMORY_MULTIPLE = 3.0  # peak resident growth over the file's size
MEMBER = "importer@bench.example"
_CHILD_URL = "COMMONSPACE_BENCH_STIX_URL"
_ROOT = Path(__file__).resolve().parents[1]
_MIB = 1024 * 1024

Log = Callable[[str], None]


def default_bundle() -> Path:
    """The ATT&CK Enterprise bundle in the shared data folder (``demo.sources.default_data_dir``)."""
    return default_data_dir() / BUNDLE


def _prepare(engine: Engine) -> Subject:
    """The importing organisation and its publisher, through the services; the publisher as a Subject."""
    with transaction(session_factory(engine, writer=True)) as session:
        org = accounts.create_organisation(
            session, None, name="Bench importer", kind=OrgKind.ENTERPRISE, country="NL"
        )
        accounts.create_member(session, None, email=MEMBER, org=org, role=Role.PUBLISHER)
    return _subject(engine)


def _subject(engine: Engine) -> Subject:
    with transaction(session_factory(engine)) as session:
        return accounts.subject_by_email(session, MEMBER)


def _import(engine: Engine, path: Path, subject: Subject) -> tuple[float, float, ImportSummary]:
    """The measured work: read, import, commit. Seconds to the end of the read, to the commit."""
    started = time.perf_counter()
    exchange = files.read_path(path)
    read = time.perf_counter()
    with transaction(session_factory(engine, writer=True)) as session:
        summary = import_exchange(session, subject, exchange)
    return read - started, time.perf_counter() - started, summary


def _peer(path: Path) -> tuple[float, int]:
    import stix2  # a dev dependency, needed only here

    started = time.perf_counter()
    bundle = stix2.parse(path.read_text(encoding="utf-8"), allow_custom=True)
    seconds = time.perf_counter() - started
    return seconds, len(bundle.objects)


def _gc() -> None:
    """The same start for every run: the last import's background checkpoint done (``store.db``), its
    garbage collected, the rest frozen."""
    wait_for_checkpoints()
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _figures(seconds: Sequence[float], objects: int) -> dict[str, Any]:
    median, best = statistics.median(seconds), min(seconds)
    return {
        "runs": len(seconds),
        "median_seconds": round(median, 3),
        "best_seconds": round(best, 3),
        "per_second_median": round(objects / median) if median else None,
        "per_second_best": round(objects / best) if best else None,
        "seconds": [round(s, 3) for s in seconds],
    }


def _ratio(a: int | None, b: int | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _memory(copy: databases.Copy, path: Path) -> dict[str, Any]:
    """The import in a fresh process, on a fresh copy: its peak resident growth."""
    with copy() as engine:
        _prepare(engine)
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        done = subprocess.run(
            [sys.executable, "-m", "bench.stix", str(path)],
            cwd=_ROOT,
            env={**os.environ, _CHILD_URL: url},
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the memory measurement failed:\n{done.stderr}")
    child: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    file_mb = path.stat().st_size / _MIB
    multiple = child["growth_mb"] / file_mb
    return {
        **child,
        "file_mb": round(file_mb, 1),
        "multiple_of_file": round(multiple, 2),
        "target_multiple": TARGET_MEMORY_MULTIPLE,
        "meets_target": multiple <= TARGET_MEMORY_MULTIPLE,
    }


def run(
    path: Path | None,
    kinds: Sequence[str],
    *,
    runs: int,
    postgres_url: str | None = None,
    keep: bool = False,
    log: Log = print,
) -> dict[str, dict[str, Any]]:
    """Every database's figures (each with the peer, measured once for all of them)."""
    path = path or default_bundle()
    if not path.is_file():
        reason = (
            f"no STIX bundle {path.name} in {path.parent} (the ATT&CK Enterprise bundle belongs in "
            f"{BUNDLE.parent.as_posix()}/ of the shared data folder, or --stix-bundle names one)"
        )
        print(f"stix: not measured: {reason}", flush=True)  # even with --quiet
        return {kind: {"skipped": reason} for kind in kinds}
    data = path.read_bytes()
    objects = len(orjson.loads(data)["objects"])
    bundle = {
        "file": path.name,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "objects": objects,
    }
    del data
    log(f"stix: {path.name}: {objects:,} objects, {bundle['bytes'] / _MIB:,.1f} MiB; {runs} run(s) a side")
    try:
        import stix2

        peer_what: str | None = (
            f"stix2 {stix2.__version__}: file read, then stix2.parse(text, allow_custom=True)"
        )
    except ImportError:
        peer_what = None
        log("stix: the peer is not measured: stix2 is not installed (pip install -e '.[dev]')")

    service: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    summaries: dict[str, ImportSummary] = {}
    described: dict[str, Any] = {}
    peer: list[float] = []
    with ExitStack() as stack:
        copies = {
            kind: stack.enter_context(databases.copies(kind, postgres_url=postgres_url, keep=keep))
            for kind in kinds
        }
        for run_index in range(1, runs + 1):
            for kind in kinds:
                with copies[kind]() as engine:
                    if kind not in described:
                        described[kind] = databases.describe(engine)
                    subject = _prepare(engine)
                    _gc()
                    read, seconds, summaries[kind] = _import(engine, path, subject)
                service[kind].append((read, seconds))
                rate = f"{objects / seconds:,.0f} objects/s"
                log(f"stix: {kind} run {run_index}: {seconds:.2f} s (read {read:.2f} s), {rate}")
            if peer_what:
                _gc()
                seconds, parsed = _peer(path)
                _gc()  # the parsed objects freed outside the clock, as the service's are
                if parsed != objects:
                    raise RuntimeError(f"stix2.parse gave {parsed:,} objects of {objects:,}")
                peer.append(seconds)
                log(f"stix: peer run {run_index}: {seconds:.2f} s, {objects / seconds:,.0f} objects/s")
        usage = {}
        for kind in kinds:
            usage[kind] = _memory(copies[kind], path)
            log(f"stix: {kind} import peak RSS growth {usage[kind]['growth_mb']:,.0f} MiB, "
                f"{usage[kind]['multiple_of_file']}× the file")  # fmt: skip

    peer_figures = (
        {**_figures(peer, objects), "what": peer_what} if peer else {"skipped": "stix2 is not installed"}
    )
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        summary = summaries[kind]
        figures = _figures([seconds for _, seconds in service[kind]], objects)
        figures["read_seconds_median"] = round(statistics.median(read for read, _ in service[kind]), 3)
        ratio = _ratio(figures["per_second_median"], peer_figures.get("per_second_median"))
        out[kind] = {
            "bundle": bundle,
            "database": described[kind],
            "service": {
                **figures,
                "what": "files.read_path, then exchange.service.import_exchange as a publisher, committed",
                "imported": {
                    "objects_read": summary.objects_read,
                    "reports_created": summary.reports_created,
                    "indicators_added": summary.indicators_added,
                    "objects_added": summary.objects_added,
                    "skipped": len(summary.skipped),
                },
            },
            "peer": peer_figures,
            "ratio_service_to_peer": ratio,
            "ratio_service_to_peer_best": _ratio(
                figures["per_second_best"], peer_figures.get("per_second_best")
            ),
            "target_ratio": TARGET_RATIO,
            "meets_target": bool(ratio and ratio >= TARGET_RATIO),
            "memory": usage[kind],
        }
    return out


def _child(argv: list[str]) -> int:
    """``python -m bench.stix BUNDLE`` with the database in the environment: the memory measurement."""
    p = argparse.ArgumentParser(prog="python -m bench.stix")
    p.add_argument("bundle", type=Path)
    args = p.parse_args(argv)
    engine = make_engine(os.environ[_CHILD_URL])
    subject = _subject(engine)  # the connection open, the code loaded: only the import is left
    gc.collect()
    per_phase = memory.reset_peak()
    before = memory.current_mb() if per_phase else None
    before = before if before is not None else memory.own_peak_mb()
    _, seconds, summary = _import(engine, args.bundle, subject)
    peak = memory.own_peak_mb()
    engine.dispose()
    result = {
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "growth_mb": round(peak - before, 1),
        "seconds": round(seconds, 3),
        "objects_added": summary.objects_added,
        "memory_per_phase": per_phase,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
