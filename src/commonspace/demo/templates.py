"""What each kind of demo report says: RSIT category, weight, titles, story, advice, victims, losses.

Placeholders: {brand}, {country}, {sector}, {family}, {product}, {cve}, {gbps}, {n}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from commonspace.demo.catalogue import BRUTE, C2, COMPROMISE, DDOS, DEFACE, DIST, FRAUD, PHISH, RANSOM, SCAN


@dataclass(frozen=True)
class Kind:
    category: str
    weight: int  # how often, relatively: phishing is by far the most reported incident
    profile: str  # which indicators (see generate.py)
    titles: tuple[str, ...]
    story: tuple[str, ...]
    actions: tuple[str, ...]
    sectors: tuple[str, ...]
    threat: tuple[int, int, int, int]  # weights of high, medium, low, undefined
    loss_chance: float  # how often a loss is estimated at all
    loss_median_usd: float
    tags: tuple[str, ...]
    indicators: tuple[int, int]  # how many, at least and at most


KINDS: tuple[Kind, ...] = (
    Kind(PHISH, 26, "phishing",
         ("Phishing campaign impersonating {brand} targeting customers in {country}",
          "Credential-harvesting pages imitating {brand} hosted on compromised websites",
          "SMS phishing wave spoofing {brand} in {country}",
          "Business e-mail compromise lures aimed at {sector} finance teams in {country}",
          "Fake {brand} login portal collecting one-time passwords from users in {country}"),
         ("Messages claiming to come from **{brand}** lead to look-alike pages that ask for credentials and "
          "one-time codes. {n} distinct lure domains were registered within days of each other.",
          "Victims in {country} received e-mails and SMS in their own language; the kit relays the stolen "
          "codes to the criminals in real time, defeating SMS-based two-factor authentication."),
         ("Block the listed domains and URLs at resolvers and web proxies.",
          "Warn customers through official channels; never ask for codes by e-mail or SMS.",
          "Report the domains to their registrars for takedown."),
         ("banking", "e-commerce", "logistics", "public administration", "telecommunications"),
         (2, 6, 3, 1), 0.35, 40_000, ("phishing", "credential-theft", "smishing", "bec", "kit"), (4, 25)),
    Kind(C2, 16, "c2",
         ("Command-and-control servers of {family} contacted from networks in {country}",
          "Infected hosts in {country} beaconing to {family} infrastructure",
          "{family}: new command-and-control addresses observed",
          "C2 infrastructure linked to {family} targeting the {sector} sector"),
         ("Network telemetry shows hosts in {country} contacting servers associated with **{family}**. "
          "Traffic recurs every few minutes over HTTPS with a fixed user agent.",
          "The listed servers answered {family} check-ins during the period below; {n} infected hosts were "
          "notified through their network operators."),
         ("Block the C2 addresses and domains at the perimeter and in DNS.",
          "Search proxy and DNS logs for past connections to the listed values.",
          "Isolate and reimage hosts that contacted them."),
         ("government", "energy", "telecommunications", "manufacturing", "healthcare", "education"),
         (5, 4, 1, 1), 0.05, 150_000, ("botnet", "c2", "apt", "espionage", "beacon"), (5, 40)),
    Kind(RANSOM, 10, "ransomware",
         ("Ransomware intrusion at a {sector} organisation in {country}",
          "Double-extortion ransomware attack: {sector} provider in {country} encrypted and data leaked",
          "Ransomware outbreak on the systems of a municipality in {country}",
          "Ransomware deployed through an unpatched {product} at a {sector} company"),
         ("Attackers entered through {product}, moved laterally for several days and encrypted servers and "
          "backups. Tooling overlaps with **{family}** samples; data was exfiltrated before encryption.",
          "A ransom note demanded payment in cryptocurrency and threatened to publish stolen files; {n} "
          "servers were encrypted."),
         ("Patch internet-facing systems and require multi-factor authentication for remote access.",
          "Keep offline, tested backups.", "Hunt for the listed hashes and file names on endpoints."),
         ("healthcare", "manufacturing", "education", "public administration", "logistics", "retail"),
         (9, 2, 0, 0), 0.5, 400_000, ("ransomware", "double-extortion", "data-leak", "initial-access"),
         (4, 30)),
    Kind(DIST, 6, "distribution",
         ("Malware served from compromised hosts as fake {product} updates",
          "Botnet loader distributing {family} payloads to devices in {country}",
          "Drive-by downloads delivering {family} through malicious advertisements"),
         ("Download servers deliver **{family}** payloads to victims who follow fake update prompts; {n} "
          "servers rotated during the period below.",),
         ("Block the download URLs.", "Hunt for the listed hashes on endpoints and IoT devices."),
         ("media", "retail", "telecommunications", "education"),
         (3, 5, 2, 1), 0.02, 20_000, ("malware-distribution", "loader", "malvertising", "iot"), (5, 30)),
    Kind(DDOS, 9, "ddos",
         ("DDoS attack against {sector} websites in {country} ({gbps} Gbit/s peak)",
          "Hacktivist DDoS campaign targeting public services in {country}",
          "Carpet-bombing DDoS against an ISP's customer ranges in {country}",
          "DNS water-torture attack on authoritative servers of {sector} organisations"),
         ("Traffic peaked at {gbps} Gbit/s from {n} source addresses, mostly compromised routers and "
          "cameras. The attack came in waves of 10–30 minutes over several days.",
          "A group announced the attack on messaging channels beforehand; targets were "
          "{sector} websites in {country}."),
         ("Enable upstream scrubbing and rate limits.",
          "Notify the networks hosting the sources, listed below."),
         ("government", "banking", "media", "telecommunications", "transport", "energy"),
         (3, 5, 2, 0), 0.15, 60_000, ("ddos", "hacktivism", "botnet", "mirai"), (10, 40)),
    Kind(COMPROMISE, 8, "compromise",
         ("Compromise of {product} servers at a {sector} operator in {country}",
          "Web shells found on {product} appliances of {sector} organisations",
          "Intrusion through {product} ({cve}) at a {sector} body in {country}"),
         ("Attackers exploited {product} ({cve}) to plant web shells, then harvested credentials. "
          "Artefacts match tooling described publicly for **{family}**.",
          "{n} appliances in {country} were found compromised during a sweep by their operators."),
         ("Apply the vendor's fixes and check appliances with its integrity tool.",
          "Rotate credentials stored on or used through the appliance.", "Hunt for the listed artefacts."),
         ("government", "energy", "healthcare", "telecommunications", "water", "education"),
         (6, 3, 1, 0), 0.25, 250_000, ("web-shell", "exploitation", "apt", "edge-device"), (4, 25)),
    Kind(DEFACE, 6, "defacement",
         ("Defacement of {n} {sector} websites in {country} by a hacktivist group",
          "Mass defacement of websites in {country} running an outdated {product}",
          "Political messages planted on {sector} web portals in {country}"),
         ("{n} websites in {country} showed a hacktivist banner; attackers uploaded a web shell through an "
          "outdated {product} and replaced the home page.",),
         ("Restore pages from clean backups and update the CMS and its plugins.",
          "Remove web shells: look for the listed file names and hashes."),
         ("government", "education", "media", "non-profit", "public administration"),
         (1, 5, 4, 0), 0.05, 5_000, ("defacement", "hacktivism", "web-shell", "cms"), (3, 15)),
    Kind(FRAUD, 7, "fraud",
         ("Fake online shops impersonating {brand} defrauding buyers in {country}",
          "Investment fraud platform using the names of banks in {country}",
          "CEO fraud: wire-transfer requests to {sector} companies in {country}",
          "Tech-support scam call centres targeting elderly people in {country}"),
         ("Victims paid for goods or investments that never existed; money went to mule accounts. "
          "{n} look-alike websites shared hosting and payment pages.",
          "Criminals impersonated **{brand}** in adverts and cold calls; losses reported by victims in "
          "{country} are summed below."),
         ("Warn the public; report the websites to hosting providers and registrars.",
          "Banks: watch for transfers to the listed beneficiaries.", "Victims: file a police complaint."),
         ("retail", "banking", "e-commerce", "non-profit", "hospitality"),
         (2, 6, 2, 1), 0.8, 80_000, ("fraud", "fake-shop", "investment-scam", "money-mule"), (3, 15)),
    Kind(SCAN, 10, "scanning",
         ("Mass scanning for {product} vulnerability {cve}",
          "Scanning of address space in {country} for exposed {product} services",
          "Reconnaissance against {sector} networks in {country} from {n} addresses"),
         ("Sensors recorded {n} addresses probing for {product} ({cve}); most sources are known scanners "
          "and compromised servers.",),
         ("Check that {product} is patched and not exposed without need.",
          "Use the listed addresses to prioritise alerts, not to block blindly: some are research scanners."),
         ("telecommunications", "government", "education", "energy", "manufacturing"),
         (0, 2, 7, 2), 0.0, 0, ("scanning", "reconnaissance", "honeypot"), (10, 40)),
    Kind(BRUTE, 4, "bruteforce",
         ("SSH and RDP brute-force attempts against networks in {country}",
          "Password-spraying against {product} accounts of {sector} organisations"),
         ("{n} addresses tried common passwords against SSH, RDP and {product} logins at a steady rate.",),
         ("Enforce multi-factor authentication and lock-outs.", "Block the most active sources below."),
         ("telecommunications", "education", "government", "hospitality"),
         (0, 4, 5, 1), 0.0, 0, ("brute-force", "password-spraying", "ssh", "rdp"), (8, 40)),
)  # fmt: skip

# Internet-facing products and vulnerabilities exploited in the wild (public CVEs), with their disclosure.
EXPOSED: tuple[tuple[str, str, date], ...] = (
    ("Fortinet FortiOS SSL VPN", "CVE-2018-13379", date(2019, 5, 24)),
    ("Pulse Connect Secure", "CVE-2019-11510", date(2019, 4, 24)),
    ("Microsoft Exchange", "CVE-2021-26855", date(2021, 3, 2)),
    ("Apache Log4j", "CVE-2021-44228", date(2021, 12, 10)),
    ("F5 BIG-IP", "CVE-2022-1388", date(2022, 5, 4)),
    ("MOVEit Transfer", "CVE-2023-34362", date(2023, 5, 31)),
    ("Citrix NetScaler", "CVE-2023-4966", date(2023, 10, 10)),
    ("Cisco IOS XE", "CVE-2023-20198", date(2023, 10, 16)),
    ("Ivanti Connect Secure", "CVE-2024-21887", date(2024, 1, 10)),
    ("PAN-OS GlobalProtect", "CVE-2024-3400", date(2024, 4, 12)),
)
PRODUCTS = {
    "defacement": ("WordPress plugin", "Joomla extension", "Drupal module"),
    "bruteforce": ("VPN", "webmail", "Microsoft 365"),
    "distribution": ("browser", "video codec", "font pack"),
}
SOURCES = ("firewall logs", "mail gateway", "passive DNS", "IDS alert", "proxy logs", "honeypot", "EDR")
