"""Warninglists: lists of known-benign values, and which of them an indicator is on.

A warninglist names values that are usually false positives when shared as indicators: reserved and
private address ranges, public DNS resolvers, cloud and CDN ranges, the most visited sites, the hashes
of empty files. The format is MISP's (https://github.com/MISP/misp-warninglists): a JSON object with
``name``, ``type``, ``list``, ``matching_attributes``, ``description``, ``version`` and ``category``.
:func:`load_directory` reads a folder of them (``<id>.json`` files, or MISP's ``lists/<id>/list.json``);
:func:`builtin_lists` gives the reserved ranges and names without any file; :class:`WarningLists` answers
:meth:`WarningLists.check` for many indicators quickly.

How a canonical indicator value is compared with the entries of a list, by the list's ``type``:

``cidr``
    The IP address lies in a listed network; a network indicator (``ipv4-cidr``, ``ipv6-cidr``) is on the
    list when it lies *within* a listed network (10.1.0.0/16 is in 10.0.0.0/8), not when it merely
    overlaps or contains one: 8.0.0.0/8 holds Google's resolver but is not a list of public resolvers.
    This is MISP's rule. An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is also checked as IPv4.
    Entries without a prefix length are single addresses; host bits after the prefix are ignored.
``hostname``
    The host equals a listed name or is a subdomain of it, on label boundaries (``www.example.com`` is
    under ``example.com``; ``notexample.com`` is not). The host of a domain is the domain, of a URL the
    host of its authority, of an e-mail address its domain; an IP address (or a URL with an IP host)
    must equal an entry. Entries are compared in lower case without leading or trailing dots (as MISP
    does), so ``.example.com`` and ``example.com`` mean the same.
``string``
    The canonical value equals an entry. Domains and hashes are compared case-insensitively (the TLD
    list is in upper case); other types exactly. As in MISP, the whole value is compared: a URL is only
    on a ``string`` list that holds that URL, and an entry written ``.example.com`` matches nothing.
``substring``
    An entry occurs anywhere in the canonical value, case-insensitively (``0-mail.com`` is in
    ``x@10-mail.com`` too: that is what the type means).
``regex``
    A Python :mod:`re` search (not a full match, as PHP's ``preg_match``) with the pattern written the
    PHP way, ``/pattern/flags``; the flags ``i``, ``m``, ``s``, ``x`` and ``A`` are honoured, ``g``, ``u``
    and ``D`` ignored. An entry that does not compile is skipped and listed in :attr:`WarningList.problems`,
    like a ``cidr`` entry that is not a network.

``matching_attributes`` holds MISP attribute types; a list applies to an indicator type when it names
one of the MISP types of :data:`MISP_ATTRIBUTE_TYPES` (or names none: then it applies to all). A list
type that cannot hold the indicator's type never applies (``cidr`` lists only apply to addresses and
networks; ``hostname`` lists to domains, URLs, e-mail addresses and addresses).

Speed: the entries of all lists are indexed together, and the lists an entry is on are a bit set, so a
check costs about the same whatever the number of lists. ``string`` and ``hostname`` entries are keys
of dictionaries (a host looks up itself and each parent); ``cidr`` entries become sorted disjoint
segments of the address space, so an address or network is one bisection; ``substring`` entries are
keyed by their first five characters, behind a pattern of their trie that says in C whether any occurs
at all (for up to 1,000 entries). Only ``regex`` entries are tried one by one.
"""

from __future__ import annotations

import re
import socket
import warnings
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from commonspace.domain.vocab import IndicatorType

T = IndicatorType

BUILTIN_SOURCE = "built-in"


class ListType(StrEnum):
    STRING = "string"
    SUBSTRING = "substring"
    HOSTNAME = "hostname"
    CIDR = "cidr"
    REGEX = "regex"


CATEGORIES = frozenset({"false_positive", "known"})  # MISP's; a list without one is "false_positive"


