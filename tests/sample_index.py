"""A small index over every kind of indicator, with two references on one value: the engine tests' own."""

from __future__ import annotations

from commonspace.domain.vocab import IndicatorType as T
from commonspace.engine.index import IndicatorIndex

SAMPLE_INDEX = IndicatorIndex(
    [
        (T.DOMAIN, "evil.example", 1),
        (T.DOMAIN, "evil.example", 2),
        (T.DOMAIN, "b.evil.example", 3),
        (T.IPV4, "192.0.2.1", 4),
        (T.IPV4_CIDR, "192.0.2.0/24", 5),
        (T.IPV6, "2001:db8::1", 6),
        (T.URL, "http://evil.example/x", 7),
        (T.EMAIL, "bob@evil.example", 8),
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427e", 9),
    ]
)
