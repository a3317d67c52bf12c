"""Who is in the demo world: organisations, members, sharing groups, countries; and the demo credentials.

The national CERTs and the police unit are real bodies named for illustration; every report the demo
attributes to them is generated. Companies, the citizens' association and the international directorate
are fictitious. E-mail addresses are under ``.example`` (RFC 2606), so no message can reach anyone.

The password and the API keys are public demo credentials: the keys are derived from a fixed seed and
the e-mail address, so every run prints the same, true, keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from commonspace.accounts.keys import KEY_PREFIX
from commonspace.domain.vocab import OrgKind, Role

DEMO_PASSWORD = "commonspace-demo"  # public: printed on every run
KEY_SEED = b"commonspace-demo-world/api-keys/v1"
SEED = 20210101
OPERATOR = "Commonspace Operations"


def demo_key(email: str) -> str:
    """The member's demo API key: the format of ``keys.new_key()`` (``cs_`` + 43 URL-safe characters)."""
    digest = hmac.new(KEY_SEED, email.encode(), hashlib.sha256).digest()
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Org:
    name: str
    kind: OrgKind
    country: str | None
    sector: str
    domain: str
    people: tuple[tuple[str, Role], ...]
    weight: int = 0  # how many reports, relatively
    focus: tuple[str, ...] = ()  # the categories it reports most

    @property
    def contact(self) -> str:
        return f"contact@{self.domain}"


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    org: str
    role: Role


@dataclass(frozen=True)
class Group:
    name: str
    owner: str
    members: tuple[str, ...]
    description: str


G, INTL, E, C = OrgKind.GOVERNMENT, OrgKind.INTERNATIONAL, OrgKind.ENTERPRISE, OrgKind.CIVIL_SOCIETY
SA, OA, PU, AN, RE = Role.SITE_ADMIN, Role.ORG_ADMIN, Role.PUBLISHER, Role.ANALYST, Role.READER
PHISH, FRAUD = "fraud/phishing", "fraud/masquerade"
C2, DIST = "malicious-code/c2-server", "malicious-code/malware-distribution"
RANSOM = "malicious-code/infected-system"
DDOS, COMPROMISE = "availability/ddos", "intrusions/system-compromise"
DEFACE = "information-content-security/unauthorised-modification"
SCAN, BRUTE = "information-gathering/scanner", "intrusion-attempts/brute-force"

ORGANISATIONS: tuple[Org, ...] = (
    Org(OPERATOR, INTL, None, "platform operator", "ops.commonspace.example",
        (("Ada Okafor", SA), ("Marta Quispe", OA))),
    Org("CERT-Marianne", G, "FR", "national CERT", "cert-marianne.example",
        (("Camille Laurent", OA), ("Julien Moreau", PU), ("Inès Benali", AN), ("Hugo Petit", RE)),
        14, (PHISH, RANSOM, COMPROMISE, DEFACE)),
    Org("CERT-Rhein", G, "DE", "national CERT", "cert-rhein.example",
        (("Katrin Vogel", OA), ("Jonas Becker", PU), ("Miriam Haas", AN)),
        13, (C2, SCAN, COMPROMISE, RANSOM)),
    Org("CERT-Guanabara", G, "BR", "national CERT", "cert-guanabara.example",
        (("Ana Souza", OA), ("Rafael Lima", PU), ("Beatriz Costa", AN), ("Thiago Alves", RE)),
        12, (PHISH, SCAN, BRUTE, DDOS)),
    Org("CERT-Sakura", G, "JP", "national CERT", "cert-sakura.example",
        (("Yuki Tanaka", OA), ("Haruto Sato", PU), ("Aiko Nakamura", AN)),
        10, (C2, PHISH, COMPROMISE, DIST)),
    Org("CERT-Savanna", G, "KE", "national CERT", "cert-savanna.example",
        (("Wanjiru Kamau", OA), ("Otieno Odhiambo", PU), ("Achieng Atieno", RE)),
        7, (FRAUD, PHISH, DEFACE, DDOS)),
    Org("Unidade Lusa de Cibercrime", G, "PT", "law enforcement", "cibercrime-lusa.example",
        (("Rui Carvalho", OA), ("Sofia Ferreira", PU), ("Tiago Pereira", AN)),
        6, (FRAUD, PHISH, RANSOM)),
    Org("Pan-African CERT Forum", INTL, None, "regional CERT forum", "pan-african-cert.example",
        (("Amina Diallo", OA), ("Kwame Mensah", PU)),
        4, (PHISH, DEFACE, C2)),
    Org("International Cybercrime Coordination Directorate", INTL, None, "law enforcement cooperation",
        "iccd.example",
        (("Elena Varga", OA), ("Samuel Adeyemi", PU), ("Priya Raman", AN), ("Tomás Ibarra", RE)),
        6, (RANSOM, C2, FRAUD)),
    Org("Nordwind Telecom", E, "DE", "telecommunications", "nordwind-telecom.example",
        (("Felix Braun", OA), ("Lena Krüger", PU), ("Noah Schmitt", AN)),
        8, (DDOS, SCAN, BRUTE)),
    Org("Mercado Aurora", E, "BR", "e-commerce", "mercado-aurora.example",
        (("Lucas Rocha", OA), ("Carla Mendes", PU)),
        4, (PHISH, FRAUD)),
    Org("Kestrel Threat Research", E, "NL", "security vendor", "kestrel-research.example",
        (("Sanne de Vries", OA), ("Daan Jansen", PU), ("Eva Bakker", AN)),
        9, (C2, DIST, RANSOM, COMPROMISE)),
    Org("Banco Atlântico Sul", E, "PT", "banking", "bancoatlanticosul.example",
        (("Marta Sousa", OA), ("Pedro Gomes", PU), ("Inês Rodrigues", AN), ("Joana Martins", RE)),
        5, (PHISH, FRAUD)),
    Org("Observatoire Citoyen du Numérique", C, "FR", "citizens' association", "observatoire-citoyen.example",
        (("Claire Dubois", OA), ("Mehdi Haddad", PU), ("Louise Girard", RE)),
        3, (PHISH, FRAUD)),
)  # fmt: skip