class WarningListError(ValueError):
    """A warninglist that cannot be used: ``source`` names the file (or "built-in"), ``reason`` says why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple[type[WarningListError], tuple[str, str]]:
        return (WarningListError, (self.source, self.reason))


# --- MISP attribute types ---------------------------------------------------------------------------
# The MISP attribute types each indicator type stands for in ``matching_attributes``. A composite type
# ("domain|ip", "filename|md5") counts for each of its parts, as MISP checks each part, but only where the
# list can hold that part: the address part of "domain|ip" for cidr lists alone (the top-sites lists name
# "domain|ip" for their domains), and only the hash part of "filename|<hash>" (every list naming one holds
# hashes, and names the hash type too).
_IP_ATTRIBUTES = frozenset({"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"})
MISP_ATTRIBUTE_TYPES: Mapping[IndicatorType, frozenset[str]] = {
    T.IPV4: _IP_ATTRIBUTES,
    T.IPV6: _IP_ATTRIBUTES,
    T.IPV4_CIDR: _IP_ATTRIBUTES,
    T.IPV6_CIDR: _IP_ATTRIBUTES,
    T.DOMAIN: frozenset({"domain", "hostname", "domain|ip", "hostname|port"}),
    T.URL: frozenset({"url", "uri"}),
    T.EMAIL: frozenset(
        {
            "email",
            "email-src",
            "email-dst",
            "email-reply-to",
            "target-email",
            "whois-registrant-email",
            "dns-soa-email",
        }
    ),
    T.MD5: frozenset({"md5", "filename|md5", "malware-sample", "x509-fingerprint-md5"}),
    T.SHA1: frozenset({"sha1", "filename|sha1", "x509-fingerprint-sha1"}),
    T.SHA256: frozenset({"sha256", "filename|sha256", "x509-fingerprint-sha256"}),
    T.SHA512: frozenset({"sha512", "filename|sha512"}),
    T.FILENAME: frozenset({"filename"}),
    T.ASN: frozenset({"AS"}),
}

_ADDRESSES = frozenset({T.IPV4, T.IPV6, T.IPV4_CIDR, T.IPV6_CIDR})
_KIND_TYPES: Mapping[ListType, frozenset[IndicatorType]] = {
    ListType.CIDR: _ADDRESSES,
    ListType.HOSTNAME: frozenset({T.DOMAIN, T.URL, T.EMAIL, T.IPV4, T.IPV6}),
    ListType.STRING: frozenset(IndicatorType),
    ListType.SUBSTRING: frozenset(IndicatorType),
    ListType.REGEX: frozenset(IndicatorType),
}
# Types whose canonical form is in lower case: a "string" entry matches them whatever its case.
_CASELESS = frozenset({T.DOMAIN, T.MD5, T.SHA1, T.SHA256, T.SHA512})


# --- entries --------------------------------------------------------------------------------------
_Network = tuple[int, int, int]  # (IP version, network as an integer, prefix length)


def _parse_network(text: str) -> _Network:
    """An entry of a ``cidr`` list; raises ValueError with a reason."""
    address, slash, prefix = text.partition("/")
    family, width = (socket.AF_INET6, 128) if ":" in address else (socket.AF_INET, 32)
    try:
        packed = socket.inet_pton(family, address)
    except (OSError, ValueError):
        raise ValueError(f"{address!r} is not an IPv{4 if width == 32 else 6} address") from None
    if slash and not (prefix.isascii() and prefix.isdigit() and int(prefix) <= width):
        raise ValueError(f"prefix length {prefix!r} is not a number from 0 to {width}")
    length = int(prefix) if slash else width
    mask = ((1 << width) - 1) ^ ((1 << (width - length)) - 1)
    return (4 if width == 32 else 6, int.from_bytes(packed, "big") & mask, length)


_PATTERN_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_IGNORED_FLAGS = frozenset("guD")  # "g" is JavaScript's (meaningless for a search), "u" Python's default
_CLOSING = {"(": ")", "[": "]", "{": "}", "<": ">"}


def _compile_pattern(text: str) -> re.Pattern[str]:
    """A PHP-style ``/pattern/flags`` entry of a ``regex`` list; raises ValueError with a reason."""
    opening = text[:1]
    if not opening or opening.isalnum() or opening == "\\" or opening.isspace():
        raise ValueError("a pattern must be written between delimiters, as in /pattern/flags")
    end = text.rfind(_CLOSING.get(opening, opening))
    if end <= 0:
        raise ValueError(f"the closing delimiter {_CLOSING.get(opening, opening)!r} is missing")
    body, modifiers = text[1:end], text[end + 1 :]
    flags = 0
    for modifier in modifiers:
        if modifier in _PATTERN_FLAGS:
            flags |= _PATTERN_FLAGS[modifier]
        elif modifier == "A":
            body = rf"\A(?:{body})"
        elif modifier not in _IGNORED_FLAGS:
            raise ValueError(f"unsupported modifier {modifier!r}")
    try:
        with warnings.catch_warnings():  # FutureWarning on "[[": the pattern still means what it says
            warnings.simplefilter("ignore")
            return re.compile(body, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"does not compile ({exc})") from None


def _hostname_key(entry: str) -> str:
    key = _lower(entry).strip(".")
    return key[2:] if key.startswith("*.") else key


def _lower(text: str) -> str:
    """``text.lower()``, but ``text`` itself when already in lower case: half a million keys share it."""
    lowered = text.lower()
    return text if lowered == text else lowered


# --- one list -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class WarningList:
    """One warninglist. ``id`` is the file name without ``.json`` (or the folder of a ``list.json``), the
    way MISP's repository names its lists; ``name`` is the name people read, and what checks return.

    Entries that cannot be used (a ``cidr`` entry that is not a network, a ``regex`` entry that does not
    compile) are skipped and described in ``problems``."""

    id: str
    name: str
    type: ListType
    entries: tuple[str, ...] = field(repr=False)
    matching_attributes: tuple[str, ...] = ()
    description: str = ""
    version: int = 1
    category: str = "false_positive"
    source: str = BUILTIN_SOURCE
    problems: tuple[str, ...] = field(init=False, default=(), repr=False)
    networks: tuple[_Network, ...] = field(init=False, default=(), repr=False)
    patterns: tuple[re.Pattern[str], ...] = field(init=False, default=(), repr=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.type is ListType.CIDR:
            networks: list[_Network] = []
            for entry in self.entries:
                try:
                    networks.append(_parse_network(entry))
                except ValueError as exc:
                    problems.append(f"entry {entry!r} skipped: {exc}")
            object.__setattr__(self, "networks", tuple(networks))
        elif self.type is ListType.REGEX:
            patterns: list[re.Pattern[str]] = []
            for entry in self.entries:
                try:
                    patterns.append(_compile_pattern(entry))
                except ValueError as exc:
                    problems.append(f"entry {entry!r} skipped: {exc}")
            object.__setattr__(self, "patterns", tuple(patterns))
        object.__setattr__(self, "problems", tuple(problems))

    def applies_to(self, type_: IndicatorType) -> bool:
        """Whether values of this indicator type are checked against this list."""
        if type_ not in _KIND_TYPES[self.type]:
            return False
        if not self.matching_attributes:
            return True
        names = MISP_ATTRIBUTE_TYPES[type_]
        if type_ in _ADDRESSES and self.type is not ListType.CIDR:
            names = names - {"domain|ip"}  # only a cidr list can hold the address part of "domain|ip"
        return not names.isdisjoint(self.matching_attributes)


def _text_field(document: Mapping[str, object], key: str, source: str, default: str) -> str:
    value = document.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise WarningListError(source, f"{key!r} must be a string, not {_json_kind(value)}")
    return value


def _json_kind(value: object) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    kinds |= {dict: "an object", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def parse_warninglist(document: object, *, id: str, source: str = BUILTIN_SOURCE) -> WarningList:
    """A warninglist from its decoded JSON; raises :class:`WarningListError` naming ``source``."""
    if not isinstance(document, dict):
        raise WarningListError(
            source, f"expected a JSON object (a MISP warninglist), not {_json_kind(document)}"
        )
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise WarningListError(source, "'name' is missing or empty")
    kind = document.get("type", "string")  # MISP's default
    if isinstance(kind, list) and kind:
        kind = kind[0]  # MISP takes the first of a list of types
    if kind not in ListType.__members__.values():
        allowed = ", ".join(t.value for t in ListType)
        raise WarningListError(source, f"'type' is {kind!r}; expected one of {allowed}")
    raw = document.get("list")
    if isinstance(raw, dict):
        raw = list(raw)  # {"value": "comment", ...}, which MISP accepts too
    if not isinstance(raw, list):
        raise WarningListError(source, f"'list' must be an array of entries, not {_json_kind(raw)}")
    for position, entry in enumerate(raw):
        if type(entry) is not str and (isinstance(entry, bool) or not isinstance(entry, int)):
            raise WarningListError(source, f"entry {position} of 'list' is {_json_kind(entry)}, not a string")
    entries = [text for text in (str(entry).strip() for entry in raw) if text]
    if not entries:
        raise WarningListError(source, "'list' has no entries")
    matching = document.get("matching_attributes") or []
    if not isinstance(matching, list) or not all(isinstance(m, str) for m in matching):
        raise WarningListError(source, "'matching_attributes' must be an array of MISP attribute types")
    version = document.get("version", 1)
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int):
        raise WarningListError(source, f"'version' must be a whole number, not {version!r}")
    category = _text_field(document, "category", source, "false_positive").replace("-", "_")
    if category not in CATEGORIES:
        raise WarningListError(source, f"'category' is {category!r}; expected false_positive or known")
    return WarningList(
        id=id,
        name=name.strip(),
        type=ListType(kind),
        entries=tuple(entries),
        matching_attributes=tuple(matching),
        description=_text_field(document, "description", source, ""),
        version=version,
        category=category,
        source=source,
    )


def load_warninglist(path: str | Path, *, id: str | None = None) -> WarningList:
    """Read one warninglist file; raises :class:`WarningListError` naming the file and the reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WarningListError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WarningListError(str(path), f"is not valid JSON ({exc})") from None
    list_id = id or (path.parent.name if path.name == "list.json" else path.stem)
    return parse_warninglist(document, id=list_id, source=str(path))


