"""The listed networks of one IP version, for a lookup by bisection."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping

# The networks over a segment, outermost first: prefix length, then the lists of the networks this long or
# shorter, then the same for the next network inside, and so on (flat, to save memory).
_Chain = tuple[int, ...]
_NO_CHAIN: _Chain = ()


class Ranges:
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
