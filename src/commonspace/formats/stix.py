"""STIX 2.1 in and out: bundles read into an :class:`Exchange` and written from one, fast and pure.

**Reading** (:func:`parse_stix`). The JSON is read with orjson. A large bundle is not read in one go: its
``objects`` array is cut, between two top-level objects, into pieces of about a megabyte that are read one
after the other, so that only one piece is ever held as Python objects besides what is kept. What is kept
of every object is its serialised form (:class:`RawObject`), a few references, and, for the few types that
are read further (reports, identities, marking definitions), the object itself. A cut is only accepted
when the piece reads as a JSON array of whole objects, which a cut inside an object or a string never
does; when no cut fits, the whole document is read at once.

Every object is checked by hand, cheaply (``stix2.parse`` is about eighteen times slower on the ATT&CK
bundle): ``type`` and ``id`` (``<type>--<UUID>``), ``spec_version`` "2.1" when present, the required
properties of the STIX 2.1 objects, timestamps in the STIX form (kept as written), the types of the
properties read here, and the pattern of every STIX indicator. A problem names the object's index, id and
reason; without ``skip_invalid`` any problem refuses the whole file, with it the object is left out and
the problem listed.

Mapping: each STIX ``report`` becomes a :class:`ReportItem` holding, in ``objects``, the report itself,
every object it refers to (and the cyber-observables of the observed-data it refers to), the
relationships and sightings that touch these, and the identities, marking definitions and extension
definitions they use. Indicators (:class:`IndicatorItem`, with the STIX id as ``source_id``) are drawn
from the STIX indicators with a pattern of ours (each equality comparison on an address, domain, URL,
e-mail address, file hash or name or AS number is one indicator) and from the cyber-observables of
those types, directly or inside observed-data (these are not for detection). The objects indicators were
drawn from stay in ``objects`` too: their names, kill chain phases and the relationships that point at
them are given back on export. Objects no report refers to go into one container report for the bundle. A
report's TLP is the strictest TLP marking (1.0 or 2.0) of the report and what it holds.

**Writing** (:func:`to_stix`). One bundle: the official TLP 2.0 marking definitions and their extension
definition, an identity per organisation, and per report its STIX report (the original one when it was
imported), the objects kept with it, and an indicator per indicator meant for detection (an observed-data
with its cyber-observable for the others, as MISP does with attributes not meant for detection), all
marked with the report's TLP. Ids are ``report--``, ``indicator--`` and ``identity--`` followed by our
UUID when STIX 2.1 allows its version (1 to 5), else by a version 5 UUID derived from it (indicators have
version 7 UUIDs here). An original indicator, observable or observed-data is given back only while
every value it holds is still among the report's indicators: one left out on export (narrowed away from
the reader, or deleted) must not travel inside the original object.
"""

from __future__ import annotations

import gc
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from commonspace.domain import canonical
from commonspace.domain.vocab import TLP, IndicatorType
from commonspace.formats.model import (
    Exchange,
    FormatError,
    IndicatorItem,
    OrgItem,
    Problem,
    RawObject,
    ReportItem,
)

T = IndicatorType
Obj = dict[str, Any]

# --- constants of the standards ---------------------------------------------------------------------

# TLP 1.0 (STIX 2.1, section 7.2.1.4) and TLP 2.0 (the OASIS extension in cti-stix-common-objects).
TLP1_MARKINGS: dict[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}
TLP2_MARKINGS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_TLP2_EXTENSION_OBJECT: Obj = {
    "type": "extension-definition",
    "spec_version": "2.1",
    "id": TLP2_EXTENSION,
    "created_by_ref": "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
    "created": "2022-10-01T00:00:00.000Z",
    "modified": "2022-10-01T00:00:00.000Z",
    "name": "TLP 2.0",
    "description": "This defines TLP 2.0 as a STIX extension",
    "schema": "https://github.com/oasis-open/cti-stix-common-objects/tree/master/"
    "extension-definition-specifications/tlp-2.0",
    "version": "1.0.0",
    "extension_types": ["property-extension"],
}
_TLP_BY_NAME = {
    "white": TLP.CLEAR,
    "clear": TLP.CLEAR,
    "green": TLP.GREEN,
    "amber": TLP.AMBER,
    "amber+strict": TLP.AMBER_STRICT,
    "red": TLP.RED,
}
_TLP_RANK = {TLP.CLEAR: 0, TLP.GREEN: 1, TLP.AMBER: 2, TLP.AMBER_STRICT: 3, TLP.RED: 4}
TLP_MARKINGS: dict[str, TLP] = TLP1_MARKINGS | {ref: tlp for tlp, ref in TLP2_MARKINGS.items()}

# STIX 2.1 section 2.9: the namespace of the deterministic ids of cyber-observables.
_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# Ours, for the ids of what has no UUID of its own (the bundle, an organisation known only by name).
_NAMESPACE = uuid.UUID("3c0d5a57-4f1e-4b59-9a3b-2f2d0c6e7b1a")
_UNKNOWN_TIME = "1970-01-01T00:00:00.000Z"  # created/modified of identities we know no date of

# The required properties of the STIX 2.1 objects (beyond type and id); SDOs and SROs also need created
# and modified.
_SDO_REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "location": (),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
}
_SDO_REQUIRED = {t: ("created", "modified", *props) for t, props in _SDO_REQUIRED.items()}
_OTHER_REQUIRED: dict[str, tuple[str, ...]] = {
    "marking-definition": ("created",),
    "language-content": ("created", "modified", "object_ref", "contents"),
    "extension-definition": ("created", "modified", "name", "schema", "version", "extension_types"),
}
_REQUIRED = _SDO_REQUIRED | _OTHER_REQUIRED
_TIMESTAMP_PROPERTIES = (
    "created",
    "modified",
    "published",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
)
_REF_LISTS = ("object_refs", "object_marking_refs", "observed_data_refs", "where_sighted_refs")
_REFS = ("created_by_ref", "source_ref", "target_ref", "sighting_of_ref")
_VALUE_SCOS = {
    "ipv4-addr": T.IPV4,
    "ipv6-addr": T.IPV6,
    "domain-name": T.DOMAIN,
    "url": T.URL,
    "email-addr": T.EMAIL,
}
_SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
_OUR_SCOS = frozenset({*_VALUE_SCOS, "file", "autonomous-system"})
_HASH_TYPES = {"MD5": T.MD5, "SHA1": T.SHA1, "SHA256": T.SHA256, "SHA512": T.SHA512}
_HASH_KEYS = {T.MD5: "MD5", T.SHA1: "SHA-1", T.SHA256: "SHA-256", T.SHA512: "SHA-512"}

