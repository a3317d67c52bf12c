"""A compact in-memory index over indicators, answering "which indicators does this observed value hit?".

The semantics, for one observed scalar value (a Zeek column, a JSON leaf, a CSV cell), taken literally
(logs are not defanged):

* An **IP address** (IPv4 dotted quad without leading zeros; IPv6 in any RFC 4291 spelling, also written
  ``[v6]``) hits an equal ``ipv4``/``ipv6`` indicator and every ``ipv4-cidr``/``ipv6-cidr`` network that
  contains it, whatever its prefix length: a ``/0`` network contains, and so hits, every address of its
  family. An IPv4-mapped address (``::ffff:192.0.2.1``) is the same address as its IPv4 form: either
  spelling hits the IPv4 indicators and networks of the address and the IPv6 ones of the mapped form
  (so ``::/0`` and ``::ffff:0:0/96`` contain every IPv4 address).
  Zone identifiers (``fe80::1%eth0``) are not addresses, as in :mod:`commonspace.domain.canonical`.
* A **host name** hits a ``domain`` indicator equal to it or to one of its parents at a label boundary
  (``a.evil.example`` hits ``evil.example``; ``notevil.example`` does not), case-insensitively, one
  trailing dot ignored. A host name is a run of dot-separated labels of ASCII letters, digits, ``-``,
  ``_`` or a whole ``*`` label (certificate wildcards); a non-ASCII name is first converted to its
  canonical punycode form and matches nothing if it does not convert.
* The host of a **URL** (a value starting with ``scheme://``) and of a **host:port** value (one colon,
  ASCII digits after it; ``[v6]:port`` too) is a host name or IP address observed in its own right. The
  URL itself hits a ``url`` indicator equal to its canonical form.
* An **e-mail address** (a value with ``@`` and no ``scheme://``) hits an equal ``email`` indicator after
  canonicalisation, and its domain is a host name observed in its own right.
* A **hash** (32, 40, 64 or 128 hexadecimal digits) hits an equal ``md5``, ``sha1``, ``sha256`` or
  ``sha512`` indicator, case-insensitively.

``filename`` and ``asn`` indicators are not matched against observed values; they are counted in
:attr:`IndicatorIndex.skipped`.

Most observed values in a log are no indicator at all, so every branch first rejects on cheap tests
(characters present, length, a one-bit-per-bucket bitmap of the indexed address space, a hash probe of
the last two labels of a host name) before doing any parsing; canonicalisation of URLs and e-mail
addresses runs only when such a test says a hit is possible. Lookups never raise.

Storage is columnar (:mod:`commonspace.engine.tables`): IPv4 keys are sorted ``uint32`` arrays and
IPv6 keys sorted pairs of ``uint64`` halves, one array per prefix length present (networks are found by
masking the observed address to each length and searching that length's array); names, URLs, e-mail
addresses and hashes (as raw bytes) sit in hash tables for the probe and in sorted lists for finding their
references; references are numpy arrays in compressed sparse row layout when several share a value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from operator import itemgetter
from socket import AF_INET, AF_INET6, inet_pton

import numpy as np
import numpy.typing as npt

from commonspace.domain.canonical import InvalidIndicator, canonicalize
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.tables import (
    Exact,
    Family,
    Match,
    by_type,
    canonical_domains,
    ipv4_text,
    parse_ipv4_many,
    parse_ipv6,
)

__all__ = ["IndicatorIndex", "Match"]

T = IndicatorType

_EMPTY: tuple[Match, ...] = ()
_DIGITS = frozenset("0123456789")
_HASH_TYPES = {32: T.MD5, 40: T.SHA1, 64: T.SHA256, 128: T.SHA512}
_SPECIAL_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})  # a backslash ends their authority
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Observed host names (lower case, no trailing dot). Indicators are canonical domains, so a parent that is
# found in the table is valid; this only keeps sentences, paths and the like from matching by a suffix.
_HOSTNAME = re.compile(r"(?:[a-z0-9_-]+|\*)(?:\.(?:[a-z0-9_-]+|\*))*")
_HOST_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# What makes canonicalize() refang a value: then the cheap prefilters cannot predict its result.
_MAYBE_FANGED = re.compile(r"[\])}]|xx|fxp", re.IGNORECASE)
_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96, the IPv4-mapped addresses


def _url_host(url: str) -> str:
    """The host of a canonical URL, as the cheap prefilter compares it."""
    rest = url.partition("://")[2]
    end = min((i for i in map(rest.find, "/?") if i >= 0), default=len(rest))
    hostport = rest[:end].rpartition("@")[2]
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1]
    return hostport.partition(":")[0].lower()


def _two_labels(domain: str) -> str:
    """The last two labels (all of a one-dot name): every domain hit of a host shares them."""
    last = domain.rfind(".")
    return domain[domain.rfind(".", 0, last) + 1 :]


class IndicatorIndex:
    """Indicators, indexed for matching observed values; built once from ``(type, canonical, ref)``.

    ``ref`` is an opaque integer that the caller maps back to its indicator or report; several refs may
    share a value, and each is answered. Values are canonical forms (see
    :mod:`commonspace.domain.canonical`): addresses and networks are parsed again (a network's host bits
    are cleared), names and hashes lower-cased, while URLs and e-mail addresses are taken as given.
    A value that is not of its type raises ``ValueError`` here, never later.
    """

    def __init__(self, indicators: Iterable[tuple[IndicatorType | str, str, int]]) -> None:
        rows = indicators if isinstance(indicators, list) else list(indicators)
        self._build(
            list(map(itemgetter(0), rows)), list(map(itemgetter(1), rows)), list(map(itemgetter(2), rows))
        )

    @classmethod
    def of_columns(
        cls, types: Sequence[IndicatorType | str], values: Sequence[str], refs: Sequence[int]
    ) -> IndicatorIndex:
        """The index of ``(types[i], values[i], refs[i])`` for every i: the same as the constructor's,
        without making a tuple per indicator."""
        index = cls.__new__(cls)
        index._build(types, values, refs)
        return index

    def _build(
        self, types: Sequence[IndicatorType | str], values: Sequence[str], refs: Sequence[int]
    ) -> None:
        if not len(types) == len(values) == len(refs):
            raise ValueError("as many types, values and references are needed")
        columns = by_type(types, values, refs)
        self.skipped = 0
        """How many indicators of types that are not matched (file names, AS numbers) were left out."""
        self.size = 0
        """How many ``(type, value, ref)`` entries are indexed."""
        v4_addresses: tuple[list[int] | npt.NDArray[np.uint32], list[int]] = ([], [])
        v6_addresses: tuple[list[int] | npt.NDArray[np.uint32], list[int]] = ([], [])
        v4_networks: list[tuple[int, int, int]] = []
        v6_networks: list[tuple[int, int, int]] = []
        domains: list[tuple[str, int]] = []
        urls: list[tuple[str, int]] = []
        emails: list[tuple[str, int]] = []
        hashes: list[tuple[bytes, int]] = []
        for t, (values, refs) in columns.items():
            if t is T.IPV4:
                v4_addresses = (parse_ipv4_many(values), refs)
            elif t is T.IPV6:
                v6_addresses = ([parse_ipv6(value) for value in values], refs)
            elif t in (T.IPV4_CIDR, T.IPV6_CIDR):
                for value, ref in zip(values, refs, strict=True):
                    network = ipaddress.ip_network(value.strip(), strict=False)
                    if network.version != (4 if t is T.IPV4_CIDR else 6) or "%" in value:
                        raise ValueError(f"{value!r} is not an {t.value} network")
                    target = v4_networks if network.version == 4 else v6_networks
                    target.append((int(network.network_address), network.prefixlen, ref))
            elif t is T.DOMAIN:
                domains = list(zip(canonical_domains(values), refs, strict=True))
            elif t is T.URL:
                for value in values:
                    if not _URL_START.match(value):
                        raise ValueError(f"{value!r} is not a canonical URL")
                urls = list(zip(values, refs, strict=True))
            elif t is T.EMAIL:
                for value in values:
                    local, at, domain = value.rpartition("@")
                    if not (local and at and "." in domain):
                        raise ValueError(f"{value!r} is not a canonical e-mail address")
                emails = list(zip(values, refs, strict=True))
            elif t in (T.MD5, T.SHA1, T.SHA256, T.SHA512):
                for value, ref in zip(values, refs, strict=True):
                    text = value.strip()
                    if _HASH_TYPES.get(len(text)) is not t or not re.fullmatch(r"[0-9A-Fa-f]+", text):
                        raise ValueError(f"{value!r} is not an {t.value} hash")
                    hashes.append((bytes.fromhex(text), ref))
            else:
                self.skipped += len(values)
                continue
            self.size += len(values)
        self._v4 = Family(32, *v4_addresses, v4_networks) if len(v4_addresses[1]) or v4_networks else None
        self._v6 = Family(128, *v6_addresses, v6_networks) if len(v6_addresses[1]) or v6_networks else None
        # find() tests the IPv4 bitmap itself; an IPv4 address may also hit IPv6 networks as ::ffff:a.b.c.d.
        self._v4_bitmap, self._v4_mask = (self._v4.bitmap, self._v4.mask) if self._v4 else (b"\0", 0)
        self._mapped_indexed = self._v6 is not None and self._v6.maybe(_MAPPED)
        self._domains = Exact(domains, markers=[_two_labels(domain) for domain, _ in domains])
        self._domain_members = self._domains.members
        # The last characters of all indexed names: "1331901000.000000" and the like end at one probe.
        last = {domain[-1] for domain in self._domains.keys}
        self._domain_last = frozenset(last | {c.upper() for c in last})
        self._urls = Exact(urls)
        self._url_hosts = frozenset(_url_host(url) for url in self._urls.keys)
        self._emails = Exact(emails)
        self._email_domains = frozenset(email.rpartition("@")[2] for email in self._emails.keys)
        self._hashes = Exact(hashes)
        self._hash_members = self._hashes.members

    def __len__(self) -> int:
        return self.size

    @property
    def hash_count(self) -> int:
        """How many distinct hashes are indexed (a scanner may skip values of no hash's length)."""
        return len(self._hashes.keys)

    def lookup(self, value: str) -> list[Match]:
        """The indicators that one observed value hits (see the module documentation)."""
        return list(self.find(value))

    def find(self, value: str) -> tuple[Match, ...]:
        """:meth:`lookup` as a tuple, shared when empty: the hot path of :func:`match_records`."""
        try:
            # The common cases are written out here rather than called: a call costs as much as a probe.
            if "." in value:
                if ":" in value or "@" in value or "/" in value:
                    return self._composite(value)
                last = value[-1]
                if last in _DIGITS and len(value) <= 15 and value.count(".") == 3:
                    try:
                        n = int.from_bytes(inet_pton(AF_INET, value), "big")
                    except (OSError, ValueError):
                        pass
                    else:
                        bucket = (n >> 8) & self._v4_mask
                        if self._v4_bitmap[bucket >> 3] >> (bucket & 7) & 1 or self._mapped_indexed:
                            return self._ipv4(n, value)
                        return _EMPTY
                if last in self._domain_last:
                    if not value.isascii():
                        return self._host_name(value)
                    name = value.lower()
                    before = name.rfind(".", 0, name.rfind("."))
                    if name[before + 1 :] in self._domain_members:
                        return self._walk(name, before)
                    return _EMPTY  # most names end here, after one probe of their last two labels
                if last == "." or not value.isascii():
                    return self._host_name(value)
                return _EMPTY  # numbers such as "1331901000.000000" end here
            if ":" in value:
                return self._composite(value)
            if value.isascii():
                if len(value) in _HASH_TYPES and self._hash_members:
                    return self._hash(value)
                return _EMPTY
            # Only Unicode full stops ("bücher。de") can make a name or an address of the rest.
            return self._composite(value) if "@" in value else self._host_name(value)
        except Exception:  # odd input must never stop a scan: it simply matches nothing
            return _EMPTY

    # --- IP addresses ------------------------------------------------------------------------------
    def _ipv4(self, n: int, text: str | None = None) -> tuple[Match, ...]:
        out: list[Match] = []
        v4, v6 = self._v4, self._v6
        # The prefilter comes first; the check that the text was the one canonical spelling (which
        # inet_pton may be laxer about on some platforms) only when something may be hit.
        if v4 is not None and v4.maybe(n) and (text is None or ipv4_text(n) == text):
            v4.hits(n, out)
        if v6 is not None and v6.maybe(_MAPPED | n) and (text is None or ipv4_text(n) == text):
            v6.hits(_MAPPED | n, out)
        return tuple(out) if out else _EMPTY

    def _ipv6(self, text: str) -> tuple[Match, ...]:
        if "%" in text:
            return _EMPTY
        try:
            n = int.from_bytes(inet_pton(AF_INET6, text), "big")
        except (OSError, ValueError):
            return _EMPTY
        if n >> 32 == 0xFFFF:
            return self._ipv4(n & 0xFFFFFFFF)  # the mapped address is the IPv4 address (both families)
        v6 = self._v6
        if v6 is None or not v6.maybe(n):
            return _EMPTY
        out: list[Match] = []
        v6.hits(n, out)
        return tuple(out) if out else _EMPTY

    # --- host names --------------------------------------------------------------------------------
    def _host(self, host: str) -> tuple[Match, ...]:
        """A host seen in a URL, a host:port value or an e-mail address: an IP address or a name."""
        if not host:
            return _EMPTY
        if host[0] == "[":
            return self._ipv6(host[1:-1]) if host[-1] == "]" else _EMPTY
        if host[-1] in _DIGITS:
            try:
                packed = inet_pton(AF_INET, host)
            except (OSError, ValueError):
                pass
            else:
                return self._ipv4(int.from_bytes(packed, "big"), host)
        return self._host_name(host)

    def _host_name(self, name: str) -> tuple[Match, ...]:
        if not name.isascii():
            return self._unicode_host_name(name) if self._domain_members else _EMPTY
        if name[-1] == ".":
            name = name[:-1]
            if not name:
                return _EMPTY
        if name[-1] not in self._domain_last:  # "1331901000.000000" and the like end here
            return _EMPTY
        return self._domain_hits(name.lower())

    def _unicode_host_name(self, name: str) -> tuple[Match, ...]:
        # Every ASCII character must be one of a host name, so that "bücher.de/x" or "a b.de" stay no
        # host; canonicalize() then does what browsers do (UTS #46) and refuses what is not a name.
        if any(c.isascii() and c not in _HOST_ASCII for c in name):
            return _EMPTY
        try:
            return self._domain_hits(canonicalize(T.DOMAIN, name))
        except InvalidIndicator:
            return _EMPTY

    def _domain_hits(self, name: str) -> tuple[Match, ...]:
        """``name`` in lower case without a trailing dot: the indicators equal to it or a parent."""
        last = name.rfind(".")
        if last < 0:
            return _EMPTY
        before = name.rfind(".", 0, last)
        if name[before + 1 :] not in self._domain_members:
            return _EMPTY  # the common case: one probe (the last two labels), whatever the number of labels
        return self._walk(name, before)

    def _walk(self, name: str, before: int) -> tuple[Match, ...]:
        """The parents of ``name`` down to its last two labels, which start after ``before``."""
        if not _HOSTNAME.fullmatch(name):
            return _EMPTY
        members = self._domain_members
        out: list[Match] = []
        start = 0
        while True:
            candidate = name[start:]
            if members.get(candidate):
                out.extend((T.DOMAIN, candidate, ref) for ref in self._domains.refs_of(candidate))
            if start > before:  # the last two labels were the last candidate
                break
            start = name.index(".", start) + 1
        return tuple(out) if out else _EMPTY

    # --- URLs, host:port, e-mail, IPv6 -------------------------------------------------------------
    def _composite(self, value: str) -> tuple[Match, ...]:
        scheme_end = value.find("://")
        if scheme_end > 0:
            return self._url(value, scheme_end)
        if "@" in value:
            return self._email(value)
        if ":" not in value:
            return _EMPTY
        if value[0] == "[":  # [v6] or [v6]:port
            close = value.find("]")
            port = value[close + 1 :]
            if close < 0 or (port and not (port[0] == ":" and port[1:].isascii() and port[1:].isdigit())):
                return _EMPTY
            return self._ipv6(value[1:close])
        host, _, port = value.partition(":")
        if ":" in port:  # an IPv6 address has at least two colons, host:port exactly one
            return self._ipv6(value)
        if not (port.isascii() and port.isdigit()):
            return _EMPTY
        return self._host(host)

    def _url(self, value: str, scheme_end: int) -> tuple[Match, ...]:
        scheme = value[:scheme_end]
        if not _SCHEME.fullmatch(scheme):
            return _EMPTY
        # The host as canonicalize() finds it: the fragment goes first; for the special schemes a
        # backslash ends the authority as "/" and "?" do; the last "@" ends the user information.
        rest = value.partition("#")[0][scheme_end + 3 :]
        ends = "/?\\" if scheme.lower() in _SPECIAL_SCHEMES else "/?"
        end = min((i for i in map(rest.find, ends) if i >= 0), default=len(rest))
        hostport = rest[:end].rpartition("@")[2]
        if hostport.startswith("["):
            close = hostport.find("]")
            host = hostport[: close + 1] if close >= 0 else ""
        else:
            host = hostport.partition(":")[0]
        found = self._host(host)
        if not self._url_hosts:
            return found
        plain = value.isascii() and not value[-1].isspace() and not _MAYBE_FANGED.search(value)
        if plain and not host.startswith("[") and host.lower().removesuffix(".") not in self._url_hosts:
            return found
        try:
            canonical = canonicalize(T.URL, value)
        except InvalidIndicator:
            return found
        refs = self._urls.refs_of(canonical)
        if not refs:
            return found
        return found + tuple((T.URL, canonical, ref) for ref in refs)

    def _email(self, value: str) -> tuple[Match, ...]:
        if not (self._email_domains or self._domain_members):
            return _EMPTY
        if value.isascii() and not _MAYBE_FANGED.search(value):
            # The domain canonicalize() would find, in the cheapest way: most addresses end here.
            domain = value[value.rfind("@") + 1 :].strip()
            if domain.endswith(">"):
                domain = domain[:-1].strip()
            domain = domain.lower().removesuffix(".")
            if domain not in self._email_domains and (
                "." not in domain or _two_labels(domain) not in self._domain_members
            ):
                return _EMPTY
        try:
            canonical = canonicalize(T.EMAIL, value)
        except InvalidIndicator:
            return _EMPTY
        found = self._domain_hits(canonical.rpartition("@")[2])
        refs = self._emails.refs_of(canonical)
        return found + tuple((T.EMAIL, canonical, ref) for ref in refs) if refs else found

    # --- hashes -------------------------------------------------------------------------------------
    def _hash(self, value: str) -> tuple[Match, ...]:
        try:
            digest = bytes.fromhex(value)
        except ValueError:
            return _EMPTY
        if len(digest) * 2 != len(value) or digest not in self._hash_members:
            return _EMPTY  # fromhex() skips white space: "aa bb" is no hash
        t = _HASH_TYPES[len(value)]
        return tuple((t, digest.hex(), ref) for ref in self._hashes.refs_of(digest))
