"""The built-in warninglists: reserved and private address ranges, reserved domain names."""

from __future__ import annotations

from collections.abc import Iterable

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists.model import ListType, WarningList
from commonspace.engine.warninglists.types import MISP_ATTRIBUTE_TYPES

T = IndicatorType

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
