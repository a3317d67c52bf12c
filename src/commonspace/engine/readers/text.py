"""Plain text: each line's values are its tokens, under the field ``text``.

Tokens are split on whitespace and on the punctuation that cannot be inside the values we match: double
and single quotes and backticks, brackets (``()[]{}<>``), ``,``, ``;`` and ``|``. Everything else stays,
so URLs, ``host:port``, e-mail addresses, paths and query strings survive whole (``:/.@-_%?=&#`` in
particular). A trailing ``.`` (the end of a sentence, or a fully qualified name) is dropped. Lines
without a token give no record.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat

from commonspace.engine.readers._base import Block, LogFormat, LogReader, SplitLineParser
from commonspace.engine.records import Record

SEPARATORS = b"\"'`()[]{}<>,;|\t\r\x0b\x0c"
_TABLE = bytes.maketrans(SEPARATORS, b" " * len(SEPARATORS))
_STR_TABLE = str.maketrans(SEPARATORS.decode(), " " * len(SEPARATORS))
FIELD = "text"


def _cleaned(text: str) -> str:
    """Sentence-final dots dropped (``evil.example.`` is ``evil.example``)."""
    if ". " in text:
        text = text.replace(". ", " ")
    if ".\n" in text:
        text = text.replace(".\n", "\n")
    return text


class TextParser(SplitLineParser):
    def parse_block(self, block: Block) -> Iterator[Record]:
        first, text = block.first_line, _cleaned(block.data.translate(_TABLE).decode("utf-8", "replace"))
        del block
        lines = text.split("\n")
        lines.pop()
        del text
        for number, line in enumerate(lines, first):
            tokens = line.split()
            if tokens:
                yield Record(number, tuple(zip(repeat(FIELD), tokens)))

    def parse_line(self, line: str, number: int) -> Record | None:
        tokens = _cleaned(line.translate(_STR_TABLE) + "\n").split()
        return Record(number, tuple(zip(repeat(FIELD), tokens))) if tokens else None


class TextReader(LogReader):
    format = LogFormat.TEXT

    def blocks(self) -> Iterator[Block]:
        parser = TextParser(self._skip)
        return self._blocks_of(parser)