# Any UUID is read (STIX 2.1 asks for versions 1 to 5 of RFC 4122, but newer producers write UUIDv7);
# what is written keeps to versions 1 to 5 (see _uuid).
_ID = re.compile(r"([a-z][a-z0-9-]+[a-z0-9])--[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
    r"(?:\.[0-9]+)?Z"
)

# --- patterns ---------------------------------------------------------------------------------------
# The fast path: observation expressions of equality comparisons on the paths of our types, joined by AND
# or OR within and across brackets. Anything else goes to the stix2-patterns library.
_STRING = r"'(?:[^'\\]|\\['\\])*'"
_STRING_PATHS = (
    r"(?:ipv4-addr|ipv6-addr|domain-name|url|email-addr):value|email-message:(?:from|sender)_ref\.value"
    r"|file:name|file:hashes\.(?i:'(?:MD5|SHA-?1|SHA-?256|SHA-?512)'|MD5|SHA1|SHA256|SHA512)"
)
_COMPARISON = rf"(?:{_STRING_PATHS})\s*=\s*{_STRING}|autonomous-system:number\s*=\s*[0-9]+"
_OBSERVATION = rf"\[\s*(?:{_COMPARISON})(?:\s+(?:AND|OR)\s+(?:{_COMPARISON}))*\s*\]"
_FAST_PATTERN = re.compile(rf"\s*{_OBSERVATION}(?:\s+(?:AND|OR)\s+{_OBSERVATION})*\s*")
_FAST_COMPARISON = re.compile(
    rf"(?P<path>{_STRING_PATHS})\s*=\s*'(?P<value>(?:[^'\\]|\\['\\])*)'"
    r"|autonomous-system:number\s*=\s*(?P<number>[0-9]+)"
)
_LITERAL = re.compile(r"'((?:[^'\\]|\\['\\])*)'")
_ESCAPED = re.compile(r"\\(['\\])")


class _Unreadable(Exception):
    """A pattern neither the fast path nor stix2-patterns can read."""


def _unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text) if "\\" in text else text


def _comparison_type(object_type: str, path: Sequence[str], value: str) -> IndicatorType | None:
    """Our type for an equality comparison on ``object_type:path``, or None when it is not ours."""
    if len(path) == 1:
        prop = path[0]
        if prop == "value":
            if object_type == "ipv4-addr":
                return T.IPV4_CIDR if "/" in value else T.IPV4
            if object_type == "ipv6-addr":
                return T.IPV6_CIDR if "/" in value else T.IPV6
            return _VALUE_SCOS.get(object_type)
        if object_type == "file" and prop == "name":
            return T.FILENAME
        if object_type == "autonomous-system" and prop == "number":
            return T.ASN
    elif len(path) == 2:
        if object_type == "file" and path[0] == "hashes":
            return _HASH_TYPES.get(path[1].strip("'").upper().replace("-", "").replace("_", ""))
        if object_type == "email-message" and path[0] in ("from_ref", "sender_ref") and path[1] == "value":
            return T.EMAIL
    return None


def read_pattern(pattern: str) -> list[tuple[IndicatorType, str]]:
    """The values of our types a STIX pattern compares for equality, in order; raises _Unreadable."""
    if _FAST_PATTERN.fullmatch(pattern):
        found: list[tuple[IndicatorType, str]] = []
        for m in _FAST_COMPARISON.finditer(pattern):
            if m.group("number") is not None:
                found.append((T.ASN, f"AS{int(m.group('number'))}"))
                continue
            object_type, _, path = m.group("path").partition(":")
            value = _unescape(m.group("value"))
            type_ = _comparison_type(object_type, path.split("."), value)
            if type_ is not None:
                found.append((type_, value))
        return found
    return _read_pattern_slowly(pattern)


def _read_pattern_slowly(pattern: str) -> list[tuple[IndicatorType, str]]:
    from stix2patterns.v21.pattern import Pattern  # imported on first need: it loads an ANTLR parser

    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except Exception as exc:  # ParseException, and whatever else the generated parser raises
        raise _Unreadable(str(exc) or type(exc).__name__) from None
    found: list[tuple[IndicatorType, str]] = []
    for object_type, entries in comparisons.items():
        for path, op, literal in entries:
            path = [str(p) for p in path]
            if op == "=":
                values = [literal]
            elif op == "IN" and isinstance(literal, str):
                values = [f"'{v}'" for v in _LITERAL.findall(literal)] or literal.strip("()").split(",")
            else:
                continue
            for text in values:
                text = str(text).strip()
                if text.startswith("'") and text.endswith("'") and len(text) >= 2:
                    value = _unescape(text[1:-1])
                elif text.isdigit():
                    value = text
                else:
                    continue
                type_ = _comparison_type(str(object_type), path, value)
                if type_ is T.ASN:
                    if not value.isdigit():
                        continue
                    value = f"AS{int(value)}"
                if type_ is not None:
                    found.append((type_, value))
    return found


