"""A multipart/form-data upload streamed to a file as it arrives: never whole in memory, refused (413) the
moment it outgrows its limit, and never left half-written.

Starlette's own form parser would first copy a large file to the system's temporary folder, whatever its
size; this one writes the file part straight into the folder it is meant for and checks the small fields
as soon as each is complete, so that a request refused for a field stops being read there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from commonspace.domain.errors import Invalid, TooLarge

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FIELD_LIMIT = 1000  # bytes of a field other than the file
OVERHEAD = 64 * 1024  # what a request may hold beside the file: boundaries, part headers, fields
FLUSH_AT = 1 << 20  # file bytes gathered before one write to disk


@dataclass
class Upload:
    """The file part, written to ``path``, and the other fields."""

    path: Path
    filename: str | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class _Parts:
    """The parser's callbacks: the file part's bytes gathered for the next write, fields collected."""

    def __init__(
        self, file_field: str, fields: Collection[str], limit: int, check: Callable[[str, str], None]
    ):
        self.file_field = file_field
        self.fields = fields
        self.limit = limit
        self.check = check
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.name = ""
        self.in_file = False
        self.seen_file = False
        self.filename: str | None = None
        self.size = 0
        self.pending = bytearray()
        self.value = bytearray()
        self.values: dict[str, str] = {}

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value_data,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.disposition, self.value, self.in_file = b"", bytearray(), False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name, self.header_value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise Invalid("a part of the form has no name (Content-Disposition: form-data; name=…)")
        self.name = options[b"name"].decode("utf-8", "replace")
        if self.name == self.file_field:
            if self.seen_file:
                raise Invalid(f"one file a request, in the field {self.file_field!r}", field=self.file_field)
            self.in_file = self.seen_file = True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename is not None else None
        elif self.name not in self.fields:
            known = ", ".join([self.file_field, *self.fields])
            raise Invalid(f"unknown field {self.name!r}: the fields are {known}", field=self.name)
        elif self.name in self.values:
            raise Invalid(f"the field {self.name!r} is given twice", field=self.name)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.size += end - start
            if self.size > self.limit:
                raise TooLarge(
                    f"the file is larger than the limit of {_size(self.limit)}", field=self.file_field
                )
            self.pending += data[start:end]
        else:
            self.value += data[start:end]
            if len(self.value) > FIELD_LIMIT:
                raise Invalid(f"longer than {FIELD_LIMIT} bytes", field=self.name)

    def part_end(self) -> None:
        if not self.in_file:
            value = self.value.decode("utf-8", "replace").strip()
            self.check(self.name, value)  # may refuse the request before the rest is read
            self.values[self.name] = value


async def receive_file(
    request: Request,
    *,
    file_field: str,
    directory: Path,
    limit: int,
    fields: Collection[str] = (),
    check: Callable[[str, str], None] = lambda name, value: None,
) -> Upload:
    """Read a multipart/form-data body whose field ``file_field`` is a file of at most ``limit`` bytes,
    into a new file of ``directory``; the other parts must be among ``fields``, and ``check`` sees each
    as soon as it is complete. Raises ``TooLarge`` or ``Invalid``, having deleted what it wrote."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Invalid(
            f"send a multipart/form-data body with the file in the field {file_field!r} "
            f"(curl -F {file_field}=@FILE)",
            field=file_field,
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + OVERHEAD:
        raise TooLarge(f"the file is larger than the limit of {_size(limit)}", field=file_field)
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="upload-", suffix=".partial", dir=directory)
    upload = Upload(Path(name))
    parts = _Parts(file_field, fields, limit, check)
    parser = MultipartParser(boundary, parts.callbacks())
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                parser.write(chunk)
                if len(parts.pending) >= FLUSH_AT:
                    await run_in_threadpool(out.write, bytes(parts.pending))
                    parts.pending.clear()
            parser.finalize()
            if parts.pending:
                await run_in_threadpool(out.write, bytes(parts.pending))
        if not parts.seen_file:
            raise Invalid(
                f"no file: send it in the field {file_field!r} (curl -F {file_field}=@FILE)", field=file_field
            )
    except BaseException as exc:
        upload.discard()
        if isinstance(exc, FormParserError):
            raise Invalid("the body is not valid multipart/form-data") from None
        raise
    upload.filename, upload.size, upload.fields = parts.filename, parts.size, parts.values
    return upload


def _size(count: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= factor and count % factor == 0:
            return f"{count // factor} {unit}"
    return f"{count:,} bytes"
