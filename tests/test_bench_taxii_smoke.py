"""The TAXII listing benchmark runs end to end on a tiny collection; timings are not checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_taxii_listing_benchmark_lists_every_object_each_time() -> None:
    argv = ["--reports", "3", "--indicators", "4", "--limit", "5", "--listings", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.taxii", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    listings = [json.loads(line) for line in done.stdout.splitlines()]
    assert [listing["listing"] for listing in listings] == [1, 2]
    # Per report its STIX report, 2 address indicators, 1 domain indicator, 1 observed-data and its
    # observable; once for all, the identity, the TLP marking and the extension definition.
    assert {listing["objects"] for listing in listings} == {3 * (1 + 2 + 1 + 2) + 3}
    assert all(listing["pages"] == -(-listing["objects"] // 5) for listing in listings)
