"""Detection rules out: Suricata rules, Zeek Intel files, RPZ zones and blocklists.

Suricata and Zeek are not packaged here, so their files are checked by strict grammar checkers written from
their manuals (below): a rule must parse completely — header, address and port groups, direction, every
option with its quoting and escapes, content hex segments, buffers and modifiers in a valid order — and the
checkers hand back what the rule means (its msg and contents, unescaped) so that tests can compare it with
what went in. The RPZ zone is parsed by dnspython's zone parser, a real one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.canonical import canonicalize
from commonspace.domain.vocab import TLP, IndicatorType
from commonspace.formats.detectable import clean_text
from commonspace.formats.model import Exchange, IndicatorItem, ReportItem
from commonspace.formats.rules import to_blocklist, to_rpz, to_suricata, to_suricata_datasets, to_zeek_intel

T = IndicatorType
MD5, SHA1 = "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA512 = hashlib.sha512(b"").hexdigest()
HOSTILE_TITLE = 'Wave "one"; sid:1; rev:1;)\nalert ip any any -> any any (msg:"owned"; sid:2;) |00| \\ end'


# --- a strict checker of Suricata rules -------------------------------------------------------------------
class RuleError(AssertionError):
    pass


ACTIONS = {"alert", "pass", "drop", "reject", "rejectsrc", "rejectdst", "rejectboth"}
PROTOCOLS = {
    "ip",
    "tcp",
    "udp",
    "icmp",
    "http",
    "http2",
    "ftp",
    "ftp-data",
    "tls",
    "smb",
    "dns",
    "smtp",
    "nfs",
}
STICKY = {"dns.query", "tls.sni", "http.host", "http.uri", "http.uri.raw", "file.name"}
TRANSFORMS = {"dotprefix"}
MODIFIERS = {"nocase", "startswith", "endswith"}
# Options with a value and what the value must look like (None: a quoted string).
VALUED: dict[str, re.Pattern[str] | None] = {
    "msg": None,
    "content": None,
    "sid": re.compile(r"[1-9][0-9]*"),
    "rev": re.compile(r"[1-9][0-9]*"),
    "classtype": re.compile(r"[a-z0-9-]+"),
    "flow": re.compile(r"(?:established|to_server|to_client)(?:,(?:established|to_server|to_client))*"),
    "threshold": re.compile(
        r"type (?:limit|threshold|both), track by_(?:src|dst), count [0-9]+, seconds [0-9]+"
    ),
    "metadata": re.compile(r"[a-z0-9_]+ [A-Za-z0-9_.+-]+(?:, [a-z0-9_]+ [A-Za-z0-9_.+-]+)*"),
    "filemd5": re.compile(r"!?[A-Za-z0-9._-]+"),
    "filesha1": re.compile(r"!?[A-Za-z0-9._-]+"),
    "filesha256": re.compile(r"!?[A-Za-z0-9._-]+"),
}
VALUELESS = STICKY | TRANSFORMS | MODIFIERS


@dataclass
class Content:
    buffer: str
    data: bytes
    transforms: list[str] = field(default_factory=list)
    modifiers: list[str] = field(default_factory=list)


@dataclass
class Rule:
    action: str
    protocol: str
    source: str
    direction: str
    destination: str
    options: list[tuple[str, str | None]]
    msg: str = ""
    sid: int = 0
    contents: list[Content] = field(default_factory=list)

    def option(self, name: str) -> str | None:
        values = [value for key, value in self.options if key == name]
        return values[0] if values else None


class RuleParser:
    """action proto src_addr src_port direction dst_addr dst_port (options): the Suricata rule grammar."""

    def __init__(self, line: str) -> None:
        self.s, self.i = line, 0

    def fail(self, what: str) -> RuleError:
        return RuleError(f"{what} at {self.i}: {self.s[: self.i]}⟦{self.s[self.i : self.i + 30]}⟧")

    def expect(self, text: str) -> None:
        if not self.s.startswith(text, self.i):
            raise self.fail(f"expected {text!r}")
        self.i += len(text)

    def word(self, pattern: str) -> str:
        m = re.compile(pattern).match(self.s, self.i)
        if not m:
            raise self.fail(f"expected {pattern}")
        self.i = m.end()
        return m.group()

    def spaces(self) -> None:
        self.word(r" *")

    def group(self, item: Callable[[], None]) -> str:
        start = self.i
        if self.s.startswith("!", self.i):
            self.i += 1
            self.group(item)
        elif self.s.startswith("[", self.i):
            self.i += 1
            self.spaces()
            self.group(item)
            self.spaces()
            while self.s.startswith(",", self.i):
                self.i += 1
                self.spaces()
                self.group(item)
                self.spaces()
            self.expect("]")
        else:
            item()
        return self.s[start : self.i]

    def address(self) -> None:
        token = self.word(r"[^\s,\[\]!]+")
        if token == "any" or re.fullmatch(r"\$[A-Z_][A-Z0-9_]*", token):
            return
        try:
            ipaddress.ip_network(token, strict=True)
        except ValueError:
            raise self.fail(f"{token!r} is not an address, network, variable or any") from None

    def port(self) -> None:
        token = self.word(r"[^\s,\[\]!]+")
        if token == "any" or re.fullmatch(r"\$[A-Z_][A-Z0-9_]*", token):
            return
        m = re.fullmatch(r"([0-9]*)(:?)([0-9]*)", token)
        if not m or not (m.group(1) or m.group(3)) or (not m.group(2) and m.group(3)):
            raise self.fail(f"{token!r} is not a port or range")
        if any(int(n) > 65535 for n in (m.group(1), m.group(3)) if n):
            raise self.fail(f"port {token!r} is above 65535")

    def quoted(self) -> str:
        """A quoted option value; inside it ``"``, ``;`` and ``\\`` must be escaped, nothing else may be."""
        self.expect('"')
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise self.fail("unterminated string")
            char = self.s[self.i]
            if char == "\\":
                following = self.s[self.i + 1 : self.i + 2]
                if following not in ('"', ";", "\\", ":"):
                    raise self.fail(f"bad escape \\{following}")
                out.append(following)
                self.i += 2
            elif char == '"':
                self.i += 1
                return "".join(out)
            elif char == ";" or not char.isprintable():
                raise self.fail(f"{char!r} unescaped inside a string")
            else:
                out.append(char)
                self.i += 1

    def options(self) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        while True:
            self.spaces()
            if self.s.startswith(")", self.i):
                self.i += 1
                return found
            name = self.word(r"[a-z][a-z0-9_.-]*")
            if self.s.startswith(";", self.i):
                self.i += 1
                if name not in VALUELESS:
                    raise self.fail(f"option {name} needs a value")
                found.append((name, None))
                continue
            self.expect(":")
            if name not in VALUED:
                raise self.fail(f"unknown option {name}")
            pattern = VALUED[name]
            if pattern is None:
                value = self.quoted()
            else:
                value = self.word(r"[^;\"\\\n]*")
                if not pattern.fullmatch(value):
                    raise self.fail(f"{name} value {value!r}")
            self.expect(";")
            found.append((name, value))

    def rule(self) -> Rule:
        action = self.word(r"[a-z]+")
        if action not in ACTIONS:
            raise self.fail(f"unknown action {action}")
        self.expect(" ")
        protocol = self.word(r"[a-z0-9-]+")
        if protocol not in PROTOCOLS:
            raise self.fail(f"unknown protocol {protocol}")
        self.expect(" ")
        source = self.group(self.address)
        self.expect(" ")
        self.group(self.port)
        self.expect(" ")
        direction = self.word(r"->|<>")
        self.expect(" ")
        destination = self.group(self.address)
        self.expect(" ")
        self.group(self.port)
        self.expect(" (")
        options = self.options()
        if self.i != len(self.s):
            raise self.fail("text after the closing parenthesis")
        return Rule(action, protocol, source, direction, destination, options)