def warninglist_files(directory: str | Path) -> list[tuple[str, Path]]:
    """The warninglists of a folder as ``(id, file)``, by id: each ``<id>.json`` file and each
    ``<id>/list.json``; given a clone of MISP's repository, its ``lists`` folder."""
    root = Path(directory)
    if (root / "lists").is_dir():
        root = root / "lists"
    if not root.is_dir():
        raise WarningListError(str(root), "is not a folder")
    found: list[tuple[str, Path]] = []
    for child in sorted(root.iterdir()):
        if child.suffix == ".json" and child.is_file():
            found.append((child.stem, child))
        elif child.is_dir() and (child / "list.json").is_file():
            found.append((child.name, child / "list.json"))
    return sorted(found)


@dataclass(frozen=True)
class Loaded:
    """The lists read from a folder, and (when skipping bad lists) the errors of those left out."""

    lists: tuple[WarningList, ...]
    errors: tuple[WarningListError, ...] = ()


def load_directory(directory: str | Path, *, skip_invalid: bool = False) -> Loaded:
    """Read every warninglist of a folder. A list that cannot be used raises :class:`WarningListError`,
    or with ``skip_invalid`` is left out and reported in :attr:`Loaded.errors`. Two lists with the same
    id or name are an error of the second one."""
    lists: list[WarningList] = []
    errors: list[WarningListError] = []
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    for list_id, path in warninglist_files(directory):
        try:
            warninglist = load_warninglist(path, id=list_id)
            if list_id in ids:
                raise WarningListError(str(path), f"the id {list_id!r} is already taken by {ids[list_id]}")
            if warninglist.name in names:
                raise WarningListError(
                    str(path), f"the name {warninglist.name!r} is already taken by {names[warninglist.name]}"
                )
        except WarningListError as exc:
            if not skip_invalid:
                raise
            errors.append(exc)
            continue
        ids[list_id] = names[warninglist.name] = str(path)
        lists.append(warninglist)
    return Loaded(tuple(lists), tuple(errors))


