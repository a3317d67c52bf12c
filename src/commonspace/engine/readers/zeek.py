"""Zeek TSV logs: any log, read through its ``#`` headers.

The headers in force are ``#separator`` (written escaped, as ``\\x09``), ``#set_separator``,
``#empty_field``, ``#unset_field``, ``#fields`` and ``#types``; a file may hold several logs one after
the other, and a new ``#fields`` starts a new schema (its ``#types`` follows). Other ``#`` lines
(``#path``, ``#open``, ``#close``) are skipped.

Each non-null column is a value under its column's name; a ``set[...]`` or ``vector[...]`` column (as
``#types`` says) gives each of its elements under the column's name: in the column's place when it has
one, after the scalar columns when it has several. ``-``, ``(empty)`` and empty strings are null.
Columns whose ``#types`` is a flag or a number (``bool``, ``count``, ``int``, ``double``, ``time``,
``interval``, ``port``, and sets or vectors of them) are left out whole: Zeek writes only ``T``/``F``
and numerals there, which are never indicators, and skipping them makes reading (and matching) cheaper.
Zeek's escapes (``\\\\`` and ``\\xNN``, used for separators inside values and for unprintable bytes)
are undone. A data line whose column count differs from ``#fields``, or one before any ``#fields``, is
skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import filterfalse, repeat
from operator import itemgetter

from commonspace.engine.readers._base import Block, LogFormat, LogReader, SplitLineParser
from commonspace.engine.records import Record

_ESCAPE = re.compile(rb"\\(\\|x[0-9A-Fa-f]{2})")
_CONTAINER = ("set[", "vector[", "table[")
SILENT_TYPES = frozenset({"bool", "count", "int", "double", "time", "interval", "port"})
"""Zeek types whose columns give no observed values: flags and numbers are never indicators."""


def is_silent(kind: str) -> bool:
    """Whether a column of this ``#types`` entry is left out: a flag or a number, or a container of them."""
    if kind.startswith(_CONTAINER):
        kind = kind[kind.index("[") + 1 :].removesuffix("]")
    return kind in SILENT_TYPES


def unescape(value: str) -> str:
    """Undo Zeek's ASCII escapes: ``\\\\`` is a backslash, ``\\xNN`` a byte (decoded as UTF-8)."""
    if "\\" not in value:
        return value
    raw = value.encode("utf-8", "surrogateescape")
    raw = _ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]), raw)
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class Schema:
    """The headers in force: separators, null markers, column names and the container columns."""

    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    fields: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    containers: tuple[tuple[int, str], ...] = ()

    @property
    def nulls(self) -> frozenset[str]:
        return frozenset({self.empty, self.unset, ""})


def _with_columns(schema: Schema, fields: tuple[str, ...], types: tuple[str, ...]) -> Schema:
    containers: tuple[tuple[int, str], ...] = ()
    if len(types) == len(fields):
        containers = tuple((i, fields[i]) for i, kind in enumerate(types) if kind.startswith(_CONTAINER))
    return replace(schema, fields=fields, types=types, containers=containers)


def apply_header(schema: Schema, line: str) -> Schema:
    """The schema after this ``#`` line (unchanged by comments and headers that do not matter)."""
    line = line.removesuffix("\r")
    if line.startswith("#separator"):  # the first line of a log: everything else starts afresh
        value = line[len("#separator") :].strip(" ")
        return Schema(separator=unescape(value) if value else "\t")
    key, _, rest = line[1:].partition(schema.separator)
    if key == "fields":
        return _with_columns(schema, tuple(rest.split(schema.separator)), ())
    if key == "types":
        return _with_columns(schema, schema.fields, tuple(rest.split(schema.separator)))
    if key == "set_separator":
        return replace(schema, set_separator=unescape(rest))
    if key == "empty_field":
        return replace(schema, empty=unescape(rest))
    if key == "unset_field":
        return replace(schema, unset=unescape(rest))
    return schema