def content_bytes(text: str) -> bytes:
    """The bytes of a content value; our writer must hex-encode ``"``, ``;``, ``:``, ``\\`` and ``|``."""
    out = bytearray()
    parts = text.split("|")
    if len(parts) % 2 == 0:
        raise RuleError(f"unbalanced | in content {text!r}")
    for index, part in enumerate(parts):
        if index % 2:
            if not re.fullmatch(r"[0-9A-F]{2}(?: [0-9A-F]{2})*", part):
                raise RuleError(f"bad hex segment |{part}|")
            out.extend(bytes.fromhex(part))
        else:
            if any(c in part for c in '";:\\') or not all(0x21 <= ord(c) < 0x7F for c in part):
                raise RuleError(f"unsafe literal characters in content {part!r}")
            out.extend(part.encode("ascii"))
    return bytes(out)


def parse_rule(line: str) -> Rule:
    rule = RuleParser(line).rule()
    names = [name for name, _ in rule.options]
    for required in ("msg", "sid", "rev", "classtype"):
        if names.count(required) != 1:
            raise RuleError(f"{required} appears {names.count(required)} times")
    rule.msg = rule.option("msg") or ""
    rule.sid = int(rule.option("sid") or 0)
    buffer: str | None = None
    last: str | None = None
    for name, value in rule.options:
        if name in STICKY:
            buffer = name
        elif name in TRANSFORMS:
            if last not in STICKY | TRANSFORMS:
                raise RuleError(f"{name} must follow a sticky buffer")
        elif name == "content":
            assert value is not None
            if buffer is None:
                raise RuleError("content outside a sticky buffer")
            transforms = [n for n, _ in rule.options if n in TRANSFORMS] if last in TRANSFORMS else []
            rule.contents.append(Content(buffer, content_bytes(value), transforms))
        elif name in MODIFIERS:
            if last not in MODIFIERS | {"content"}:
                raise RuleError(f"{name} must follow a content")
            rule.contents[-1].modifiers.append(name)
            if name == "nocase" and rule.contents[-1].buffer == "http.host":
                raise RuleError("Suricata refuses nocase on http.host")
        last = name
    return rule


