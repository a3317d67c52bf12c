"""Canonical forms of indicators, so that the same observable shared by two organisations is one value.

Reports arrive defanged (``hxxp://evil[.]example``), in mixed case, with leading zeros, Unicode host
names and redundant ports. Matching, de-duplication and range queries only work when every spelling
of an observable collapses to one string, so :func:`canonicalize` is the single gate every indicator
value passes through. Everything here is pure: standard library, ``idna`` when installed, the vocabulary.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import quote

from commonspace.domain.vocab import IndicatorType

try:  # UTS #46 (what browsers do) is better than the IDNA 2003 codec of the standard library.
    import idna as _idna
except ImportError:  # pragma: no cover - httpx brings idna along in every environment we ship
    _idna = None  # type: ignore[assignment]

T = IndicatorType


class InvalidIndicator(ValueError):
    """A value that cannot be an indicator of the given type; ``reason`` is meant for humans."""

    def __init__(self, type_: str, value: str, reason: str) -> None:
        super().__init__(f"invalid {type_} {value!r}: {reason}")
        self.type = str(type_)
        self.value = value
        self.reason = reason

    def __reduce__(self) -> tuple[type[InvalidIndicator], tuple[str, str, str]]:
        # The default would re-create the exception from the message alone and fail.
        return (InvalidIndicator, (self.type, self.value, self.reason))


class _Bad(Exception):
    """Internal: a reason; canonicalize() wraps it with the type and the value as the user gave it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- refang / defang ------------------------------------------------------------------------------
# Only defanged scheme spellings followed by a colon are touched, so "hxxp" inside a file name stays.
_SCHEME_FANG = re.compile(r"\b(?:h(xx)p(s?)|(fxp))(?=\[?:)", re.IGNORECASE)
_BRACKET_FANGS = {
    o + inner + c: "." if inner in (".", "dot") else "@"
    for o, c in ("[]", "()", "{}")
    for inner in (".", "dot", "@", "at")
} | {"[:]": ":", "[://]": "://"}


# Every defanging form has a closing bracket or a defanged scheme (hxxp, fxp).
_MAYBE_FANGED = re.compile(r"[\])}]|xx|fxp", re.IGNORECASE)


def _unscheme(m: re.Match[str]) -> str:
    return "ftp" if m.group(3) else "http" + m.group(2).lower()


def refang(text: str) -> str:
    """Undo the usual defanging conventions (``hxxp``, ``[.]``, ``(dot)``, ``[@]``, ``[:]//`` ...).

    Nested spellings are undone too ("[[.]]" is "."), so refang is idempotent: canonical values are
    then fixed points of refang, which is what makes ``refang(defang(c)) == c`` hold.
    """
    if not _MAYBE_FANGED.search(text):
        return text.strip()  # the common case: nothing to undo
    # One left-to-right pass that reduces at the end of the output whenever a closing bracket
    # completes a pattern: this reaches the same result as re-running a regex until nothing changes
    # (patterns cannot overlap), in linear rather than quadratic time on hostile input.
    out: list[str] = []
    for char in text.strip():
        out.append(char)
        if char in "])}":
            for size in (3, 4, 5):
                replacement = _BRACKET_FANGS.get("".join(out[-size:]).lower())
                if replacement:
                    out[-size:] = replacement
                    break
    return _SCHEME_FANG.sub(_unscheme, "".join(out))


_DEFANGED_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}


def defang(value: str, type_: IndicatorType) -> str:
    """Make a canonical value safe to paste (not clickable, not resolvable); refang() undoes it."""
    t = IndicatorType(type_)
    if t in (T.IPV4, T.IPV6, T.IPV4_CIDR, T.IPV6_CIDR, T.DOMAIN):
        return value.replace(".", "[.]")
    if t is T.EMAIL:
        return value.replace(".", "[.]").replace("@", "[@]")
    if t is T.URL:
        scheme, sep, rest = value.partition("://")
        if not sep:
            return value
        # A canonical URL always has a path starting with "/", which ends the authority; only the
        # authority is defanged because dots in a path or query neither resolve nor click.
        authority, slash, tail = rest.partition("/")
        return f"{_DEFANGED_SCHEMES.get(scheme, scheme)}://{authority.replace('.', '[.]')}{slash}{tail}"
    return value  # hashes, file names and AS numbers are harmless as they are


