"""The naive peer of ``commonspace match``: ``python -m bench.naive_match VALUES LOG`` prints each line of
the log that holds one of the values as a whole tab- or comma-separated token (exact values only)."""

from __future__ import annotations

import sys


def main(values_path: str, log_path: str) -> None:
    with open(values_path, encoding="utf-8") as lines:
        values = {line.strip() for line in lines if line.strip()}
    out = sys.stdout
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if line.startswith("#"):
                continue
            if not values.isdisjoint(line.rstrip("\n").replace(",", "\t").split("\t")):
                out.write(line)


if __name__ == "__main__":
    main(*sys.argv[1:3])
