"""Detection rules out: Suricata rules, a Zeek Intel file, a DNS RPZ zone and plain blocklists.

Every writer reads only the indicators whose ``to_detect`` is true, canonical, each once
(:mod:`commonspace.formats.detectable`). The Suricata writer lives in :mod:`commonspace.formats.suricata`
and is offered here too; docs/formats.md shows every output.

- :func:`to_zeek_intel`: the Intel framework's input file, TAB-separated under a ``#fields`` line. URLs are
  written without their scheme and user information, as Zeek's HTTP analysis sees them; file names by their
  last part. A backslash and any character that is not printable are written as ``\\xNN`` escapes of their
  UTF-8 bytes (Zeek's reader undoes them), as is a leading ``#`` (``\\x23``, or Zeek would skip the line),
  so no field holds a tab or a line break; in descriptions these become spaces first. An empty field is
  ``-``. Left out: SHA-512 (Zeek hashes files with MD5, SHA-1 and SHA-256) and AS numbers.
- :func:`to_rpz`: a Response Policy Zone (draft-vixie-dnsop-dns-rpz) answering NXDOMAIN (``CNAME .``) for
  every domain, the names below it (``*.``), and the hosts of URLs; addresses and networks become
  ``rpz-ip`` triggers (prefix length, then the address reversed, IPv6 with ``zz`` for ``::``). Left out:
  networks of prefix length 0, names too long under the origin, and names whose last label starts with
  ``rpz-`` (the RPZ trigger labels).
- :func:`to_blocklist`: canonical values, one a line, sorted, each once.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable

from commonspace.domain import canonical
from commonspace.domain.vocab import IndicatorType
from commonspace.formats.detectable import Detectable, basename, clean_text, detectable
from commonspace.formats.model import Exchange
from commonspace.formats.suricata import to_suricata, to_suricata_datasets

__all__ = ["to_blocklist", "to_rpz", "to_suricata", "to_suricata_datasets", "to_zeek_intel"]

T = IndicatorType


# --- plain blocklists -----------------------------------------------------------------------------------
def to_blocklist(exchange: Exchange, types: set[IndicatorType] | None = None) -> bytes:
    """The canonical values of the indicators to detect (of ``types`` only, when given), one a line."""
    values = {found.value for found in detectable(exchange, types)}
    # Canonical values hold no line break; the check keeps a future type from breaking the list.
    lines = sorted(value for value in values if len(value.splitlines()) == 1 and value == value.strip())
    return "".join(line + "\n" for line in lines).encode("utf-8")


# --- Zeek Intel -------------------------------------------------------------------------------------------
ZEEK_FIELDS = ("indicator", "indicator_type", "meta.source", "meta.desc", "meta.url")
_ZEEK_TYPES = {
    T.IPV4: "Intel::ADDR",
    T.IPV6: "Intel::ADDR",
    T.IPV4_CIDR: "Intel::SUBNET",
    T.IPV6_CIDR: "Intel::SUBNET",
    T.DOMAIN: "Intel::DOMAIN",
    T.URL: "Intel::URL",
    T.EMAIL: "Intel::EMAIL",
    T.MD5: "Intel::FILE_HASH",
    T.SHA1: "Intel::FILE_HASH",
    T.SHA256: "Intel::FILE_HASH",
    T.FILENAME: "Intel::FILE_NAME",
}


def to_zeek_intel(exchange: Exchange, *, source: str = "Commonspace", report_url: str | None = None) -> bytes:
    """The Zeek Intel file. ``meta.source`` is ``source``; ``meta.url`` is ``report_url`` with ``{uuid}``
    replaced by the report's UUID (``-`` without either)."""
    lines = ["#fields\t" + "\t".join(ZEEK_FIELDS)]
    seen: set[tuple[str, str]] = set()
    meta_source = _zeek_text(clean_text(source, 100))
    if meta_source in ("", "-", "(empty)"):  # meta.source may not be unset
        meta_source = "Commonspace"
    for found in detectable(exchange, _ZEEK_TYPES):
        indicator = _zeek_indicator(found)
        kind = _ZEEK_TYPES[found.type]
        if not indicator or (indicator, kind) in seen:
            continue
        seen.add((indicator, kind))
        title = clean_text(found.report.title, 200) or "untitled report"
        comment = clean_text(found.item.comment, 200)
        desc = f"{title} ({found.type.value}{': ' + comment if comment else ''})"
        url = report_url.replace("{uuid}", found.report.uuid) if report_url and found.report.uuid else ""
        fields = [indicator, kind, meta_source, _zeek_text(desc), _zeek_text(clean_text(url, 500))]
        lines.append("\t".join(field or "-" for field in fields))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _zeek_indicator(found: Detectable) -> str:
    value = found.value
    if found.type is T.URL:
        rest = value.partition("://")[2]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        value = rest[:cut].rpartition("@")[2] + rest[cut:]
    elif found.type is T.FILENAME:
        value = basename(value)
    if value in ("-", "(empty)"):
        return ""  # Zeek would read it as no value at all
    text = _zeek_text(value)
    return "\\x23" + text[1:] if text.startswith("#") else text


