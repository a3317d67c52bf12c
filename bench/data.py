"""A deterministic, realistic world of organisations, sharing groups, reports and indicators.

Everything derives from one seed: the same ``--seed`` and ``--size`` give the same values on every
machine and for both databases. Indicators are generated report by report from a per-report random
stream, so that a report's items can be produced again on demand instead of held in memory.

The mix follows what threat-intelligence feeds carry: mostly IPv4 addresses, some IPv6, about 5 %
networks of various prefix lengths, about 20 % domains, then URLs, e-mail addresses and hashes. Values
arrive as people send them: partly defanged (``hxxp``, ``[.]``), in mixed case, networks with host bits
set, IPv6 both compressed and exploded, some without a type; a few are repeated within a report in
another spelling (the service deduplicates them) and some popular values recur across reports.
Query values for the search come from the same world (half hits, half misses by construction).
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from commonspace.domain.vocab import TLP, Distribution, IndicatorType, OrgKind

T = IndicatorType
D = Distribution

# (type, weight): ~60 % IPv4, ~5 % networks, ~20 % domains, the rest URLs, e-mail addresses and hashes.
TYPE_MIX: tuple[tuple[IndicatorType, float], ...] = (
    (T.IPV4, 0.57),
    (T.IPV6, 0.05),
    (T.IPV4_CIDR, 0.04),
    (T.IPV6_CIDR, 0.01),
    (T.DOMAIN, 0.20),
    (T.URL, 0.06),
    (T.EMAIL, 0.02),
    (T.MD5, 0.02),
    (T.SHA1, 0.01),
    (T.SHA256, 0.02),
)
V4_PREFIXES: tuple[tuple[int, float], ...] = (
    *((12, 1), (16, 4), (20, 5), (22, 8), (23, 5), (24, 50), (25, 3)),
    *((26, 4), (27, 5), (28, 5), (29, 5), (30, 3), (32, 2)),
)
V6_PREFIXES = ((32, 5), (40, 2), (48, 40), (56, 15), (64, 30), (128, 8))
# Blocks no stored indicator touches: misses are drawn from them (100.64.0.0/10 and 2001:db8::/32).
V4_EXCLUDED_FIRST_OCTETS = frozenset({0, 10, 100, 127, 169, 172, 192, 198, 203})
V4_MISS_NETWORK = ipaddress.IPv4Network("100.64.0.0/10")
V6_MISS_NETWORK = ipaddress.IPv6Network("2001:db8::/32")
# Stored names are built from these syllables; misses contain "q" or "x", which they never do.
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
SYLLABLES = tuple(c + v for c in _CONSONANTS for v in _VOWELS)
MISS_SYLLABLES = tuple(c + v for c in "qx" for v in _VOWELS) + tuple("x" + c for c in _CONSONANTS)
TLDS: tuple[tuple[str, float], ...] = (
    *(("com", 40), ("net", 10), ("org", 6), ("info", 4), ("ru", 6), ("cn", 4), ("xyz", 5), ("top", 5)),
    *(("io", 3), ("de", 3), ("co.uk", 3), ("com.br", 2), ("online", 3), ("site", 3), ("biz", 2)),
)
SUBDOMAINS = ("www", "mail", "login", "secure", "cdn", "api", "update", "m", "webmail", "portal", "vpn")
PATH_WORDS = (
    *("wp-content", "wp-admin", "plugins", "uploads", "images", "js", "admin", "login", "files"),
    *("gate", "panel", "api", "v1", "static", "invoice", "doc", "download", "update", "bin"),
)
FILE_NAMES = ("index.php", "gate.php", "login.html", "invoice.zip", "update.exe", "payload.bin", "a.js")
TAGS = (
    *("malware:emotet", "malware:qakbot", "kill-chain:c2", "kill-chain:delivery", "phishing", "botnet"),
    *("ransomware:lockbit", "source:honeypot", "confidence:high", "rsit:fraud=phishing"),
)
COMMENTS = (
    *("seen in phishing wave", "C2 from sandbox run", "from honeypot logs", "scanner", "dropper"),
    *("reported by partner CERT", "exfiltration endpoint", "observed in DNS logs", ""),
)
DISTRIBUTIONS: tuple[tuple[Distribution, float], ...] = (
    *((D.COMMUNITY, 40), (D.CONNECTED_COMMUNITIES, 10), (D.SHARING_GROUP, 30), (D.ORGANISATION, 20)),
)
WIDE_TLPS = (TLP.CLEAR, TLP.GREEN, TLP.GREEN, TLP.AMBER, TLP.AMBER)
NARROW_TLPS = (TLP.GREEN, TLP.AMBER, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED)
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

# --- the shape of the world ------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSpec:
    name: str
    kind: OrgKind
    country: str | None
    weight: float  # share of the reports this organisation writes


@dataclass(frozen=True)
class GroupSpec:
    name: str
    owner: int  # index into World.orgs
    members: tuple[int, ...]


@dataclass(frozen=True)
class ReportSpec:
    index: int
    org: int
    title: str
    tlp: TLP
    distribution: Distribution
    group: int | None
    published: bool
    size: int  # indicator items submitted for this report


ORGS = (
    OrgSpec("Bench national CERT", OrgKind.GOVERNMENT, "FR", 5),
    OrgSpec("Bench regional CSIRT", OrgKind.GOVERNMENT, "DE", 2),
    OrgSpec("Bench abuse desk", OrgKind.ENTERPRISE, "NL", 3),
    OrgSpec("Bench bank SOC", OrgKind.ENTERPRISE, "GB", 2),
    OrgSpec("Bench security vendor", OrgKind.ENTERPRISE, "US", 6),
    OrgSpec("Bench telco", OrgKind.ENTERPRISE, "ES", 1),
    OrgSpec("Bench international agency", OrgKind.INTERNATIONAL, None, 1),
    OrgSpec("Bench research network", OrgKind.CIVIL_SOCIETY, "IT", 1),
    OrgSpec("Bench honeypot project", OrgKind.CIVIL_SOCIETY, "BE", 3),
)
# The organisation whose analyst searches: it writes no reports and belongs to two of the groups.
SEARCHER = OrgSpec("Bench searching ISP", OrgKind.ENTERPRISE, "PL", 0)
SEARCHER_INDEX = len(ORGS)
GROUPS = (
    GroupSpec("bench-finance-isac", 3, (0, 2, 3, SEARCHER_INDEX)),
    GroupSpec("bench-vendors", 4, (4, 5, 8)),
    GroupSpec("bench-cert-network", 0, (0, 1, 6, 7, SEARCHER_INDEX)),
    GroupSpec("bench-research", 7, (7, 8)),
)


@dataclass(frozen=True)
class World:
    seed: int
    size: int
    untyped_share: float
    orgs: tuple[OrgSpec, ...]
    groups: tuple[GroupSpec, ...]
    reports: tuple[ReportSpec, ...]
    searcher_org: int

    @property
    def searcher_groups(self) -> frozenset[int]:
        return frozenset(i for i, g in enumerate(self.groups) if self.searcher_org in g.members)

    def report_visible(self, report: ReportSpec) -> bool:
        """What the access policy says for the searcher, who owns none of the reports."""
        if not report.published:
            return False
        if report.distribution in (D.COMMUNITY, D.CONNECTED_COMMUNITIES):
            return True
        return report.distribution is D.SHARING_GROUP and report.group in self.searcher_groups


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, float], ...]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def report_sizes(total: int, count: int) -> list[int]:
    """Zipf-like sizes (a few feeds of 100,000+ indicators, many small reports) summing to ``total``."""
    weights = [1 / (rank + 1) for rank in range(count)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    i = 0
    while sum(sizes) != total:  # spread the rounding error, largest first
        step = 1 if sum(sizes) < total else -1
        if sizes[i % count] + step >= 1:
            sizes[i % count] += step
        i += 1
    return sizes


def make_world(seed: int, size: int, report_count: int, untyped_share: float) -> World:
    rng = random.Random(f"{seed}/world")
    report_count = max(1, min(report_count, size))
    sizes = report_sizes(size, report_count)
    rng.shuffle(sizes)
    org_pairs = tuple((i, o.weight) for i, o in enumerate(ORGS))
    reports = []
    for index, n in enumerate(sizes):
        org = _weighted(rng, org_pairs)
        distribution = _weighted(rng, DISTRIBUTIONS)
        group = None
        if distribution is D.SHARING_GROUP:
            group = rng.choice([g for g, spec in enumerate(GROUPS) if org in spec.members])
        wide = distribution in (D.COMMUNITY, D.CONNECTED_COMMUNITIES)
        reports.append(
            ReportSpec(
                index=index,
                org=org,
                title=f"Bench report {index}: {rng.choice(COMMENTS) or 'indicators'}",
                tlp=rng.choice(WIDE_TLPS if wide else NARROW_TLPS),
                distribution=distribution,
                group=group,
                published=rng.random() < 0.9,
                size=n,
            )
        )
    return World(seed, size, untyped_share, (*ORGS, SEARCHER), GROUPS, tuple(reports), SEARCHER_INDEX)


# --- values ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """One generated indicator: the item as a client sends it, and what the generator knows of it."""

    type: IndicatorType
    item: dict[str, Any]
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None  # for networks
    parent: str | None = None  # for a subdomain: the registered domain above it
    visible: bool = True  # to the searcher, if its report is (narrowing considered)


def _word(rng: random.Random, syllables: tuple[str, ...] = SYLLABLES) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))


def registered_domain(rng: random.Random, syllables: tuple[str, ...] = SYLLABLES) -> str:
    name = _word(rng, syllables)
    if rng.random() < 0.4:
        name += "-" + _word(rng, syllables)
    return f"{name}.{_weighted(rng, TLDS)}"


def _ipv4_int(rng: random.Random) -> int:
    while True:
        value = rng.getrandbits(32)
        first = value >> 24
        if first < 224 and first not in V4_EXCLUDED_FIRST_OCTETS:
            return value


def _ipv6_int(rng: random.Random) -> int:
    while True:
        value = (0x2 << 124) | rng.getrandbits(124)  # 2000::/4, global unicast
        if ipaddress.IPv6Address(value) not in V6_MISS_NETWORK:
            return value


def _v4_text(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def _defang_dots(text: str) -> str:
    return text.replace(".", "[.]")


def _mixed_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


class _ReportValues:
    """Values for one report: a few campaigns' domains, shared by its subdomains, URLs and e-mails."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.bases = [registered_domain(rng) for _ in range(max(1, size // 25))]

    def base(self) -> str:
        return self.rng.choice(self.bases)

    def host(self) -> tuple[str, str | None]:
        """A fully qualified name and, when it is a subdomain, its registered domain."""
        base = self.base()
        r = self.rng.random()
        if r < 0.3:
            return base, None
        sub = self.rng.choice(SUBDOMAINS) if r < 0.6 else _word(self.rng)
        if self.rng.random() < 0.15:
            sub = f"{_word(self.rng)}.{sub}"
        return f"{sub}.{base}", base

    def make(self, type_: IndicatorType) -> Generated:
        rng = self.rng
        if type_ is T.IPV4:
            text = _v4_text(_ipv4_int(rng))
            return Generated(type_, {"value": _defang_dots(text) if rng.random() < 0.05 else text})
        if type_ is T.IPV6:
            address = ipaddress.IPv6Address(_ipv6_int(rng))
            text = address.exploded.upper() if rng.random() < 0.4 else address.compressed
            return Generated(type_, {"value": text})
        if type_ is T.IPV4_CIDR:
            prefix = _weighted(rng, V4_PREFIXES)
            number = _ipv4_int(rng)
            v4 = ipaddress.IPv4Network((number, prefix), strict=False)
            host_form = rng.random() < 0.3
            text = f"{_v4_text(number) if host_form else v4.network_address}/{prefix}"
            return Generated(type_, {"value": text}, network=v4)
        if type_ is T.IPV6_CIDR:
            prefix = _weighted(rng, V6_PREFIXES)
            v6 = ipaddress.IPv6Network((_ipv6_int(rng), prefix), strict=False)
            return Generated(type_, {"value": str(v6)}, network=v6)
        if type_ is T.DOMAIN:
            name, parent = self.host()
            r = rng.random()
            text = _defang_dots(name) if r < 0.1 else _mixed_case(rng, name) if r < 0.2 else name
            return Generated(type_, {"value": text + ("." if rng.random() < 0.02 else "")}, parent=parent)
        if type_ is T.URL:
            return Generated(type_, {"value": self.url()})
        if type_ is T.EMAIL:
            local = rng.choice(("info", "billing", "support", "admin", "noreply", _word(rng)))
            text = f"{local}{rng.randint(1, 999) if rng.random() < 0.5 else ''}@{self.base()}"
            if rng.random() < 0.1:
                text = text.replace("@", "[@]").replace(".", "[.]")
            return Generated(type_, {"value": text})
        length = {T.MD5: 32, T.SHA1: 40, T.SHA256: 64}[type_]
        text = f"{rng.getrandbits(length * 4):0{length}x}"
        return Generated(type_, {"value": text.upper() if rng.random() < 0.2 else text})

    def url(self) -> str:
        rng = self.rng
        host = self.host()[0] if rng.random() < 0.85 else _v4_text(_ipv4_int(rng))
        scheme = "https" if rng.random() < 0.6 else "http"
        port = ""
        if rng.random() < 0.05:
            port = ":443" if scheme == "https" else ":80"
        elif rng.random() < 0.05:
            port = f":{rng.choice((8080, 8443, 4443, 81))}"
        segments = [rng.choice(PATH_WORDS) for _ in range(rng.randint(0, 3))]
        path = "/" + "/".join([*segments, rng.choice(FILE_NAMES)]) if rng.random() < 0.8 else "/"
        query = f"?id={rng.getrandbits(24)}" if rng.random() < 0.3 else ""
        text = f"{scheme}://{host}{port}{path}{query}"
        if rng.random() < 0.2:  # defanged as mailing lists and reports send them
            text = text.replace("http", "hxxp", 1).replace(host, _defang_dots(host), 1)
        return text


