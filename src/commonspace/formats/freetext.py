"""Indicators in free text: a pasted e-mail, a list, a report, typed with our types and canonical.

:func:`extract` works in two stages:

1. A maintained IOC extraction library, ``ioc-finder``, proposes candidates (URLs, e-mail addresses,
   IPv4 and IPv6 addresses and networks, domains, MD5/SHA-1/SHA-256/SHA-512 hashes, AS numbers). It knows
   the IANA top-level domains, so ``e.g.``, ``report.pdf`` or ``version 1.2`` never become domains (nor,
   for the same reason, names under the reserved ``.example``, ``.test`` or ``.invalid``).
2. Each candidate is then located in the text itself, allowing only the defanging conventions our
   canonicaliser undoes (``hxxp``, ``[.]``, ``(dot)``, ``[at]``, ``[:]`` ...), and every occurrence passes
   through ``commonspace.domain.canonical`` (refang, detect, canonicalize): only values our canonicaliser
   accepts come out, typed with our types. A candidate the library found through its own, wider fanging
   rules (``evil DOT com``) is not in the text under ours and is dropped: precision first.

Every stretch of text belongs to at most one indicator, the most specific: a domain inside a URL or an
e-mail address, or an address inside a network, is not counted again on its own. Values of one type with
the same canonical form are merged: the first occurrence (its spelling and position) is kept, and counted.

Why ioc-finder: it was compared with ``iocsearcher`` on realistic texts (defanged URLs, addresses and
e-mail addresses, networks, all four hash lengths, IPv6, domains next to punctuation, prose with "e.g.",
"i.e.", version numbers and file names such as report.pdf). Both kept prose out and both refanged well;
both read main.py and README.md as domains (.py and .md are country domains, so that is fair).
iocsearcher cut URLs more cleanly before trailing sentence punctuation, but it drops private and
documentation addresses (10.0.0.5, 192.0.2.1, 2001:db8::1, which internal incidents and examples
use), knows no IPv6 networks, no SHA-512 and no AS numbers, reports the address of a network a second
time, and pulls in some fifteen packages (PDF, HTML, Office and crypto-currency parsers, libmagic).
ioc-finder missed nothing of ours and had one kind of false positive: the end of a URL taken too far, with
sentence punctuation (``http://evil.example/a.``) or a closing ``>``. Trimming that here made it as
precise as iocsearcher on the same texts, so it is used, with that trim.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from commonspace.domain import canonical
from commonspace.domain.vocab import IndicatorType


@functools.cache
def _finder() -> Callable[..., dict[str, Any]]:
    """ioc-finder's ``find_iocs``, imported on first use: building its grammar takes half a second, which
    every command would otherwise pay."""
    with warnings.catch_warnings():
        # pyparsing (under ioc-finder) emits diagnostic warnings about ioc-finder's grammar at import time.
        warnings.simplefilter("ignore")
        from ioc_finder import find_iocs

    return find_iocs  # type: ignore[no-any-return]


T = IndicatorType

# The library's kinds, our types in the order their occurrences claim text (most specific first), and
# the types a candidate of each kind may turn out to be once our canonicaliser has looked at it.
_KINDS: tuple[tuple[str, frozenset[IndicatorType]], ...] = (
    ("urls", frozenset({T.URL})),
    ("email_addresses", frozenset({T.EMAIL})),
    ("ipv6_cidrs", frozenset({T.IPV6_CIDR})),
    ("ipv4_cidrs", frozenset({T.IPV4_CIDR})),
    ("ipv6s", frozenset({T.IPV6})),
    ("ipv4s", frozenset({T.IPV4})),
    ("sha512s", frozenset({T.SHA512})),
    ("sha256s", frozenset({T.SHA256})),
    ("sha1s", frozenset({T.SHA1})),
    ("md5s", frozenset({T.MD5})),
    ("asns", frozenset({T.ASN})),
    ("domains", frozenset({T.DOMAIN})),
)

# Sentence punctuation that ioc-finder leaves at the end of a URL ("see http://x.example/a."), and the
# characters that may not appear in a URL at all, which it keeps too ("<http://x.example/a>").
_URL_TAIL = ".,;:!?'\""
_NOT_IN_URLS = ("<", ">", '"')


@dataclass(frozen=True)
class Found:
    """One indicator found in a text: its type, its first spelling there, its canonical form, where it
    first occurs (``position`` from 0, ``line`` and ``column`` from 1) and how many times it occurs."""

    type: IndicatorType
    value: str
    canonical: str
    position: int
    line: int
    column: int
    count: int


def extract(text: str) -> list[Found]:
    """The indicators in ``text``, in the order of their first occurrence."""
    if not text.strip():
        return []
    claimed = bytearray(len(text))  # 1 where an occurrence already took the character
    found: dict[tuple[IndicatorType, str], list[Any]] = {}  # key -> [position, spelling, count]
    for kind, types, candidate in _candidates(text):
        for match in _locator(kind, candidate).finditer(text):
            start, end = match.span()
            if 1 in claimed[start:end]:
                continue
            accepted = _accept(kind, types, match.group())
            if accepted is None:
                continue
            claimed[start:end] = b"\x01" * (end - start)
            entry = found.get(accepted)
            if entry is None:
                found[accepted] = [start, match.group(), 1]
            else:
                entry[2] += 1
                if start < entry[0]:
                    entry[0], entry[1] = start, match.group()
    results = []
    for (type_, value), (start, spelling, count) in found.items():
        line_start = text.rfind("\n", 0, start) + 1
        line = text.count("\n", 0, start) + 1
        results.append(Found(type_, spelling, value, start, line, start - line_start + 1, count))
    return sorted(results, key=lambda f: f.position)


def _candidates(text: str) -> Iterable[tuple[str, frozenset[IndicatorType], str]]:
    """What ioc-finder proposes, kind by kind in claiming order, longest first within a kind (so that
    ``c2.evil.example`` claims its text before ``evil.example`` could)."""
    proposed: dict[str, list[str]] = _finder()(
        text,
        included_ioc_types=[kind for kind, _ in _KINDS],
        parse_from_url_path=False,
        parse_address_from_cidr=False,
        parse_unicode_iocs=True,
    )
    for kind, types in _KINDS:
        values = set(proposed.get(kind) or ())
        if kind == "urls":
            values = {_trim_url(value) for value in values}
        for value in sorted(values, key=lambda v: (-len(v), v)):
            if value:
                yield kind, types, value


def _trim_url(value: str) -> str:
    for stop in _NOT_IN_URLS:
        value = value.partition(stop)[0]
    return value.rstrip(_URL_TAIL)


def _accept(kind: str, types: frozenset[IndicatorType], written: str) -> tuple[IndicatorType, str] | None:
    """(type, canonical) of an occurrence when our canonicaliser agrees it is of the kind; else None."""
    if kind == "urls":
        try:
            return T.URL, canonical.canonicalize(T.URL, written)  # detect() wants a scheme; reports don't
        except canonical.InvalidIndicator:
            return None
    detected = canonical.detect(written)  # detect, not canonicalize: it keeps "invoice.pdf" from domains
    if detected is None or detected[0] not in types:
        return None
    return detected


# --- locating a candidate in the text, as written ------------------------------------------------------
# Exactly the defanging forms canonical.refang undoes, so every spelling found refangs to the candidate.
_DOT = r"(?:\.|\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\})"
_AT = r"(?:@|\[(?:@|at)\]|\((?:@|at)\)|\{(?:@|at)\})"
_COLON = r"(?::|\[:\])"
_PIECES: dict[str, str] = {".": _DOT, "@": _AT, ":": _COLON}
_SCHEMES = (("https", r"h(?:tt|xx)ps"), ("http", r"h(?:tt|xx)p"), ("ftp", r"f(?:t|x)p"))
# Not inside a longer word, name or address: "1.2.3.4" is not found in "v1.2.3.45" nor "evil.example"
# in "c2.evil.example" or "evil.example.org". Addresses of IPv6 also end at a colon.
_BEFORE = r"(?<![\w.-])"
_AFTER = r"(?![\w-]|\.\w)"
_BOUNDS: dict[str, tuple[str, str]] = {
    "email_addresses": (r"(?<![\w.+-])", _AFTER),
    "ipv6s": (r"(?<![\w.:-])", r"(?![\w:-]|\.\w)"),
    "ipv6_cidrs": (r"(?<![\w.:-])", _AFTER),
    "asns": (r"(?<![\w-])", r"(?![\w-])"),
}


def _body(candidate: str) -> str:
    """The pattern of ``candidate`` written plainly or defanged."""
    out = []
    lower = candidate.lower()
    i = 0
    for plain, fanged in _SCHEMES:
        if lower.startswith(plain + ":"):
            out.append(fanged)
            i = len(plain)
            if candidate.startswith("://", i):
                out.append(r"(?:\[://\]|" + _COLON + "//)")
                i += 3
            break
    for char in candidate[i:]:
        out.append(_PIECES.get(char) or re.escape(char))
    return "".join(out)


def _asn_body(candidate: str) -> str:
    """ioc-finder writes every AS number "ASN<digits>"; the text may say AS13335, ASN 13335, as13335."""
    return r"AS(?:N\s?|\s)?" + re.escape(candidate.upper().removeprefix("ASN").removeprefix("AS"))


def _locator(kind: str, candidate: str) -> re.Pattern[str]:
    before, after = _BOUNDS.get(kind, (_BEFORE, _AFTER))
    body: Callable[[str], str] = _asn_body if kind == "asns" else _body
    return re.compile(before + body(candidate) + after, re.IGNORECASE)
