"""Benchmarks of the indicator service path: bulk insert and many-value search, on SQLite and PostgreSQL.

``python -m bench --help`` (or ``make bench``) for the options. Every figure is printed next to a peer
measured in the same run on the same database (what the bare database does with the same rows or the
same lookups), so that results from different machines can be compared as ratios. Results are written
as JSON to ``bench/results/`` (git-ignored).
"""