# --- built-in lists -------------------------------------------------------------------------------
_IP_MATCHING = ("ip-src", "ip-dst", "domain|ip", "ip-dst|port", "ip-src|port")
_HOST_MATCHING = ("hostname", "domain", "domain|ip", "url", "uri", *sorted(MISP_ATTRIBUTE_TYPES[T.EMAIL]))
_PRIVATE_REVERSE_ZONES = ("10", *(f"{n}.172" for n in range(16, 32)), "168.192")


def _cidr_list(id: str, name: str, description: str, version: int, entries: Iterable[str]) -> WarningList:
    return WarningList(id, name, ListType.CIDR, tuple(entries), _IP_MATCHING, description, version)


def builtin_lists() -> tuple[WarningList, ...]:
    """The lists that need no file: reserved and private address ranges, reserved domain names. The first
    six are MISP's lists of the same id, name and contents; MISP has no equivalent of the last two."""
    return (
        _cidr_list(
            "rfc1918",
            "List of RFC 1918 CIDR blocks",
            "Event contains one or more entries part of the private network CIDR blocks (RFC 1918)",
            5,
            ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        ),
        _cidr_list(
            "rfc5735",
            "List of RFC 5735 CIDR blocks",
            "Event contains one or more entries part of the Special Use IPv4 Addresses CIDR blocks "
            "(RFC 5735)",
            5,
            # this network, private, loopback, link-local, IETF protocol assignments, the three documentation
            # networks, the former 6to4 relay anycast, benchmarking, multicast, reserved, limited broadcast
            [
                "0.0.0.0/8",
                "10.0.0.0/8",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.0.0.0/24",
                "192.0.2.0/24",
                "192.168.0.0/16",
                "192.88.99.0/24",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "224.0.0.0/4",
                "240.0.0.0/4",
                "255.255.255.255/32",
            ],
        ),
        _cidr_list(
            "rfc6598",
            "List of RFC 6598 CIDR blocks",
            "Event contains one or more entries part of the Shared Address Space CIDR blocks (RFC 6598)",
            5,
            ["100.64.0.0/10"],
        ),
        _cidr_list(
            "multicast",
            "List of RFC 5771 multicast CIDR blocks",
            "Event contains one or more entries part of the RFC 5771 multicast CIDR blocks",
            4,
            [f"{n}.0.0.0/8" for n in range(224, 240)],
        ),
        _cidr_list(
            "ipv6-linklocal",
            "List of IPv6 link local blocks",
            "Event contains one or more entries part of the IPv6 link local prefix (RFC 4291)",
            3,
            ["fe80::/10"],
        ),
        _cidr_list(
            "rfc3849",
            "List of RFC 3849 CIDR blocks",
            "Event contains one or more entries part of the IPv6 documentation prefix (RFC 3849)",
            4,
            ["2001:db8::/32"],
        ),
        _cidr_list(
            "ipv6-special",
            "List of IPv6 special-purpose blocks",
            "Event contains one or more IPv6 addresses that are not global unicast addresses: "
            "unspecified and loopback (RFC 4291), discard-only (RFC 6666), documentation (RFC 3849, "
            "RFC 9637), unique local (RFC 4193), link-local and multicast (RFC 4291)",
            1,
            [
                "::/128",
                "::1/128",
                "100::/64",
                "2001:db8::/32",
                "3fff::/20",
                "fc00::/7",
                "fe80::/10",
                "ff00::/8",
            ],
        ),
        WarningList(
            "special-use-domains",
            "List of reserved and special-use domain names",
            ListType.HOSTNAME,
            (
                "example",
                "example.com",
                "example.net",
                "example.org",
                "test",
                "invalid",
                "localhost",
                "local",
                "home.arpa",
                "internal",
                *(f"{zone}.in-addr.arpa" for zone in _PRIVATE_REVERSE_ZONES),
            ),
            _HOST_MATCHING,
            "Event contains one or more domain names, or URLs or e-mail addresses under them, that are "
            "reserved for documentation and tests (RFC 2606), of special use (RFC 6761: example, test, "
            "invalid, localhost, the reverse zones of the private networks), for multicast DNS (RFC 6762: "
            "local), home networks (RFC 8375: home.arpa) or private use (ICANN, 2024: internal)",
            1,
        ),
    )


