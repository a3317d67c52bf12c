"""Reading a STIX 2.1 document into an :class:`Exchange`: the bundle checked, its objects read piece by
piece into records (the latest version of each object kept), and the records gathered into reports.

A problem names the object's index, id and reason; without ``skip_invalid`` any problem refuses the whole
file, with it the object is left out and the problem listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from commonspace.domain import collector
from commonspace.formats.model import Exchange, FormatError, Problem
from commonspace.formats.stix.common import Ids, is_id
from commonspace.formats.stix.pieces import documents
from commonspace.formats.stix.records import Record, newer, read_object
from commonspace.formats.stix.reports import reports_of


def parse_stix(
    data: bytes,
    *,
    source: str = "",
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Exchange:
    """Read a STIX 2.1 bundle, object or list of objects (see the package's documentation).

    Raises :class:`FormatError` for JSON that cannot be read, a bundle that is not STIX 2.1, and, unless
    ``skip_invalid``, any invalid object. ``progress`` is called with the count of objects read so far,
    every 5,000 objects and at the end.
    """
    with collector.paused():  # reading makes a great many small objects that all live until the end
        return _parse(data, source, skip_invalid, progress)


def _parse(data: bytes, source: str, skip_invalid: bool, progress: Callable[[int], None] | None) -> Exchange:
    bundle, pieces = documents(data, source)
    bundle_id: str | None = None
    if bundle is not None:
        raw_id = bundle.get("id")
        if raw_id is not None and not (is_id(raw_id) and str(raw_id).startswith("bundle--")):
            raise FormatError([Problem(source, "bundle", f"the bundle's id {raw_id!r} is not a bundle id")])
        bundle_id = raw_id
        spec_version = bundle.get("spec_version")
        if spec_version is not None and spec_version != "2.1":
            raise FormatError(
                [
                    Problem(
                        source,
                        "bundle",
                        f"spec_version {spec_version!r} on the bundle: this is a STIX {spec_version} bundle; "
                        "only STIX 2.1 is read",
                        bundle_id,
                    )
                ]
            )
    problems: list[Problem] = []
    ids = Ids()
    by_id: dict[str, Record] = {}
    kept: list[Record] = []
    versions = False  # whether an id came twice
    count = 0
    for elements in pieces:  # a piece at a time, each step over all of its objects
        results = [read_object(obj, index, ids) for index, obj in enumerate(elements, count)]
        elements.clear()  # let the dicts go
        records = [result for result in results if isinstance(result, Record)]
        if len(records) < len(results):
            for index, result in enumerate(results, count):
                if not isinstance(result, Record):
                    reasons, ident = result
                    problems.extend(Problem(source, f"object {index}", reason, ident) for reason in reasons)
        new_ids = [record.id for record in records]
        if len(set(new_ids)) == len(new_ids) and by_id.keys().isdisjoint(new_ids):
            by_id.update(zip(new_ids, records, strict=True))
        else:  # an id comes again: its latest version counts (a tie: the later in the file)
            versions = True
            for record in records:
                current = by_id.setdefault(record.id, record)
                if current is not record and newer(record, current):
                    by_id[record.id] = record
        kept += records
        before, count = count, count + len(results)
        if progress is not None:
            for done in range(before - before % 5000 + 5000, count + 1, 5000):
                progress(done)
    if progress is not None and count % 5000:
        progress(count)
    if problems and not skip_invalid:
        raise FormatError(problems)
    if versions:
        kept = [r for r in kept if by_id[r.id] is r]  # the latest version of each object
    exchange = Exchange(source=source, problems=problems, objects_read=count)
    exchange.reports = reports_of(
        kept, by_id, lambda: bundle_id or f"file:{hashlib.sha256(data).hexdigest()}", source
    )
    return exchange