GROUPS: tuple[Group, ...] = (
    Group(
        "Financial Fraud Task Force",
        "Banco Atlântico Sul",
        ("Unidade Lusa de Cibercrime", "CERT-Marianne", "CERT-Guanabara", "Mercado Aurora",
         "International Cybercrime Coordination Directorate", "Observatoire Citoyen du Numérique"),
        "Banks, marketplaces, police and CERTs sharing phishing kits, mule accounts and fraud servers.",
    ),
    Group(
        "Critical Infrastructure CERT Circle",
        "CERT-Rhein",
        ("CERT-Marianne", "CERT-Sakura", "CERT-Guanabara", "CERT-Savanna", "Pan-African CERT Forum",
         "Kestrel Threat Research"),
        "National CERTs and a vendor exchanging intrusion and C2 details on attacks on essential services.",
    ),
    Group(
        "CERT-Rhein – Nordwind Telecom",
        "CERT-Rhein",
        ("Nordwind Telecom",),
        "Bilateral: the national CERT and an ISP on infected customer lines and attacks on the network.",
    ),
)  # fmt: skip


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def people() -> tuple[Person, ...]:
    """Every demo member, e-mail ``first.last@<organisation's domain>``."""
    out = []
    for org in ORGANISATIONS:
        for name, role in org.people:
            local = ".".join(_ascii(part) for part in name.split())
            out.append(Person(f"{local}@{org.domain}", name, org.name, role))
    return tuple(out)


def org_by_name(name: str) -> Org:
    return next(org for org in ORGANISATIONS if org.name == name)


def groups_of(org: str) -> tuple[str, ...]:
    return tuple(g.name for g in GROUPS if org == g.owner or org in g.members)


# Victim countries: name, currency of losses, weight; and a few fictitious brands phishers imitate.
COUNTRIES: dict[str, tuple[str, str, int]] = {
    "FR": ("France", "EUR", 10), "DE": ("Germany", "EUR", 10), "BR": ("Brazil", "BRL", 10),
    "JP": ("Japan", "JPY", 8), "KE": ("Kenya", "KES", 6), "PT": ("Portugal", "EUR", 6),
    "NL": ("the Netherlands", "EUR", 5), "US": ("the United States", "USD", 9),
    "GB": ("the United Kingdom", "GBP", 6), "ES": ("Spain", "EUR", 4), "IT": ("Italy", "EUR", 4),
    "NG": ("Nigeria", "NGN", 4), "ZA": ("South Africa", "ZAR", 4), "IN": ("India", "INR", 5),
    "MX": ("Mexico", "MXN", 3), "GH": ("Ghana", "GHS", 2), "UG": ("Uganda", "UGX", 2),
    "CA": ("Canada", "CAD", 3), "PL": ("Poland", "PLN", 3), "SG": ("Singapore", "SGD", 2),
}  # fmt: skip
# Units of each currency per US dollar, roughly: losses are drawn in dollars and converted.
PER_USD: dict[str, float] = {
    "EUR": 0.92, "BRL": 5.2, "JPY": 150.0, "KES": 130.0, "USD": 1.0, "GBP": 0.79, "NGN": 1500.0,
    "ZAR": 18.5, "INR": 83.0, "MXN": 17.5, "GHS": 14.0, "UGX": 3800.0, "CAD": 1.36, "PLN": 4.0, "SGD": 1.35,
}  # fmt: skip
NO_MINOR_UNITS = frozenset({"JPY", "UGX"})

BRANDS: dict[str, tuple[str, ...]] = {
    "FR": ("Banque Lumière", "ColisRapide"), "DE": ("Rheinland Sparbank", "PaketBlitz"),
    "BR": ("Banco Horizonte", "Mercado Aurora"), "JP": ("Sakuragawa Bank", "Hayate Express"),
    "KE": ("Savanna Pesa", "Rift Valley Bank"), "PT": ("Banco Atlântico Sul", "Correio Expresso Luso"),
    "NL": ("Polderbank", "TulpPost"), "US": ("Lakeshore Federal Credit Union", "ParcelJet"),
    "GB": ("Thamesbridge Bank",), "ES": ("Banco Meseta",), "IT": ("Banca Laguna",),
    "NG": ("Lagoon Mobile Money",), "ZA": ("Karoo Bank",), "IN": ("Deccan Pay",),
}  # fmt: skip
GLOBAL_BRANDS = ("StreamNest", "Nimbusdrive", "MailHarbor", "QuickParcel", "PayWave")

SECTORS = (
    "banking", "e-commerce", "government", "healthcare", "telecommunications", "energy", "education",
    "manufacturing", "transport", "media", "retail", "logistics", "public administration", "non-profit",
    "hospitality", "water",
)  # fmt: skip