# --- IP addresses and networks ----------------------------------------------------------------------
def _ipv4(s: str) -> str:
    if ":" in s and _parses(ipaddress.IPv6Address, s.strip("[]")):
        raise _Bad("this is an IPv6 address; use type ipv6")
    octets = s.split(".")
    if len(octets) != 4:
        raise _Bad(f"expected four dot-separated octets, got {len(octets)}")
    for octet in octets:
        if not (octet.isascii() and octet.isdigit()):
            raise _Bad(f"octet {octet!r} is not a decimal number")
        # inet_aton() reads "010" as octal 8 while ipaddress rejects it: refuse the ambiguity.
        if len(octet) > 1 and octet[0] == "0":
            raise _Bad(f"octet {octet!r} has a leading zero, which some software reads as octal")
        if int(octet) > 255:
            raise _Bad(f"octet {octet} is greater than 255")
    return s  # four decimal octets without leading zeros: already the one spelling


def _parses(kind: Callable[[str], object], s: str) -> bool:
    try:
        kind(s)
    except ValueError:
        return False
    return True


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    # RFC 5952 writes IPv4-mapped addresses as ::ffff:192.0.2.1; Python < 3.13 prints ::ffff:c000:201.
    # Pinning the form keeps stored values stable across Python upgrades.
    return f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped else address.compressed


def _network_text(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    address = network.network_address
    text = _ipv6_text(address) if isinstance(address, ipaddress.IPv6Address) else str(address)
    return f"{text}/{network.prefixlen}"


def _ipv6(s: str) -> str:
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    if "%" in s:
        raise _Bad("zone identifiers ('%...') are local to one host and cannot be shared")
    try:
        return _ipv6_text(ipaddress.IPv6Address(s))
    except ValueError as exc:
        if _parses(ipaddress.IPv4Address, s):
            raise _Bad("this is an IPv4 address; use type ipv4") from None
        raise _Bad(str(exc)) from None


def _cidr(s: str, version: int) -> str:
    address, slash, prefix = s.partition("/")
    address = _ipv4(address) if version == 4 else _ipv6(address)
    longest = 32 if version == 4 else 128
    if not slash:
        return f"{address}/{longest}"  # a bare address is the network of just itself
    if not (prefix.isascii() and prefix.isdigit()):
        raise _Bad(f"prefix length {prefix!r} is not a number")
    if int(prefix) > longest:
        raise _Bad(f"prefix length {int(prefix)} is longer than {longest}")
    # strict=False: "10.1.2.3/8" is how people write "the /8 around 10.1.2.3"; keep the network.
    return _network_text(ipaddress.ip_network(f"{address}/{int(prefix)}", strict=False))


# --- domains ---------------------------------------------------------------------------------------
# "_" is not a hostname character but occurs in real DNS names (_dmarc, _domainkey, SRV records).
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")
_UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _to_ascii(label: str) -> str:
    """Punycode one non-ASCII label (UTS #46 mapping first, which may yield several labels)."""
    try:
        if _idna is not None:
            return _idna.encode(label, uts46=True).decode("ascii")
        return label.encode("idna").decode("ascii")  # pragma: no cover - IDNA 2003 fallback
    except (UnicodeError, ValueError) as exc:
        raise _Bad(f"label {label!r} is not a valid internationalised name ({exc})") from None


def _domain(s: str) -> str:
    s = s.translate(_UNICODE_DOTS).lower()
    s = s.removesuffix(".")  # the root label: "example.com." and "example.com" are the same name
    if not s:
        raise _Bad("empty domain")
    if _parses(ipaddress.ip_address, s):
        raise _Bad("this is an IP address, not a domain")
    labels: list[str] = []
    for label in s.split("."):
        # ASCII labels skip IDNA on purpose: IDNA 2008 refuses "--" in positions 3-4 and "_", both
        # of which occur in live host names (e.g. r3---sn-abc.googlevideo.com).
        labels.extend((label if label.isascii() else _to_ascii(label)).split("."))
    for label in labels:
        if not label:
            raise _Bad("empty label (two dots in a row)")
        if len(label) > 63:
            raise _Bad(f"label {label[:20]!r}... is longer than 63 characters")
        if not _LABEL.fullmatch(label):
            if label.startswith("-") or label.endswith("-"):
                raise _Bad(f"label {label!r} starts or ends with '-'")
            raise _Bad(f"label {label!r} may only contain letters, digits, '-' and '_'")
    if len(labels) < 2:
        raise _Bad("a domain needs at least one dot")
    if labels[-1].isdigit():
        raise _Bad("the top-level label is numeric, which resolvers would take for an IP address")
    result = ".".join(labels)
    if len(result) > 253:
        raise _Bad(f"the domain is {len(result)} characters long; at most 253 are allowed")
    return result


# --- URLs ----------------------------------------------------------------------------------------
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_SCHEME_WITHOUT_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]*(?:[/?]|$))")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PATH_LITERAL = _UNRESERVED | frozenset("!$&'()*+,;=:@/")  # RFC 3986 pchar and "/"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _normalise_path(path: str) -> str:
    """RFC 3986 6.2.2: decode escaped unreserved characters, upper-case the other escapes, and escape
    what may not appear literally. Reserved escapes such as %2F stay: decoding them changes meaning."""
    out: list[str] = []
    i = 0
    while i < len(path):
        escape = _ESCAPE.match(path, i)
        if escape:
            char = chr(int(escape.group(1), 16))
            out.append(char if char in _UNRESERVED else "%" + escape.group(1).upper())
            i += 3
            continue
        out.append(path[i] if path[i] in _PATH_LITERAL else quote(path[i], safe=""))
        i += 1
    return "".join(out) or "/"