def _zeek_text(text: str) -> str:
    """``text`` as a field that Zeek's ASCII reader reads back as it was: a backslash, and every character
    that is not printable (tabs and line breaks among them), as ``\\xNN`` escapes of its UTF-8 bytes."""
    return "".join(
        c if c.isprintable() and c != "\\" else "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "replace"))
        for c in text
    )


# --- DNS Response Policy Zone -------------------------------------------------------------------------
_NAME_TYPES = (T.DOMAIN, T.URL)
_IP_TYPES = (T.IPV4, T.IPV6, T.IPV4_CIDR, T.IPV6_CIDR)


def to_rpz(exchange: Exchange, *, origin: str = "rpz.commonspace.local", serial: int | None = None) -> bytes:
    """The RPZ zone file. ``serial`` defaults to the current Unix time."""
    try:
        zone = canonical.canonicalize(T.DOMAIN, origin)
    except canonical.InvalidIndicator as exc:
        raise ValueError(f"origin {origin!r} is not a domain name: {exc.reason}") from None
    serial = int(time.time()) if serial is None else serial
    if not 0 <= serial < 2**32:
        raise ValueError("the serial must be a number from 0 to 4294967295")
    hosts = sorted(set(_rpz_hosts(detectable(exchange, _NAME_TYPES), zone)))
    names = [name for host in hosts for name in (host, f"*.{host}")]
    triggers = sorted(set(_rpz_ip_triggers(detectable(exchange, _IP_TYPES))))
    lines = [
        "; Commonspace response policy zone, generated: edit the reports, not this file.",
        f"$ORIGIN {zone}.",
        "$TTL 300",
        f"@ IN SOA localhost. hostmaster.localhost. {serial} 3600 600 2592000 300",
        "@ IN NS localhost.",
        f"; {len(names)} names and {len(triggers)} address triggers answer NXDOMAIN.",
    ]
    lines.extend(f"{owner} IN CNAME ." for owner in [*names, *triggers])
    return ("\n".join(lines) + "\n").encode("ascii")


def _rpz_hosts(found: Iterable[Detectable], zone: str) -> Iterable[str]:
    for item in found:
        host = _url_host(item.value) if item.type is T.URL else item.value
        if host is None:  # a URL of an address: no name is looked up, so there is nothing to answer
            continue
        if host.rsplit(".", 1)[-1].startswith("rpz-") or _wire_length(f"*.{host}.{zone}") > 255:
            continue
        yield host


def _url_host(url: str) -> str | None:
    """The domain a canonical URL names, or None when its host is an address."""
    rest = url.partition("://")[2]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    hostport = rest[:cut].rpartition("@")[2]
    host = hostport.partition(":")[0]
    if hostport.startswith("[") or all(c.isdigit() or c == "." for c in host):
        return None
    return host


def _wire_length(name: str) -> int:
    return sum(len(label) + 1 for label in name.split(".")) + 1


def _rpz_ip_triggers(found: Iterable[Detectable]) -> Iterable[str]:
    for item in found:
        network = ipaddress.ip_network(item.value, strict=False)
        if network.prefixlen == 0:
            continue  # it would match every answer
        yield _rpz_ip(network)


def _rpz_ip(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """``prefix.reversed-address.rpz-ip``: IPv4 octets reversed; IPv6 16-bit words reversed in hexadecimal
    without leading zeros, the RFC 5952 ``::`` written ``zz``."""
    address = network.network_address
    if isinstance(address, ipaddress.IPv4Address):
        words = str(address).split(".")
    else:
        # Built from the bytes: Python's own text form writes IPv4-mapped addresses with dots since 3.13.
        numbers = [int.from_bytes(address.packed[i : i + 2], "big") for i in range(0, 16, 2)]
        words = [f"{n:x}" for n in numbers]
        start, length = _longest_zero_run(numbers)
        if length > 1:  # RFC 5952: "::" stands for two or more zero words, the first longest run
            words[start : start + length] = ["zz"]
    return ".".join([str(network.prefixlen), *reversed(words), "rpz-ip"])


def _longest_zero_run(numbers: list[int]) -> tuple[int, int]:
    best = (0, 0)
    run_start = None
    for i, n in enumerate([*numbers, 1]):
        if n == 0 and run_start is None:
            run_start = i
        elif n != 0 and run_start is not None:
            if i - run_start > best[1]:
                best = (run_start, i - run_start)
            run_start = None
    return best