def stix_pattern(type_: IndicatorType, value: str) -> str:
    """The STIX pattern of one value of ours (quotes and backslashes escaped)."""
    if type_ is T.ASN:
        return f"[autonomous-system:number = {int(value.upper().removeprefix('AS'))}]"
    literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if type_ in _HASH_KEYS:
        return f"[file:hashes.'{_HASH_KEYS[type_]}' = {literal}]"
    path = {
        T.IPV4: "ipv4-addr:value",
        T.IPV4_CIDR: "ipv4-addr:value",
        T.IPV6: "ipv6-addr:value",
        T.IPV6_CIDR: "ipv6-addr:value",
        T.DOMAIN: "domain-name:value",
        T.URL: "url:value",
        T.EMAIL: "email-addr:value",
        T.FILENAME: "file:name",
    }[type_]
    return f"[{path} = {literal}]"


# --- timestamps -------------------------------------------------------------------------------------


def _datetime(text: Any) -> datetime | None:
    """A STIX timestamp (already checked) as an aware datetime; a leap second reads as :59."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        if text[17:19] == "60":
            return datetime.fromisoformat(text[:17] + "59" + text[19:])
        return None


def _valid_timestamp(text: Any) -> bool:
    # The expression knows every month has up to 31 days; which have fewer is the calendar's business.
    return (
        type(text) is str
        and _TIMESTAMP.fullmatch(text) is not None
        and (text[8:10] <= "28" or _datetime(text) is not None)
    )


def _utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be in UTC already (as the database stores)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """A datetime in the STIX form: UTC, "Z", milliseconds (or microseconds when there are any)."""
    moment = _utc(moment)
    micro = moment.microsecond
    fraction = f"{micro // 1000:03d}" if micro % 1000 == 0 else f"{micro:06d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


# --- reading: the JSON --------------------------------------------------------------------------------

_CHUNK = 1 << 20  # bytes of JSON read at once from a large array
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
    """The elements of the array whose inside is ``data[start:end]``, a few megabytes at a time."""
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


def _documents(data: bytes, source: str) -> tuple[Obj | None, Iterator[list[Any]]]:
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


# --- reading: the objects -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Record:
    """What is kept of one valid object."""

    id: str
    type: str
    modified: str
    raw: RawObject
    index: int
    obj: Obj | None = None  # reports, identities and marking definitions, read further
    refs: tuple[str, ...] = ()  # object_refs of a report or an observed-data
    ends: tuple[str, ...] = ()  # what a relationship or a sighting connects
    uses: tuple[str, ...] = ()  # created_by_ref, marking refs, extension definitions
    author: str | None = None
    items: Sequence[IndicatorItem] = ()
    observed: tuple[datetime | None, datetime | None] | None = None  # an observed-data's first and last


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_TIMESTAMP_HELP = "is not a STIX timestamp (RFC 3339 in UTC ending in 'Z', such as 2024-01-31T12:00:00.000Z)"
# The timestamps of each type (any other type: all of them), so that an object is asked only for its own.
_SEEN = ("created", "modified", "first_seen", "last_seen")
_TIMESTAMPS_OF: dict[str, tuple[str, ...]] = {
    **{t: ("created", "modified") for t in _REQUIRED},
    **{
        t: _SEEN
        for t in ("campaign", "infrastructure", "intrusion-set", "malware", "sighting", "threat-actor")
    },
    "report": ("created", "modified", "published"),
    "indicator": ("created", "modified", "valid_from", "valid_until"),
    "observed-data": ("created", "modified", "first_observed", "last_observed"),
    "marking-definition": ("created",),
    **{t: () for t in _SCO_TYPES},
}
_STRING_PROPERTIES = ("name", "description")


class _Ids:
    """Valid STIX ids seen so far, each kept once: most references repeat a few ids (the author, the
    marking), so checking and storing each one once saves time and memory."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, value: Any) -> str | None:
        """``value`` (the one kept copy) when it is a valid STIX id, else None."""
        if type(value) is not str:
            return None
        known = self.known.get(value)
        if known is None and _ID.fullmatch(value) is not None:
            known = self.known[value] = value
        return known


def _check(obj: Obj, otype: str, ids: _Ids) -> tuple[list[str], tuple[str, ...]]:
    """Why this object (with a valid type and id) is not valid STIX 2.1 as far as it is read here, and the
    ids it uses (created_by_ref, its markings, the extension definitions of its extensions)."""
    reasons: list[str] = []
    uses: list[str] = []
    get = obj.get
    spec_version = get("spec_version")
    if spec_version is not None and spec_version != "2.1":
        reasons.append(f"spec_version {spec_version!r}: only STIX 2.1 is read")
    for prop in _REQUIRED.get(otype, ()):
        if get(prop) is None:
            reasons.append(f"the required property {prop!r} is missing")
    for prop in _TIMESTAMPS_OF.get(otype, _TIMESTAMP_PROPERTIES):
        value = get(prop)
        if value is not None and not _valid_timestamp(value):
            reasons.append(f"{prop} {value!r} {_TIMESTAMP_HELP}")
    author = get("created_by_ref")
    if author is not None:
        ref = ids(author)
        if ref is None:
            reasons.append(f"created_by_ref {author!r} is not a STIX id")
        else:
            uses.append(ref)
    markings = get("object_marking_refs")
    if markings is not None:
        refs = [ids(v) for v in markings] if type(markings) is list else [None]
        if None in refs:
            reasons.append("object_marking_refs must be a list of STIX ids")
        else:
            uses.extend(refs)  # type: ignore[arg-type]  # no None left
    if otype in _SCO_TYPES:
        if otype in _OUR_SCOS:
            reasons.extend(_check_observable(obj, otype))
    else:
        for prop in _STRING_PROPERTIES:
            value = get(prop)
            if value is not None and type(value) is not str:
                reasons.append(f"{prop} must be a string")
        if otype in _CHECKS_OF:
            reasons.extend(_CHECKS_OF[otype](obj, ids))
    labels = get("labels")
    if labels is not None and not _strings(labels):
        reasons.append("labels must be a list of strings")
    confidence = get("confidence")
    if confidence is not None and (type(confidence) is not int or not 0 <= confidence <= 100):
        reasons.append(f"confidence {confidence!r} is not a whole number from 0 to 100")
    granular = get("granular_markings")
    if granular is not None:
        if type(granular) is not list or not all(isinstance(g, dict) for g in granular):
            reasons.append("granular_markings must be a list of objects")
        else:
            for marking in (g["marking_ref"] for g in granular if g.get("marking_ref") is not None):
                ref = ids(marking)
                if ref is None:
                    reasons.append(f"the marking_ref {marking!r} of granular_markings is not a STIX id")
                else:
                    uses.append(ref)
    extensions = get("extensions")
    if extensions is not None:
        if type(extensions) is not dict:
            reasons.append("extensions must be an object")
        else:
            for key in extensions:
                ref = ids(key) if key.startswith("extension-definition--") else None
                if ref is not None:
                    uses.append(ref)
    return reasons, tuple(uses)


