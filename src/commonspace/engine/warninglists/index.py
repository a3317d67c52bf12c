"""The lists combined into one index (:class:`WarningLists`), and :meth:`WarningLists.check`.

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists.builtin import builtin_lists
from commonspace.engine.warninglists.entries import hostname_key, lower
from commonspace.engine.warninglists.load import load_directory
from commonspace.engine.warninglists.model import ListType, WarningList, WarningListError
from commonspace.engine.warninglists.ranges import Ranges
from commonspace.engine.warninglists.types import CASELESS

T = IndicatorType


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
                _add(caseless, (lower(entry).rstrip(".") for entry in warninglist.entries), bit)
            elif warninglist.type is ListType.HOSTNAME:
                _add(hostnames, map(hostname_key, warninglist.entries), bit)
            elif warninglist.type is ListType.SUBSTRING:
                _add(substrings, map(lower, warninglist.entries), bit)
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
        self._v4, self._v6 = Ranges(cidr[4], 32), Ranges(cidr[6], 128)
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
                caseless=type_ in CASELESS,
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
