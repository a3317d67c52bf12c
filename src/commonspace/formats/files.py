"""Every format by name: read a file into an Exchange, write an Exchange into files.

Reading picks the parser (``auto``: from the name and first bytes, see :mod:`formats.detect`); a MISP feed
is a directory holding ``manifest.json``. Writing gives the main file and, for Suricata, the hash lists
its rules name, which belong beside it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from commonspace.domain.vocab import IndicatorType
from commonspace.formats import documents, freetext, misp, rules, stix, suricata, tabular
from commonspace.formats.detect import InFormat, OutFormat, detect
from commonspace.formats.model import Exchange, FormatError, IndicatorItem, Problem, ReportItem

HEAD = 64 * 1024

MEDIA_TYPES = {
    OutFormat.STIX: "application/stix+json;version=2.1",
    OutFormat.MISP: "application/json",
    OutFormat.CSV: "text/csv; charset=utf-8",
    OutFormat.SURICATA: "text/plain; charset=utf-8",
    OutFormat.ZEEK: "text/plain; charset=utf-8",
    OutFormat.RPZ: "text/dns; charset=utf-8",
    OutFormat.TEXT: "text/plain; charset=utf-8",
}
SUFFIXES = {
    OutFormat.STIX: ".json",
    OutFormat.MISP: ".json",
    OutFormat.CSV: ".csv",
    OutFormat.SURICATA: ".rules",
    OutFormat.ZEEK: ".intel",
    OutFormat.RPZ: ".zone",
    OutFormat.TEXT: ".txt",
}


def parse_text(data: bytes, *, source: str = "") -> Exchange:
    """Free text (plain, HTML or PDF): one report holding the indicators the text mentions."""
    text = documents.text_of(source, data)
    found = freetext.extract(text)
    title = f"Indicators found in {Path(source).name}" if source else "Indicators found in text"
    item = ReportItem(
        title=title[:500],
        published=False,  # found by extraction: a draft, to be reviewed before it is shared
        indicators=[IndicatorItem(value=f.canonical, type=f.type) for f in found],
    )
    return Exchange(reports=[item], source=source, objects_read=len(found))


def read(
    name: str,
    data: bytes,
    fmt: InFormat | None = None,
    *,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Exchange:
    """Parse ``data`` (from a file called ``name``) in format ``fmt``, or the detected one.

    Reports the format gives no identity of its own (CSV, lists, text) are named by the file's SHA-256
    and their place in it, so that importing the same file again finds them instead of adding copies.
    """
    fmt = fmt or detect(name, data[:HEAD])
    if fmt is InFormat.STIX:
        exchange = stix.parse_stix(data, source=name, skip_invalid=skip_invalid, progress=progress)
    elif fmt is InFormat.MISP:
        exchange = misp.parse_misp(data, source=name, skip_invalid=skip_invalid)
    elif fmt is InFormat.CSV:
        exchange = tabular.parse_csv(data, source=name, skip_invalid=skip_invalid)
    elif fmt is InFormat.LIST:
        exchange = tabular.parse_plain(data, source=name, skip_invalid=skip_invalid)
    else:
        exchange = parse_text(data, source=name)
    if any(report.source_id is None for report in exchange.reports):
        digest = hashlib.sha256(data).hexdigest()
        for index, report in enumerate(exchange.reports):
            if report.source_id is None:
                report.source_id = f"sha256:{digest}:{index}"
    return exchange


def read_path(
    path: Path,
    fmt: InFormat | None = None,
    *,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Exchange:
    """A file, or a MISP feed directory (``manifest.json`` and one file per event)."""
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise FormatError([Problem(str(path), "directory", "a directory is read as a MISP feed, "
                                       "and this one has no manifest.json")])  # fmt: skip
        if fmt not in (None, InFormat.MISP):
            raise FormatError([Problem(str(path), "directory", f"a feed directory is MISP, not {fmt}")])
        return misp.parse_misp_feed(path, skip_invalid=skip_invalid)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError([Problem(str(path), "file", exc.strerror or str(exc))]) from exc
    return read(str(path), data, fmt, skip_invalid=skip_invalid, progress=progress)


def read_entries(
    path: Path, *, skip_invalid: bool = False
) -> tuple[list[tuple[IndicatorType, str]], list[Problem]]:
    """The type and canonical value of each indicator of a file (any format :func:`read_path` reads), in
    the order of the file, and the problems left out with ``skip_invalid``: what matching needs of it.

    A plain list is read straight into values, without the reports and items of an Exchange: lists of
    hundreds of thousands of values are the usual input of ``commonspace match``."""
    if not path.is_dir():
        data = path.read_bytes()
        if detect(path.name, data[:HEAD]) is InFormat.LIST:
            values = tabular.read_list(data, source=str(path), skip_invalid=skip_invalid)
            return values.entries, values.problems
        exchange = read(str(path), data, skip_invalid=skip_invalid)
    else:
        exchange = read_path(path, skip_invalid=skip_invalid)
    entries = [
        typed
        for report in exchange.reports
        for item in report.indicators
        if (typed := item.typed()) is not None
    ]
    return entries, exchange.problems


def write(exchange: Exchange, fmt: OutFormat) -> tuple[bytes, dict[str, bytes]]:
    """The file in format ``fmt``, and the files that go beside it (by name)."""
    if fmt is OutFormat.STIX:
        return stix.to_stix(exchange), {}
    if fmt is OutFormat.MISP:
        return misp.to_misp_bytes(exchange), {}
    if fmt is OutFormat.CSV:
        return tabular.to_csv(exchange), {}
    if fmt is OutFormat.SURICATA:
        lists = {name: data for name, data in suricata.to_suricata_datasets(exchange).items() if data}
        return suricata.to_suricata(exchange), lists
    if fmt is OutFormat.ZEEK:
        return rules.to_zeek_intel(exchange), {}
    if fmt is OutFormat.RPZ:
        return rules.to_rpz(exchange), {}
    return rules.to_blocklist(exchange), {}
