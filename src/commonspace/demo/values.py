"""The indicators of one demo report, by profile: values drawn from the pools, each saying what it is."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from commonspace.demo.sources import Family, Pools, fake_domain, fake_hash
from commonspace.domain.vocab import IndicatorType as T


@dataclass(frozen=True)
class IndicatorSpec:
    type: T
    value: str
    comment: str
    confidence: int
    tags: tuple[str, ...] = ()
    organisation_only: bool = False  # narrowed: kept to the creator organisation


@dataclass(frozen=True)
class Campaign:
    """Phishing infrastructure reported by several organisations: what correlation should find."""

    brand: str
    country: str
    domains: tuple[str, ...]
    ips: tuple[str, ...]


@dataclass(frozen=True)
class Context:
    brand: str
    product: str
    family: Family  # C2 servers (c2) or samples (ransomware, distribution)
    toolset: Family  # hashes of intrusion tooling (compromise)
    campaign: Campaign | None


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def hot_ip(rng: random.Random, pools: Pools) -> str:
    """A malicious address, the most-listed far more often: so that reports share some."""
    return pools.ips[int(len(pools.ips) * rng.random() ** 3)]


def campaigns(rng: random.Random, pools: Pools, brands: list[tuple[str, str]], count: int) -> list[Campaign]:
    out = []
    for _ in range(count):
        brand, country = rng.choice(brands)
        domains = tuple(fake_domain(rng, slug(brand).replace("-", "")) for _ in range(rng.randint(3, 7)))
        out.append(Campaign(brand, country, domains, tuple(hot_ip(rng, pools) for _ in range(2))))
    return out


PATHS = (
    "login",
    "secure/{s}/signin.php",
    "verify/index.html",
    "{s}/auth?session={h}",
    "wp-content/uploads/{s}/",
)
LOCALS = ("security", "no-reply", "alerts", "service", "support", "billing")
LURES = ("{s}_statement_{n}.html", "Invoice_{n}.pdf.html", "payment_{n}.zip", "delivery_notice_{n}.img")
NOTES = ("README_RESTORE_FILES.txt", "HOW_TO_DECRYPT.html", "!!!_READ_ME_!!!.txt", "RECOVER-FILES.txt")
DROPPED = ("svchostt.exe", "winupd.dll", "taskmgr64.exe", "sync_agent.exe", "locker.exe", "enc.ps1")
SHELLS = ("help.aspx", "errorEE.aspx", "config.jsp", "wso.php", "up.php", "logo.gif.php", "about.phtml")
BINS = ("bins/mips", "bins/arm7", "bins/x86", "bins/mpsl", "update.sh", "installer.exe", "codec.msi")
Maker = Callable[[], IndicatorSpec]


def _hash(value: str, comment: str, confidence: int, tags: tuple[str, ...] = ()) -> IndicatorSpec:
    kind = {32: T.MD5, 40: T.SHA1, 64: T.SHA256}[len(value)]
    return IndicatorSpec(kind, value, comment, confidence, tags)


def _cidr(ip: str) -> str:
    return ".".join(ip.split(".")[:3]) + ".0/24"


def _phishing(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    s = slug(c.brand).replace("-", "")
    if c.campaign is not None:
        domains, ips = c.campaign.domains, c.campaign.ips
    else:
        domains = tuple(fake_domain(rng, s) for _ in range(rng.randint(2, 5)))
        ips = (hot_ip(rng, pools), hot_ip(rng, pools))

    def url() -> IndicatorSpec:
        path = rng.choice(PATHS).format(s=s, h=fake_hash(rng, 32)[:12])
        return IndicatorSpec(T.URL, f"https://{rng.choice(domains)}/{path}", "credential-harvesting page", 85)

    return [
        (30, lambda: IndicatorSpec(T.DOMAIN, rng.choice(domains), f"look-alike domain of {c.brand}", 90)),
        (35, url),
        (
            12,
            lambda: IndicatorSpec(T.EMAIL, f"{rng.choice(LOCALS)}@{rng.choice(domains)}", "lure sender", 80),
        ),
        (15, lambda: IndicatorSpec(T.IPV4, rng.choice(ips), "server hosting the phishing pages", 70)),
        (
            8,
            lambda: IndicatorSpec(
                T.FILENAME, rng.choice(LURES).format(s=s, n=rng.randint(1000, 99999)), "lure", 60
            ),
        ),
    ]


def _c2(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    f, tags = c.family, (slug(c.family.name),)
    src = f"{f.source}: {f.name}"
    makers: list[tuple[int, Maker]] = []
    if f.domains:
        makers.append(
            (len(f.domains), lambda: IndicatorSpec(T.DOMAIN, rng.choice(f.domains), f"C2 ({src})", 85, tags))
        )
    if f.ips:
        makers.append(
            (len(f.ips), lambda: IndicatorSpec(T.IPV4, rng.choice(f.ips), f"C2 server ({src})", 80, tags))
        )
    return makers


def _samples(rng: random.Random, f: Family, what: str) -> Maker:
    return lambda: _hash(rng.choice(f.hashes), f"{what} ({f.source}: {f.name})", 90)


def _ransomware(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    return [
        (45, _samples(rng, c.family, "sample")),
        (10, lambda: IndicatorSpec(T.FILENAME, rng.choice(NOTES), "ransom note", 95)),
        (10, lambda: IndicatorSpec(T.FILENAME, rng.choice(DROPPED), "file dropped by the intruders", 70)),
        (35, lambda: IndicatorSpec(T.IPV4, hot_ip(rng, pools), "VPN logins by the intruders", 65)),
    ]


def _distribution(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    servers = tuple(hot_ip(rng, pools) for _ in range(rng.randint(2, 4)))
    return [
        (
            40,
            lambda: IndicatorSpec(
                T.URL, f"http://{rng.choice(servers)}/{rng.choice(BINS)}", "payload download", 85
            ),
        ),
        (20, lambda: IndicatorSpec(T.IPV4, rng.choice(servers), "download server", 80)),
        (40, _samples(rng, c.family, "payload")),
    ]


def _sources(
    what: str, with_ranges: bool
) -> Callable[[random.Random, Context, Pools], list[tuple[int, Maker]]]:
    def profile(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
        comment = what.format(product=c.product)
        makers: list[tuple[int, Maker]] = [
            (90, lambda: IndicatorSpec(T.IPV4, hot_ip(rng, pools), comment, rng.randint(50, 90)))
        ]

        def cidr() -> IndicatorSpec:
            return IndicatorSpec(T.IPV4_CIDR, _cidr(hot_ip(rng, pools)), "range with many sources", 50)

        return [*makers, (10, cidr)] if with_ranges else makers

    return profile


def _compromise(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    return [
        (40, _samples(rng, c.toolset, "tooling")),
        (20, lambda: IndicatorSpec(T.FILENAME, rng.choice(SHELLS), "web shell", 80)),
        (40, lambda: IndicatorSpec(T.IPV4, hot_ip(rng, pools), "address that operated the web shell", 70)),
    ]


def _defacement(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    return [
        (60, lambda: IndicatorSpec(T.IPV4, hot_ip(rng, pools), "uploaded the web shell", 70)),
        (40, lambda: IndicatorSpec(T.FILENAME, rng.choice(SHELLS), "web shell left on the sites", 80)),
    ]


def _fraud(rng: random.Random, c: Context, pools: Pools) -> list[tuple[int, Maker]]:
    s = slug(c.brand).replace("-", "")
    sites = tuple(
        fake_domain(rng, s + rng.choice(("outlet", "invest", "deals"))) for _ in range(rng.randint(2, 5))
    )
    return [
        (40, lambda: IndicatorSpec(T.DOMAIN, rng.choice(sites), "fraudulent website", 90)),
        (20, lambda: IndicatorSpec(T.URL, f"https://{rng.choice(sites)}/checkout", "payment page", 85)),
        (
            20,
            lambda: IndicatorSpec(
                T.EMAIL, f"{rng.choice(LOCALS)}@{rng.choice(sites)}", "contact given to victims", 75
            ),
        ),
        (20, lambda: IndicatorSpec(T.IPV4, hot_ip(rng, pools), "server hosting the websites", 70)),
    ]


PROFILES = {
    "phishing": _phishing,
    "c2": _c2,
    "ransomware": _ransomware,
    "distribution": _distribution,
    "ddos": _sources("source of attack traffic", True),
    "scanning": _sources("scanned for {product}", True),
    "bruteforce": _sources("login attempts against {product}", False),
    "compromise": _compromise,
    "defacement": _defacement,
    "fraud": _fraud,
}


def indicators(rng: random.Random, profile: str, count: int, c: Context, pools: Pools) -> list[IndicatorSpec]:
    """About ``count`` distinct indicators (fewer when the family has fewer values)."""
    makers = PROFILES[profile](rng, c, pools)
    weights = [w for w, _ in makers]
    out: dict[tuple[T, str], IndicatorSpec] = {}
    for _ in range(count * 3):
        if len(out) >= count:
            break
        spec = rng.choices(makers, weights)[0][1]()
        out.setdefault((spec.type, spec.value), spec)
    return list(out.values())