def popular_pool(seed: int, size: int) -> list[Generated]:
    """Values seen by many organisations (a popular C2 is in dozens of reports)."""
    rng = random.Random(f"{seed}/popular")
    values = _ReportValues(rng, 1000)
    pool_types = ((T.IPV4, 6), (T.DOMAIN, 2), (T.URL, 1), (T.SHA256, 1))
    return [values.make(_weighted(rng, pool_types)) for _ in range(max(10, size // 100))]


def _seen(rng: random.Random) -> tuple[str, str]:
    first = EPOCH + timedelta(seconds=rng.randrange(300 * 86400))
    return first.isoformat(), (first + timedelta(seconds=rng.randrange(30 * 86400))).isoformat()


@dataclass
class Stats:
    by_type: Counter[str] = field(default_factory=Counter)
    untyped: int = 0
    narrowed: int = 0
    tagged: int = 0
    respelled: int = 0
    popular: int = 0


def report_items(
    world: World, report: ReportSpec, pool: list[Generated], stats: Stats | None = None
) -> Iterator[Generated]:
    """The items of one report, as a client would send them; the same for the same world."""
    rng = random.Random(f"{world.seed}/report/{report.index}")
    values = _ReportValues(rng, report.size)
    types = rng.choices([t for t, _ in TYPE_MIX], [w for _, w in TYPE_MIX], k=report.size)
    own_groups = [g.name for g in world.groups if report.org in g.members]
    wide = report.distribution in (D.COMMUNITY, D.CONNECTED_COMMUNITIES)
    earlier: list[Generated] = []
    for type_ in types:
        r = rng.random()
        if r < 0.01 and earlier:  # the same value again, spelled differently: deduplicated by the service
            gen = _respell(rng, rng.choice(earlier))
            if stats:
                stats.respelled += 1
        elif r < 0.08:
            gen = rng.choice(pool)
            if stats:
                stats.popular += 1
        else:
            gen = values.make(type_)
        item = dict(gen.item)
        if rng.random() >= world.untyped_share:
            item["type"] = gen.type.value
        elif stats:
            stats.untyped += 1
        if rng.random() < 0.3:
            item["comment"] = rng.choice(COMMENTS)
        if rng.random() < 0.1:
            item["to_detect"] = False
        if rng.random() < 0.5:
            item["confidence"] = rng.randrange(0, 101, 5)
        if rng.random() < 0.2:
            item["first_seen"], item["last_seen"] = _seen(rng)
        visible = True
        r = rng.random()
        if r < 0.03 and report.distribution is not D.ORGANISATION:
            item["distribution"] = D.ORGANISATION.value
            visible = False
        elif r < 0.05 and wide and own_groups:
            item["distribution"] = D.SHARING_GROUP.value
            item["sharing_group"] = rng.choice(own_groups)
            visible = any(world.groups[g].name == item["sharing_group"] for g in world.searcher_groups)
        if rng.random() < 0.02:
            item["tags"] = rng.sample(TAGS, rng.randint(1, 2))
        if stats:
            stats.by_type[gen.type.value] += 1
            stats.narrowed += "distribution" in item
            stats.tagged += "tags" in item
        if len(earlier) < 1000:
            earlier.append(gen)
        yield Generated(gen.type, item, gen.network, gen.parent, visible and world.report_visible(report))


def _respell(rng: random.Random, gen: Generated) -> Generated:
    value = gen.item["value"]
    if gen.type in (T.DOMAIN, T.EMAIL, T.MD5, T.SHA1, T.SHA256):
        value = value.upper() if value != value.upper() else value.lower()
    elif gen.type in (T.IPV4, T.URL):
        value = f" {value} "  # pasted with spaces around: stripped by canonicalisation
    return Generated(gen.type, {"value": value}, gen.network, gen.parent)


# --- search queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuerySet:
    values: list[str]
    kinds: Counter[str]  # how many values of each kind (e.g. "ip-in-network", "domain-miss")


def _address_in(rng: random.Random, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    offset = rng.randrange(network.num_addresses) if network.num_addresses > 1 else 0
    return str(network.network_address + offset)


def search_candidates(world: World, pool: list[Generated], reports: int = 40) -> list[Generated]:
    """Visible stored indicators to draw hits from: every item of a sample of visible reports."""
    rng = random.Random(f"{world.seed}/candidates")
    visible = [r for r in world.reports if world.report_visible(r)]
    sample = rng.sample(visible, min(reports, len(visible)))
    return [g for r in sample for g in report_items(world, r, pool) if g.visible]


def query_set(world: World, candidates: list[Generated], run: int, count: int = 1000) -> QuerySet:
    """``count`` values, about half of which find something: IPs inside stored networks, registered
    domains with stored subdomains, stored URLs and hashes (some spelled differently), and misses."""
    rng = random.Random(f"{world.seed}/query/{run}")
    by_kind: dict[str, list[Generated]] = {}
    for g in candidates:
        if g.type in (T.IPV4, T.IPV6):
            by_kind.setdefault("ip", []).append(g)
        elif g.network is not None:
            by_kind.setdefault("network", []).append(g)
        elif g.type is T.DOMAIN and g.parent:
            by_kind.setdefault("domain", []).append(g)
        elif g.type is T.URL:
            by_kind.setdefault("url", []).append(g)
        elif g.type in (T.MD5, T.SHA1, T.SHA256):
            by_kind.setdefault("hash", []).append(g)
    plan = (
        ("ip-exact", 0.06),
        ("ip-in-network", 0.09),
        ("ip-miss", 0.15),
        ("domain-parent", 0.15),
        ("domain-miss", 0.15),
        ("url-hit", 0.10),
        ("url-miss", 0.10),
        ("hash-hit", 0.10),
        ("hash-miss", 0.10),
    )
    values: list[str] = []
    kinds: Counter[str] = Counter()
    for kind, share in plan:
        for _ in range(round(count * share)):
            value = _query_value(rng, kind, by_kind)
            if value is not None:
                values.append(value)
                kinds[kind] += 1
    while len(values) < count:  # rounding, or a kind without candidates in a tiny world
        values.append(_query_value(rng, "hash-miss", by_kind) or "")
        kinds["hash-miss"] += 1
    rng.shuffle(values)
    return QuerySet(values[:count], kinds)


def _query_value(rng: random.Random, kind: str, by_kind: dict[str, list[Generated]]) -> str | None:
    source, _, outcome = kind.partition("-")
    if outcome == "miss":
        if source == "ip":
            network = V4_MISS_NETWORK if rng.random() < 0.9 else V6_MISS_NETWORK
            return _address_in(rng, network)
        if source == "domain":
            return registered_domain(rng, MISS_SYLLABLES)
        if source == "url":
            return f"https://{registered_domain(rng, MISS_SYLLABLES)}/{rng.choice(PATH_WORDS)}/index.php"
        length = rng.choice((32, 40, 64))
        return f"{rng.getrandbits(length * 4):0{length}x}"
    pick = {"ip-exact": "ip", "ip-in-network": "network", "domain-parent": "domain"}.get(kind, source)
    choices = by_kind.get(pick)
    if not choices:
        return None
    gen = rng.choice(choices)
    if kind == "ip-in-network":
        assert gen.network is not None
        return _address_in(rng, gen.network)
    if kind == "domain-parent":
        assert gen.parent is not None
        return gen.parent.upper() if rng.random() < 0.1 else gen.parent
    value: str = gen.item["value"]
    return value.strip()
