"""The index's tables, and the bulk checks that fill them.

Addresses and networks sit in sorted numpy arrays, one per prefix length of each family, behind a bitmap
(:class:`Family`, :class:`Prefixes`); names, URLs, e-mail addresses and hashes in hash tables with sorted
keys (:class:`Exact`); references in arrays, in compressed sparse row layout when several share a key.
The values of one type are checked and parsed together (:func:`by_type` gathers them at C speed): a list of
hundreds of thousands of addresses is parsed by numpy, not value by value. The semantics of a look-up are
:mod:`commonspace.engine.index`'s.
"""

from __future__ import annotations

import ipaddress
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from operator import itemgetter
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from commonspace.domain.canonical import CANONICAL_IPV4
from commonspace.domain.vocab import IndicatorType

T = IndicatorType
Match = tuple[IndicatorType, str, int]
"""One hit: the indicator's type, its canonical value, and the reference it was indexed with."""

_MASK64 = (1 << 64) - 1
K = TypeVar("K", str, bytes)
RefArray = npt.NDArray[Any]


def ref_array(refs: list[int]) -> RefArray:
    """The smallest integer array that holds the references (an object array past 64 bits)."""
    if not refs:
        return np.zeros(0, dtype=np.int32)
    low, high = min(refs), max(refs)
    if low >= -(2**31) and high < 2**31:
        return np.array(refs, dtype=np.int32)
    if low >= -(2**63) and high < 2**63:
        return np.array(refs, dtype=np.int64)
    return np.array(refs, dtype=object)


def runs(sorted_keys: list[Any]) -> tuple[list[int], npt.NDArray[np.int64] | None]:
    """Positions where a new key starts in a sorted list, and the CSR offsets (None: one ref per key)."""
    if len(set(sorted_keys)) == len(sorted_keys):  # the usual case, found at C speed
        return list(range(len(sorted_keys))), None
    starts = [i for i in range(len(sorted_keys)) if i == 0 or sorted_keys[i] != sorted_keys[i - 1]]
    return starts, np.array([*starts, len(sorted_keys)], dtype=np.int64)


class Exact(Generic[K]):
    """Exact keys (str or bytes) and their references.

    ``members`` answers the hot-path probe: True for an indexed key, False for a marker that only tells
    a prefilter to look closer. The references of the i-th key of the sorted ``keys`` are
    ``refs[offsets[i]:offsets[i + 1]]``, or ``refs[i]`` alone when no key has several.
    """

    __slots__ = ("keys", "members", "offsets", "refs")

    def __init__(self, pairs: list[tuple[K, int]], markers: Iterable[K] = ()) -> None:
        pairs.sort(key=itemgetter(0))  # stable: the references of a key stay in their order
        all_keys = list(map(itemgetter(0), pairs))
        starts, self.offsets = runs(all_keys)
        self.keys: list[K] = all_keys if self.offsets is None else [all_keys[i] for i in starts]
        self.refs = ref_array(list(map(itemgetter(1), pairs)))
        self.members: dict[K, bool] = dict.fromkeys(markers, False)
        self.members.update(dict.fromkeys(self.keys, True))

    def __bool__(self) -> bool:
        return bool(self.keys)

    def refs_of(self, key: K) -> list[int]:
        i = bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            return []
        if self.offsets is None:
            return [int(self.refs[i])]
        return [int(ref) for ref in self.refs[self.offsets[i] : self.offsets[i + 1]].tolist()]


