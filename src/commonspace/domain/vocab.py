"""The closed vocabularies of Commonspace and the rules that bind them together.

Every enumeration's value is the spelling used on the wire (API, CLI, database).
"""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    GOVERNMENT = "government"
    INTERNATIONAL = "international-organisation"
    ENTERPRISE = "enterprise"
    CIVIL_SOCIETY = "civil-society"


class Role(StrEnum):
    SITE_ADMIN = "site-admin"
    ORG_ADMIN = "org-admin"
    PUBLISHER = "publisher"
    ANALYST = "analyst"
    READER = "reader"


class TLP(StrEnum):
    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def tag(self) -> str:
        """The namespaced tag form, e.g. ``tlp:amber+strict``."""
        return "tlp:" + self.value.lower()


class Distribution(StrEnum):
    ORGANISATION = "organisation"
    SHARING_GROUP = "sharing-group"
    COMMUNITY = "community"
    CONNECTED_COMMUNITIES = "connected-communities"

    @property
    def breadth(self) -> int:
        """Order from narrowest (0) to widest; a child may only narrow its parent's reach."""
        return _BREADTH[self]


_BREADTH = {
    Distribution.ORGANISATION: 0,
    Distribution.SHARING_GROUP: 1,
    Distribution.COMMUNITY: 2,
    Distribution.CONNECTED_COMMUNITIES: 3,
}


class ReportStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ThreatLevel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNDEFINED = "undefined"


class IndicatorType(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    IPV4_CIDR = "ipv4-cidr"
    IPV6_CIDR = "ipv6-cidr"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    FILENAME = "filename"
    ASN = "asn"


class SightingKind(StrEnum):
    SIGHTING = "sighting"
    FALSE_POSITIVE = "false-positive"


# TLP 2.0: RED is for the named recipients only and AMBER+STRICT for the recipient organisation only,
# so neither may travel to a whole community.
_TLP_MAX_DISTRIBUTION = {
    TLP.CLEAR: Distribution.CONNECTED_COMMUNITIES,
    TLP.GREEN: Distribution.CONNECTED_COMMUNITIES,
    TLP.AMBER: Distribution.CONNECTED_COMMUNITIES,
    TLP.AMBER_STRICT: Distribution.SHARING_GROUP,
    TLP.RED: Distribution.SHARING_GROUP,
}


def tlp_violation(tlp: TLP, distribution: Distribution) -> str | None:
    """Why this TLP may not travel with this distribution, or None when the pair is allowed."""
    widest = _TLP_MAX_DISTRIBUTION[tlp]
    if distribution.breadth > widest.breadth:
        return (
            f"TLP:{tlp.value} may only be shared with the organisation or a sharing group, "
            f"not with distribution '{distribution.value}'"
        )
    return None


# Who may do what with their own organisation's reports.
EDITOR_ROLES = frozenset({Role.SITE_ADMIN, Role.ORG_ADMIN, Role.PUBLISHER})
# Who may record sightings and (later) comment: everyone but readers.
CONTRIBUTOR_ROLES = frozenset({Role.SITE_ADMIN, Role.ORG_ADMIN, Role.PUBLISHER, Role.ANALYST})
