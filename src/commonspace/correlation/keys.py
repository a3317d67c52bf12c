"""Where an address or a network sits among addresses, as text that sorts like the numbers it stands for.

An IP address or network is keyed by its family and its (first) address in fixed-width hexadecimal:
``4:c0000207`` for 192.0.2.7, ``6:20010db8000000000000000000000001`` for 2001:db8::1, ``4:c0000200`` for
192.0.2.0/24. Keys of one family have one length, so comparing them as text compares the addresses, and
the addresses and networks inside a network are the keys from its first address to its last: one index
range scan, on SQLite and PostgreSQL alike (an IPv6 address does not fit a 64-bit integer). The keys share
the indicator's ``host_key`` column with the reversed labels of domains; the two never meet in a range,
since a domain label holds no ``:`` and a top-level domain is never all digits.

Pure: it imports nothing of the project but the vocabulary.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from commonspace.domain.vocab import IndicatorType

_FAMILY = {
    IndicatorType.IPV4: 4,
    IndicatorType.IPV4_CIDR: 4,
    IndicatorType.IPV6: 6,
    IndicatorType.IPV6_CIDR: 6,
}
NETWORK_TYPES = frozenset({IndicatorType.IPV4_CIDR, IndicatorType.IPV6_CIDR})
# The end of a range is exclusive: this follows every key that starts with the last address's key.
_PAST = "~"
_KEPT = [0xFF << (8 - bits) & 0xFF for bits in range(8)]  # of an octet, the mask that keeps its first bits


def address_key(type_: IndicatorType | str, canonical: str) -> str | None:
    """The key of a canonical address or network (of its first address); None for any other type."""
    family = _FAMILY.get(IndicatorType(type_))
    if family is None:
        return None
    address = canonical.partition("/")[0]
    if family == 4:
        a, b, c, d = address.split(".")
        return f"4:{int(a):02x}{int(b):02x}{int(c):02x}{int(d):02x}"
    return "6:" + ipaddress.IPv6Address(address).packed.hex()


def network_range(type_: IndicatorType | str, canonical: str) -> tuple[str, str]:
    """``[low, high)``: the keys of every address and network inside a canonical network, itself included."""
    if IndicatorType(type_) not in NETWORK_TYPES:
        raise ValueError(f"not a network type: {type_}")
    network = ipaddress.ip_network(canonical)
    family = "4" if network.version == 4 else "6"
    width = 8 if network.version == 4 else 32
    low = f"{family}:{int(network.network_address):0{width}x}"
    high = f"{family}:{int(network.broadcast_address):0{width}x}{_PAST}"
    return low, high


def domain_range(host_key: str) -> tuple[str, str]:
    """``[low, high)``: the host keys of a domain and of everything under it ("/" follows "." in ASCII)."""
    return host_key, host_key[:-1] + "/"


def ipv4_networks_containing(address: str, prefix_lengths: Iterable[int]) -> list[str]:
    """The canonical IPv4 networks of the given prefix lengths (0 to 32) around a canonical address: what
    ``canonical.ip_networks_containing`` gives, from the address's own digits (correlation asks it of
    thousands of addresses at a time): the octets a length keeps whole are copied, only the one it cuts is
    masked, the rest are 0."""
    a, b, c, d = address.split(".")
    out = []
    for length in prefix_lengths:
        if length >= 24:
            if length < 32:
                out.append(f"{a}.{b}.{c}.{int(d) & _KEPT[length - 24]}/{length}")
            elif length == 32:
                out.append(f"{int(a)}.{int(b)}.{int(c)}.{int(d)}/32")
        elif length >= 16:
            out.append(f"{a}.{b}.{int(c) & _KEPT[length - 16]}.0/{length}")
        elif length >= 8:
            out.append(f"{a}.{int(b) & _KEPT[length - 8]}.0.0/{length}")
        elif length >= 0:
            out.append(f"{int(a) & _KEPT[length]}.0.0.0/{length}")
    return out
