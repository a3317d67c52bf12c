"""Which log format a file is in, from the first few KiB of its content (after gunzip).

In order: a ``#separator`` or ``#fields`` header is Zeek TSV; JSON objects a line are EVE when they carry
``event_type``, Zeek JSON when they carry ``ts`` and ``uid``, ``fuid``, ``_path`` or ``id.orig_h``, and
otherwise read like EVE (any JSON lines: the same leaves); most of the first lines matching the NCSA
pattern make an access log; a header and rows of one consistent width under a delimiter among ``,``,
``;``, tab and ``|`` make CSV; anything else is text.
"""

from __future__ import annotations

from typing import Any

import orjson

from commonspace.engine.readers._base import LogFormat
from commonspace.engine.readers.ncsa import LINE as NCSA_LINE
from commonspace.engine.readers.tabular import sniff

SAMPLE_LINES = 20
_ZEEK_KEYS = frozenset({"uid", "fuid", "_path", "id.orig_h", "id.resp_h"})


def _json(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def _json_format(objects: list[dict[str, Any]]) -> LogFormat:
    if any("event_type" in obj for obj in objects):
        return LogFormat.EVE
    if any("ts" in obj and not _ZEEK_KEYS.isdisjoint(obj) for obj in objects):
        return LogFormat.ZEEK_JSON
    return LogFormat.EVE


def detect_format(head: bytes, *, complete: bool = False) -> LogFormat:
    """The format of a file whose content starts with ``head``; ``complete`` when ``head`` is the whole
    file (otherwise its last line may be cut short and is not looked at)."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    lines = head.split(b"\n")
    if not complete and len(lines) > 1:
        lines.pop()
    lines = [line.rstrip(b"\r") for line in lines]
    present = [line for line in lines if line.strip()]
    if not present:
        return LogFormat.TEXT
    first = present[0].lstrip()
    if first.startswith(b"#separator") or any(line.startswith(b"#fields") for line in present[:SAMPLE_LINES]):
        return LogFormat.ZEEK
    if first.startswith(b"{"):
        objects = [obj for obj in map(_json, present[:SAMPLE_LINES]) if isinstance(obj, dict)]
        if objects:
            return _json_format(objects)
        if len(present) == 1 and not complete:  # one line longer than the head: judge by its keys
            keys = {
                key for key in (b"event_type", b"ts", b"uid", b"fuid", b"_path") if b'"' + key + b'"' in first
            }
            if b"event_type" not in keys and b"ts" in keys and keys & {b"uid", b"fuid", b"_path"}:
                return LogFormat.ZEEK_JSON
            return LogFormat.EVE
    text = [line.decode("utf-8", "replace") for line in present[:SAMPLE_LINES]]
    data = [line for line in text if not line.startswith("#")]
    if data and sum(1 for line in data if NCSA_LINE.match(line)) >= max(1, 0.8 * len(data)):
        return LogFormat.NCSA
    if sniff([line + "\n" for line in data]) is not None:
        return LogFormat.CSV
    return LogFormat.TEXT