class Prefixes:
    """The networks (or addresses) of one prefix length of one family: sorted unique keys and refs."""

    __slots__ = ("high", "length", "low", "offsets", "refs", "type")

    def __init__(
        self,
        type_: IndicatorType,
        length: int,
        width: int,
        keys: Sequence[int] | npt.NDArray[np.uint32],
        refs: list[int],
    ) -> None:
        self.type, self.length = type_, length
        if width == 32:  # sorted by numpy; a stable sort keeps the references of a key in their order
            all_keys = np.asarray(keys, dtype=np.uint32)
            order = np.argsort(all_keys, kind="stable")
            all_keys = all_keys[order]
            starts = np.flatnonzero(np.concatenate(([True], all_keys[1:] != all_keys[:-1])))
            self.offsets = None if len(starts) == len(all_keys) else np.append(starts, len(all_keys))
            self.refs = ref_array(refs)[order]
            self.high = all_keys[starts]
            self.low: npt.NDArray[np.uint64] | None = None
            return
        pairs = sorted(zip(keys, refs, strict=True), key=lambda pair: pair[0])
        sorted_keys = [key for key, _ in pairs]
        positions, self.offsets = runs(sorted_keys)
        unique = [sorted_keys[i] for i in positions]
        self.refs = ref_array([ref for _, ref in pairs])
        # IPv6: two uint64 halves, sorted together
        self.high = np.array([key >> 64 for key in unique], dtype=np.uint64)
        self.low = np.array([key & _MASK64 for key in unique], dtype=np.uint64)

    def refs_of(self, key: int) -> list[int]:
        if self.low is None:
            probe = np.uint32(key)  # a Python int would make numpy convert the whole array
            i = int(self.high.searchsorted(probe))
            if i == len(self.high) or self.high[i] != probe:
                return []
        else:
            high, low = np.uint64(key >> 64), np.uint64(key & _MASK64)
            start = int(self.high.searchsorted(high, "left"))
            end = int(self.high.searchsorted(high, "right"))
            i = start + int(self.low[start:end].searchsorted(low))
            if i == end or self.low[i] != low:
                return []
        if self.offsets is None:
            return [int(self.refs[i])]
        return [int(ref) for ref in self.refs[self.offsets[i] : self.offsets[i + 1]].tolist()]


def ipv4_text(n: int) -> str:
    return inet_ntop(AF_INET, n.to_bytes(4, "big"))


def ipv6_text(n: int) -> str:
    # The canonical form of commonspace.domain.canonical: RFC 5952, IPv4-mapped as ::ffff:a.b.c.d.
    if n >> 32 == 0xFFFF:
        return "::ffff:" + ipv4_text(n & 0xFFFFFFFF)
    return ipaddress.IPv6Address(n).compressed


class Family:
    """The addresses and networks of one IP family, behind a bitmap prefilter.

    The bitmap has one bit per bucket of the top ``top`` bits of an address (24 for IPv4, 32 for IPv6)
    folded to ``bits`` bits; a bit is set when some indexed address or network may contain an address of
    that bucket, so an unset bit rejects an observed address with one byte read.
    """

    __slots__ = ("address_type", "bitmap", "network_type", "shift", "tables", "text", "width", "mask")

    def __init__(
        self,
        width: int,
        addresses: Sequence[int] | npt.NDArray[np.uint32],
        refs: list[int],
        networks: list[tuple[int, int, int]],
    ):
        self.width = width
        self.address_type, self.network_type = (T.IPV4, T.IPV4_CIDR) if width == 32 else (T.IPV6, T.IPV6_CIDR)
        self.text = ipv4_text if width == 32 else ipv6_text
        top = 24 if width == 32 else 32
        if width == 32:
            keys = np.asarray(addresses, dtype=np.uint32)
            ordered = np.sort(keys)
            distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + min(1, len(ordered))
        else:
            distinct = len(set(addresses))
        distinct += len({(n, length) for n, length, _ in networks})
        bits = min(24, max(10, math.ceil(math.log2(max(1, distinct) * 64))))
        self.shift, self.mask = width - top, (1 << bits) - 1
        marked = np.zeros(1 << bits, dtype=bool)
        if width == 32:
            marked[(keys.astype(np.int64) >> self.shift) & self.mask] = True
        else:
            marked[np.array([(key >> self.shift) & self.mask for key in addresses], dtype=np.int64)] = True
        by_length: dict[int, list[tuple[int, int]]] = {}
        for key, length, ref in networks:
            by_length.setdefault(length, []).append((key, ref))
            if length >= top:
                marked[(key >> self.shift) & self.mask] = True
            elif top - length >= bits:
                marked[:] = True  # e.g. /0: every bucket
            else:
                first = key >> self.shift
                marked[(np.arange(1 << (top - length), dtype=np.int64) + first) & self.mask] = True
        self.bitmap = np.packbits(marked, bitorder="little").tobytes()
        self.tables: list[Prefixes] = []
        if len(refs):
            self.tables.append(Prefixes(self.address_type, width, width, addresses, refs))
        for length in sorted(by_length, reverse=True):
            pairs = by_length[length]
            keys_of, refs_of = [key for key, _ in pairs], [ref for _, ref in pairs]
            self.tables.append(Prefixes(self.network_type, length, width, keys_of, refs_of))

    def maybe(self, n: int) -> bool:
        bucket = (n >> self.shift) & self.mask
        return bool(self.bitmap[bucket >> 3] >> (bucket & 7) & 1)

    def hits(self, n: int, out: list[Match]) -> None:
        width = self.width
        for table in self.tables:
            key = n >> (width - table.length) << (width - table.length)
            refs = table.refs_of(key)
            if refs:
                text = self.text(key)
                canonical = text if table.type is self.address_type else f"{text}/{table.length}"
                out.extend((table.type, canonical, ref) for ref in refs)


