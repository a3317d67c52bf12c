"""Indicator values for the demo world: real public lists when present, fictitious values otherwise.

The real lists are those of the shared data folder (``<repo>/../shared/data``, or the folder named by
``COMMONSPACE_DEMO_DATA``): IPsum's most-listed malicious addresses, the C2 servers and hashes of Florian
Roth's signature-base, and the sample hashes of ESET's research. Only the head of each file is read, and
nothing is copied into the repository. Each list missing is replaced by generated values: random public
addresses, made-up domains under real top-level domains, random hashes, and made-up family names. The
documentation ranges (192.0.2.0/24 and the like) are never used: they are known-benign, not malicious.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from commonspace.domain.canonical import InvalidIndicator, canonicalize
from commonspace.domain.vocab import IndicatorType

MAX_LINES = 3000  # per file
_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
DATA_VARIABLE = "COMMONSPACE_DEMO_DATA"


def default_data_dir() -> Path:
    explicit = os.environ.get(DATA_VARIABLE)
    return Path(explicit) if explicit else Path(__file__).resolve().parents[4] / "shared" / "data"


@dataclass(frozen=True)
class Family:
    """A malware family or campaign: its C2 servers and sample hashes, and where they were published."""

    name: str
    source: str
    domains: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pools:
    ips: tuple[str, ...]  # malicious IPv4 addresses, most-listed first
    c2: tuple[Family, ...]  # families with C2 domains and addresses
    samples: tuple[Family, ...]  # families with sample hashes
    hashes: tuple[tuple[str, str], ...]  # loose hashes, with what they are
    real: tuple[str, ...]  # the public lists used; empty when everything is generated


def _head(path: Path) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in islice(lines, MAX_LINES):
                line = line.strip()
                if line:
                    yield line
    except OSError:
        return


def _public_ipv4(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == 4 and address.is_global and not address.is_multicast


def read_ipsum(root: Path) -> tuple[str, ...]:
    values = (line.split()[0] for line in _head(root / "indicators/ipsum/ipsum.txt") if line[0] != "#")
    return tuple(dict.fromkeys(v for v in values if _public_ipv4(v)))


def _section_name(comment: str) -> str:
    text = re.sub(r"https?://\S+", "", comment)
    text = re.sub(r"\s-\s*Source:.*$", "", text)
    text = re.sub(
        r"\b(report\b.*|CISA Alert.*|ZDI-CAN-\d+.*|IOCs?|C2s?|Domains|related)", "", text, flags=re.I
    )
    text = " ".join(text.replace(" - ", " ").split()).strip(" -")
    return text if len(text.split()) <= 6 else ""


def _domain(text: str) -> bool:
    """A host name as the indicator services take it (its canonical form), under an alphabetic TLD."""
    if not _NAME.fullmatch(text):
        return False
    try:
        return canonicalize(IndicatorType.DOMAIN, text) == text
    except InvalidIndicator:
        return False


def read_c2(root: Path) -> tuple[Family, ...]:
    sections: dict[str, tuple[list[str], list[str]]] = {}
    name = ""
    for line in _head(root / "indicators/signature-base/c2-iocs.txt"):
        if line.startswith("#"):
            name = _section_name(line.lstrip("# "))
            continue
        value = line.split(";")[0].strip().lower()
        if not name or "mining" in name.lower():
            continue
        domains, ips = sections.setdefault(name, ([], []))
        if _public_ipv4(value):
            ips.append(value)
        elif _domain(value):
            domains.append(value)
    return tuple(
        Family(name, "signature-base C2 list", tuple(dict.fromkeys(d)), tuple(dict.fromkeys(i)))
        for name, (d, i) in sections.items()
        if len(d) + len(i) >= 2
    )


_HEX = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
_FAMILY_NAMES = {
    "apt_c_60": "APT-C-60", "swc-candiru": "Candiru", "ua_wipers": "Ukraine wipers", "ta410": "TA410",
    "nukesped_lazarus": "Lazarus NukeSped", "okrum_ke3chang": "Ke3chang Okrum", "badiis": "BadIIS",
    "blacklotus": "BlackLotus", "especter": "ESPecter", "greyenergy": "GreyEnergy", "dark_iot": "Dark.IoT",
    "invisimole": "InvisiMole", "oceanlotus": "OceanLotus", "oilrig": "OilRig", "telebots": "TeleBots",
    "pwa_phishing": "PWA phishing", "stantinko__cryptominer": "Stantinko cryptominer",
}  # fmt: skip


def read_hashes(root: Path) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for line in _head(root / "indicators/signature-base/hash-iocs.txt"):
        value, _, comment = line.partition(";")
        value = value.strip().lower()
        if line.startswith("#") or not _HEX.fullmatch(value):
            continue
        comment = _section_name(comment) if not comment.strip().isdigit() else ""
        out.setdefault(value, comment or "malicious file (signature-base hash list)")
    return tuple(out.items())


def read_eset(root: Path) -> tuple[Family, ...]:
    folder = root / "indicators/eset-hashes"
    stems = (
        sorted({p.name.split("__samples")[0] for p in folder.glob("*__samples.*")}) if folder.is_dir() else []
    )
    families = []
    for stem in stems:
        if stem.startswith("quarterly_reports"):
            continue
        values = [*_head(folder / f"{stem}__samples.sha256"), *_head(folder / f"{stem}__samples.md5")]
        hashes = tuple(dict.fromkeys(v.lower() for v in values if _HEX.fullmatch(v.lower())))
        name = _FAMILY_NAMES.get(stem) or stem.replace("_", " ").strip().title()
        if len(hashes) >= 2:
            families.append(Family(name, "ESET research", hashes=hashes))
    return tuple(families)


# --- generated, fictitious values ---------------------------------------------------------------------

SYLLABLES = ("ka", "lo", "mi", "ra", "ven", "tor", "zen", "qu", "lex", "dar", "nim", "bo", "sa", "tek", "vor")
WORDS = ("cdn", "update", "cloud", "sync", "stat", "api", "check", "host", "secure", "login", "verify")
TLDS = ("top", "xyz", "online", "site", "info", "net", "live", "click", "shop", "com")
MADE_UP_FAMILIES = (
    "Brasswing", "Mossdrake", "Tindercap", "Umberloom", "Fennelrat", "Cindertusk", "Glimmerspike",
    "Pewterfinch", "Quarrywolf", "Saltmarsh Loader",
)  # fmt: skip


def fake_domain(rng: random.Random, stem: str | None = None) -> str:
    """A made-up domain such as ``vorlexnim-sync.top`` (or ``<stem>-verify.online``)."""
    base = stem or "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return f"{base}-{rng.choice(WORDS)}{rng.randint(1, 99) if rng.random() < 0.3 else ''}.{rng.choice(TLDS)}"


def fake_ip(rng: random.Random) -> str:
    while True:
        text = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        if _public_ipv4(text) and 1 <= int(text.split(".")[0]) < 224:
            return text


def fake_hash(rng: random.Random, bits: int = 256) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def generated_families(rng: random.Random, ips: tuple[str, ...]) -> tuple[Family, ...]:
    return tuple(
        Family(
            name,
            "generated",
            tuple(fake_domain(rng) for _ in range(rng.randint(3, 8))),
            tuple(rng.sample(ips, rng.randint(3, 10))),
            tuple(fake_hash(rng, rng.choice((128, 256, 256))) for _ in range(rng.randint(5, 15))),
        )
        for name in MADE_UP_FAMILIES
    )


def load_pools(data_dir: Path | None, seed: int) -> Pools:
    """The values to draw indicators from; deterministic for a given folder and seed."""
    root = data_dir if data_dir is not None else default_data_dir()
    rng = random.Random(seed)
    ips, c2, hashes, samples = read_ipsum(root), read_c2(root), read_hashes(root), read_eset(root)
    real = tuple(
        name for name, found in (("IPsum", ips), ("signature-base", c2 or hashes), ("ESET", samples)) if found
    )
    ips = ips or tuple(dict.fromkeys(fake_ip(rng) for _ in range(2500)))
    made_up = generated_families(rng, ips[:1500]) if not (c2 and samples) else ()
    hashes = hashes or tuple((fake_hash(rng, b), "malicious file (generated)") for b in (128, 160, 256) * 100)
    return Pools(ips, c2 or made_up, samples or made_up, hashes, real)
