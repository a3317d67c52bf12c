"""NCSA web access logs, combined (``host ident authuser [date] "request" status bytes "referer"
"user-agent"``) or common (without the last two).

The fields are ``host``, ``ident``, ``user``, ``time``, ``method``, ``url`` (the request target),
``protocol``, ``status``, ``bytes``, ``referer`` and ``user_agent``; ``-`` and empty fields are null. A
request that is not ``METHOD target PROTOCOL`` (a probe sending junk) is kept whole under ``url``. The
escapes servers write in quoted fields (``\\"`` and ``\\\\``) are undone. Anything after the user agent
is ignored. A line that does not match is skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from commonspace.engine.readers._base import Block, LogFormat, LogReader, SplitLineParser
from commonspace.engine.records import Record

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
LINE = re.compile(
    rf"(\S+) (\S+) (.+?) \[([^\]]*)\] {_QUOTED} (\d{{3}}|-) (\d+|-)(?: {_QUOTED} {_QUOTED})?(?=\s|$)"
)
_UNQUOTE = re.compile(r"\\([\"\\])")
_NULLS = frozenset({"-", ""})


def _unquote(value: str) -> str:
    return _UNQUOTE.sub(r"\1", value) if "\\" in value else value


class NcsaParser(SplitLineParser):
    def parse_block(self, block: Block) -> Iterator[Record]:
        first, text = block.first_line, block.decoded()
        del block
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        lines.pop()
        del text
        parse = self.parse_line
        for number, line in enumerate(lines, first):
            record = parse(line, number)
            if record is not None:
                yield record

    def parse_line(self, line: str, number: int) -> Record | None:
        match = LINE.match(line)
        if match is None:
            if line.strip():
                self.skip(number)
            return None
        host, ident, user, time, request, status, size, referer, agent = match.groups()
        parts = request.split(" ")
        if len(parts) == 3:
            method, url, protocol = parts
        else:
            method, url, protocol = "", request, ""
        pairs = (
            ("host", host),
            ("ident", ident),
            ("user", user),
            ("time", time),
            ("method", method),
            ("url", _unquote(url)),
            ("protocol", protocol),
            ("status", status),
            ("bytes", size),
            ("referer", _unquote(referer or "")),
            ("user_agent", _unquote(agent or "")),
        )
        return Record(number, tuple([pair for pair in pairs if pair[1] not in _NULLS]))


class NcsaReader(LogReader):
    format = LogFormat.NCSA

    def blocks(self) -> Iterator[Block]:
        parser = NcsaParser(self._skip)
        return self._blocks_of(parser)
