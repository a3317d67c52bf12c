"""JSON lines: Zeek JSON logs, Suricata EVE, and any other file of one JSON object a line.

Every string and number of the object is a value, nested objects and lists included, under its dotted
path (``dns.rrname``, ``tls.sni``; Zeek's own keys such as ``id.orig_h`` are kept as they are); the
elements of a list are values under the list's path. Numbers are given as JSON writes them (``53``,
``0.25``). Nulls, empty strings and booleans are left out: a boolean is a flag, never an indicator, and
``true``/``false`` would only feed every matcher two useless values per record. A line that is not a
JSON object is skipped and counted; blank lines are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson

from commonspace.engine.readers._base import Block, LogFormat, LogReader, SplitLineParser
from commonspace.engine.records import Record

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def _leaves(obj: dict[str, Any], prefix: str, out: list[tuple[str, str]]) -> None:
    for key, value in obj.items():
        kind = type(value)
        if kind is str:
            if value:
                out.append((prefix + key, value))
        elif kind is int or kind is float:
            out.append((prefix + key, repr(value)))
        elif kind is dict:
            _leaves(value, prefix + key + ".", out)
        elif kind is list:
            _elements(value, prefix + key, out)


def _elements(items: list[Any], path: str, out: list[tuple[str, str]]) -> None:
    for value in items:
        kind = type(value)
        if kind is str:
            if value:
                out.append((path, value))
        elif kind is int or kind is float:
            out.append((path, repr(value)))
        elif kind is dict:
            _leaves(value, path + ".", out)
        elif kind is list:
            _elements(value, path, out)


def leaves(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Every string and number leaf of a JSON object, as ``(dotted path, text)``."""
    out: list[tuple[str, str]] = []
    _leaves(obj, "", out)
    return tuple(out)


def _decode(line: bytes | str) -> Any:
    """The JSON value of a line; orjson first, then the standard library (invalid UTF-8, huge integers,
    NaN); ``None`` for a malformed line."""
    try:
        return _loads(line)
    except _JSONDecodeError:
        pass
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    try:
        return json.loads(text)
    except ValueError:
        return None


class JsonParser(SplitLineParser):
    def parse_block(self, block: Block) -> Iterator[Record]:
        first, lines = block.first_line, block.data.split(b"\n")
        del block
        lines.pop()
        loads, error = _loads, _JSONDecodeError
        for number, line in enumerate(lines, first):
            try:
                obj = loads(line)
            except error:
                if not line.strip():
                    continue
                obj = _decode(line)
            if type(obj) is not dict:
                self.skip(number)
                continue
            out: list[tuple[str, str]] = []
            _leaves(obj, "", out)
            if out:
                yield Record(number, tuple(out))

    def parse_line(self, line: str, number: int) -> Record | None:
        if not line.strip():
            return None
        obj = _decode(line)
        if type(obj) is not dict:
            self.skip(number)
            return None
        values = leaves(obj)
        return Record(number, values) if values else None


class JsonReader(LogReader):
    """Zeek JSON or EVE (``format`` tells which was asked for or detected; the reading is the same)."""

    format = LogFormat.EVE

    def blocks(self) -> Iterator[Block]:
        parser = JsonParser(self._skip)
        return self._blocks_of(parser)


class ZeekJsonReader(JsonReader):
    format = LogFormat.ZEEK_JSON
