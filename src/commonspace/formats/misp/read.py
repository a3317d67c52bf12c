"""Reading MISP: one file (an event, a search result or a list of events) or a feed directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from commonspace.formats.misp.common import UUID
from commonspace.formats.misp.events import Reader
from commonspace.formats.misp.values import describe
from commonspace.formats.model import Exchange, FormatError, Problem


def parse_misp(data: bytes, *, source: str = "", skip_invalid: bool = False) -> Exchange:
    """The events of one MISP file (an event, a search result or a list of events) as reports.

    Input that is not JSON, or JSON that is not MISP events, raises :class:`FormatError` whatever
    ``skip_invalid`` says. A bad event or attribute raises it too, after the whole file was read and
    with every problem found; with ``skip_invalid`` it is left out and listed in ``problems`` instead.
    """
    document = _load_json(data, source)
    reader = Reader(source)
    events = reader.events(document)
    reports = [report for where, event in events if (report := reader.event(event, where)) is not None]
    if reader.problems and not skip_invalid:
        raise FormatError(reader.problems)
    return Exchange(reports=reports, problems=reader.problems, source=source, objects_read=len(events))


def parse_misp_feed(directory: Path, *, skip_invalid: bool = False) -> Exchange:
    """The events of a MISP feed: ``manifest.json`` and the ``<uuid>.json`` file of each event it lists.

    Problems name the file they are in. A manifest that cannot be read raises :class:`FormatError`; an
    event file that is missing or unreadable is a problem like a bad event, left out with ``skip_invalid``.
    """
    manifest_name = "manifest.json"
    try:
        manifest = _load_json((directory / manifest_name).read_bytes(), manifest_name)
    except OSError as exc:
        reason = f"cannot read the manifest: {_os_reason(exc)}"
        raise FormatError([Problem(manifest_name, "the feed", reason)]) from None
    if not isinstance(manifest, dict):
        reason = f"expected an object keyed by event uuid, found {describe(manifest)}"
        raise FormatError([Problem(manifest_name, "top level", reason)])
    exchange = Exchange(source=directory.name)
    for key in manifest:
        if not UUID.fullmatch(key):
            exchange.problems.append(Problem(manifest_name, f"key {key!r}", "not an event uuid"))
            continue
        name = f"{key}.json"
        try:
            data = (directory / name).read_bytes()
        except OSError as exc:
            reason = f"the manifest lists this event but its file cannot be read: {_os_reason(exc)}"
            exchange.problems.append(Problem(name, "the feed", reason, key))
            continue
        try:
            part = parse_misp(data, source=name, skip_invalid=True)
        except FormatError as exc:
            exchange.problems.extend(exc.problems)
            continue
        exchange.reports.extend(part.reports)
        exchange.problems.extend(part.problems)
        exchange.objects_read += part.objects_read
    if exchange.problems and not skip_invalid:
        raise FormatError(exchange.problems)
    return exchange


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _load_json(data: bytes, source: str) -> Any:
    try:
        return orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        line, column, reason = exc.lineno, exc.colno, exc.msg
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:  # orjson places every encoding error at line 1, column 1
            head = data[: bad.start]
            line = head.count(b"\n") + 1
            column = len(head[head.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
            reason = "not UTF-8 text"
        raise FormatError(
            [Problem(source, f"line {line}, column {column}", f"invalid JSON: {reason}")]
        ) from None
