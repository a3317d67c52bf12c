"""What a log reader yields: records of observed values, each with the physical line it starts on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a log: its 1-based physical line in the file, and its observed values.

    ``values`` holds every scalar leaf of the record as ``(field, value)``: each Zeek column, each element of
    a set or vector column (under the column's name), each string or number of a JSON record (nested
    objects and lists included, under a dotted path such as ``dns.query`` or ``answers``), each CSV cell.
    Null values (Zeek's ``-`` and ``(empty)``, JSON null) are left out; numbers are given as text.
    """

    line: int
    values: tuple[tuple[str, str], ...]