def _refs(obj: Obj, ids: _Ids, single: tuple[str, ...], lists: tuple[str, ...]) -> list[str]:
    reasons = []
    for prop in single:
        value = obj.get(prop)
        if value is not None and ids(value) is None:
            reasons.append(f"{prop} {value!r} is not a STIX id")
    for prop in lists:
        value = obj.get(prop)
        if value is not None and not (type(value) is list and all(ids(v) is not None for v in value)):
            reasons.append(f"{prop} must be a list of STIX ids")
    return reasons


def _check_indicator(obj: Obj, ids: _Ids) -> list[str]:
    return [f"{p} must be a string" for p in ("pattern", "pattern_type") if type(obj.get(p, "")) is not str]


def _check_observed(obj: Obj, ids: _Ids) -> list[str]:
    reasons = _refs(obj, ids, (), ("object_refs",))
    embedded = obj.get("objects")
    if embedded is not None and not (
        type(embedded) is dict
        and all(isinstance(o, dict) and isinstance(o.get("type"), str) for o in embedded.values())
    ):
        reasons.append("objects must map keys to cyber-observable objects, each with a type")
    elif embedded is None and obj.get("object_refs") is None:
        reasons.append("the required property 'object_refs' is missing")
    return reasons


def _check_marking(obj: Obj, ids: _Ids) -> list[str]:
    if ("definition_type" in obj and "definition" in obj) or ("name" in obj and "extensions" in obj):
        return []
    return ["a marking definition needs definition_type and definition, or name and extensions"]


_CHECKS_OF: dict[str, Callable[[Obj, _Ids], list[str]]] = {
    "indicator": _check_indicator,
    "observed-data": _check_observed,
    "marking-definition": _check_marking,
    "relationship": lambda obj, ids: _refs(obj, ids, ("source_ref", "target_ref"), ()),
    "sighting": lambda obj, ids: _refs(
        obj, ids, ("sighting_of_ref",), ("observed_data_refs", "where_sighted_refs")
    ),
    **{
        t: lambda obj, ids: _refs(obj, ids, (), ("object_refs",))
        for t in ("report", "grouping", "note", "opinion")
    },
}


def _check_observable(obj: Obj, otype: str) -> list[str]:
    if otype in _VALUE_SCOS:
        value = obj.get("value")
        return [] if isinstance(value, str) else ["the required property 'value' is missing or not a string"]
    if otype == "autonomous-system":
        number = obj.get("number")
        return [] if type(number) is int else ["the required property 'number' is missing or not a number"]
    hashes, name = obj.get("hashes"), obj.get("name")
    reasons = []
    if hashes is None and name is None:
        reasons.append("a file needs hashes or a name")
    if hashes is not None and not (
        isinstance(hashes, dict) and all(isinstance(v, str) for v in hashes.values())
    ):
        reasons.append("hashes must map algorithm names to strings")
    if name is not None and not isinstance(name, str):
        reasons.append("name must be a string")
    return reasons


def _observable_values(obj: Obj) -> list[tuple[IndicatorType, str]]:
    """The values of ours a cyber-observable holds (a file: each hash of ours, then its name)."""
    otype = obj.get("type")
    if otype in _VALUE_SCOS:
        value = obj.get("value")
        if not isinstance(value, str):
            return []
        type_ = _comparison_type(otype, ("value",), value)
        return [(type_, value)] if type_ is not None else []
    if otype == "autonomous-system":
        number = obj.get("number")
        return [(T.ASN, f"AS{number}")] if type(number) is int else []
    if otype == "file":
        found: list[tuple[IndicatorType, str]] = []
        hashes = obj.get("hashes")
        if isinstance(hashes, dict):
            for key, value in hashes.items():
                hash_type = _comparison_type("file", ("hashes", str(key)), "")
                if hash_type is not None and isinstance(value, str):
                    found.append((hash_type, value))
        name = obj.get("name")
        if isinstance(name, str):
            found.append((T.FILENAME, name))
        return found
    return []


def _compact(body: bytes) -> bytes:
    """A copy of what orjson.dumps returned in a block of its own size: orjson's own result sits in a
    buffer of at least 4 KiB, which, kept for every object of a large bundle, would be most of the memory."""
    return bytes(memoryview(body))


def _record(obj: Obj, otype: str, oid: str, index: int, uses: tuple[str, ...], ids: _Ids) -> _Record:
    """What is kept of a valid object; raises _Unreadable for an indicator whose pattern cannot be read."""
    modified = obj.get("modified")
    modified = modified if isinstance(modified, str) else ""
    author = obj.get("created_by_ref")
    record = _Record(
        oid, otype, modified, RawObject(oid, otype, modified, _compact(orjson.dumps(obj))), index
    )
    record.uses = uses
    if author is not None:
        record.author = ids(author)
    if otype in ("report", "identity", "marking-definition"):
        record.obj = obj
        if otype == "report":
            record.refs = tuple(map(ids, obj["object_refs"]))  # type: ignore[arg-type]  # all checked
    elif otype == "relationship":
        record.ends = (obj["source_ref"], obj["target_ref"])
    elif otype == "sighting":
        record.ends = (obj["sighting_of_ref"], *(obj.get("observed_data_refs") or ()))
    elif otype == "indicator":
        if obj["pattern_type"] == "stix":
            values = read_pattern(obj["pattern"])
            record.items = _indicator_items(obj, oid, values)
    elif otype == "observed-data":
        record.refs = tuple(map(ids, obj.get("object_refs") or ()))  # type: ignore[arg-type]
        first, last = _datetime(obj["first_observed"]), _datetime(obj["last_observed"])
        record.observed = (first, last)
        record.items = [
            IndicatorItem(value, type_, to_detect=False, first_seen=first, last_seen=last, source_id=oid)
            for embedded in (obj.get("objects") or {}).values()
            for type_, value in _observable_values(embedded)
        ]
    elif otype in _OUR_SCOS:
        record.items = [
            IndicatorItem(value, type_, to_detect=False, source_id=oid)
            for type_, value in _observable_values(obj)
        ]
    return record


