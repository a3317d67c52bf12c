"""Our indicator types in MISP's terms: the MISP attribute types each stands for in a warninglist's
``matching_attributes``, and the groups of types the matching rules treat alike."""

from __future__ import annotations

from collections.abc import Mapping

from commonspace.domain.vocab import IndicatorType

T = IndicatorType

# The MISP attribute types each indicator type stands for in ``matching_attributes``. A composite type
# ("domain|ip", "filename|md5") counts for each of its parts, as MISP checks each part, but only where the
# list can hold that part: the address part of "domain|ip" for cidr lists alone (the top-sites lists name
# "domain|ip" for their domains), and only the hash part of "filename|<hash>" (every list naming one holds
# hashes, and names the hash type too).
_IP_ATTRIBUTES = frozenset({"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"})
MISP_ATTRIBUTE_TYPES: Mapping[IndicatorType, frozenset[str]] = {
    T.IPV4: _IP_ATTRIBUTES,
    T.IPV6: _IP_ATTRIBUTES,
    T.IPV4_CIDR: _IP_ATTRIBUTES,
    T.IPV6_CIDR: _IP_ATTRIBUTES,
    T.DOMAIN: frozenset({"domain", "hostname", "domain|ip", "hostname|port"}),
    T.URL: frozenset({"url", "uri"}),
    T.EMAIL: frozenset(
        {
            "email",
            "email-src",
            "email-dst",
            "email-reply-to",
            "target-email",
            "whois-registrant-email",
            "dns-soa-email",
        }
    ),
    T.MD5: frozenset({"md5", "filename|md5", "malware-sample", "x509-fingerprint-md5"}),
    T.SHA1: frozenset({"sha1", "filename|sha1", "x509-fingerprint-sha1"}),
    T.SHA256: frozenset({"sha256", "filename|sha256", "x509-fingerprint-sha256"}),
    T.SHA512: frozenset({"sha512", "filename|sha512"}),
    T.FILENAME: frozenset({"filename"}),
    T.ASN: frozenset({"AS"}),
}

ADDRESSES = frozenset({T.IPV4, T.IPV6, T.IPV4_CIDR, T.IPV6_CIDR})
# Types whose canonical form is in lower case: a "string" entry matches them whatever its case.
CASELESS = frozenset({T.DOMAIN, T.MD5, T.SHA1, T.SHA256, T.SHA512})
