"""Suricata 7 rules from the indicators of an Exchange that are meant for detection (docs/formats.md).

One line per rule, each with ``msg``, ``classtype:bad-unknown`` (in every classification.config), a ``sid``
of ``sid_base`` plus the rule's position in the file, ``rev:1`` and, where known, ``metadata`` with the
report's and the indicator's UUIDs, the TLP and the confidence. Rule shapes:

- address or network: two rules, traffic from ``$HOME_NET`` to it and from it to ``$HOME_NET``, each limited
  to one alert an hour per host of ours (``threshold``), since every packet would match.
- domain: ``dns.query``, ``tls.sni`` and ``http.host``, each with ``dotprefix`` and ``endswith`` so that the
  domain and every name below it match, and nothing else (``notevil.example`` does not).
- URL (http, https, ws, wss): the host exactly (``http.host``, which holds no port) and the path with the
  query exactly (``http.uri``, or ``http.uri.raw`` when the path holds a percent escape, which ``http.uri``
  would see decoded). Only clear-text HTTP, or TLS that is decrypted before the sensor, can match.
- file name: ``file.name`` (the last part of a path), exactly and ignoring case.
- MD5, SHA-1, SHA-256: one rule for each list that is not empty, ``filemd5:md5.lst`` (``filesha1``,
  ``filesha256``); the lists come from :func:`to_suricata_datasets` and go beside the rules file.

Not expressible here and left out (the first comment lines count them): e-mail addresses, SHA-512 (Suricata
computes no SHA-512 of files), AS numbers and URLs of other schemes.

Escaping. Nothing written by users reaches a rule as it is. In ``content`` only printable ASCII other than
``"``, ``;``, ``:``, ``|`` and ``\\`` is written literally; every other byte of the UTF-8 text, space
included, is written in hexadecimal between pipes (``|22 3B|``), as the Suricata manual asks. In ``msg`` the
report title and the value are put on one line (control, format and separator characters become spaces)
and cut to length, then ``\\``, ``"`` and ``;`` are escaped with a backslash; ``|`` means nothing in ``msg``
and is kept. Comment lines hold only counts and type names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from commonspace.domain.vocab import IndicatorType
from commonspace.formats.detectable import Detectable, basename, clean_text, detectable, safe_uuid
from commonspace.formats.model import Exchange

T = IndicatorType
_MAX_SID = 2**32 - 1
_HASH_LISTS = {
    T.MD5: ("filemd5", "md5.lst", "MD5"),
    T.SHA1: ("filesha1", "sha1.lst", "SHA-1"),
    T.SHA256: ("filesha256", "sha256.lst", "SHA-256"),
}
_HTTP_SCHEMES = ("http", "https", "ws", "wss")
_LITERAL = frozenset(range(0x21, 0x7F)) - frozenset(b'";:|\\')
_HEADER = "# Commonspace detection rules for Suricata 7, generated: edit the reports, not this file."


@dataclass(frozen=True)
class _Rule:
    header: str  # action, protocol, addresses, ports and direction
    matches: str  # the options that match, each ending with ";"
    what: str  # what the msg says the rule saw
    found: Detectable | None = None  # None for the hash-list rules


def to_suricata(exchange: Exchange, *, sid_base: int = 1_000_000) -> bytes:
    """The rules file for the indicators of ``exchange`` whose ``to_detect`` is true."""
    if sid_base < 1:
        raise ValueError("sid_base must be at least 1")
    rules: list[_Rule] = []
    left_out: Counter[str] = Counter()
    for found in detectable(exchange):
        if found.type in _HASH_LISTS:
            continue
        shape = _SHAPES.get(found.type)
        made = shape(found) if shape else []
        if not made:
            left_out[found.type.value] += 1
        rules.extend(made)
    lists = to_suricata_datasets(exchange)
    for keyword, name, label in _HASH_LISTS.values():
        if lists[name]:
            what = f"file whose {label} is listed in {name}"
            rules.append(_Rule("alert ip any any -> any any", f"{keyword}:{name};", what))
    if sid_base + len(rules) - 1 > _MAX_SID:
        raise ValueError(f"sid_base {sid_base} leaves no room for {len(rules)} rules below 2^32")
    lines = [_HEADER, f"# {len(rules)} rules; sids from {sid_base}."]
    if left_out:
        counted = ", ".join(f"{count} {name}" for name, count in sorted(left_out.items()))
        lines.append(f"# Left out, not expressible in Suricata rules: {counted}.")
    lines.extend(_render(rule, sid_base + index) for index, rule in enumerate(rules))
    return ("\n".join(lines) + "\n").encode("utf-8")


def to_suricata_datasets(exchange: Exchange) -> dict[str, bytes]:
    """The hash lists the hash rules name: ``md5.lst``, ``sha1.lst`` and ``sha256.lst``, one lower-case
    hexadecimal value a line, sorted (an empty list is an empty file, and no rule names it)."""
    lists: dict[str, bytes] = {}
    for type_, (_, name, _) in _HASH_LISTS.items():
        values = sorted({found.value for found in detectable(exchange, [type_])})
        lists[name] = "".join(value + "\n" for value in values).encode("ascii")
    return lists


def _render(rule: _Rule, sid: int) -> str:
    if rule.found is None:
        msg, meta = f"Commonspace: {rule.what}", ""
    else:
        title = clean_text(rule.found.report.title, 100) or "untitled report"
        msg = f"Commonspace: {rule.what} {clean_text(rule.found.value, 80)} [{title}]"
        meta = _metadata(rule.found)
    options = f'msg:"{_msg(msg)}"; {rule.matches} classtype:bad-unknown; sid:{sid}; rev:1;{meta}'
    return f"{rule.header} ({options})"


# --- the shapes of rules --------------------------------------------------------------------------------
def _addresses(found: Detectable) -> list[_Rule]:
    address, kind = f"[{found.value}]", found.type.value
    limit = "threshold:type limit, track {}, count 1, seconds 3600;"  # per host of ours
    to_it, from_it = f"traffic to {kind}", f"traffic from {kind}"
    return [
        _Rule(f"alert ip $HOME_NET any -> {address} any", limit.format("by_src"), to_it, found),
        _Rule(f"alert ip {address} any -> $HOME_NET any", limit.format("by_dst"), from_it, found),
    ]


def _domain(found: Detectable) -> list[_Rule]:
    below = _content("." + found.value)
    to_server = "flow:established,to_server;"
    return [
        _Rule(
            "alert dns $HOME_NET any -> any any",
            f'dns.query; dotprefix; content:"{below}"; nocase; endswith;',
            "DNS query for domain",
            found,
        ),
        _Rule(
            "alert tls $HOME_NET any -> any any",
            f'{to_server} tls.sni; dotprefix; content:"{below}"; nocase; endswith;',
            "TLS SNI of domain",
            found,
        ),
        _Rule(  # http.host is lower-cased by Suricata, which refuses nocase on it
            "alert http $HOME_NET any -> any any",
            f'{to_server} http.host; dotprefix; content:"{below}"; endswith;',
            "HTTP host of domain",
            found,
        ),
    ]


def _url(found: Detectable) -> list[_Rule]:
    scheme, _, rest = found.value.partition("://")
    if scheme not in _HTTP_SCHEMES:
        return []
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    hostport, target = rest[:cut].rpartition("@")[2], rest[cut:] or "/"
    if hostport.startswith("[") and "]" in hostport:
        host = hostport[: hostport.index("]") + 1]
    else:
        host = hostport.partition(":")[0]
    buffer = "http.uri.raw" if "%" in target.partition("?")[0] else "http.uri"
    matches = (
        f'flow:established,to_server; http.host; content:"{_content(host.lower())}"; startswith; endswith; '
        f'{buffer}; content:"{_content(target)}"; startswith; endswith;'
    )
    return [_Rule("alert http $HOME_NET any -> any any", matches, "URL", found)]


def _filename(found: Detectable) -> list[_Rule]:
    name = basename(found.value)
    if not name:
        return []
    matches = f'file.name; content:"{_content(name)}"; nocase; startswith; endswith;'
    return [_Rule("alert ip any any -> any any", matches, "file name", found)]


_SHAPES: dict[IndicatorType, Callable[[Detectable], list[_Rule]]] = {
    T.IPV4: _addresses,
    T.IPV6: _addresses,
    T.IPV4_CIDR: _addresses,
    T.IPV6_CIDR: _addresses,
    T.DOMAIN: _domain,
    T.URL: _url,
    T.FILENAME: _filename,
}


# --- escaping ------------------------------------------------------------------------------------------
def _content(text: str) -> str:
    """``text`` as the inside of a Suricata ``content:"..."``: unsafe bytes in hexadecimal between pipes."""
    out: list[str] = []
    hex_run: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _LITERAL:
            if hex_run:
                out.append("|" + " ".join(hex_run) + "|")
                hex_run = []
            out.append(chr(byte))
        else:
            hex_run.append(f"{byte:02X}")
    if hex_run:
        out.append("|" + " ".join(hex_run) + "|")
    return "".join(out)


def _msg(text: str) -> str:
    """``text`` (already on one line) as the inside of ``msg:"..."``."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace(";", "\\;")


def _metadata(found: Detectable) -> str:
    pairs: list[str] = []
    if report := safe_uuid(found.report.uuid):
        pairs.append(f"commonspace_report {report}")
    if indicator := safe_uuid(found.item.uuid):
        pairs.append(f"commonspace_indicator {indicator}")
    if found.report.tlp is not None:
        pairs.append("tlp " + found.report.tlp.value.lower().replace("+", "_"))
    if found.item.confidence is not None and 0 <= found.item.confidence <= 100:
        pairs.append(f"confidence {found.item.confidence}")
    return f" metadata:{', '.join(pairs)};" if pairs else ""