def parse_rules(text: str) -> list[Rule]:
    assert text.endswith("\n")
    rules = []
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            assert line.isprintable()
            continue
        rules.append(parse_rule(line))
    sids = [rule.sid for rule in rules]
    assert len(set(sids)) == len(sids), "sids must be unique"
    return rules


def test_the_checker_refuses_broken_rules() -> None:
    good = (
        'alert dns $HOME_NET any -> any any (msg:"a\\;b"; dns.query; content:"x|3B|y"; nocase; '
        "sid:1; rev:1; classtype:bad-unknown;)"
    )
    assert parse_rule(good).msg == "a;b"
    broken = [
        good.replace("a\\;b", "a;b"),  # an unescaped semicolon ends the option inside the string
        good.replace("a\\;b", 'a"b'),
        good.replace("x|3B|y", "x;y"),
        good.replace("x|3B|y", "x|3B"),
        good.replace("x|3B|y", "x|3G|y"),
        good.replace("dns.query; ", ""),  # content outside a buffer
        good.replace("nocase; ", "nocase; nocase; dotprefix; "),
        good.replace("$HOME_NET", "[$HOME_NET,"),
        good.replace("any ->", "99999 ->"),
        good.replace("->", "<-"),
        good.replace("sid:1; ", ""),
        good + " x",
        good.replace("dns", "dnz", 1),
        'alert ip [10.0.0.1/8] any -> any any (msg:"x"; sid:1; rev:1; classtype:bad-unknown;)',
    ]
    for line in broken:
        with pytest.raises(RuleError):
            parse_rule(line)


# --- the checker of Zeek Intel files ------------------------------------------------------------------
ZEEK_HEADER = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url"
ZEEK_TYPES = {
    "Intel::ADDR",
    "Intel::SUBNET",
    "Intel::DOMAIN",
    "Intel::URL",
    "Intel::EMAIL",
    "Intel::FILE_HASH",
    "Intel::FILE_NAME",
}


def zeek_unescape(field: str) -> str | None:
    if field == "-":
        return None
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), field.encode("utf-8"))
    return raw.decode("utf-8")


