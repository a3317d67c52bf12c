"""What one observed value hits in an IndicatorIndex: the semantics pinned one rule at a time."""

from __future__ import annotations

import pytest

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.index import IndicatorIndex

T = IndicatorType


def hits(index: IndicatorIndex, value: str) -> set[tuple[str, str, int]]:
    found = index.lookup(value)
    assert isinstance(found, list)
    assert len(found) == len(set(found)), f"duplicate hits for {value!r}: {found}"
    return {(t.value, canonical, ref) for t, canonical, ref in found}


def refs(index: IndicatorIndex, value: str) -> set[int]:
    return {ref for _, _, ref in hits(index, value)}


# --- IPv4 -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ipv4() -> IndicatorIndex:
    return IndicatorIndex(
        [
            (T.IPV4, "203.0.113.7", 1),
            (T.IPV4_CIDR, "10.0.0.0/8", 8),
            (T.IPV4_CIDR, "10.20.0.0/16", 16),
            (T.IPV4_CIDR, "10.20.30.0/24", 24),
            (T.IPV4_CIDR, "10.20.30.40/31", 31),
            (T.IPV4_CIDR, "10.20.30.41/32", 32),
            (T.IPV4_CIDR, "192.0.2.0/24", 124),
        ]
    )


def test_an_address_hits_an_equal_address(ipv4: IndicatorIndex) -> None:
    assert hits(ipv4, "203.0.113.7") == {("ipv4", "203.0.113.7", 1)}
    assert hits(ipv4, "203.0.113.8") == set()


def test_an_address_hits_every_network_containing_it_whatever_the_prefix_length(ipv4: IndicatorIndex) -> None:
    assert hits(ipv4, "10.20.30.41") == {
        ("ipv4-cidr", "10.0.0.0/8", 8),
        ("ipv4-cidr", "10.20.0.0/16", 16),
        ("ipv4-cidr", "10.20.30.0/24", 24),
        ("ipv4-cidr", "10.20.30.40/31", 31),
        ("ipv4-cidr", "10.20.30.41/32", 32),
    }
    assert refs(ipv4, "10.20.30.42") == {8, 16, 24}
    assert refs(ipv4, "10.20.31.1") == {8, 16}
    assert refs(ipv4, "10.99.0.1") == {8}
    assert refs(ipv4, "11.0.0.1") == set()
    assert refs(ipv4, "192.0.2.255") == {124}
    assert refs(ipv4, "192.0.3.0") == set()


def test_an_address_must_be_written_canonically(ipv4: IndicatorIndex) -> None:
    # A leading zero reads as octal to some software: such a value is no address, as in canonicalize().
    assert hits(ipv4, "203.0.113.07") == set()
    assert hits(ipv4, "010.20.30.41") == set()
    assert hits(ipv4, " 203.0.113.7") == set()
    assert hits(ipv4, "203.0.113.7.") == set()


def test_networks_are_indexed_by_their_network_address() -> None:
    index = IndicatorIndex([(T.IPV4_CIDR, "10.1.2.3/8", 1), (T.IPV4_CIDR, "10.1.2.3", 2)])
    assert hits(index, "10.200.0.1") == {("ipv4-cidr", "10.0.0.0/8", 1)}
    assert hits(index, "10.1.2.3") == {("ipv4-cidr", "10.0.0.0/8", 1), ("ipv4-cidr", "10.1.2.3/32", 2)}


def test_a_slash_zero_network_contains_every_address_of_its_family() -> None:
    index = IndicatorIndex([(T.IPV4_CIDR, "0.0.0.0/0", 4), (T.IPV6_CIDR, "2001:db8::/32", 6)])
    for address in ("0.0.0.0", "1.2.3.4", "255.255.255.255", "::ffff:1.2.3.4"):
        assert hits(index, address) == {("ipv4-cidr", "0.0.0.0/0", 4)}
    assert hits(index, "2001:db9::1") == set()  # not IPv6 addresses (but for IPv4-mapped ones)


# --- IPv6 and IPv4-mapped ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ipv6() -> IndicatorIndex:
    return IndicatorIndex(
        [
            (T.IPV6, "2001:db8::1", 1),
            (T.IPV6_CIDR, "2001:db8::/32", 32),
            (T.IPV6_CIDR, "2001:db8:0:1::/64", 64),
            (T.IPV6_CIDR, "2001:db8:0:1::80/121", 121),
            (T.IPV6_CIDR, "::/0", 0),
        ]
    )