# --- the index ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """What to look up for one indicator type: the lists that apply (a bit set) and which indexes hold any."""

    type: IndicatorType
    applicable: int
    string: bool
    caseless: bool
    hostname: bool
    cidr: bool
    substring: bool
    finder: re.Pattern[str] | None  # whether any substring entry of the lists occurs in a value
    regex: tuple[tuple[int, re.Pattern[str]], ...]


_PREFIX = 5  # substring entries are indexed by their first five characters
# Up to this many substring entries, a trie pattern first finds whether any occurs (fast, and quick to
# compile); beyond, compiling takes long and the search is no faster than looking up each five letters.
_FINDER_LIMIT = 1000
# The networks over a segment, outermost first: prefix length, then the lists of the networks this long or
# shorter, then the same for the next network inside, and so on (flat, to save memory).
_Chain = tuple[int, ...]
_NO_CHAIN: _Chain = ()


def _finder(entries: Iterable[str]) -> re.Pattern[str]:
    """A pattern that finds whether any of the entries occurs, written as their trie: at each position of
    the value the search walks down the trie in C, instead of trying every entry in turn."""
    trie: dict[str, dict[str, Any]] = {}
    for entry in entries:
        node = trie
        for char in entry:
            node = node.setdefault(char, {})
        node[""] = {}  # an entry ends here

    def pattern(node: dict[str, dict[str, Any]]) -> str:
        if "" in node:
            return ""  # a shorter entry suffices: longer ones that start with it add nothing to a search
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return re.compile(pattern(trie) if trie else "(?!)")


