"""Which format a file is in, from its name and its first bytes (for ``--format auto``)."""

from __future__ import annotations

import re
from enum import StrEnum

from commonspace.domain import canonical


class InFormat(StrEnum):
    STIX = "stix"
    MISP = "misp"
    CSV = "csv"
    LIST = "list"  # one value a line
    TEXT = "text"  # free text: indicators are extracted


class OutFormat(StrEnum):
    STIX = "stix"
    MISP = "misp"
    CSV = "csv"
    SURICATA = "suricata"
    ZEEK = "zeek"
    RPZ = "rpz"
    TEXT = "text"  # a plain blocklist, one value a line


_KEY = re.compile(rb'"(type|objects|spec_version|Event|response|Attribute|info)"\s*:')
_CELLS = re.compile(rb"[,;\t]")
_FIRST_TOKEN = re.compile(r"[^\s;]+")


def detect(name: str, head: bytes) -> InFormat:
    """The format of a file called ``name`` starting with ``head`` (its first few kilobytes)."""
    lowered = name.lower()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")) or lowered.endswith(".json"):
        keys = {m.group(1) for m in _KEY.finditer(head)}
        if {b"Event", b"response", b"Attribute", b"info"} & keys:
            return InFormat.MISP
        return InFormat.STIX
    header = stripped.split(b"\n", 1)[0].strip().lower()
    cells = {cell.strip(b' "') for cell in _CELLS.split(header)}
    if lowered.endswith((".csv", ".tsv")) or (len(cells) > 1 and b"value" in cells):
        return InFormat.CSV
    # A list: nearly every line (comments aside) starts with a value our canonicaliser knows.
    text = stripped.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines()[:200] if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) > 1:
        lines = lines[:-1]  # the head may cut the last line short
    firsts = [_FIRST_TOKEN.match(line.strip()) for line in lines]
    known = sum(1 for m in firsts if m and canonical.detect(m.group(0)) is not None)
    return InFormat.LIST if lines and known >= 0.8 * len(lines) else InFormat.TEXT