def _indicator_items(obj: Obj, oid: str, values: list[tuple[IndicatorType, str]]) -> list[IndicatorItem]:
    if not values:
        return []
    name, description = obj.get("name"), obj.get("description")
    comment = name or description or ""
    confidence = obj.get("confidence")
    kinds = obj.get("indicator_types")
    to_detect = obj.get("revoked") is not True and not (isinstance(kinds, list) and "benign" in kinds)
    first_seen, last_seen = _datetime(obj.get("valid_from")), _datetime(obj.get("valid_until"))
    created, modified = _datetime(obj.get("created")), _datetime(obj.get("modified"))
    labels = obj.get("labels") or []
    return [
        IndicatorItem(
            value=value,
            type=type_,
            comment=comment,
            to_detect=to_detect,
            first_seen=first_seen,
            last_seen=last_seen,
            confidence=confidence,
            tags=list(labels),
            source_id=oid,
            created=created,
            modified=modified,
        )
        for type_, value in values
    ]


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _read_object(obj: Any, index: int, ids: _Ids) -> _Record | tuple[list[str], str | None]:
    """The record of a valid object, or (the reasons it is not valid, its id when it has one)."""
    if not isinstance(obj, dict):
        return [f"expected a STIX object, found {type(obj).__name__}"], None
    otype, oid = obj.get("type"), obj.get("id")
    ident = oid if isinstance(oid, str) else None
    if not isinstance(otype, str):
        return ["the object has no type"], ident
    if otype == "bundle":
        return ["a bundle inside a bundle"], ident
    if ident is None:
        return ["the object has no id"], None
    match = _ID.fullmatch(ident)
    if match is None or match.group(1) != otype:
        return [f"id {ident!r} is not {otype + '--'!r} followed by a UUID"], ident
    reasons, uses = _check(obj, otype, ids)
    if reasons:
        return reasons, ident
    try:
        return _record(obj, otype, ident, index, uses, ids)
    except _Unreadable as exc:
        return [f"cannot read pattern {_short(obj['pattern'])}: {exc}"], ident


# --- reading: the reports -----------------------------------------------------------------------------


def _newer(candidate: _Record, current: _Record) -> bool:
    """Whether ``candidate`` is a later version than ``current`` (a tie goes to the later in the file)."""
    new, old = _datetime(candidate.modified), _datetime(current.modified)
    if new is None or old is None:
        return True
    return new >= old


class _Held:
    """The records one report holds, in order, each once."""

    def __init__(self) -> None:
        self.records: dict[str, _Record] = {}

    def add(self, record: _Record | None) -> None:
        if record is not None and record.id not in self.records:
            self.records[record.id] = record


def _hold_used(held: _Held, by_id: dict[str, _Record]) -> None:
    """Add the identities, marking definitions and extension definitions the held records use."""
    records = list(held.records.values())
    index = 0
    while index < len(records):
        for ref in records[index].uses:
            if ref not in held.records and ref in by_id:
                held.add(by_id[ref])
                records.append(by_id[ref])
        index += 1


def _tlp_of_markings(records: Iterable[_Record]) -> dict[str, TLP]:
    """Marking ids that mean a TLP: the official ones, and TLP marking definitions of the bundle."""
    found = dict(TLP_MARKINGS)
    for record in records:
        obj = record.obj or {}
        tlp: TLP | None = None
        definition = obj.get("definition")
        if obj.get("definition_type") == "tlp" and isinstance(definition, dict):
            tlp = _TLP_BY_NAME.get(str(definition.get("tlp", "")).lower())
        extension = (obj.get("extensions") or {}).get(TLP2_EXTENSION)
        if isinstance(extension, dict):
            tlp = _TLP_BY_NAME.get(str(extension.get("tlp_2_0", "")).lower(), tlp)
        if tlp is not None:
            found[record.id] = tlp
    return found


def _strictest(records: Iterable[_Record], tlps: dict[str, TLP]) -> TLP | None:
    strictest: TLP | None = None
    for record in records:
        for ref in record.uses:
            tlp = tlps.get(ref)
            if tlp is not None and (strictest is None or _TLP_RANK[tlp] > _TLP_RANK[strictest]):
                strictest = tlp
    return strictest


def _org(identity: _Record | None) -> OrgItem | None:
    if identity is None or identity.type != "identity" or identity.obj is None:
        return None
    return OrgItem(name=identity.obj["name"], source_id=identity.id)


def _items(held: _Held) -> list[IndicatorItem]:
    """The indicators drawn from the held records, each (source, type, value) once."""
    observed: dict[str, tuple[datetime | None, datetime | None]] = {}
    for record in held.records.values():
        if record.observed is not None:
            for ref in record.refs:
                observed.setdefault(ref, record.observed)
    items: list[IndicatorItem] = []
    seen: set[tuple[str | None, IndicatorType | None, str]] = set()
    for record in held.records.values():
        times = observed.get(record.id) if record.type in _OUR_SCOS else None
        for template in record.items:
            key = (template.source_id, template.type, template.value)
            if key in seen:
                continue
            seen.add(key)
            item = replace(template, tags=list(template.tags))
            if times is not None:
                item.first_seen, item.last_seen = times
            items.append(item)
    return items


