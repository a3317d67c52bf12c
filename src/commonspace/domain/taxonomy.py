"""The incident categories: the ENISA Reference Security Incident Taxonomy (RSIT), class/type.

Source: the Reference Security Incident Taxonomy Working Group's taxonomy as published by ENISA and
kept in the MISP taxonomy ``rsit``. A category is written ``class/type``, e.g. ``fraud/phishing``; its
tag form is ``rsit:class="type"``.
"""

from __future__ import annotations

RSIT: dict[str, tuple[str, ...]] = {
    "abusive-content": ("spam", "harmful-speech", "violence"),
    "malicious-code": ("infected-system", "c2-server", "malware-distribution", "malware-configuration"),
    "information-gathering": ("scanner", "sniffing", "social-engineering"),
    "intrusion-attempts": ("ids-alert", "brute-force", "exploit"),
    "intrusions": (
        "privileged-account-compromise",
        "unprivileged-account-compromise",
        "application-compromise",
        "system-compromise",
        "burglary",
    ),
    "availability": ("dos", "ddos", "misconfiguration", "sabotage", "outage"),
    "information-content-security": (
        "unauthorised-information-access",
        "unauthorised-modification",
        "data-loss",
        "data-leak",
    ),
    "fraud": ("unauthorised-use-of-resources", "copyright", "masquerade", "phishing"),
    "vulnerable": (
        "weak-crypto",
        "ddos-amplifier",
        "potentially-unwanted-accessible",
        "information-disclosure",
        "vulnerable-system",
    ),
    "other": ("other", "undetermined"),
    "test": ("test",),
}

CATEGORIES: frozenset[str] = frozenset(f"{cls}/{typ}" for cls, types in RSIT.items() for typ in types)


def category_problem(category: str) -> str | None:
    """Why ``category`` is not an RSIT class/type, or None when it is one."""
    if category in CATEGORIES:
        return None
    cls, _, typ = category.partition("/")
    if cls not in RSIT:
        return f"unknown incident class {cls!r}; expected one of {', '.join(sorted(RSIT))}"
    return f"unknown type {typ!r} for class {cls!r}; expected one of {', '.join(RSIT[cls])}"


def category_tag(category: str) -> str:
    cls, _, typ = category.partition("/")
    return f'rsit:{cls}="{typ}"'