def test_ipv6_addresses_hit_in_any_spelling(ipv6: IndicatorIndex) -> None:
    expected = {("ipv6", "2001:db8::1", 1), ("ipv6-cidr", "2001:db8::/32", 32), ("ipv6-cidr", "::/0", 0)}
    for spelling in (
        "2001:db8::1",
        "2001:DB8::1",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "[2001:db8::1]",
    ):
        assert hits(ipv6, spelling) == expected
    assert refs(ipv6, "2001:db8:0:1::81") == {32, 64, 121, 0}
    assert refs(ipv6, "2001:db8:0:1::1") == {32, 64, 0}
    assert refs(ipv6, "2001:db9::1") == {0}
    assert refs(ipv6, "fe80::1%eth0") == set()  # a zone identifier is local to one host


def test_an_ipv4_mapped_address_is_its_ipv4_address() -> None:
    index = IndicatorIndex(
        [
            (T.IPV4, "192.0.2.1", 4),
            (T.IPV4_CIDR, "198.51.100.0/24", 24),
            (T.IPV6, "::ffff:203.0.113.5", 6),
            (T.IPV6_CIDR, "::ffff:0:0/96", 96),
        ]
    )
    mapped = ("ipv6-cidr", "::ffff:0.0.0.0/96", 96)
    assert hits(index, "::ffff:192.0.2.1") == {("ipv4", "192.0.2.1", 4), mapped}
    assert hits(index, "::FFFF:c000:0201") == {("ipv4", "192.0.2.1", 4), mapped}
    assert hits(index, "192.0.2.1") == {("ipv4", "192.0.2.1", 4), mapped}
    assert hits(index, "::ffff:198.51.100.9") == {("ipv4-cidr", "198.51.100.0/24", 24), mapped}
    assert hits(index, "203.0.113.5") == {("ipv6", "::ffff:203.0.113.5", 6), mapped}
    assert hits(index, "::203.0.113.5") == set()  # IPv4-compatible, not mapped: another address


# --- domains ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def names() -> IndicatorIndex:
    return IndicatorIndex(
        [
            (T.DOMAIN, "evil.example", 1),
            (T.DOMAIN, "evil.example", 2),  # two reports share the value
            (T.DOMAIN, "c2.bad.co.uk", 3),
            (T.DOMAIN, "xn--bcher-kva.de", 4),
            (T.DOMAIN, "_dmarc.mail.example", 5),
        ]
    )


def test_a_name_hits_an_equal_domain_once_per_reference(names: IndicatorIndex) -> None:
    assert hits(names, "evil.example") == {("domain", "evil.example", 1), ("domain", "evil.example", 2)}


def test_a_name_hits_its_parents_at_label_boundaries(names: IndicatorIndex) -> None:
    assert refs(names, "www.evil.example") == {1, 2}
    assert refs(names, "a.b.c.d.evil.example") == {1, 2}
    assert refs(names, "x.c2.bad.co.uk") == {3}
    assert refs(names, "bad.co.uk") == set()  # a parent does not hit its subdomains
    assert refs(names, "co.uk") == set()
    assert refs(names, "example") == set()


def test_a_name_is_no_suffix_match(names: IndicatorIndex) -> None:
    assert refs(names, "notevil.example") == set()
    assert refs(names, "www.notevil.example") == set()
    assert refs(names, "evil.example.net") == set()
    assert refs(names, "xc2.bad.co.uk") == set()


def test_names_compare_case_insensitively_and_ignore_one_trailing_dot(names: IndicatorIndex) -> None:
    assert refs(names, "WWW.Evil.EXAMPLE") == {1, 2}
    assert refs(names, "evil.example.") == {1, 2}
    assert refs(names, "Www.Evil.Example.") == {1, 2}
    assert refs(names, "evil.example..") == set()
    assert refs(names, "evil..example") == set()
    assert refs(names, "_DMARC.mail.example") == {5}


def test_only_host_names_hit(names: IndicatorIndex) -> None:
    assert refs(names, "*.evil.example") == {1, 2}  # a certificate's wildcard name
    for value in (
        "a b.evil.example",
        "/x.evil.example",
        "x/evil.example",
        "evil.example/",
        "-->.evil.example",
    ):
        assert refs(names, value) == set(), value


def test_internationalised_names_hit_their_punycode_form(names: IndicatorIndex) -> None:
    assert refs(names, "bücher.de") == {4}
    assert refs(names, "www.BÜCHER.de.") == {4}
    assert refs(names, "www.bücher。de") == {4}  # an ideographic full stop
    assert refs(names, "büchers.de") == set()
    assert refs(names, "a b.bücher.de") == set()


# --- URLs, host:port, e-mail ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed() -> IndicatorIndex:
    return IndicatorIndex(
        [
            (T.DOMAIN, "evil.example", 1),
            (T.IPV4, "192.0.2.1", 2),
            (T.IPV6, "2001:db8::1", 3),
            (T.URL, "http://landing.example/a/~b?q=1", 4),
            (T.URL, "https://user@evil.example:8443/x", 5),
            (T.EMAIL, "Alice@mail.example", 6),
            (T.IPV4_CIDR, "198.51.100.0/24", 7),
        ]
    )