def _report_item(
    held: _Held, by_id: dict[str, _Record], tlps: dict[str, TLP], report: _Record | None
) -> ReportItem:
    """The report of ``report`` (None: the container of the objects no report holds) and what it holds."""
    records = list(held.records.values())
    if report is not None and report.obj is not None:
        obj = report.obj
        item = ReportItem(
            title=obj["name"],
            summary=obj.get("description") or "",
            created=_datetime(obj["created"]),
            modified=_datetime(obj["modified"]),
            tags=list(obj.get("labels") or ()),
            author=_org(by_id.get(obj.get("created_by_ref") or "")),
            source_id=report.id,
        )
    else:
        authors = {r.author for r in records if r.author is not None}
        author = _org(by_id.get(authors.pop())) if len(authors) == 1 else None
        item = ReportItem(title="", author=author)
    item.tlp = _strictest(records, tlps)
    item.indicators = _items(held)
    item.objects = [r.raw for r in records]
    return item


def parse_stix(
    data: bytes,
    *,
    source: str = "",
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Exchange:
    """Read a STIX 2.1 bundle, object or list of objects (see the module's documentation).

    Raises :class:`FormatError` for JSON that cannot be read, a bundle that is not STIX 2.1, and, unless
    ``skip_invalid``, any invalid object. ``progress`` is called with the count of objects read so far,
    every 5,000 objects and at the end.
    """
    # Reading creates a great many small objects that all live until the end: the cyclic garbage
    # collector's passes over them find nothing and took about a sixth of the time, so it pauses.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse(data, source, skip_invalid, progress)
    finally:
        if paused:
            gc.enable()


def _parse(data: bytes, source: str, skip_invalid: bool, progress: Callable[[int], None] | None) -> Exchange:
    bundle, pieces = _documents(data, source)
    bundle_id: str | None = None
    if bundle is not None:
        raw_id = bundle.get("id")
        if raw_id is not None and not (_is_id(raw_id) and str(raw_id).startswith("bundle--")):
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
    ids = _Ids()
    by_id: dict[str, _Record] = {}
    kept: list[_Record] = []
    count = 0
    for elements in pieces:
        for position in range(len(elements)):
            obj, elements[position] = elements[position], None  # let the dict go once it is read
            result = _read_object(obj, count, ids)
            if isinstance(result, _Record):
                current = by_id.get(result.id)
                if current is None or _newer(result, current):
                    by_id[result.id] = result
                kept.append(result)
            else:
                reasons, ident = result
                problems.extend(Problem(source, f"object {count}", reason, ident) for reason in reasons)
            count += 1
            if progress is not None and count % 5000 == 0:
                progress(count)
    if progress is not None and count % 5000:
        progress(count)
    if problems and not skip_invalid:
        raise FormatError(problems)
    kept = [r for r in kept if by_id[r.id] is r]  # the latest version of each object
    exchange = Exchange(source=source, problems=problems, objects_read=count)
    exchange.reports = _reports(
        kept, by_id, lambda: bundle_id or f"file:{hashlib.sha256(data).hexdigest()}", source
    )
    return exchange


def _reports(
    kept: list[_Record], by_id: dict[str, _Record], container_id: Callable[[], str], source: str
) -> list[ReportItem]:
    """A report per STIX report, and one for the objects no report holds."""
    reports = [r for r in kept if r.type == "report"]
    helds: list[_Held] = []
    for report in reports:
        held = _Held()
        held.add(report)
        for ref in report.refs:
            target = by_id.get(ref)
            held.add(target)
            if target is not None and target.type == "observed-data":
                for observable in target.refs:
                    held.add(by_id.get(observable))
        helds.append(held)
    if helds:
        holders: dict[str, list[_Held]] = {}
        for held in helds:
            for oid in held.records:
                holders.setdefault(oid, []).append(held)
        for record in kept:
            for end in record.ends:
                for held in holders.get(end, ()):
                    held.add(record)
    for held in helds:
        _hold_used(held, by_id)
    claimed = {oid for held in helds for oid in held.records}
    rest = _Held()
    for record in kept:
        if record.id not in claimed:
            rest.add(record)
    tlps = _tlp_of_markings(r for r in kept if r.type == "marking-definition")
    items = [_report_item(held, by_id, tlps, report) for report, held in zip(reports, helds, strict=True)]
    if rest.records:
        _hold_used(rest, by_id)
        container = _report_item(rest, by_id, tlps, None)
        container.source_id = container_id()
        container.title = source or f"STIX bundle {container.source_id}"
        items.append(container)
    return items


# --- writing ------------------------------------------------------------------------------------------

_INSPECTED = frozenset({"report", "indicator", "observed-data", "relationship", "sighting", *_OUR_SCOS})


def _uuid(value: str | None, *fallback: str) -> str:
    """The UUID of a STIX id for our ``value``: itself when it is of a version STIX 2.1 allows (RFC 4122,
    versions 1 to 5; our reports and organisations have version 4), else a version 5 UUID derived from it
    (our indicators have version 7, which stix2-validator refuses), or from ``fallback`` without one."""
    if value:
        try:
            ours = uuid.UUID(value)
        except ValueError:
            pass
        else:
            if ours.variant == uuid.RFC_4122 and ours.version is not None and 1 <= ours.version <= 5:
                return str(ours)
            return str(uuid.uuid5(_NAMESPACE, str(ours)))
    return str(uuid.uuid5(_NAMESPACE, "|".join(fallback)))


def _tlp2_marking(tlp: TLP) -> Obj:
    """The official TLP 2.0 marking definition."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKINGS[tlp],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{tlp.value}",
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value.lower()}
        },
    }


def _loaded(obj: Obj | RawObject) -> Obj | RawObject:
    """Objects read further on export as dicts; the others stay serialised."""
    if isinstance(obj, RawObject) and obj.type in _INSPECTED:
        loaded = orjson.loads(obj.body)
        return loaded if isinstance(loaded, dict) else obj
    return obj


def _object_id(obj: Obj | RawObject) -> str | None:
    if isinstance(obj, RawObject):
        return obj.id
    oid = obj.get("id")
    return oid if isinstance(oid, str) else None


def _key(type_: IndicatorType, value: str) -> tuple[IndicatorType, str] | None:
    """(type, canonical value), or None when the value is not one we could have stored."""
    try:
        return type_, canonical.canonicalize(type_, value)
    except canonical.InvalidIndicator:
        return None


def _drawn(obj: Obj) -> list[tuple[IndicatorType, str]]:
    """The values of ours an original object holds, as read on import."""
    otype = obj.get("type")
    if otype == "indicator" and obj.get("pattern_type") == "stix" and isinstance(obj.get("pattern"), str):
        try:
            return read_pattern(obj["pattern"])
        except _Unreadable:
            return []
    if otype == "observed-data":
        embedded = obj.get("objects")
        if isinstance(embedded, dict):
            return [v for o in embedded.values() if isinstance(o, dict) for v in _observable_values(o)]
        return []
    if otype in _OUR_SCOS:
        return _observable_values(obj)
    return []


def _item_type(item: IndicatorItem) -> IndicatorType | None:
    return item.type if item.type is not None else canonical.detect_type(item.value)


@dataclass
class _Writer:
    producer: str
    now: datetime
    objects: dict[str, Obj | orjson.Fragment] = field(default_factory=dict)
    identities: dict[str, Obj] = field(default_factory=dict)
    tlps: set[TLP] = field(default_factory=set)
    original_ids: set[str] = field(default_factory=set)

    def identity(self, org: OrgItem | None) -> str:
        """The id of the identity of ``org`` (the producer's when None), written once when first used."""
        if org is None:
            oid = f"identity--{uuid.uuid5(_NAMESPACE, 'producer|' + self.producer)}"
            name, identity_class = self.producer, "system"
        else:
            if (
                org.uuid is None
                and org.source_id
                and _is_id(org.source_id)
                and org.source_id.startswith("identity--")
            ):
                oid = org.source_id
            else:
                oid = f"identity--{_uuid(org.uuid, 'organisation', org.name)}"
            name, identity_class = org.name, "organization"
        if oid not in self.identities and oid not in self.original_ids:
            self.identities[oid] = {
                "type": "identity",
                "spec_version": "2.1",
                "id": oid,
                "created": _UNKNOWN_TIME,
                "modified": _UNKNOWN_TIME,
                "name": name,
                "identity_class": identity_class,
            }
        return oid

    def add(self, oid: str, obj: Obj | orjson.Fragment) -> None:
        self.objects.setdefault(oid, obj)

    def report(self, report: ReportItem) -> list[tuple[str, Obj | orjson.Fragment]]:
        rid = f"report--{_uuid(report.uuid, 'report', report.source_id or '', report.title)}"
        markings = [TLP2_MARKINGS[report.tlp]] if report.tlp is not None else []
        if report.tlp is not None:
            self.tlps.add(report.tlp)
        created = _utc(report.created) if report.created else self.now
        modified = max(_utc(report.modified), created) if report.modified else created

        originals: dict[str, Obj | RawObject] = {}
        for stored in report.objects:
            oid = _object_id(stored)
            if oid is not None:
                originals.setdefault(oid, _loaded(stored))
        withheld = self._withheld(report, originals)
        given_back = {oid: obj for oid, obj in originals.items() if oid not in withheld}
        original_report = given_back.get(report.source_id) if report.source_id else None
        if isinstance(original_report, dict) and original_report.get("type") == "report":
            del given_back[original_report["id"]]
        else:
            original_report = None

        parts: list[tuple[str, Obj | orjson.Fragment]] = []
        for item in report.indicators:
            if item.source_id and item.source_id in given_back:
                continue  # the original object stands for it
            parts.extend(self._indicator(item, rid, self.identity(report.author), markings, created))
        held_ids = [oid for oid in given_back] + [oid for oid, _ in parts]

        if original_report is not None:
            head = self._original_report(original_report, report, held_ids, withheld, markings)
        else:
            author = self.identity(report.author)
            head = {
                "type": "report",
                "spec_version": "2.1",
                "id": rid,
                "created": stamp(created),
                "modified": stamp(modified),
                "name": report.title or "Untitled",
                **({"description": report.summary} if report.summary else {}),
                "report_types": ["threat-report"],
                "published": stamp(created),
                "object_refs": held_ids or [author],
                **({"labels": list(report.tags)} if report.tags else {}),
                "created_by_ref": author,
                **({"object_marking_refs": markings} if markings else {}),
            }
        out: list[tuple[str, Obj | orjson.Fragment]] = [(head["id"], head)]
        for oid, obj in given_back.items():
            out.append((oid, orjson.Fragment(obj.body) if isinstance(obj, RawObject) else obj))
        return out + parts

    def _withheld(self, report: ReportItem, originals: dict[str, Obj | RawObject]) -> set[str]:
        """The originals that hold a value the report's indicators no longer have, and what refers to them."""
        present: dict[str, set[tuple[IndicatorType, str] | None]] = {}
        for item in report.indicators:
            if item.source_id and item.source_id in originals:
                type_ = _item_type(item)
                if type_ is not None:
                    present.setdefault(item.source_id, set()).add(_key(type_, item.value))
        withheld: set[str] = set()
        for oid, obj in originals.items():
            if isinstance(obj, dict):
                for type_, value in _drawn(obj):
                    key = _key(type_, value)
                    if key is not None and key not in present.get(oid, ()):
                        withheld.add(oid)
                        break
        if not withheld:
            return withheld
        for oid, obj in originals.items():  # observed-data over a withheld observable
            if (
                isinstance(obj, dict)
                and obj.get("type") == "observed-data"
                and any(ref in withheld for ref in obj.get("object_refs") or ())
            ):
                withheld.add(oid)
        for oid, obj in originals.items():  # relationships and sightings that touch what is withheld
            if isinstance(obj, dict) and obj.get("type") in ("relationship", "sighting"):
                ends = [obj.get("source_ref"), obj.get("target_ref"), obj.get("sighting_of_ref")]
                ends.extend(obj.get("observed_data_refs") or ())
                if any(end in withheld for end in ends):
                    withheld.add(oid)
        return withheld

    def _original_report(
        self, original: Obj, report: ReportItem, held: list[str], withheld: set[str], markings: list[str]
    ) -> Obj:
        """The imported STIX report, referring to everything given with it and marked with today's TLP."""
        head = dict(original)
        refs = [ref for ref in head.get("object_refs") or () if ref not in withheld]
        known = set(refs)
        refs.extend(oid for oid in held if oid not in known and oid != head["id"])
        previous = [m for m in head.get("object_marking_refs") or () if m not in TLP_MARKINGS]
        marked = previous + markings if markings else list(head.get("object_marking_refs") or ())
        changed = refs != head.get("object_refs") or marked != (head.get("object_marking_refs") or [])
        head["object_refs"] = refs or [head.get("created_by_ref") or self.identity(None)]
        if marked:
            head["object_marking_refs"] = marked
        if changed and report.modified is not None:
            before = _datetime(head.get("modified"))
            if before is None or _utc(report.modified) > before:
                head["modified"] = stamp(report.modified)
        return head

    def _indicator(
        self, item: IndicatorItem, rid: str, author: str, markings: list[str], report_created: datetime
    ) -> list[tuple[str, Obj]]:
        type_ = _item_type(item)
        if type_ is None:
            return []
        created = _utc(item.created) if item.created else report_created
        modified = max(_utc(item.modified), created) if item.modified else created
        first_seen = _utc(item.first_seen) if item.first_seen else None
        last_seen = _utc(item.last_seen) if item.last_seen else None
        uid = _uuid(item.uuid, rid, type_.value, item.value)
        common: Obj = {
            "spec_version": "2.1",
            "created": stamp(created),
            "modified": stamp(modified),
            "created_by_ref": author,
        }
        confidence = item.confidence if item.confidence is not None and 0 <= item.confidence <= 100 else None
        if item.to_detect:
            valid_from = first_seen or created
            indicator: Obj = {
                "type": "indicator",
                "id": f"indicator--{uid}",
                **common,
                **({"name": item.comment} if item.comment else {}),
                "indicator_types": ["malicious-activity"],
                "pattern": stix_pattern(type_, item.value),
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": stamp(valid_from),
                **({"valid_until": stamp(last_seen)} if last_seen and last_seen > valid_from else {}),
                **({"confidence": confidence} if confidence is not None else {}),
                **({"labels": list(item.tags)} if item.tags else {}),
                **({"object_marking_refs": markings} if markings else {}),
            }
            return [(indicator["id"], indicator)]
        observable = _observable(type_, item.value, markings)
        first = first_seen or created
        last = last_seen if last_seen and last_seen >= first else first
        observed: Obj = {
            "type": "observed-data",
            "id": f"observed-data--{uid}",
            **common,
            "first_observed": stamp(first),
            "last_observed": stamp(last),
            "number_observed": 1,
            "object_refs": [observable["id"]],
            **({"confidence": confidence} if confidence is not None else {}),
            **({"labels": list(item.tags)} if item.tags else {}),
            **({"object_marking_refs": markings} if markings else {}),
        }
        return [(observed["id"], observed), (observable["id"], observable)]


def _observable(type_: IndicatorType, value: str, markings: list[str]) -> Obj:
    """The cyber-observable of one value, with its deterministic id (STIX 2.1 section 2.9)."""
    contributing: Obj
    if type_ is T.ASN:
        otype, contributing = "autonomous-system", {"number": int(value.upper().removeprefix("AS"))}
    elif type_ in _HASH_KEYS:
        otype, contributing = "file", {"hashes": {_HASH_KEYS[type_]: value}}
    elif type_ is T.FILENAME:
        otype, contributing = "file", {"name": value}
    else:
        otype = {
            T.IPV4: "ipv4-addr",
            T.IPV4_CIDR: "ipv4-addr",
            T.IPV6: "ipv6-addr",
            T.IPV6_CIDR: "ipv6-addr",
            T.DOMAIN: "domain-name",
            T.URL: "url",
            T.EMAIL: "email-addr",
        }[type_]
        contributing = {"value": value}
    name = orjson.dumps(contributing, option=orjson.OPT_SORT_KEYS).decode()
    observable: Obj = {
        "type": otype,
        "spec_version": "2.1",
        "id": f"{otype}--{uuid.uuid5(_SCO_NAMESPACE, name)}",
        **contributing,
    }
    if markings:
        observable["object_marking_refs"] = markings
    return observable


def to_stix(exchange: Exchange, *, producer: str = "Commonspace") -> bytes:
    """One STIX 2.1 bundle of ``exchange`` (see the module's documentation), serialised with orjson."""
    writer = _Writer(producer=producer, now=datetime.now(UTC).replace(microsecond=0))
    for report in exchange.reports:
        writer.original_ids.update(oid for oid in map(_object_id, report.objects) if oid is not None)
    parts = [writer.report(report) for report in exchange.reports]
    head: list[tuple[str, Obj | orjson.Fragment]] = []
    if writer.tlps:
        head.append((TLP2_EXTENSION, _TLP2_EXTENSION_OBJECT))
        head.extend(
            (TLP2_MARKINGS[t], _tlp2_marking(t)) for t in sorted(writer.tlps, key=_TLP_RANK.__getitem__)
        )
    head.extend(writer.identities.items())
    for oid, obj in head:
        writer.add(oid, obj)
    for report_parts in parts:
        for oid, obj in report_parts:
            writer.add(oid, obj)
    bundle_id = f"bundle--{uuid.uuid5(_NAMESPACE, 'bundle|' + '|'.join(writer.objects))}"
    return orjson.dumps({"type": "bundle", "id": bundle_id, "objects": list(writer.objects.values())})
