"""The demo reports, made by a seeded ``random.Random``: the same seed and pools give the same world.

Pure: nothing here touches the database. Dates are laid between 2021 and ``now`` (more of them recent);
titles, values and the rest depend on the seed and the pools, not on the day of the run, except which
vulnerability a report may name (only those disclosed before it began).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from commonspace.demo import catalogue as cat
from commonspace.demo.sources import Family, Pools
from commonspace.demo.templates import EXPOSED, KINDS, PRODUCTS, SOURCES, Kind
from commonspace.demo.values import Campaign, Context, IndicatorSpec, campaigns, indicators, slug
from commonspace.domain.taxonomy import category_tag
from commonspace.domain.vocab import TLP, Distribution, ThreatLevel

START = datetime(2021, 1, 1, tzinfo=UTC)
THREATS = (ThreatLevel.HIGH, ThreatLevel.MEDIUM, ThreatLevel.LOW, ThreatLevel.UNDEFINED)
WIDE = (Distribution.COMMUNITY, Distribution.CONNECTED_COMMUNITIES)
# Which sharing group an organisation prefers for each kind of report (else any of its groups).
PREFERRED_GROUP = {
    cat.PHISH: "Financial Fraud Task Force",
    cat.FRAUD: "Financial Fraud Task Force",
    cat.DDOS: "CERT-Rhein – Nordwind Telecom",
    cat.SCAN: "CERT-Rhein – Nordwind Telecom",
}


@dataclass(frozen=True)
class SightingSpec:
    indicator: int  # index in the report's indicators
    org: str
    seen: datetime
    source: str
    count: int
    false_positive: bool


@dataclass(frozen=True)
class ReportSpec:
    org: str
    title: str
    summary: str
    category: str
    threat_level: ThreatLevel
    victim_countries: tuple[str, ...]
    victim_sectors: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    loss: tuple[Decimal, str] | None
    tlp: TLP
    distribution: Distribution
    sharing_group: str | None
    created: datetime
    published: datetime | None  # None: a draft
    modified: datetime
    tags: tuple[str, ...]
    indicators: tuple[IndicatorSpec, ...]
    sightings: tuple[SightingSpec, ...] = ()


def _weighted(rng: random.Random, items: list[Kind]) -> Kind:
    return rng.choices(items, [k.weight for k in items])[0]


def _countries(rng: random.Random, home: str | None) -> tuple[str, ...]:
    codes = list(cat.COUNTRIES)
    drawn = rng.choices(codes, [cat.COUNTRIES[c][2] for c in codes], k=4)
    wanted = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
    first = [home] if home and rng.random() < 0.8 else []
    return tuple(dict.fromkeys([*first, *drawn]))[:wanted]


def _loss(rng: random.Random, kind: Kind, country: str) -> tuple[Decimal, str] | None:
    if rng.random() >= kind.loss_chance:
        return None
    currency = cat.COUNTRIES[country][1]
    amount = rng.lognormvariate(math.log(kind.loss_median_usd), 1.4) * cat.PER_USD[currency]
    if rng.random() < 0.15 and currency not in cat.NO_MINOR_UNITS:  # summed from victims' complaints
        return Decimal(f"{amount:.2f}"), currency
    step = 10 ** max(0, math.floor(math.log10(max(amount, 1))) - 1)  # an estimate: two significant digits
    return Decimal(round(amount / step) * step), currency


def _sharing(rng: random.Random, org: str, category: str) -> tuple[TLP, Distribution, str | None]:
    groups = cat.groups_of(org)
    group = PREFERRED_GROUP.get(category) if PREFERRED_GROUP.get(category) in groups else None
    group = group or (groups[int(rng.random() * len(groups))] if groups else None)
    r, wide = rng.random(), rng.choice(WIDE) if rng.random() < 0.15 else Distribution.COMMUNITY
    if r < 0.10:
        return TLP.CLEAR, rng.choice(WIDE), None
    if r < 0.45:
        return TLP.GREEN, wide, None
    if r < 0.70:
        return TLP.AMBER, wide, None
    narrow = (Distribution.SHARING_GROUP, group) if group else (Distribution.ORGANISATION, None)
    if r < 0.82:
        return rng.choice((TLP.GREEN, TLP.AMBER)), *narrow
    if r < 0.95:
        tlp = TLP.AMBER_STRICT if r < 0.90 else TLP.RED
        return (tlp, *narrow) if rng.random() < 0.7 else (tlp, Distribution.ORGANISATION, None)
    return TLP.AMBER, Distribution.ORGANISATION, None


def _dates(
    rng: random.Random, now: datetime
) -> tuple[datetime, datetime, datetime, datetime | None, datetime]:
    """first seen, last seen, created, published (None: a draft), modified."""
    latest = now - timedelta(hours=1)
    position = rng.random() ** 0.8  # more reports in recent years, as sharing grows
    first = START + (now - timedelta(days=5) - START) * position
    last = min(first + timedelta(hours=min(rng.expovariate(1 / 96), 24 * 45)), latest)
    created = min(first + timedelta(hours=rng.uniform(2, 96)), latest)
    draft = rng.random() < (0.3 if position > 0.97 else 0.05)
    published = None if draft else min(created + timedelta(minutes=rng.uniform(5, 2880)), latest)
    modified = min(max(published or created, last) + timedelta(minutes=rng.uniform(0, 600)), latest)
    return first, last, created, published, modified


@dataclass(frozen=True)
class _Facts:
    kind: Kind
    fields: dict[str, str]
    indicators: list[IndicatorSpec]
    first_seen: datetime
    last_seen: datetime
    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    loss: tuple[Decimal, str] | None


def _summary(rng: random.Random, f: _Facts) -> str:
    """Markdown: the story, what was observed, and what to do."""
    story = " ".join(paragraph.format(**f.fields) for paragraph in f.kind.story)
    counts = sorted(Counter(i.type.value for i in f.indicators).items())
    lines = [
        story,
        "",
        "### Observed",
        f"- First seen {f.first_seen:%Y-%m-%d}, last seen {f.last_seen:%Y-%m-%d}.",
        f"- Victims in {', '.join(cat.COUNTRIES[c][0] for c in f.countries)}, sector {', '.join(f.sectors)}.",
        f"- {len(f.indicators)} indicators: " + ", ".join(f"{n} {t}" for t, n in counts) + ".",
    ]
    if f.loss:
        lines.append(f"- Estimated loss: {f.loss[0]:,} {f.loss[1]}.")
    actions = rng.sample(f.kind.actions, min(2, len(f.kind.actions)))
    return "\n".join([*lines, "", "### Recommended actions", *(f"- {a.format(**f.fields)}" for a in actions)])


def _toolsets(pools: Pools) -> tuple[Family, ...]:
    """Hashes of the signature-base list grouped by what they are (a campaign's tooling)."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for value, comment in pools.hashes:
        if not comment.startswith("malicious file"):
            grouped[comment].append(value)
    sets = tuple(
        Family(n, "signature-base hash list", hashes=tuple(h)) for n, h in grouped.items() if len(h) >= 3
    )
    return sets or pools.samples


def _family(rng: random.Random, pools: Pools, toolsets: tuple[Family, ...], profile: str) -> Family:
    c2 = rng.choice([f for f in pools.c2 if len(f.domains) + len(f.ips) >= 3] or pools.c2)
    samples, toolset = rng.choice(pools.samples), rng.choice(toolsets)
    return {"ransomware": samples, "distribution": samples, "compromise": toolset}.get(profile, c2)


def _narrow_one(rng: random.Random, inds: list[IndicatorSpec], distribution: Distribution) -> None:
    """Now and then keep one indicator of a widely shared report to the organisation."""
    if distribution in WIDE and len(inds) >= 5 and rng.random() < 0.15:
        last = inds[-1]
        inds[-1] = replace(last, organisation_only=True, comment=last.comment + "; kept to us for now")


def _report(
    rng: random.Random, pools: Pools, shared: list[Campaign], toolsets: tuple[Family, ...], now: datetime
) -> ReportSpec:
    org = rng.choices(cat.ORGANISATIONS, [o.weight for o in cat.ORGANISATIONS])[0]
    focus = [k for k in KINDS if k.category in org.focus]
    kind = _weighted(rng, focus if focus and rng.random() < 0.6 else list(KINDS))
    first, last, created, published, modified = _dates(rng, now)
    campaign = rng.choice(shared) if kind.profile == "phishing" and rng.random() < 0.55 else None
    countries = _countries(rng, org.country)
    if campaign is not None:
        countries = tuple(dict.fromkeys((campaign.country, *countries)))[:3]
    brand = campaign.brand if campaign else rng.choice(cat.BRANDS.get(countries[0], cat.GLOBAL_BRANDS))
    sectors = tuple(dict.fromkeys((rng.choice(kind.sectors), rng.choice(cat.SECTORS))))[: rng.randint(1, 2)]
    exposed = [e for e in EXPOSED if e[2] <= first.date()]
    product, cve, _ = exposed[int(rng.random() * len(exposed))]
    product = rng.choice(PRODUCTS[kind.profile]) if kind.profile in PRODUCTS else product
    family = _family(rng, pools, toolsets, kind.profile)
    low, high = kind.indicators
    context = Context(brand, product, family, family, campaign)
    inds = indicators(rng, kind.profile, low + int((high - low) * rng.random() ** 2), context, pools)
    tlp, distribution, group = _sharing(rng, org.name, kind.category)
    _narrow_one(rng, inds, distribution)
    n = rng.randint(3, 40)
    headline = {"phishing": "domain", "fraud": "domain", "distribution": "url"}.get(kind.profile, "ipv4")
    if kind.profile in ("phishing", "fraud", "distribution", "ddos", "scanning", "bruteforce"):
        n = sum(1 for i in inds if i.type.value == headline) or n
    gbps = str(max(1, round(rng.lognormvariate(3, 1))))
    fields = {"brand": brand, "country": cat.COUNTRIES[countries[0]][0], "sector": sectors[0]}
    fields |= {"family": family.name, "product": product, "cve": cve, "gbps": gbps, "n": str(n)}
    facts = _Facts(kind, fields, inds, first, last, countries, sectors, _loss(rng, kind, countries[0]))
    tags = [category_tag(kind.category), *rng.sample(kind.tags, rng.randint(1, 2))]
    if kind.profile in ("c2", "ransomware", "distribution", "compromise"):
        tags.append(slug(family.name))
    return ReportSpec(
        org=org.name,
        title=rng.choice(kind.titles).format(**fields),
        summary=_summary(rng, facts),
        category=kind.category,
        threat_level=rng.choices(THREATS, kind.threat)[0],
        victim_countries=countries,
        victim_sectors=sectors,
        first_seen=first,
        last_seen=last,
        loss=facts.loss,
        tlp=tlp,
        distribution=distribution,
        sharing_group=group if distribution is Distribution.SHARING_GROUP else None,
        created=created,
        published=published,
        modified=modified,
        tags=tuple(tags),
        indicators=tuple(inds),
    )


def _may_see(report: ReportSpec, org: str) -> bool:
    if report.published is None or org in (report.org, cat.OPERATOR):
        return False
    return report.distribution in WIDE or (
        report.sharing_group is not None and report.sharing_group in cat.groups_of(org)
    )


def _sightings(rng: random.Random, reports: list[ReportSpec], count: int, now: datetime) -> list[ReportSpec]:
    """A few organisations saw others' indicators in their own logs (or found them false positives)."""
    names = [o.name for o in cat.ORGANISATIONS]
    found: dict[int, list[SightingSpec]] = defaultdict(list)
    for _ in range(count * 4):
        if sum(len(s) for s in found.values()) >= count:
            break
        index, org = rng.randrange(len(reports)), rng.choice(names)
        report = reports[index]
        candidates = [i for i, ind in enumerate(report.indicators) if not ind.organisation_only]
        if not _may_see(report, org) or not candidates or report.published is None:
            continue
        seen = report.published + (now - timedelta(minutes=5) - report.published) * rng.random() ** 2
        sighting = SightingSpec(
            rng.choice(candidates), org, seen, rng.choice(SOURCES), rng.randint(1, 60), rng.random() < 0.1
        )
        found[index].append(sighting)
    return [replace(r, sightings=tuple(found.get(i, ()))) for i, r in enumerate(reports)]


def generate(pools: Pools, *, count: int, now: datetime, seed: int = cat.SEED) -> list[ReportSpec]:
    """``count`` reports, oldest first, with a few sightings."""
    rng = random.Random(seed)
    brands = [(b, c) for c, names in sorted(cat.BRANDS.items()) for b in names]
    shared = campaigns(rng, pools, brands, max(4, count // 25))
    toolsets = _toolsets(pools)
    reports = [_report(rng, pools, shared, toolsets, now) for _ in range(count)]
    return sorted(_sightings(rng, reports, max(3, count // 8), now), key=lambda r: r.created)