class ZeekParser(SplitLineParser):
    """Parses the data lines of a block under one schema."""

    def __init__(self, schema: Schema, skip: Callable[[int], None]) -> None:
        super().__init__(skip)
        self.schema = schema
        self.names = schema.fields
        self.nulls = schema.nulls
        types = schema.types if len(schema.types) == len(schema.fields) else ()
        # The columns that give values, and their names; the containers among them by position in it.
        self.kept = tuple(i for i in range(len(schema.fields)) if not (types and is_silent(types[i])))
        self.kept_names = tuple(schema.fields[i] for i in self.kept)
        position = {column: at for at, column in enumerate(self.kept)}
        self.kept_containers = tuple(
            (position[index], name) for index, name in schema.containers if index in position
        )
        self._pick = itemgetter(*self.kept) if len(self.kept) > 1 else None
        # Every (column, null) pair: filtering the pairs against it keeps the whole filter in C.
        self.null_pairs = frozenset((name, null) for name in self.kept_names for null in self.nulls)

    def _kept(self, values: list[str]) -> list[str]:
        if self._pick is not None:
            return list(self._pick(values))
        return [values[i] for i in self.kept]

    def parse_block(self, block: Block) -> Iterator[Record]:
        first, text = block.first_line, block.decoded()
        del block
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        escaped = "\\" in text  # then lines with escapes take the slow path
        lines = text.split("\n")
        lines.pop()  # what follows the block's final newline: nothing
        del text
        names, separator, count = self.kept_names, self.schema.separator, len(self.names)
        containers, set_separator = self.kept_containers, self.schema.set_separator
        is_null = self.null_pairs.__contains__
        parse, kept = self.parse_line, self._kept
        for number, line in enumerate(lines, first):
            split = line.split(separator)
            if len(split) != count or (escaped and "\\" in line):
                record = parse(line, number)  # counts the line as skipped unless it is blank
                if record is not None:
                    yield record
                continue
            values = kept(split)
            elements: list[tuple[str, str]] | None = None
            if containers and set_separator in line:
                for index, name in containers:
                    value = values[index]
                    if set_separator in value:
                        values[index] = ""
                        if elements is None:
                            elements = []
                        elements += zip(repeat(name), value.split(set_separator))
            if elements is None:
                pairs = tuple(filterfalse(is_null, zip(names, values, strict=False)))
            else:
                pairs = (
                    *filterfalse(is_null, zip(names, values, strict=False)),
                    *filterfalse(is_null, elements),
                )
            if pairs:
                yield Record(number, pairs)

    def parse_line(self, line: str, number: int) -> Record | None:
        """One data line, escapes undone (the slow path, for lines with escapes and ``records_at``).

        Gives what ``parse_block`` gives for the same line: a container with one element stays in its
        column's place, the elements of a longer one come after the scalar columns."""
        line = line.removesuffix("\r")
        schema = self.schema
        split = line.split(schema.separator)
        if len(split) != len(self.names) or not self.names:
            if line.strip():
                self.skip(number)
            return None
        nulls, set_separator = self.nulls, schema.set_separator
        pairs: list[tuple[str, str]] = []
        elements: list[tuple[str, str]] = []
        containers = dict(self.kept_containers)
        for index, (name, value) in enumerate(zip(self.kept_names, self._kept(split), strict=True)):
            if index in containers and set_separator in value:
                elements += [(name, e) for e in map(unescape, value.split(set_separator)) if e not in nulls]
            elif value not in nulls:
                pairs.append((name, unescape(value)))
        pairs += elements
        return Record(number, tuple(pairs)) if pairs else None


class ZeekReader(LogReader):
    format = LogFormat.ZEEK
    schema = Schema()
    """The headers in force where reading starts: none for a whole file (a reader of a part of a file is
    given those of the lines before it)."""

    def blocks(self) -> Iterator[Block]:
        schema = self.schema
        parser = ZeekParser(schema, self._skip)
        for first, data in self.chunks():
            if data[:1] != b"#" and b"\n#" not in data:
                block = Block(first, data, parser)
                del data
                yield block
                del block  # freed before the next chunk is read
                continue
            # Header or comment lines inside: cut the chunk around them, so a block has one schema.
            position, line, end_of_data = 0, first, len(data)
            while position < end_of_data:
                if data.startswith(b"#", position):
                    header_end = data.index(b"\n", position) + 1
                    new = apply_header(schema, data[position : header_end - 1].decode("utf-8", "replace"))
                    if new != schema:
                        schema = new
                        parser = ZeekParser(schema, self._skip)
                    position = header_end
                    line += 1
                    continue
                next_header = data.find(b"\n#", position)
                stop = end_of_data if next_header < 0 else next_header + 1
                segment = data[position:stop]
                count = segment.count(b"\n")
                yield Block(line, segment, parser)
                del segment
                line += count
                position = stop
            del data
