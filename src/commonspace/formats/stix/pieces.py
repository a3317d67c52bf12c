"""The JSON of a STIX document, read a piece at a time.

The JSON is read with orjson. A large bundle is not read in one go: its ``objects`` array is cut, between
two top-level objects, into pieces of about half a megabyte that are read one after the other, so that only
one piece is ever held as Python objects besides what is kept. A cut is only accepted when the piece reads
as a JSON array of whole objects, which a cut inside an object or a string never does; when no cut fits,
the whole document is read at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from commonspace.formats.model import FormatError, Problem
from commonspace.formats.stix.common import Obj

_CHUNK = 1 << 19  # bytes of JSON read at once from a large array (a megabyte read slower, and held more)
_NON_SPACE = re.compile(rb"[^ \t\r\n]")
_OBJECTS_KEY = re.compile(rb'"objects"[ \t\r\n]*:[ \t\r\n]*\[')
_ANY_SEPARATOR = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")


class _Unsplittable(Exception):
    """The array could not be cut into pieces: read the document at once."""


def _json_problem(exc: orjson.JSONDecodeError, source: str) -> FormatError:
    return FormatError(
        [Problem(source, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}")]
    )


def _load_whole(data: bytes, source: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _json_problem(exc, source) from None


def _last_non_space(data: bytes) -> int:
    end = len(data) - 1
    while end >= 0 and data[end] in b" \t\r\n":
        end -= 1
    return end


def _frame(data: bytes) -> tuple[Obj | None, int, int] | None:
    """For a bundle or a list: (the bundle without its objects, or None for a list; the start and end of the
    inside of the objects array). None when the document is something else, or not clearly framed."""
    first = _NON_SPACE.search(data)
    if first is None:
        return None
    if data[first.start()] == ord("["):
        end = _last_non_space(data)
        return (None, first.start() + 1, end) if data[end] == ord("]") else None
    if data[first.start()] != ord("{"):
        return None
    key = _OBJECTS_KEY.search(data, first.start())
    if key is None:
        return None
    close = len(data)
    for _ in range(8):  # the array's "]" is normally the last one; a few more are tried
        close = data.rfind(b"]", key.end(), close)
        if close < 0:
            return None
        try:
            head = orjson.loads(data[: key.end()] + data[close:])
        except orjson.JSONDecodeError:
            continue
        if isinstance(head, dict) and head.get("type") == "bundle" and head.get("objects") == []:
            return head, key.end(), close
        return None
    return None


def _piece(view: memoryview, start: int, end: int) -> list[Any] | None:
    """The elements in ``view[start:end]`` read as a JSON array; None when the cut at ``end`` is not
    between two elements. Raises _Unsplittable on an error inside the piece (the JSON is bad)."""
    buffer = bytearray(b"[")
    buffer += view[start:end]
    buffer += b"]"
    try:
        elements = orjson.loads(buffer)
    except orjson.JSONDecodeError as exc:
        size = len(exc.doc) if isinstance(exc.doc, str) else len(buffer)  # pos counts characters
        if exc.pos >= size - 1:  # the piece ends in the middle of an element
            return None
        raise _Unsplittable from None
    assert isinstance(elements, list)
    return elements


def _pieces(data: bytes, start: int, end: int) -> Iterator[list[Any]]:
    """The elements of the array whose inside is ``data[start:end]``, about ``_CHUNK`` bytes at a time."""
    first = _NON_SPACE.search(data, start, end)
    if first is None:
        return
    position = first.start()
    # Pretty-printed arrays put every element on a new line with the same indentation: a "}" followed by
    # ",", that very indentation and "{" is then always a cut between two top-level elements (strings hold
    # no raw line breaks, nested objects are indented deeper). Without line breaks any "},{" may be one.
    leading = data[start:position]
    separator = (
        re.compile(rb"\}[ \t\r\n]*," + re.escape(leading) + rb"\{") if b"\n" in leading else _ANY_SEPARATOR
    )
    view = memoryview(data)
    while position + _CHUNK < end:
        after = position + _CHUNK
        while True:
            cut = separator.search(data, after, end)
            if cut is None:
                break
            elements = _piece(view, position, cut.start() + 1)
            if elements is not None:
                yield elements
                position = cut.end() - 1
                break
            after = cut.start() + 1
        if cut is None:
            break
    elements = _piece(view, position, end)
    if elements is None:
        raise _Unsplittable
    yield elements


def documents(data: bytes, source: str) -> tuple[Obj | None, Iterator[list[Any]]]:
    """(the bundle's own properties, or None; the objects, piece by piece). Raises FormatError."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    framed = _frame(data)
    if framed is None:
        document = _load_whole(data, source)
        if isinstance(document, dict) and document.get("type") == "bundle":
            objects = document.pop("objects", [])
            if not isinstance(objects, list):
                raise FormatError([Problem(source, "bundle", "the bundle's objects must be a list")])
            return document, iter([objects])
        if isinstance(document, dict):
            return None, iter([[document]])
        if isinstance(document, list):
            return None, iter([document])
        raise FormatError(
            [Problem(source, "document", "expected a STIX bundle, an object or a list of them")]
        )
    head, start, end = framed

    def pieces() -> Iterator[list[Any]]:
        done = 0
        try:
            for elements in _pieces(data, start, end):
                done += len(elements)
                yield elements
        except _Unsplittable:
            document = _load_whole(data, source)  # raises with the line and column of a real error
            rest = document.get("objects") if isinstance(document, dict) else document
            yield list(rest[done:]) if isinstance(rest, list) else []

    return head, pieces()