def test_the_host_of_a_url_is_observed(mixed: IndicatorIndex) -> None:
    assert refs(mixed, "http://www.evil.example/path?x=1") == {1}
    assert refs(mixed, "HTTPS://user:pw@EVIL.EXAMPLE.:444/") == {1}
    assert refs(mixed, "http://192.0.2.1/x") == {2}
    assert refs(mixed, "ftp://198.51.100.7:2121/") == {7}
    assert refs(mixed, "http://[2001:db8::1]:8080/") == {3}
    assert refs(mixed, r"http://evil.example\@good.example/") == {1}  # browsers go to evil.example
    assert refs(mixed, "http://good.example/?next=evil.example") == set()
    assert refs(mixed, "http://notevil.example/") == set()


def test_a_url_hits_an_equal_url_after_canonicalisation(mixed: IndicatorIndex) -> None:
    url = ("url", "http://landing.example/a/~b?q=1", 4)
    assert hits(mixed, "http://landing.example/a/~b?q=1") == {url}
    assert hits(mixed, "HTTP://Landing.Example:80/a/%7Eb?q=1#top") == {url}
    assert hits(mixed, "http://landing.example./a/~b?q=1") == {url}
    assert hits(mixed, "http://landing.example/a/~b?q=2") == set()  # the query is kept as it is
    assert hits(mixed, "https://landing.example/a/~b?q=1") == set()
    assert hits(mixed, "https://user@evil.example:8443/x") == {
        ("domain", "evil.example", 1),
        ("url", "https://user@evil.example:8443/x", 5),
    }
    assert refs(mixed, "landing.example/a/~b?q=1") == set()  # without a scheme it is no URL


def test_host_port_values_observe_their_host(mixed: IndicatorIndex) -> None:
    assert refs(mixed, "mx.evil.example:25") == {1}
    assert refs(mixed, "192.0.2.1:443") == {2}
    assert refs(mixed, "198.51.100.1:53") == {7}
    assert refs(mixed, "[2001:db8::1]:443") == {3}
    assert refs(mixed, "[2001:db8::1]") == {3}
    assert refs(mixed, "evil.example:https") == set()
    assert refs(mixed, "evil.example:") == set()
    assert refs(mixed, "[2001:db8::1]x") == set()


def test_an_email_address_hits_the_address_and_its_domain(mixed: IndicatorIndex) -> None:
    email = ("email", "Alice@mail.example", 6)
    assert hits(mixed, "Alice@mail.example") == {email}
    assert hits(mixed, "Alice@MAIL.Example.") == {email}
    assert hits(mixed, "<Alice@mail.example>") == {email}
    assert hits(mixed, "mailto:Alice@mail.example") == {email}
    assert hits(mixed, "alice@mail.example") == set()  # the local part keeps its case
    assert refs(mixed, "bob@smtp.evil.example") == {1}
    assert refs(mixed, "<bob@Evil.Example>") == {1}
    assert refs(mixed, "bob@notevil.example") == set()
    assert refs(mixed, "bob smith@evil.example") == set()  # not an e-mail address


# --- hashes -------------------------------------------------------------------------------------------
def test_hashes_compare_case_insensitively() -> None:
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    sha512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" * 2
    index = IndicatorIndex(
        [(T.MD5, md5, 1), (T.SHA1, sha1.upper(), 2), (T.SHA256, sha256, 3), (T.SHA512, sha512, 4)]
    )
    assert hits(index, md5.upper()) == {("md5", md5, 1)}
    assert hits(index, sha1) == {("sha1", sha1, 2)}
    assert hits(index, sha256.title()) == {("sha256", sha256, 3)}
    assert hits(index, sha512) == {("sha512", sha512, 4)}
    assert hits(index, md5[:-1] + "f") == set()
    assert hits(index, md5[:-2]) == set()
    assert hits(index, md5[:-2] + " e") == set()
    assert hits(index, md5[:-1] + "g") == set()


# --- what is not matched, what is refused, what never raises -----------------------------------------
def test_file_names_and_as_numbers_are_left_out() -> None:
    index = IndicatorIndex(
        [(T.FILENAME, "invoice.pdf.exe", 1), (T.ASN, "AS13335", 2), (T.DOMAIN, "evil.example", 3)]
    )
    assert (len(index), index.skipped) == (1, 2)
    assert index.lookup("invoice.pdf.exe") == []
    assert index.lookup("AS13335") == []


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (T.IPV4, "010.0.0.1"),
        (T.IPV4, "2001:db8::1"),
        (T.IPV6, "192.0.2.1"),
        (T.IPV6, "fe80::1%eth0"),
        (T.IPV4_CIDR, "2001:db8::/32"),
        (T.IPV6_CIDR, "10.0.0.0/8"),
        (T.IPV4_CIDR, "10.0.0.0/33"),
        (T.DOMAIN, "localhost"),
        (T.DOMAIN, "a b.example"),
        (T.DOMAIN, "*.evil.example"),
        (T.URL, "evil.example/path"),
        (T.URL, "a b://evil.example/"),
        (T.EMAIL, "alice"),
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427"),
        (T.SHA1, "d41d8cd98f00b204e9800998ecf8427e"),
        (T.MD5, "x41d8cd98f00b204e9800998ecf8427e"),
    ],
)
def test_values_that_are_not_of_their_type_are_refused_when_building(
    type_: IndicatorType, value: str
) -> None:
    with pytest.raises(ValueError):
        IndicatorIndex([(type_, value, 1)])


