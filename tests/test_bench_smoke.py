"""The benchmark runs end to end on a tiny world and writes its results; timings are not checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_writes_its_results(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "--size", "2000", "--databases", "sqlite"]
    command += ["--runs", "2", "--warmup", "1", "--values", "200", "--output", str(tmp_path), "--quiet"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "python -m bench --size 2000" in done.stdout  # the command line is printed

    (path,) = tmp_path.glob("bench-*.json")
    results = json.loads(path.read_text())
    assert {"command", "machine", "parameters", "targets", "results"} <= results.keys()
    sqlite = results["results"]["sqlite"]
    assert {"database", "setup", "dataset", "insert", "search"} <= sqlite.keys()
    assert sqlite["dataset"]["indicators"] == 2000
    assert 0 < sqlite["dataset"]["rows_stored"] <= 2000

    insert = sqlite["insert"]
    assert {"service", "peer", "ratio_service_to_peer", "meets_target"} <= insert.keys()
    for side in (insert["service"], insert["peer"]):
        assert {"indicators", "seconds", "per_second", "peak_rss_mb"} <= side.keys()
    assert insert["peer"]["rows_stored"] == insert["service"]["rows_stored"]

    search = sqlite["search"]
    assert {"service", "peer", "ratio_service_to_peer", "meets_target", "peak_rss_mb"} <= search.keys()
    for side in (search["service"], search["peer"]):
        assert {"median_ms", "p95_ms", "runs"} <= side.keys()
        assert side["runs"] == 2
    assert search["values"] == 200
    assert all(0 <= share <= 1 for share in search["hit_share_all_pages"])
