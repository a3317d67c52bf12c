"""The MISP vocabularies and attribute types, both ways: what is read as what, and what is written as what."""

from __future__ import annotations

import re

from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ThreatLevel

T = IndicatorType

THREAT_LEVELS = {1: ThreatLevel.HIGH, 2: ThreatLevel.MEDIUM, 3: ThreatLevel.LOW, 4: ThreatLevel.UNDEFINED}
THREAT_LEVEL_IDS = {level: number for number, level in THREAT_LEVELS.items()}

DISTRIBUTIONS = {
    0: Distribution.ORGANISATION,
    1: Distribution.COMMUNITY,
    2: Distribution.CONNECTED_COMMUNITIES,
    3: Distribution.COMMUNITY,  # "all communities": as wide as anything here, read as the community
    4: Distribution.SHARING_GROUP,
}
DISTRIBUTION_IDS = {
    Distribution.ORGANISATION: 0,
    Distribution.COMMUNITY: 1,
    Distribution.CONNECTED_COMMUNITIES: 2,
    Distribution.SHARING_GROUP: 4,
}

TLP_TAGS = {
    "tlp:white": TLP.CLEAR,
    "tlp:clear": TLP.CLEAR,
    "tlp:green": TLP.GREEN,
    "tlp:amber": TLP.AMBER,
    "tlp:amber+strict": TLP.AMBER_STRICT,
    "tlp:red": TLP.RED,
}
TLP_ORDER = (TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED)  # least to most restrictive
RSIT_TAG = re.compile(r'rsit:([a-z-]+)="([a-z-]+)"', re.IGNORECASE)

# The parts of each MISP type that is read ("|" separates the parts of composite types). A part is one of
# our types, "ip" (an address or a network), "uri" (a URL when it has a scheme) or "port" (dropped).
IP, URI, PORT = "ip", "uri", "port"
IMPORTED: dict[str, tuple[str, ...]] = {
    "ip-src": (IP,),
    "ip-dst": (IP,),
    "ip-src|port": (IP, PORT),
    "ip-dst|port": (IP, PORT),
    "domain": (T.DOMAIN,),
    "hostname": (T.DOMAIN,),
    "hostname|port": (T.DOMAIN, PORT),
    "domain|ip": (T.DOMAIN, IP),
    "url": (T.URL,),
    "uri": (URI,),
    "email": (T.EMAIL,),
    "email-src": (T.EMAIL,),
    "email-dst": (T.EMAIL,),
    "email-reply-to": (T.EMAIL,),
    "md5": (T.MD5,),
    "sha1": (T.SHA1,),
    "sha256": (T.SHA256,),
    "sha512": (T.SHA512,),
    "filename": (T.FILENAME,),
    "filename|md5": (T.FILENAME, T.MD5),
    "filename|sha1": (T.FILENAME, T.SHA1),
    "filename|sha256": (T.FILENAME, T.SHA256),
    "filename|sha512": (T.FILENAME, T.SHA512),
    "malware-sample": (T.FILENAME, T.MD5),
    "AS": (T.ASN,),
}
# Composite types whose last part may be missing: ports, and the hash of a sample PyMISP is about to upload.
LAST_PART_OPTIONAL = frozenset({"ip-src|port", "ip-dst|port", "hostname|port", "malware-sample"})

_NETWORK, _PAYLOAD = "Network activity", "Payload delivery"
EXPORTED: dict[IndicatorType, tuple[str, str]] = {
    T.IPV4: ("ip-dst", _NETWORK),
    T.IPV6: ("ip-dst", _NETWORK),
    T.IPV4_CIDR: ("ip-dst", _NETWORK),
    T.IPV6_CIDR: ("ip-dst", _NETWORK),
    T.DOMAIN: ("domain", _NETWORK),
    T.URL: ("url", _NETWORK),
    T.EMAIL: ("email-src", _PAYLOAD),
    T.MD5: ("md5", _PAYLOAD),
    T.SHA1: ("sha1", _PAYLOAD),
    T.SHA256: ("sha256", _PAYLOAD),
    T.SHA512: ("sha512", _PAYLOAD),
    T.FILENAME: ("filename", _PAYLOAD),
    T.ASN: ("AS", _NETWORK),
}
