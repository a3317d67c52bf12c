"""match_records: hits name their line and field, once per field and indicator reference of a record."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex
from commonspace.engine.match import Hit, match_records
from commonspace.engine.records import Record

T = IndicatorType

INDEX = IndicatorIndex(
    [
        (T.DOMAIN, "evil.example", 1),
        (T.DOMAIN, "evil.example", 2),
        (T.IPV4, "192.0.2.1", 3),
        (T.IPV4_CIDR, "198.51.100.0/24", 4),
        (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 5),
    ]
)

# Two lines of a Zeek dns.log, as a reader gives them (the second starts on physical line 12).
DNS = [
    Record(
        9,
        (
            ("ts", "1331901000.000000"),
            ("uid", "CCUIP21wTjqkj8ZqX5"),
            ("id.orig_h", "192.168.202.76"),
            ("id.resp_h", "192.0.2.1"),
            ("query", "www.evil.example"),
            ("answers", "198.51.100.7"),
            ("answers", "198.51.100.8"),
            ("answers", "cdn.evil.example"),
            ("TTLs", "300.000000"),
        ),
    ),
    Record(12, (("query", "good.example"), ("answers", "203.0.113.9"))),
    Record(13, (("query", "EVIL.example."), ("id.resp_h", "192.0.2.1"))),
]


@pytest.mark.parametrize("memo", [0, 1, 2, 1 << 16])
def test_hits_name_the_line_the_field_and_the_observed_value(memo: int) -> None:
    assert list(match_records(DNS, INDEX, memo=memo)) == [
        Hit(9, "id.resp_h", "192.0.2.1", "192.0.2.1", T.IPV4, 3),
        Hit(9, "query", "www.evil.example", "evil.example", T.DOMAIN, 1),
        Hit(9, "query", "www.evil.example", "evil.example", T.DOMAIN, 2),
        # Two answers in one network, and two names under one domain: one hit per field and indicator.
        Hit(9, "answers", "198.51.100.7", "198.51.100.0/24", T.IPV4_CIDR, 4),
        Hit(9, "answers", "cdn.evil.example", "evil.example", T.DOMAIN, 1),
        Hit(9, "answers", "cdn.evil.example", "evil.example", T.DOMAIN, 2),
        Hit(13, "query", "EVIL.example.", "evil.example", T.DOMAIN, 1),
        Hit(13, "query", "EVIL.example.", "evil.example", T.DOMAIN, 2),
        Hit(13, "id.resp_h", "192.0.2.1", "192.0.2.1", T.IPV4, 3),
    ]


def test_hits_are_frozen_and_slotted() -> None:
    hit = next(match_records(DNS, INDEX))
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.line = 1  # type: ignore[misc]
    assert not hasattr(hit, "__dict__")


def test_records_are_consumed_lazily() -> None:
    def records() -> Iterator[Record]:
        yield Record(1, (("query", "evil.example"),))
        raise AssertionError("read past the first hit")

    hits = match_records(records(), INDEX)
    assert next(hits).line == 1


def test_nothing_hits_nothing() -> None:
    assert list(match_records([], INDEX)) == []
    assert list(match_records([Record(1, ())], INDEX)) == []
    assert list(match_records(DNS, IndicatorIndex([]))) == []


values = st.sampled_from(
    ["evil.example", "a.evil.example", "192.0.2.1", "198.51.100.1", "198.51.100.2", "x", "", "good.example"]
)
records = st.lists(
    st.builds(
        Record, st.integers(1, 10**6), st.lists(st.tuples(st.sampled_from(["a", "b"]), values)).map(tuple)
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(records, st.integers(0, 5))
def test_the_memo_changes_nothing_and_hits_are_what_lookup_says(
    given_records: list[Record], memo: int
) -> None:
    expected = []
    for record in given_records:
        seen = set()
        for field, value in record.values:
            for type_, indicator, ref in INDEX.lookup(value):
                if (field, type_, indicator, ref) not in seen:
                    seen.add((field, type_, indicator, ref))
                    expected.append(Hit(record.line, field, value, indicator, type_, ref))
    assert list(match_records(given_records, INDEX, memo=memo)) == expected
    assert list(match_records(given_records, INDEX)) == expected