def test_references_of_any_size_come_back_as_given() -> None:
    big = 2**70
    index = IndicatorIndex(
        [(T.DOMAIN, "evil.example", big), (T.DOMAIN, "evil.example", -1), (T.IPV4, "192.0.2.1", 0)]
    )
    assert refs(index, "evil.example") == {big, -1}
    assert refs(index, "192.0.2.1") == {0}
    assert all(type(ref) is int for _, _, ref in index.lookup("evil.example"))


def test_a_bad_value_among_many_is_named() -> None:
    """Addresses and names are checked in bulk; the error still names the value that is wrong."""
    good = [(T.IPV4, f"10.0.{i // 256}.{i % 256}", i) for i in range(1000)]
    with pytest.raises(ValueError, match="'10.0.0.01'"):
        IndicatorIndex([*good, (T.IPV4, "10.0.0.01", 1000), *good])
    names = [(T.DOMAIN, f"n{i}.example", i) for i in range(1000)]
    with pytest.raises(ValueError, match="'bad name.example'"):
        IndicatorIndex([*names, (T.DOMAIN, "bad name.example", 1000)])


def test_the_references_of_a_value_come_back_in_the_order_given() -> None:
    """Types given as strings or members, mixed: each value's references keep the order of the input."""
    given = [
        (T.IPV4, "192.0.2.1", 5),
        ("domain", "evil.example", 9),
        ("ipv4", "198.51.100.1", 1),
        ("ipv4", "192.0.2.1", 3),
        (T.DOMAIN, "evil.example", 2),
        (T.IPV4, "192.0.2.1", 4),
        ("ipv4-cidr", "192.0.2.0/24", 7),
    ]
    for index in (
        IndicatorIndex(given),
        IndicatorIndex.of_columns([t for t, _, _ in given], [v for _, v, _ in given], [r for *_, r in given]),
    ):
        assert [ref for _, _, ref in index.lookup("192.0.2.1")] == [5, 3, 4, 7]
        assert [ref for _, _, ref in index.lookup("evil.example")] == [9, 2]
        assert [ref for _, _, ref in index.lookup("198.51.100.1")] == [1]
        assert len(index) == 7


JUNK = [
    "",
    " ",
    ".",
    "..",
    ":",
    "::",
    ":::",
    "@",
    "@.",
    "a@",
    "@b.example",
    "[",
    "]",
    "[]",
    "[:",
    "[::1",
    "::1]",
    "://",
    "http://",
    "http://@",
    "http://[",
    "http://[]/",
    "http://:80",
    "http://evil.example:99999/",
    "mailto:",
    "\x00",
    "1.2.3.4\x00",
    "evil.example\x00",
    "\ud800",
    "\ud800.evil.example",
    "http://\ud800.example/",
    "x@\ud800.example",
    "\u3002",
    "evil\u3002",
    "a" * 10_000 + ".evil.example",
    "." * 300,
    "1.2.3",
    "999.1.1.1",
    "1.2.3.4.5",
    "1.2.3.4/24",
    "-",
    "(empty)",
    "\t",
    "0" * 32,
    "g" * 64,
    "%",
    "%%%.evil.example",
    "[::ffff:1.2.3.4]:x",
]


@pytest.mark.parametrize("value", JUNK)
def test_junk_never_raises(value: str) -> None:
    index = IndicatorIndex(
        [
            (T.IPV4, "1.2.3.4", 1),
            (T.IPV4_CIDR, "0.0.0.0/0", 2),
            (T.IPV6_CIDR, "::/0", 3),
            (T.DOMAIN, "evil.example", 4),
            (T.URL, "http://evil.example/", 5),
            (T.EMAIL, "x@evil.example", 6),
            (T.MD5, "0" * 32, 7),
        ]
    )
    assert isinstance(index.lookup(value), list)


def test_an_empty_index_hits_nothing() -> None:
    index = IndicatorIndex([])
    assert len(index) == 0
    for value in (
        "1.2.3.4",
        "2001:db8::1",
        "evil.example",
        "http://evil.example/",
        "a@evil.example",
        "0" * 32,
    ):
        assert index.lookup(value) == []
