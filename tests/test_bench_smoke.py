"""The benchmark runs end to end on a tiny world and a tiny STIX bundle and writes its results; timings
are not checked."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def small_bundle(size: int = 60) -> dict[str, Any]:
    """A STIX 2.1 bundle of ``size`` (even) objects: a report, a malware, indicators and relationships."""

    def ref(kind: str, n: int) -> str:
        return f"{kind}--{uuid.uuid5(uuid.NAMESPACE_URL, f'bench-smoke/{kind}/{n}')}"

    when = "2026-01-02T03:04:05.000Z"
    common = {"spec_version": "2.1", "created": when, "modified": when}
    malware = {"type": "malware", "id": ref("malware", 0), **common, "name": "Smoke", "is_family": True}
    objects: list[dict[str, Any]] = [malware]
    for n in range((size - 2) // 2):
        digest = hashlib.sha256(str(n).encode()).hexdigest()
        indicator = {
            "type": "indicator",
            "id": ref("indicator", n),
            **common,
            "pattern": f"[file:hashes.'SHA-256' = '{digest}']",
            "pattern_type": "stix",
            "valid_from": when,
        }
        relationship = {
            "type": "relationship",
            "id": ref("relationship", n),
            **common,
            "relationship_type": "indicates",
            "source_ref": indicator["id"],
            "target_ref": malware["id"],
        }
        objects += [indicator, relationship]
    report = {
        "type": "report",
        "id": ref("report", 0),
        **common,
        "name": "Smoke report",
        "published": when,
        "object_refs": [o["id"] for o in objects],
    }
    return {"type": "bundle", "id": ref("bundle", 0), "objects": [report, *objects]}


def test_bench_writes_its_results(tmp_path: Path) -> None:
    bundle = tmp_path / "small-bundle.json"
    bundle.write_text(json.dumps(small_bundle()))
    command = [sys.executable, "-m", "bench", "--size", "2000", "--databases", "sqlite"]
    command += ["--runs", "2", "--warmup", "1", "--values", "200", "--output", str(tmp_path), "--quiet"]
    command += ["--stix-bundle", str(bundle), "--stix-runs", "1"]  # not the 46 MB ATT&CK bundle
    command += ["--match-mb", "1", "--match-runs", "1"]
    command += ["--correlation-size", "3000", "--correlation-report", "200", "--correlation-runs", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "python -m bench --size 2000" in done.stdout  # the command line is printed

    (path,) = tmp_path.glob("bench-*.json")
    results = json.loads(path.read_text())
    assert {"command", "machine", "parameters", "targets", "results"} <= results.keys()
    sqlite = results["results"]["sqlite"]
    assert {"database", "setup", "dataset", "insert", "search", "stix"} <= sqlite.keys()
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

    stix = sqlite["stix"]
    assert {"bundle", "service", "peer", "ratio_service_to_peer", "meets_target", "memory"} <= stix.keys()
    assert stix["bundle"]["objects"] == 60
    for side in (stix["service"], stix["peer"]):
        assert {
            "runs",
            "median_seconds",
            "best_seconds",
            "per_second_median",
            "per_second_best",
        } <= side.keys()
        assert side["runs"] == 1
    assert stix["service"]["imported"]["objects_added"] == 60
    assert stix["service"]["imported"]["indicators_added"] == 29
    assert stix["memory"]["growth_mb"] >= 0 and stix["memory"]["multiple_of_file"] >= 0
    assert "STIX import 60 objects" in done.stdout  # in the table

    matched = results["results"]["match"]["match"]
    assert "skipped" not in matched or os.environ.get("CI", "").lower() != "true", matched
    if "skipped" not in matched:  # without the shared data folder (outside CI)
        for side in ("commonspace", "grep", "naive"):
            assert {"seconds_median", "mb_per_second", "lines_per_second", "peak_rss_mb"} <= matched[
                side
            ].keys()
        # Full semantics find more than exact words do: subdomains of the listed domains.
        assert matched["commonspace"]["output_lines"] > matched["grep"]["output_lines"] > 0
        assert matched["index"]["bytes_per_indicator"] > 0
        assert "dns.log, MB/s after start-up" in done.stdout

    correlated = sqlite["correlation"]
    assert correlated["load"]["indicators"] == 3000
    rebuild = correlated["rebuild"]
    assert rebuild["indicators"] == 3000 and 0 < rebuild["values"] <= 3000
    assert {"seconds", "peer_seconds", "meets_target", "values_in_two_reports_or_more"} <= rebuild.keys()
    report = correlated["report"]
    assert report["indicators"] == 200 and report["service"]["runs"] == 1
    assert {"median_ms", "min_ms", "max_ms"} <= report["service"].keys()
    assert report["values_correlating"] + report["values_over_correlating"] > 0
    assert "recorrelation of 3,000 indicators" in done.stdout  # in the table