def _host(hostport: str, scheme: str) -> str:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise _Bad("unclosed '[' around the host")
        host, after = "[" + _ipv6(hostport[1:close]) + "]", hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise _Bad(f"unexpected {after!r} after the IPv6 host")
        port = after[1:]
    else:
        name, _, port = hostport.partition(":")
        if ":" in port:
            raise _Bad("an IPv6 host must be written in brackets")
        if not name:
            raise _Bad("the URL has no host")
        try:
            host = _ipv4(name) if set(name) <= set("0123456789.") else _domain(name)
        except _Bad as exc:
            raise _Bad(f"host {name!r}: {exc.reason}") from None
    if not port:
        return host  # RFC 3986: an empty port is the default port
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise _Bad(f"port {port!r} is not a number from 0 to 65535")
    return host if _DEFAULT_PORTS.get(scheme) == int(port) else f"{host}:{int(port)}"


def _url(s: str) -> str:
    s = s.partition("#")[0]  # the fragment never leaves the browser, so it cannot identify a resource
    if any(unicodedata.category(c) == "Cc" for c in s):
        raise _Bad("contains control characters; escape them as %XX")
    scheme_match = _SCHEME.match(s)
    if scheme_match:
        scheme, rest = scheme_match.group(1).lower(), s[scheme_match.end() :]
    elif s.startswith("//"):
        scheme, rest = "http", s[2:]
    elif _SCHEME_WITHOUT_AUTHORITY.match(s):  # "mailto:x"; but "example.com:8080/" has a port
        raise _Bad("the URL has a scheme but no '//' and host")
    else:
        scheme, rest = "http", s  # "evil.example/path": reports often leave the scheme out
    # For these schemes browsers read a backslash as "/", so "http://evil.example\@good.example/" goes to
    # evil.example: the canonical form must name the host that is actually contacted.
    special = scheme in _DEFAULT_PORTS
    end = min((i for i in map(rest.find, "/?\\" if special else "/?") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    path, question, query = tail.partition("?")
    path = path.replace("\\", "/") if special else path
    userinfo, at, hostport = authority.rpartition("@")  # the last "@" is the one browsers use
    host = _host(hostport, scheme)
    userinfo = userinfo + "@" if userinfo else ""
    # The query is kept verbatim: servers differ on what its bytes mean, so nothing is "equivalent".
    return f"{scheme}://{userinfo}{host}{_normalise_path(path)}{question}{query}"


# --- other types -----------------------------------------------------------------------------------
_LOCAL_SPECIALS = frozenset('()<>[]\\,;:"@')
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')


def _email(s: str) -> str:
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1].strip()
    if s[:7].lower() == "mailto:":
        s = s[7:].strip()
    if s.startswith('"'):  # a quoted local part may contain "@" and spaces
        quoted = _QUOTED_LOCAL.match(s)
        if not quoted or s[quoted.end() : quoted.end() + 1] != "@":
            raise _Bad("a quoted local part must be closed and followed by '@'")
        local, domain = quoted.group(), s[quoted.end() + 1 :]
        if "@" in domain:
            raise _Bad("more than one '@' outside quotes")
    else:
        if s.count("@") != 1:
            raise _Bad(f"expected exactly one '@', found {s.count('@')}")
        local, _, domain = s.partition("@")
        if not local:
            raise _Bad("empty local part")
        if any(c in _LOCAL_SPECIALS or c.isspace() or not c.isprintable() for c in local):
            raise _Bad('the local part contains spaces or one of ()<>[]\\,;:" (quote it)')
    if len(local) > 64:
        raise _Bad("the local part is longer than 64 characters")
    try:
        # The local part keeps its case: RFC 5321 lets the receiving server decide what it means.
        return f"{local}@{_domain(domain)}"
    except _Bad as exc:
        raise _Bad(f"domain part: {exc.reason}") from None


def _hash(length: int) -> Callable[[str], str]:
    def canonical(s: str) -> str:
        if len(s) != length:
            raise _Bad(f"expected {length} hexadecimal characters, got {len(s)}")
        if not all(c in string.hexdigits for c in s):
            raise _Bad("contains characters that are not hexadecimal digits")
        return s.lower()

    return canonical


def _filename(s: str) -> str:
    # Windows paths, spaces and right-to-left overrides (a classic disguise) are all kept; only what
    # breaks lines or storage is refused.
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in s):
        raise _Bad("contains control characters such as NUL or a line break")
    return s


