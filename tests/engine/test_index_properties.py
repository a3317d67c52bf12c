"""The index agrees with a naive reference (a loop over every indicator) and never raises.

The reference is written from the rules in the index's documentation, as plainly as possible: the
standard library's ipaddress for addresses, string suffixes for names, canonicalize() for URLs and
e-mail addresses, and no prefilter of any kind.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections import Counter
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.canonical import InvalidIndicator, canonicalize
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex

T = IndicatorType
Indicator = tuple[IndicatorType, str, int]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# --- the reference ------------------------------------------------------------------------------------
HOSTNAME = re.compile(r"(?:[a-z0-9_-]+|\*)(?:\.(?:[a-z0-9_-]+|\*))*")
URL_START = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
HASH_LENGTHS = {32: T.MD5, 40: T.SHA1, 64: T.SHA256, 128: T.SHA512}
HOST_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def as_address(text: str, *, v6_only: bool = False) -> list[Address]:
    """The address a text is, with its other spelling when it is IPv4 or IPv4-mapped; [] if none."""
    if "%" in text:
        return []
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return []
    if isinstance(address, ipaddress.IPv4Address):
        return [] if v6_only else [address, ipaddress.IPv6Address(0xFFFF << 32 | int(address))]
    return [address, address.ipv4_mapped] if address.ipv4_mapped is not None else [address]


def as_name(text: str) -> str | None:
    if text.isascii():
        name = text.lower().removesuffix(".")
        return name if HOSTNAME.fullmatch(name) else None
    if any(c.isascii() and c not in HOST_CHARACTERS for c in text):
        return None
    try:
        return canonicalize(T.DOMAIN, text)
    except InvalidIndicator:
        return None


def host_parts(host: str) -> tuple[list[Address], list[str]]:
    """A host seen in a URL, a host:port value or an e-mail address: addresses or a name."""
    if host.startswith("["):
        return (as_address(host[1:-1], v6_only=True) if host.endswith("]") else []), []
    if addresses := [a for a in as_address(host) if "." in host]:  # an IPv4 address, as dotted quad
        return addresses, []
    name = as_name(host)
    return [], [name] if name else []


def reference(indicators: Sequence[Indicator], value: str) -> Counter[Indicator]:
    addresses: list[Address] = []
    names: list[str] = []
    url = email = hash_value = None
    if m := URL_START.match(value):
        special = m.group(1).lower() in ("http", "https", "ftp", "ws", "wss")
        authority = re.match(r"[^/?#\\]*" if special else r"[^/?#]*", value[m.end() :])
        assert authority is not None
        hostport = authority.group().rpartition("@")[2]
        host = hostport[: hostport.find("]") + 1] if hostport.startswith("[") else hostport.partition(":")[0]
        addresses, names = host_parts(host)
        with contextlib.suppress(InvalidIndicator):
            url = canonicalize(T.URL, value)
    elif "@" in value:
        try:
            email = canonicalize(T.EMAIL, value)
            names = [email.rpartition("@")[2]]
        except InvalidIndicator:
            pass
    elif value.count(":") >= 2 and not value.startswith("["):
        addresses = as_address(value, v6_only=True)
    elif m := re.fullmatch(r"\[([^\]]*)\](?::[0-9]+)?", value):
        addresses = as_address(m.group(1), v6_only=True)
    elif m := re.fullmatch(r"([^:]*):[0-9]+", value):
        addresses, names = host_parts(m.group(1))
    elif ":" not in value and (addresses := as_address(value)):
        pass
    elif ":" not in value:
        names = [name] if (name := as_name(value)) else []
        if len(value) in HASH_LENGTHS and re.fullmatch(r"[0-9A-Fa-f]+", value):
            hash_value = value.lower()
    found: Counter[Indicator] = Counter()
    for type_, canonical, ref in indicators:
        if type_ in (T.IPV4, T.IPV6):
            hit = any(a == ipaddress.ip_address(canonical) for a in addresses)
        elif type_ in (T.IPV4_CIDR, T.IPV6_CIDR):
            network = ipaddress.ip_network(canonical)
            hit = any(a.version == network.version and a in network for a in addresses)
        elif type_ is T.DOMAIN:
            hit = any(name == canonical or name.endswith("." + canonical) for name in names)
        elif type_ is T.URL:
            hit = url == canonical
        elif type_ is T.EMAIL:
            hit = email == canonical
        else:
            hit = hash_value == canonical and HASH_LENGTHS[len(canonical)] is type_
        if hit:
            found[(type_, canonical, ref)] += 1
    return found


# --- random indicators and observations built from one small vocabulary, so that they meet ---------
LABELS = ["evil", "example", "com", "a", "b", "co", "uk", "x-1", "_dmarc", "xn--bcher-kva", "de", "mail"]
labels = st.sampled_from(LABELS)
COMMON_DOMAINS = ["evil.example", "a.evil.example", "co.uk", "b.co.uk", "xn--bcher-kva.de", "_dmarc.mail.com"]
domains = st.one_of(st.sampled_from(COMMON_DOMAINS), st.lists(labels, min_size=2, max_size=4).map(".".join))
v4 = st.one_of(
    st.sampled_from(["10.0.0.1", "10.0.0.2", "10.1.0.1", "192.0.2.1", "0.0.0.0", "255.255.255.255"]),
    st.ip_addresses(v=4).map(str),
)
v6 = st.one_of(
    st.sampled_from(["2001:db8::1", "2001:db8::2", "2001:db8:1::1", "::1", "::ffff:10.0.0.1", "::ffff:0:0"]),
    st.ip_addresses(v=6).map(str),
)
hex_digests = st.sampled_from(["0" * 32, "a" * 32, "0123456789abcdef" * 2, "ab" * 20, "cd" * 32, "ef" * 64])
local_parts = st.sampled_from(["alice", "Alice", "bob.smith", "x+y"])
paths = st.sampled_from(["/", "/a/~b", "/a/%7Eb", "/x?q=1", "/x?q=1#f", ""])
hosts = st.one_of(domains, st.sampled_from(["10.0.0.1", "192.0.2.1"]))


def canonical_of(type_: IndicatorType) -> st.SearchStrategy[str]:
    network = {T.IPV4_CIDR: (v4, 32), T.IPV6_CIDR: (v6, 128)}
    if type_ in network:
        addresses, width = network[type_]
        prefix = st.one_of(
            st.integers(0, width), st.sampled_from([8, 16, 24, 32, 64, 96, 120]).filter(lambda p: p <= width)
        )
        return st.builds(lambda a, p: canonicalize(type_, f"{a}/{p}"), addresses, prefix)
    raw: st.SearchStrategy[str] = {
        T.IPV4: v4,
        T.IPV6: v6,
        T.DOMAIN: domains,
        T.URL: st.builds(lambda s, h, p: f"{s}://{h}{p}", st.sampled_from(["http", "https"]), hosts, paths),
        T.EMAIL: st.builds(lambda local, d: f"{local}@{d}", local_parts, domains),
        T.MD5: hex_digests.filter(lambda h: len(h) == 32),
        T.SHA1: hex_digests.filter(lambda h: len(h) == 40),
        T.SHA256: hex_digests.filter(lambda h: len(h) == 64),
        T.SHA512: hex_digests.filter(lambda h: len(h) == 128),
    }[type_]
    return raw.map(lambda value: canonicalize(type_, value))


# Names, URLs and e-mail addresses twice as often: they have the most rules.
indicator_types = st.sampled_from(
    [t for t in T if t not in (T.FILENAME, T.ASN)] + [T.DOMAIN, T.URL, T.URL, T.EMAIL]
)
indicators = st.lists(
    st.builds(
        lambda pair, ref: (pair[0], pair[1], ref),
        indicator_types.flatmap(lambda t: st.tuples(st.just(t), canonical_of(t))),
        st.integers(0, 5),
    ),
    max_size=12,
)


def spelt(text: str) -> st.SearchStrategy[str]:
    """The same value in other spellings a log may use."""
    return st.sampled_from([text, text.upper(), text.title(), text + ".", text.swapcase()])


observed = st.one_of(
    v4,
    v6,
    v6.map(str.upper),
    v6.map(lambda a: f"[{a}]"),
    st.builds(lambda a, p: f"[{a}]:{p}", v6, st.integers(0, 99999)),
    st.builds(lambda a, p: f"{a}:{p}", v4, st.integers(0, 99999)),
    domains.flatmap(spelt),
    st.builds(lambda sub, d: f"{sub}.{d}", labels, domains).flatmap(spelt),
    st.builds(lambda d, p: f"{d}:{p}", domains, st.sampled_from(["80", "443", "x", ""])),
    st.builds(
        lambda s, h, port, p: f"{s}://{h}{port}{p}",
        st.sampled_from(["http", "HTTP", "https", "http", "ftp", "git+ssh"]),
        st.one_of(
            hosts.flatmap(spelt),
            v4,
            v6.map(lambda a: f"[{a}]"),
            st.builds(lambda u, d: f"{u}@{d}", local_parts, domains),
        ),
        st.sampled_from(["", ":80", ":443", ":8080", ":99999"]),
        st.one_of(paths, st.just("\\@evil.example/")),
    ),
    st.builds(
        lambda local, d, w: w.format(f"{local}@{d}"),
        local_parts,
        domains.flatmap(spelt),
        st.sampled_from(["{}", "<{}>", "mailto:{}", " {} "]),
    ),
    hex_digests.flatmap(spelt),
    st.sampled_from(
        ["bücher.de", "www.BÜCHER.de", "bücher。de", "a@bücher.de", "http://bücher.de/", "evil。example"]
    ),
    st.text(alphabet=st.sampled_from(list("evil.exampl0123:/@[]%-_ *xX")), max_size=30),
    st.text(max_size=20),
)


def variants(indicator: Indicator) -> st.SearchStrategy[str]:
    """Observed values near one indicator: respelt, inside it, below it, around it."""
    type_, canonical, _ = indicator
    if type_ in (T.IPV4_CIDR, T.IPV6_CIDR):
        network = ipaddress.ip_network(canonical)
        first, width = int(network.network_address), network.max_prefixlen
        # Addresses inside the network and just outside it (wrapping around the address space).
        offsets = st.one_of(
            st.integers(0, network.num_addresses - 1), st.sampled_from([-1, network.num_addresses])
        )
        kind = ipaddress.IPv4Address if width == 32 else ipaddress.IPv6Address
        return offsets.map(lambda i: str(kind((first + i) % 2**width)))
    if type_ is T.DOMAIN:
        return st.one_of(spelt(canonical), st.builds(lambda sub: f"{sub}.{canonical}", labels).flatmap(spelt))
    if type_ is T.URL:
        scheme, _, rest = canonical.partition("://")
        host, slash, path = rest.partition("/")
        port = {"http": ":80", "https": ":443"}.get(scheme, "")
        return st.sampled_from(
            [
                canonical,
                f"{scheme.upper()}://{host.upper()}{port}/{path}#f",
                f"{scheme}://{host}./{path}",
                f"{scheme}://{host}:1/{path}",
            ]
        )
    if type_ is T.EMAIL:
        local, _, domain = canonical.rpartition("@")
        return st.sampled_from(
            [canonical, f"<{canonical}>", f"{local}@{domain.upper()}.", f"{local.upper()}@{domain}"]
        )
    return spelt(canonical)


@settings(max_examples=400, deadline=None)
@given(indicators, st.data())
def test_the_index_agrees_with_the_naive_reference(
    given_indicators: list[Indicator], data: st.DataObject
) -> None:
    index = IndicatorIndex(given_indicators)
    near = [variants(indicator) for indicator in given_indicators]
    for value in data.draw(st.lists(st.one_of(observed, *near), min_size=1, max_size=8)):
        assert Counter(index.lookup(value)) == reference(given_indicators, value), value


EVERY_KIND = IndicatorIndex(
    [
        (T.IPV4, "1.2.3.4", 1),
        (T.IPV4_CIDR, "0.0.0.0/0", 2),
        (T.IPV6_CIDR, "::/0", 3),
        (T.IPV6, "::1", 4),
        (T.DOMAIN, "evil.example", 5),
        (T.DOMAIN, "a.b.c.example", 6),
        (T.URL, "http://evil.example/", 7),
        (T.EMAIL, "x@evil.example", 8),
        (T.MD5, "0" * 32, 9),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), observed, st.builds(str.__add__, observed, st.text(max_size=5))))
def test_lookup_never_raises_on_any_text(value: str) -> None:
    assert isinstance(EVERY_KIND.lookup(value), list)