def _add(index: dict[str, int], keys: Iterable[str], bit: int) -> None:
    new = dict.fromkeys(keys, bit)
    for key in new.keys() & index.keys():  # the keys of other lists too (the top-sites lists overlap)
        new[key] |= index[key]
    index.update(new)


class _Ranges:
    """The listed networks of one IP version as sorted disjoint segments of the address space, each with
    the chain of nested networks that cover it (networks never partly overlap: they nest or are disjoint).
    A lookup is one bisection, whatever the number of networks and prefix lengths."""

    def __init__(self, networks: Mapping[tuple[int, int], int], width: int) -> None:
        starts: list[int] = []
        chains: list[_Chain] = []

        def segment(start: int, chain: _Chain) -> None:
            if starts and starts[-1] == start:  # the previous segment is empty
                starts.pop()
                chains.pop()
            if not chains or chains[-1] is not chain:
                starts.append(start)
                chains.append(chain)

        shared: dict[_Chain, _Chain] = {}  # one object per chain: most are one network of one list
        open_networks: list[tuple[int, _Chain]] = []  # (last address, chain), innermost last
        for (start, length), bits in sorted(networks.items()):  # a network before those it contains
            while open_networks and open_networks[-1][0] < start:
                last, _ = open_networks.pop()
                segment(last + 1, open_networks[-1][1] if open_networks else _NO_CHAIN)
            parent = open_networks[-1][1] if open_networks else _NO_CHAIN
            chain = (*parent, length, (parent[-1] if parent else 0) | bits)
            chain = shared.setdefault(chain, chain)
            segment(start, chain)
            open_networks.append((start + (1 << (width - length)) - 1, chain))
        while open_networks:
            last, _ = open_networks.pop()
            segment(last + 1, open_networks[-1][1] if open_networks else _NO_CHAIN)
        self.starts, self.chains = starts, chains

    def lookup(self, address: int, length: int) -> int:
        """The lists with a network that holds the network ``address/length`` (a host when full length)."""
        position = bisect_right(self.starts, address) - 1
        if position < 0:
            return 0
        chain = self.chains[position]
        for at in range(len(chain) - 2, -1, -2):  # innermost first
            if chain[at] <= length:
                return chain[at + 1]
        return 0