_ASN = re.compile(r"(?:ASN?)?\s*([0-9]+)", re.IGNORECASE | re.ASCII)


def _asn(s: str) -> str:
    m = _ASN.fullmatch(s)
    if not m:
        raise _Bad("expected an AS number such as AS13335")
    if not 0 < int(m.group(1)) < 2**32:
        raise _Bad("AS numbers run from 1 to 4294967295")
    return f"AS{int(m.group(1))}"


_CANONICALIZERS: dict[IndicatorType, Callable[[str], str]] = {
    T.IPV4: _ipv4,
    T.IPV6: _ipv6,
    T.IPV4_CIDR: lambda s: _cidr(s, 4),
    T.IPV6_CIDR: lambda s: _cidr(s, 6),
    T.DOMAIN: _domain,
    T.URL: _url,
    T.EMAIL: _email,
    T.MD5: _hash(32),
    T.SHA1: _hash(40),
    T.SHA256: _hash(64),
    T.SHA512: _hash(128),
    T.FILENAME: _filename,
    T.ASN: _asn,
}


def canonicalize(type_: IndicatorType | str, value: str) -> str:
    """The one spelling of ``value`` as a ``type_`` indicator; raises :class:`InvalidIndicator`."""
    try:
        t = IndicatorType(type_)
    except ValueError:
        raise InvalidIndicator(str(type_), value, "unknown indicator type") from None
    if not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value):
        raise InvalidIndicator(t, value, "contains unpaired surrogate characters")
    text = refang(value)
    if not text:
        raise InvalidIndicator(t, value, "empty value")
    try:
        # Normalising can uncover a defanging pattern (decoding "(%2E)" gives "(.)"), so refang and
        # normalise again until both agree: canonical values must be fixed points of refang. A round
        # that changes anything shortens the text or turns "hxxp" into "http", so this ends.
        while True:
            result = _CANONICALIZERS[t](text)
            text = refang(result)
            if text == result:
                return result
    except _Bad as exc:
        raise InvalidIndicator(t, value, exc.reason) from None


# --- detection and keys ----------------------------------------------------------------------------
_HASH_TYPES = {32: T.MD5, 40: T.SHA1, 64: T.SHA256, 128: T.SHA512}
_HEX = re.compile(r"[0-9A-Fa-f]+")
# Common file extensions that are not top-level domains ("invoice.pdf" is a file, never a host);
# .zip, .mov and .sh are real TLDs, so those stay ambiguous and are read as domains.
_FILE_EXTENSION = re.compile(
    r"exe|dll|sys|scr|pif|bat|cmd|vbs|vbe|jse?|wsf|hta|lnk|msi|jar|ps1|docx?|docm|xlsx?|xlsm|pptx?|pdf|rtf|txt"
    r"|csv|log|dat|bin|tmp|iso|img|rar|7z|t?gz|html?|php|aspx?|jpe?g|png|gif|bmp"
)