def parse_zeek(text: str) -> list[list[str | None]]:
    """Rows as Zeek's ASCII input reader reads them, after checking the file strictly."""
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert lines[0] == ZEEK_HEADER
    rows = []
    for line in lines[1:]:
        assert not line.startswith("#"), line
        fields = line.split("\t")
        assert len(fields) == 5, line
        assert all(f and f.isprintable() for f in fields), line
        indicator, kind, source = fields[0], fields[1], fields[2]
        assert kind in ZEEK_TYPES and source != "-"
        if kind == "Intel::ADDR":
            ipaddress.ip_address(indicator)
        elif kind == "Intel::SUBNET":
            ipaddress.ip_network(indicator, strict=True)
        elif kind == "Intel::URL":
            assert "://" not in indicator
        elif kind == "Intel::FILE_HASH":
            assert re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}", indicator)
        rows.append([zeek_unescape(f) for f in fields])
    return rows


# --- the RPZ zone, through dnspython -----------------------------------------------------------------------
LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")


def rpz_network(labels: list[str]) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Decode ``prefix.reversed-address`` (labels without rpz-ip) as the draft writes it."""
    prefix, words = int(labels[0]), list(reversed(labels[1:]))
    if len(words) == 4 and all(w.isdigit() for w in words):
        return ipaddress.IPv4Network(f"{'.'.join(words)}/{prefix}", strict=True)
    assert all(re.fullmatch(r"[0-9a-f]{1,4}|zz", w) for w in words) and words.count("zz") <= 1
    if "zz" in words:
        cut = words.index("zz")
        text = ":".join(words[:cut]) + "::" + ":".join(words[cut + 1 :])
    else:
        assert len(words) == 8
        text = ":".join(words)
    return ipaddress.IPv6Network(f"{text}/{prefix}", strict=True)


def parse_rpz(text: bytes, origin: str = "rpz.commonspace.local") -> tuple[set[str], set[str]]:
    """(names, networks) of the zone, after dnspython parsed it and every owner name was checked."""
    zone = dns.zone.from_text(text.decode("ascii"), origin=origin, relativize=True, check_origin=True)
    names: set[str] = set()
    networks: set[str] = set()
    for name, node in zone.nodes.items():
        if name == dns.name.empty:
            assert node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.SOA) is not None
            continue
        rdatasets = list(node.rdatasets)
        assert [r.rdtype for r in rdatasets] == [dns.rdatatype.CNAME]
        assert rdatasets[0][0].target == dns.name.root  # CNAME . : NXDOMAIN
        labels = [label.decode("ascii") for label in name.labels]
        full = name.derelativize(dns.name.from_text(origin))
        assert len(full.to_wire()) <= 255
        if labels[-1] == "rpz-ip":
            networks.add(str(rpz_network(labels[:-1])))
            continue
        assert not labels[-1].startswith("rpz-")
        body = labels[1:] if labels[0] == "*" else labels
        assert len(body) >= 2 and all(LABEL.fullmatch(label) for label in body), labels
        names.add(".".join(labels))
    return names, networks


# --- the exchange the tests export ------------------------------------------------------------------------
def world() -> Exchange:
    first = ReportItem(
        title=HOSTILE_TITLE,
        uuid="0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0001",
        tlp=TLP.AMBER_STRICT,
        indicators=[
            IndicatorItem("203.0.113.7", T.IPV4, confidence=80, uuid="0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0002"),
            IndicatorItem("198.51.100.0/24", T.IPV4_CIDR),
            IndicatorItem("2001:db8::1", T.IPV6),
            IndicatorItem("2001:db8:1::/48", T.IPV6_CIDR),
            IndicatorItem("evil.example", T.DOMAIN, comment='C2\tserver\n"x"; sid:9;'),
            IndicatorItem('http://login.evil.example/a?b=1;c="2"', T.URL),
            IndicatorItem("https://[2001:db8::7]:8443/p%20q", T.URL),
            IndicatorItem("ftp://files.evil.example/x", T.URL),
            IndicatorItem("http://198.51.100.9/gate.php", T.URL),
            IndicatorItem('C:\\Temp\\in"v;o|ice.exe', T.FILENAME),
            IndicatorItem(MD5.upper(), T.MD5),
            IndicatorItem(SHA1, T.SHA1),
            IndicatorItem(SHA256, T.SHA256),
            IndicatorItem(SHA512, T.SHA512),
            IndicatorItem("billing@evil.example", T.EMAIL),
            IndicatorItem("AS64500", T.ASN),
            IndicatorItem("quiet.example", T.DOMAIN, to_detect=False),
            IndicatorItem("192.0.2.99", T.IPV4, to_detect=False),
            IndicatorItem("0" * 64, T.SHA256, to_detect=False),
            IndicatorItem("not a value", T.IPV4),  # refused by the canonicaliser: left out
        ],
    )
    second = ReportItem(
        title="Second report",
        indicators=[IndicatorItem("EVIL.example", T.DOMAIN), IndicatorItem("hxxp://c2[.]evil[.]example/x")],
    )
    return Exchange(reports=[first, second])


QUIET = ("quiet.example", "192.0.2.99", "0" * 64, "not a value")


# --- Suricata ----------------------------------------------------------------------------------------------
def test_suricata_rules_parse_and_have_the_documented_shapes() -> None:
    text = to_suricata(world(), sid_base=5_000_000).decode()
    rules = parse_rules(text)
    assert [rule.sid for rule in rules] == list(range(5_000_000, 5_000_000 + len(rules)))
    shapes = [(r.protocol, r.source, r.destination) for r in rules]
    assert shapes[:4] == [
        ("ip", "$HOME_NET", "[203.0.113.7]"),
        ("ip", "[203.0.113.7]", "$HOME_NET"),
        ("ip", "$HOME_NET", "[198.51.100.0/24]"),
        ("ip", "[198.51.100.0/24]", "$HOME_NET"),
    ]
    by_buffer = {(c.buffer, c.data): c for rule in rules for c in rule.contents}
    for buffer in ("dns.query", "tls.sni", "http.host"):
        content = by_buffer[(buffer, b".evil.example")]
        assert content.transforms == ["dotprefix"] and "endswith" in content.modifiers
    assert by_buffer[("dns.query", b".evil.example")].modifiers == ["nocase", "endswith"]
    assert by_buffer[("http.host", b"login.evil.example")].modifiers == ["startswith", "endswith"]
    assert by_buffer[("http.uri", b'/a?b=1;c="2"')].modifiers == ["startswith", "endswith"]
    assert ("http.uri.raw", b"/p%20q") in by_buffer  # an escape in the path: the raw buffer
    assert ("http.host", b"[2001:db8::7]") in by_buffer  # the host without its port
    assert ("http.host", b"198.51.100.9") in by_buffer
    assert by_buffer[("file.name", b'in"v;o|ice.exe')].modifiers == ["nocase", "startswith", "endswith"]
    hash_rules = [r for r in rules if r.option("filemd5") or r.option("filesha1") or r.option("filesha256")]
    assert [(r.protocol, r.source, r.destination) for r in hash_rules] == [("ip", "any", "any")] * 3
    assert [r.option(k) for r, k in zip(hash_rules, ("filemd5", "filesha1", "filesha256"), strict=True)] == [
        "md5.lst",
        "sha1.lst",
        "sha256.lst",
    ]
    # 4 addresses and networks x2, 1 domain x3 (given twice), 4 http(s) URLs (one refanged and detected),
    # 1 file name, 3 hash lists; the ftp URL, the e-mail address, SHA-512 and the AS number are counted.
    assert len(rules) == 8 + 3 + 4 + 1 + 3
    assert ("http.host", b"c2.evil.example") in by_buffer
    assert "# Left out, not expressible in Suricata rules: 1 asn, 1 email, 1 sha512, 1 url." in text
    first = rules[0]
    assert first.option("metadata") == (
        "commonspace_report 0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0001, "
        "commonspace_indicator 0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0002, tlp amber_strict, confidence 80"
    )
    assert first.option("threshold") == "type limit, track by_src, count 1, seconds 3600"
    assert to_suricata(world(), sid_base=5_000_000).decode() == text  # deterministic


def test_a_domain_rule_exactly() -> None:
    exchange = Exchange(reports=[ReportItem("Phish", indicators=[IndicatorItem("evil.example", T.DOMAIN)])])
    lines = [line for line in to_suricata(exchange, sid_base=7).decode().splitlines() if line[0] != "#"]
    assert lines[0] == (
        'alert dns $HOME_NET any -> any any (msg:"Commonspace: DNS query for domain evil.example [Phish]"; '
        'dns.query; dotprefix; content:".evil.example"; nocase; endswith; '
        "classtype:bad-unknown; sid:7; rev:1;)"
    )
    assert lines[2] == (
        'alert http $HOME_NET any -> any any (msg:"Commonspace: HTTP host of domain evil.example [Phish]"; '
        'flow:established,to_server; http.host; dotprefix; content:".evil.example"; endswith; '
        "classtype:bad-unknown; sid:9; rev:1;)"
    )


def test_hostile_titles_and_values_cannot_break_or_add_rules() -> None:
    text = to_suricata(world()).decode()
    rules = parse_rules(text)
    assert sum(1 for line in text.splitlines() if not line.startswith("#")) == len(rules)
    assert not any(rule.option("msg") == "owned" or rule.sid == 2 for rule in rules)
    clean = clean_text(HOSTILE_TITLE, 100)
    first_report = [r for r in rules if "Second report" not in r.msg and "listed in" not in r.msg]
    assert first_report and all(r.msg.endswith(f"[{clean}]") for r in first_report)
    assert '"one"; sid:1; rev:1;) alert ip' in clean  # the text is kept, harmlessly


def test_only_indicators_to_detect_are_written() -> None:
    exchange = world()
    outputs = [
        to_suricata(exchange),
        to_zeek_intel(exchange),
        to_rpz(exchange, serial=1),
        to_blocklist(exchange),
        *to_suricata_datasets(exchange).values(),
    ]
    for output in outputs:
        for value in QUIET:
            assert value.encode() not in output
    assert b"quiet" not in to_rpz(exchange, serial=1)


def test_hash_lists() -> None:
    lists = to_suricata_datasets(world())
    assert lists == {
        "md5.lst": (MD5 + "\n").encode(),
        "sha1.lst": (SHA1 + "\n").encode(),
        "sha256.lst": (SHA256 + "\n").encode(),
    }
    only_md5 = Exchange(reports=[ReportItem("r", indicators=[IndicatorItem(MD5, T.MD5)])])
    assert to_suricata_datasets(only_md5)["sha1.lst"] == b""
    rules = parse_rules(to_suricata(only_md5).decode())
    assert [r.option("filemd5") for r in rules] == ["md5.lst"] and rules[0].option("filesha1") is None


def test_sid_base_is_checked() -> None:
    with pytest.raises(ValueError):
        to_suricata(world(), sid_base=0)
    with pytest.raises(ValueError):
        to_suricata(world(), sid_base=2**32 - 3)
    assert parse_rules(to_suricata(Exchange(), sid_base=2**32 - 1).decode()) == []


any_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
file_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
).filter(lambda s: s.strip() and s.strip() == s)


@settings(max_examples=150, deadline=None)
@given(title=any_text, comment=any_text, name=file_names)
def test_any_text_gives_rules_that_parse_and_mean_what_was_given(title: str, comment: str, name: str) -> None:
    exchange = Exchange(
        reports=[
            ReportItem(
                title,
                indicators=[
                    IndicatorItem(name, T.FILENAME, comment=comment),
                    IndicatorItem("evil.example", T.DOMAIN, comment=comment),
                ],
            )
        ]
    )
    rules = parse_rules(to_suricata(exchange).decode())
    base = re.split(r"[\\/]", canonicalize(T.FILENAME, name))[-1]
    expected_title = clean_text(title, 100) or "untitled report"
    assert all(rule.msg.endswith(f"[{expected_title}]") for rule in rules)
    assert len(rules) == (4 if base else 3)
    if base:
        assert rules[0].contents[0].data == base.encode("utf-8")
    rows = parse_zeek(to_zeek_intel(exchange).decode())
    assert all(row[3] and row[3].startswith(expected_title.replace("\t", " ")) for row in rows)
    if base and base not in ("-", "(empty)"):
        assert rows[0][0] == base


queries = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="#"), max_size=40)


@settings(max_examples=150, deadline=None)
@given(path=queries, query=queries)
def test_any_url_gives_a_rule_matching_exactly_its_host_and_target(path: str, query: str) -> None:
    url = canonicalize(T.URL, f"http://Evil.example:8080/{path}?{query}")
    target = url.removeprefix("http://evil.example:8080")
    rules = parse_rules(
        to_suricata(Exchange([ReportItem("r", indicators=[IndicatorItem(url, T.URL)])])).decode()
    )
    (rule,) = rules
    host, uri = rule.contents
    assert (host.buffer, host.data, host.modifiers) == (
        "http.host",
        b"evil.example",
        ["startswith", "endswith"],
    )
    assert uri.buffer == ("http.uri.raw" if "%" in target.partition("?")[0] else "http.uri")
    assert uri.data == target.encode() and uri.modifiers == ["startswith", "endswith"]
    (row,) = parse_zeek(
        to_zeek_intel(Exchange([ReportItem("r", indicators=[IndicatorItem(url, T.URL)])])).decode()
    )
    assert row[0] == "evil.example:8080" + target


# --- Zeek --------------------------------------------------------------------------------------------------
def test_zeek_intel_file() -> None:
    text = to_zeek_intel(world(), report_url="https://cs.example/reports/{uuid}").decode()
    rows = parse_zeek(text)
    by_value = {row[0]: row for row in rows}
    assert by_value["203.0.113.7"][1] == "Intel::ADDR"
    assert by_value["198.51.100.0/24"][1] == "Intel::SUBNET"
    assert by_value["2001:db8:1::/48"][1] == "Intel::SUBNET"
    assert by_value["evil.example"][1] == "Intel::DOMAIN"
    assert by_value['login.evil.example/a?b=1;c="2"'][1] == "Intel::URL"  # no scheme
    assert by_value["[2001:db8::7]:8443/p%20q"][1] == "Intel::URL"
    assert by_value["files.evil.example/x"][1] == "Intel::URL"
    assert by_value["billing@evil.example"][1] == "Intel::EMAIL"
    assert by_value[MD5][1] == by_value[SHA256][1] == "Intel::FILE_HASH"
    assert by_value['in"v;o|ice.exe'][1] == "Intel::FILE_NAME"
    assert SHA512 not in by_value and "AS64500" not in by_value
    assert len(rows) == len(by_value)  # each indicator once
    evil = by_value["evil.example"]
    assert evil[2] == "Commonspace"
    assert evil[3] == f'{clean_text(HOSTILE_TITLE, 200)} (domain: C2 server "x"; sid:9;)'
    assert evil[4] == "https://cs.example/reports/0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0001"
    assert by_value["c2.evil.example/x"][4] is None  # a report without a uuid: unset
    assert "\\x5c" in text and "\\" not in text.replace("\\x5c", "")  # backslashes escaped


def test_zeek_escapes_what_its_reader_would_misread() -> None:
    items = [
        IndicatorItem("#hash.txt", T.FILENAME),
        IndicatorItem("-", T.FILENAME),
        IndicatorItem("a\\b", T.FILENAME),
    ]
    exchange = Exchange(reports=[ReportItem("", indicators=items)])
    rows = parse_zeek(to_zeek_intel(exchange, source="-").decode())
    assert [row[0] for row in rows] == ["#hash.txt", "b"]  # "-" would be unset; a path gives its last part
    assert rows[0][2] == "Commonspace" and rows[0][3] == "untitled report (filename)"


# --- RPZ -------------------------------------------------------------------------------------------------
def test_rpz_zone_parses_and_blocks_the_right_names() -> None:
    zone = to_rpz(world(), serial=2024010101)
    names, networks = parse_rpz(zone)
    assert names == {
        "evil.example",
        "*.evil.example",
        "login.evil.example",
        "*.login.evil.example",
        "files.evil.example",
        "*.files.evil.example",
        "c2.evil.example",
        "*.c2.evil.example",
    }  # an URL of an address has no name to answer for
    assert networks == {"203.0.113.7/32", "198.51.100.0/24", "2001:db8::1/128", "2001:db8:1::/48"}
    assert b"2024010101" in zone
    other = to_rpz(world(), origin="Block.Example.", serial=1)
    assert parse_rpz(other, origin="block.example")[0] == names


@pytest.mark.parametrize(
    ("network", "owner"),
    [
        ("203.0.113.7/32", "32.7.113.0.203.rpz-ip"),
        ("10.0.0.0/8", "8.0.0.0.10.rpz-ip"),
        ("2001:db8:0:1::57/128", "128.57.zz.1.0.db8.2001.rpz-ip"),
        ("2001:db8::/32", "32.zz.db8.2001.rpz-ip"),
        ("::1/128", "128.1.zz.rpz-ip"),
        ("1:2:3:4:5:6:7:8/128", "128.8.7.6.5.4.3.2.1.rpz-ip"),
        ("2001:0:0:1:0:0:0:1/128", "128.1.zz.1.0.0.2001.rpz-ip"),  # the longest run of zeros
        ("2001:db8:0:1:1:1:1:1/128", "128.1.1.1.1.1.0.db8.2001.rpz-ip"),  # one zero word stays
        ("::ffff:192.0.2.1/128", "128.201.c000.ffff.zz.rpz-ip"),
    ],
)
def test_rpz_ip_triggers(network: str, owner: str) -> None:
    type_ = T.IPV4_CIDR if "." in network.split("/")[0] and ":" not in network else T.IPV6_CIDR
    exchange = Exchange(reports=[ReportItem("r", indicators=[IndicatorItem(network, type_)])])
    zone = to_rpz(exchange, serial=1).decode()
    assert f"\n{owner} IN CNAME .\n" in zone
    assert parse_rpz(zone.encode())[1] == {str(ipaddress.ip_network(network))}


def test_rpz_leaves_out_what_it_cannot_express() -> None:
    long_domain = ".".join(
        ["a" * 63] * 3 + ["b" * 40, "example"]
    )  # 240 characters: too long under the origin
    assert canonicalize(T.DOMAIN, long_domain) == long_domain
    items = [
        IndicatorItem("0.0.0.0/0", T.IPV4_CIDR),
        IndicatorItem(long_domain, T.DOMAIN),
        IndicatorItem("evil.rpz-ip", T.DOMAIN),
        IndicatorItem("ok.example", T.DOMAIN),
    ]
    names, networks = parse_rpz(to_rpz(Exchange(reports=[ReportItem("r", indicators=items)]), serial=1))
    assert names == {"ok.example", "*.ok.example"} and networks == set()
    with pytest.raises(ValueError):
        to_rpz(Exchange(), origin="not a name")
    with pytest.raises(ValueError):
        to_rpz(Exchange(), serial=2**32)


def test_rpz_serial_defaults_to_the_time() -> None:
    zone = dns.zone.from_text(to_rpz(Exchange()).decode(), origin="rpz.commonspace.local")
    soa = zone.get_rdataset("@", dns.rdatatype.SOA)
    assert soa is not None
    assert abs(soa[0].serial - datetime.now(UTC).timestamp()) < 3600


# --- blocklists ------------------------------------------------------------------------------------------
def test_blocklist() -> None:
    everything = to_blocklist(world()).decode().splitlines()
    assert everything == sorted(set(everything))
    assert "evil.example" in everything and "EVIL.example" not in everything
    assert "http://c2.evil.example/x" in everything  # canonical: refanged
    assert MD5 in everything and "AS64500" in everything
    domains = to_blocklist(world(), {T.DOMAIN}).decode()
    assert domains == "evil.example\n"
    assert to_blocklist(world(), {T.IPV4, T.IPV4_CIDR}).decode() == "198.51.100.0/24\n203.0.113.7\n"
    assert to_blocklist(Exchange()) == b""