_TYPES: dict[object, IndicatorType] = {**{t.value: t for t in T}, **{t: t for t in T}}


def by_type(
    types: Sequence[IndicatorType | str], values: Sequence[str], refs: Sequence[int]
) -> dict[IndicatorType, tuple[list[str], list[int]]]:
    """The values and references of each type, in their order. The indicators are gathered so, at C
    speed, for each type to be checked and stored in bulk: a list of hundreds of thousands of addresses
    is parsed by numpy, not value by value."""
    kinds = {raw: _TYPES.get(raw) or IndicatorType(raw) for raw in set(types)}  # raises for an unknown type
    refs = list(map(int, refs))
    distinct = list(dict.fromkeys(kinds.values()))
    if len(distinct) == 1:
        return {distinct[0]: (list(values), refs)}
    number = {raw: distinct.index(kind) for raw, kind in kinds.items()}
    codes = np.fromiter(map(number.__getitem__, types), dtype=np.int16, count=len(types))
    columns: dict[IndicatorType, tuple[list[str], list[int]]] = {}
    for code, kind in enumerate(distinct):
        positions = np.flatnonzero(codes == code).tolist()
        if len(positions) == 1:
            columns[kind] = ([values[positions[0]]], [refs[positions[0]]])
        elif positions:
            pick = itemgetter(*positions)
            columns[kind] = (list(pick(values)), list(pick(refs)))
    return columns


def parse_ipv4(value: str) -> int:
    text = value.strip()
    try:
        n = int.from_bytes(inet_pton(AF_INET, text), "big")
    except (OSError, ValueError):
        raise ValueError(f"{value!r} is not an IPv4 address") from None
    if ipv4_text(n) != text:
        raise ValueError(f"{value!r} is not a canonical IPv4 address")
    return n


_CANONICAL_DOMAIN = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)+")  # lower-case ASCII labels, two or more


def parse_ipv4_many(values: list[str]) -> npt.NDArray[np.uint32]:
    """:func:`parse_ipv4` of every value, in bulk: checked by one expression, parsed by numpy."""
    texts = list(map(str.strip, values))
    if not all(map(CANONICAL_IPV4.fullmatch, texts)):
        for value in values:
            parse_ipv4(value)  # raises for the first bad value, saying why
    if not texts:
        return np.zeros(0, dtype=np.uint32)
    octets = np.fromstring(".".join(texts), dtype=np.uint32, sep=".").reshape(-1, 4)
    weights = np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.uint32)
    return np.asarray(octets @ weights, dtype=np.uint32)


def canonical_domains(values: list[str]) -> list[str]:
    """Domain indicators as the index keeps them: lower case, no trailing dot; a value that is no
    canonical domain (non-ASCII, one label, a wildcard) raises ``ValueError``."""
    names = list(map(str.lower, map(str.strip, values)))
    names = [name[:-1] if name[-1:] == "." else name for name in names]
    if not all(map(_CANONICAL_DOMAIN.fullmatch, names)):
        bad = next(v for v, n in zip(values, names, strict=True) if not _CANONICAL_DOMAIN.fullmatch(n))
        raise ValueError(f"{bad!r} is not a canonical domain")
    return names


def parse_ipv6(value: str) -> int:
    text = value.strip().removeprefix("[").removesuffix("]")
    if "%" in text:
        raise ValueError(f"{value!r}: zone identifiers are not shared")
    try:
        return int.from_bytes(inet_pton(AF_INET6, text), "big")
    except (OSError, ValueError):
        raise ValueError(f"{value!r} is not an IPv6 address") from None