_IPV4_TEXT = "0123456789."  # "not s.strip(_IPV4_TEXT)": s is digits and dots only (quicker than a set test)
_DIGITS = frozenset("0123456789")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""Four decimal octets without leading zeros: the canonical form of an IPv4 address, and only that."""
_PLAIN_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
PLAIN_DOMAIN = re.compile(
    rf"(?!as)(?=.{{1,253}}\Z)(?:{_PLAIN_LABEL}\.)+(?!(?:{_FILE_EXTENSION.pattern})\Z)[a-z]{{1,63}}"
)
"""A name that is a canonical domain as written: lower-case ASCII labels of at most 63 characters that
neither start nor end with a hyphen, at most 253 characters in all, an alphabetic top-level label that is
no file extension, and not starting with "as" (an AS number's prefix). detect() answers such a name as a
domain, unchanged, without canonicalising it: lists of hundreds of thousands of them are common."""
PLAIN_VALUE = re.compile(rf"({CANONICAL_IPV4.pattern})|{PLAIN_DOMAIN.pattern}")
"""Either of the two: group 1 is set for an address. One expression run over every line of a list sorts
most of its values at C speed (see :mod:`commonspace.formats.lists`)."""


def detect_type(value: str) -> IndicatorType | None:
    """Guess the type of a pasted value, or None. File names are never guessed: anything can be one."""
    found = detect(value)
    return found[0] if found else None


def detect(value: str) -> tuple[IndicatorType, str] | None:
    """The guessed type of a pasted value and its canonical form, or None (see :func:`detect_type`).

    Cheap tests on the text pick the candidate types, so that a value is canonicalised about once.
    """

    def attempt(t: IndicatorType) -> tuple[IndicatorType, str] | None:
        try:
            return t, canonicalize(t, text)
        except InvalidIndicator:
            return None

    plain = PLAIN_VALUE.fullmatch(value)
    if plain is not None:  # what the general path below gives such a value, sooner
        return (T.IPV4 if plain.lastindex else T.DOMAIN), value
    text = refang(value)
    if not text:
        return None
    if _SCHEME.match(text):
        return attempt(T.URL)
    if "@" in text:
        return attempt(T.EMAIL)
    if "/" in text:
        return attempt(T.IPV6_CIDR if ":" in text else T.IPV4_CIDR)
    if ":" in text or text.startswith("["):
        return attempt(T.IPV6)
    if not text.strip(_IPV4_TEXT) and (ipv4 := attempt(T.IPV4)):
        return ipv4
    if len(text) in _HASH_TYPES and _HEX.fullmatch(text):
        return _HASH_TYPES[len(text)], text.lower()
    if text[:2].upper() == "AS" and (asn := attempt(T.ASN)):
        return asn
    domain = attempt(T.DOMAIN)
    if domain:
        tld = domain[1].rsplit(".", 1)[-1]
        if (tld.isalpha() or tld.startswith("xn--")) and not _FILE_EXTENSION.fullmatch(tld):
            return domain
    return None


def host_key(domain: str) -> str:
    """Reversed labels with a trailing dot: every subdomain's key starts with its parent's key, so
    "D and all below it" is the range ``key >= k and key < k[:-1] + "/"`` ("/" follows "." in ASCII)."""
    return ".".join(reversed(domain.split("."))) + "."


def parent_domains(domain: str) -> list[str]:
    """The domain itself and every ancestor up to the top-level label, most specific first."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def ip_networks_containing(ip: str, prefix_lengths: Iterable[int]) -> list[str]:
    """Canonical networks around ``ip``, one per prefix length, in the order given. Lengths that do
    not fit the address family are skipped, so one list such as [8, 16, 24, 32, 48, 64] serves both."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise InvalidIndicator("ip", ip, str(exc)) from None
    networks: list[str] = []
    for length in prefix_lengths:
        if 0 <= length <= address.max_prefixlen:
            network = _network_text(ipaddress.ip_network((address, length), strict=False))
            if network not in networks:
                networks.append(network)
    return networks


def network_prefix_length(cidr: str) -> int:
    """The prefix length of a CIDR string ("10.0.0.0/8" -> 8; a bare address counts as a host)."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen
    except ValueError as exc:
        raise InvalidIndicator("cidr", cidr, str(exc)) from None