class WarningLists:
    """A set of warninglists, indexed for :meth:`check`. Immutable; safe to share between threads."""

    def __init__(self, lists: Iterable[WarningList] = (), *, errors: Iterable[WarningListError] = ()) -> None:
        self.lists: tuple[WarningList, ...] = tuple(lists)
        self.errors: tuple[WarningListError, ...] = tuple(errors)
        for attribute in ("id", "name"):
            seen: set[str] = set()
            for warninglist in self.lists:
                key = getattr(warninglist, attribute)
                if key in seen:
                    raise WarningListError(warninglist.source, f"two lists have the {attribute} {key!r}")
                seen.add(key)
        self._by_name = {warninglist.name: warninglist for warninglist in self.lists}
        self._build()

    @classmethod
    def builtin(cls) -> WarningLists:
        return cls(builtin_lists())

    @classmethod
    def from_directory(
        cls, directory: str | Path, *, include_builtin: bool = True, skip_invalid: bool = False
    ) -> WarningLists:
        """The lists of a folder (see :func:`load_directory`), with the built-in lists unless told not to.
        A list of the folder replaces the built-in list of the same id or name: it is the newer copy."""
        loaded = load_directory(directory, skip_invalid=skip_invalid)
        return cls(combine(builtin_lists() if include_builtin else (), loaded.lists), errors=loaded.errors)

    def __len__(self) -> int:
        return len(self.lists)

    def __iter__(self) -> Iterator[WarningList]:
        return iter(self.lists)

    def __getitem__(self, name: str) -> WarningList:
        return self._by_name[name]

    @property
    def problems(self) -> dict[str, tuple[str, ...]]:
        """The skipped entries, by the name of their list (lists without any are left out)."""
        return {w.name: w.problems for w in self.lists if w.problems}

    def _build(self) -> None:
        exact: dict[str, int] = {}
        caseless: dict[str, int] = {}
        hostnames: dict[str, int] = {}
        substrings: dict[str, int] = {}
        cidr: dict[int, dict[tuple[int, int], int]] = {4: {}, 6: {}}
        kinds = dict.fromkeys(ListType, 0)
        for position, warninglist in enumerate(self.lists):
            bit = 1 << position
            kinds[warninglist.type] |= bit
            if warninglist.type is ListType.STRING:
                _add(exact, warninglist.entries, bit)
                _add(caseless, (_lower(entry).rstrip(".") for entry in warninglist.entries), bit)
            elif warninglist.type is ListType.HOSTNAME:
                _add(hostnames, map(_hostname_key, warninglist.entries), bit)
            elif warninglist.type is ListType.SUBSTRING:
                _add(substrings, map(_lower, warninglist.entries), bit)
            elif warninglist.type is ListType.CIDR:
                for version, network, length in warninglist.networks:
                    table = cidr[version]
                    table[network, length] = table.get((network, length), 0) | bit
        self._exact, self._caseless, self._hostnames = exact, caseless, hostnames
        self._short_substrings = tuple((s, bits) for s, bits in substrings.items() if len(s) < _PREFIX)
        by_prefix: dict[str, list[tuple[str, int]]] = {}
        for entry, bits in substrings.items():
            if len(entry) >= _PREFIX:
                by_prefix.setdefault(entry[:_PREFIX], []).append((entry, bits))
        self._substrings = {prefix: tuple(entries) for prefix, entries in by_prefix.items()}
        self._v4, self._v6 = _Ranges(cidr[4], 32), _Ranges(cidr[6], 128)
        self._plans: dict[str, _Plan] = {}
        finders: dict[int, re.Pattern[str]] = {}
        for type_ in IndicatorType:
            applicable = 0
            for position, warninglist in enumerate(self.lists):
                if warninglist.applies_to(type_):
                    applicable |= 1 << position
            regex = tuple(
                (1 << position, pattern)
                for position, warninglist in enumerate(self.lists)
                if applicable >> position & 1
                for pattern in warninglist.patterns
            )
            substring_lists = applicable & kinds[ListType.SUBSTRING]
            if substring_lists and substring_lists not in finders:
                entries = [entry for entry, bits in substrings.items() if bits & substring_lists]
                if len(entries) <= _FINDER_LIMIT:
                    finders[substring_lists] = _finder(entries)
            self._plans[type_] = _Plan(
                type=type_,
                applicable=applicable,
                string=bool(applicable & kinds[ListType.STRING]),
                caseless=type_ in _CASELESS,
                hostname=bool(applicable & kinds[ListType.HOSTNAME]),
                cidr=bool(applicable & kinds[ListType.CIDR]),
                substring=bool(substring_lists),
                finder=finders.get(substring_lists),
                regex=regex,
            )

    def check(self, type_: IndicatorType, canonical: str) -> list[str]:
        """The names of the lists the indicator is on, in the order of the lists; never raises."""
        plan = self._plans.get(type_)
        if plan is None or not plan.applicable:
            return []
        type_ = plan.type  # the member, also when given its value as a plain string
        hits = 0
        if plan.string:
            if plan.caseless:
                hits |= self._caseless.get(canonical.lower(), 0)
            else:
                hits |= self._exact.get(canonical, 0)
        if plan.hostname:
            hits |= self._hostname_hits(type_, canonical)
        if plan.cidr:
            hits |= self._cidr_hits(type_, canonical)
        if plan.substring:
            lowered = canonical.lower()
            if plan.finder is None or plan.finder.search(lowered):  # rare: then find which lists
                hits |= self._substring_hits(lowered)
        for bit, pattern in plan.regex:
            if not hits & bit and pattern.search(canonical):
                hits |= bit
        hits &= plan.applicable
        names: list[str] = []
        while hits:
            lowest = hits & -hits
            names.append(self.lists[lowest.bit_length() - 1].name)
            hits ^= lowest
        return names

    def _hostname_hits(self, type_: IndicatorType, value: str) -> int:
        host = _host(type_, value)
        if not host:
            return 0
        if host[-1].isdigit() or ":" in host:  # an address (a domain's last label is never numeric)
            return self._hostnames.get(host, 0)
        hits = 0
        while True:
            found = self._hostnames.get(host)
            if found:
                hits |= found
            dot = host.find(".")
            if dot < 0:
                return hits
            host = host[dot + 1 :]

    def _cidr_hits(self, type_: IndicatorType, value: str) -> int:
        address, slash, prefix = value.partition("/")
        v4 = type_ in (T.IPV4, T.IPV4_CIDR)
        width = 32 if v4 else 128
        try:
            number = int.from_bytes(
                socket.inet_pton(socket.AF_INET if v4 else socket.AF_INET6, address), "big"
            )
        except (OSError, ValueError):
            return 0
        length = width
        if slash:
            if not (prefix.isascii() and prefix.isdigit() and int(prefix) <= width):
                return 0
            length = int(prefix)
        if v4:
            return self._v4.lookup(number, length)
        hits = self._v6.lookup(number, length)
        if number >> 32 == 0xFFFF and length >= 96:  # ::ffff:a.b.c.d is the IPv4 address a.b.c.d
            hits |= self._v4.lookup(number & 0xFFFFFFFF, length - 96)
        return hits

    def _substring_hits(self, value: str) -> int:
        hits = 0
        index = self._substrings
        for start in range(len(value) - _PREFIX + 1):
            candidates = index.get(value[start : start + _PREFIX])
            if candidates:
                for entry, bits in candidates:
                    if value.startswith(entry, start):
                        hits |= bits
        for entry, bits in self._short_substrings:
            if entry in value:
                hits |= bits
        return hits


def _host(type_: IndicatorType, value: str) -> str:
    """The host name (or address) of a value, in lower case without a final dot; "" when it has none."""
    if type_ is T.DOMAIN or type_ is T.IPV4 or type_ is T.IPV6:
        host = value
    elif type_ is T.EMAIL:
        host = value.rpartition("@")[2]
    elif type_ is T.URL:
        scheme = value.find("://")
        rest = value[scheme + 3 :] if scheme >= 0 else value
        end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
        hostport = rest[:end].rpartition("@")[2]
        if hostport.startswith("["):
            host = hostport[1 : hostport.find("]")] if "]" in hostport else ""
        else:
            host = hostport.partition(":")[0]
    else:
        return ""
    return host.lower().rstrip(".")


def combine(builtin: Sequence[WarningList], loaded: Sequence[WarningList]) -> list[WarningList]:
    """The built-in lists that no loaded list replaces (by id or name), then the loaded lists."""
    ids = {w.id for w in loaded}
    names = {w.name for w in loaded}
    return [w for w in builtin if w.id not in ids and w.name not in names] + list(loaded)
