"""Warninglists: the MISP format, each list type's semantics, the built-in lists and the real MISP lists."""

from __future__ import annotations

import ipaddress
import os
import pickle
import random
from functools import cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.demo.sources import default_data_dir
from commonspace.domain.canonical import InvalidIndicator, canonicalize
from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists import (
    MISP_ATTRIBUTE_TYPES,
    ListType,
    WarningList,
    WarningListError,
    WarningLists,
    builtin_lists,
    load_directory,
    load_warninglist,
    parse_warninglist,
)

T = IndicatorType
IN_CI = os.environ.get("CI", "").lower() == "true"

RFC1918 = "List of RFC 1918 CIDR blocks"
RFC5735 = "List of RFC 5735 CIDR blocks"
RESERVED_DOMAINS = "List of reserved and special-use domain names"


def make(kind: str, entries: list[str], matching: list[str] | None = None, name: str = "L") -> WarningList:
    document: dict[str, Any] = {"name": name, "type": kind, "list": entries, "description": "", "version": 1}
    if matching is not None:
        document["matching_attributes"] = matching
    return parse_warninglist(document, id=name.lower())


def on(lists: WarningLists | WarningList, type_: IndicatorType, value: str) -> list[str]:
    """The lists a value is on, after canonicalising it the way stored indicators are."""
    if isinstance(lists, WarningList):
        lists = WarningLists([lists])
    return lists.check(type_, canonicalize(type_, value))


def write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document))
    return path


# --- the list types -------------------------------------------------------------------------------
def test_string_is_an_exact_match_case_insensitive_for_domains_and_hashes() -> None:
    empty_md5 = "d41d8cd98f00b204e9800998ecf8427e"
    lists = make("string", ["Example.COM", empty_md5.upper(), "Invoice.PDF", ".sub.example.org", "AAA"])
    assert on(lists, T.DOMAIN, "example.com") == ["L"]
    assert on(lists, T.MD5, empty_md5) == ["L"]
    assert on(lists, T.DOMAIN, "www.example.com") == []  # exact: subdomains are for hostname lists
    assert on(lists, T.URL, "http://example.com/") == []  # the whole value is compared, as in MISP
    assert on(lists, T.FILENAME, "Invoice.PDF") == ["L"]
    assert on(lists, T.FILENAME, "invoice.pdf") == []  # file names keep their case
    assert on(lists, T.DOMAIN, "x.sub.example.org") == []  # a leading dot means nothing special (MISP)


def test_substring_finds_an_entry_anywhere_in_the_value() -> None:
    lists = make("substring", ["0-Mail.com", "evil", "x"])  # "x": shorter than the indexed prefix
    assert on(lists, T.EMAIL, "someone@0-mail.com") == ["L"]
    assert on(lists, T.EMAIL, "someone@10-mail.com") == ["L"]  # that is what substring means
    assert on(lists, T.URL, "http://a.example/EVIL/path") == ["L"]  # case-insensitive
    assert on(make("substring", ["0-mail.com"]), T.EMAIL, "someone@o-mail.com") == []
    assert on(lists, T.FILENAME, "setup.exe") == ["L"]
    assert on(lists, T.SHA256, "0" * 64) == []


def test_substring_lists_large_and_small_report_the_right_lists() -> None:
    # Many entries (over the limit of the trie pattern) and few, on two lists and both.
    big = make("substring", [f"entry{n:05d}.example" for n in range(3000)] + ["shared.example"], name="Big")
    small = make("substring", ["shared.example", "tiny.example"], name="Small")
    lists = WarningLists([big, small])
    assert on(lists, T.DOMAIN, "a.entry01234.example") == ["Big"]
    assert on(lists, T.DOMAIN, "tiny.example") == ["Small"]
    assert on(lists, T.DOMAIN, "x.shared.example") == ["Big", "Small"]
    assert on(lists, T.DOMAIN, "entry1.example") == []


def test_hostname_matches_the_name_and_its_subdomains_on_label_boundaries() -> None:
    lists = make("hostname", ["Example.com", ".bank.example.", "10.1.2.3", "*.wild.example"])
    assert on(lists, T.DOMAIN, "example.com") == ["L"]
    assert on(lists, T.DOMAIN, "a.b.example.com") == ["L"]
    assert on(lists, T.DOMAIN, "notexample.com") == []
    assert on(lists, T.DOMAIN, "example.com.evil.test") == []
    assert on(lists, T.DOMAIN, "online.bank.example") == ["L"]  # MISP trims the dots of entries
    assert on(lists, T.DOMAIN, "x.wild.example") == ["L"]
    # URL hosts (with user information, a port, upper case) and e-mail domains
    assert on(lists, T.URL, "https://user:pw@WWW.Example.com:8443/login?next=/") == ["L"]
    assert on(lists, T.URL, "http://evil.test/www.example.com") == []  # the path is not the host
    assert on(lists, T.EMAIL, "Someone@mail.example.com") == ["L"]
    # an address equals an entry; its "parents" are not looked at
    assert on(lists, T.IPV4, "10.1.2.3") == ["L"]
    assert on(lists, T.URL, "http://10.1.2.3:8080/x") == ["L"]
    assert on(make("hostname", ["2.3"]), T.IPV4, "1.2.2.3") == []


def test_cidr_addresses_inside_and_networks_within() -> None:
    lists = make("cidr", ["10.0.0.0/8", "192.0.2.7", "2001:DB8::/32", "198.51.100.77/24"])
    assert on(lists, T.IPV4, "10.255.0.1") == ["L"]
    assert on(lists, T.IPV4, "11.0.0.1") == []
    assert on(lists, T.IPV4, "192.0.2.7") == ["L"]  # an entry without a prefix length is one address
    assert on(lists, T.IPV4, "192.0.2.8") == []
    assert on(lists, T.IPV4, "198.51.100.1") == ["L"]  # host bits of an entry are ignored
    assert on(lists, T.IPV6, "2001:db8:ffff::1") == ["L"]
    assert on(lists, T.IPV6, "2001:db9::1") == []
    assert on(lists, T.IPV6, "::ffff:10.1.2.3") == ["L"]  # an IPv4-mapped address is the IPv4 address
    # a network is on the list when it lies within a listed network, not when it holds or overlaps one
    assert on(lists, T.IPV4_CIDR, "10.1.0.0/16") == ["L"]
    assert on(lists, T.IPV4_CIDR, "10.0.0.0/8") == ["L"]
    assert on(lists, T.IPV4_CIDR, "10.0.0.0/7") == []
    assert on(lists, T.IPV4_CIDR, "192.0.2.0/24") == []
    assert on(lists, T.IPV4_CIDR, "192.0.2.7/32") == ["L"]
    assert on(lists, T.IPV6_CIDR, "2001:db8:1::/48") == ["L"]
    assert on(lists, T.IPV6_CIDR, "2001::/16") == []


def test_cidr_nested_and_adjacent_networks_of_several_lists() -> None:
    outer = make("cidr", ["10.0.0.0/8", "172.16.0.0/12"], name="Outer")
    inner = make("cidr", ["10.1.0.0/16", "10.2.0.0/16", "10.1.2.0/24", "172.32.0.0/16"], name="Inner")
    lists = WarningLists([outer, inner])
    assert on(lists, T.IPV4, "10.1.2.3") == ["Outer", "Inner"]
    assert on(lists, T.IPV4, "10.1.3.3") == ["Outer", "Inner"]
    assert on(lists, T.IPV4, "10.3.0.1") == ["Outer"]
    assert on(lists, T.IPV4, "172.31.255.255") == ["Outer"]
    assert on(lists, T.IPV4, "172.32.0.0") == ["Inner"]  # right after the end of 172.16.0.0/12
    assert on(lists, T.IPV4_CIDR, "10.0.0.0/9") == ["Outer"]
    assert on(lists, T.IPV4_CIDR, "10.1.0.0/16") == ["Outer", "Inner"]
    assert on(lists, T.IPV4, "9.255.255.255") == []
    assert on(lists, T.IPV4, "255.255.255.255") == []


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.integers(0, 2**12 - 1), st.integers(0, 12), st.integers(0, 2)), max_size=30),
    st.lists(st.tuples(st.integers(0, 2**12 - 1), st.integers(0, 12)), min_size=1, max_size=20),
)
def test_cidr_lookup_agrees_with_ipaddress(
    networks: list[tuple[int, int, int]], probes: list[tuple[int, int]]
) -> None:
    # Networks in a small corner of the space (10.0.0.0/20) so that they nest and touch often.
    def network(number: int, length: int) -> IPv4Network:
        return IPv4Network((0x0A000000 + number, 20 + length), strict=False)

    by_list: list[list[IPv4Network]] = [[], [], []]
    for number, length, which in networks:
        by_list[which].append(network(number, length))
    lists = [make("cidr", [str(n) for n in nets], name=f"L{i}") for i, nets in enumerate(by_list) if nets]
    warninglists = WarningLists(lists)
    for number, length in probes:
        probe = network(number, length)
        expected = [w.name for w in lists if any(probe.subnet_of(IPv4Network(e)) for e in w.entries)]
        assert warninglists.check(T.IPV4_CIDR, str(probe)) == expected
        address = str(probe.network_address)
        assert warninglists.check(T.IPV4, address) == [
            w.name for w in lists if any(probe.network_address in IPv4Network(e) for e in w.entries)
        ]


def test_regex_uses_php_delimiters_and_flags_and_searches() -> None:
    lists = make(
        "regex",
        [
            r"/^(security|noc|soc|abuse)\@.*\..*$/i",  # MISP's list of contact addresses
            "#/wp-admin/#",
            "{^ftp://}",
            r"/\d{3}55501\d{2}/g",  # "g" (JavaScript's) means nothing to a search
        ],
    )
    assert on(lists, T.EMAIL, "ABUSE@isp.example") == ["L"]
    assert on(lists, T.EMAIL, "ceo@isp.example") == []
    assert on(lists, T.URL, "http://blog.example/wp-admin/x.php") == ["L"]  # a search, not a full match
    assert on(lists, T.URL, "ftp://files.example/x") == ["L"]
    assert on(lists, T.FILENAME, "call 2125550123 now.txt") == ["L"]
    assert lists.problems == ()


def test_regex_entries_that_do_not_compile_are_skipped_and_reported() -> None:
    lists = make("regex", ["/ok/", "/(unclosed/", "no-delimiters", "/x/U", "/y", r"/(?<name>z)/"])
    assert on(lists, T.FILENAME, "ok.txt") == ["L"]
    assert [problem.split(" skipped: ")[0] for problem in lists.problems] == [
        "entry '/(unclosed/'",
        "entry 'no-delimiters'",
        "entry '/x/U'",
        "entry '/y'",
        "entry '/(?<name>z)/'",
    ]
    assert "unsupported modifier 'U'" in lists.problems[2]
    assert WarningLists([lists]).problems == {"L": lists.problems}


def test_cidr_entries_that_are_not_networks_are_skipped_and_reported() -> None:
    lists = make("cidr", ["10.0.0.0/8", "10.0.0.0/33", "not-an-ip", "fe80::1%eth0"])
    assert on(lists, T.IPV4, "10.0.0.1") == ["L"]
    assert len(lists.problems) == 3
    assert "prefix length '33'" in lists.problems[0]


# --- matching attributes --------------------------------------------------------------------------
def test_matching_attributes_choose_the_types_a_list_applies_to() -> None:
    ips = make("string", ["x"], ["ip-src"], name="IPs")
    domains = make("hostname", ["example.com"], ["domain", "domain|ip"], name="Domains")
    urls = make("hostname", ["example.com"], ["url"], name="URLs")
    hashes = make("string", ["d41d8cd98f00b204e9800998ecf8427e"], ["filename|md5"], name="Hashes")
    everything = make("substring", ["example"], name="All")  # no matching_attributes: every type
    networks = make("cidr", ["10.0.0.0/8"], ["domain|ip"], name="Networks")
    lists = WarningLists([ips, domains, urls, hashes, everything, networks])
    assert on(lists, T.DOMAIN, "www.example.com") == ["Domains", "All"]
    assert on(lists, T.URL, "http://www.example.com/") == ["URLs", "All"]
    assert on(lists, T.MD5, "d41d8cd98f00b204e9800998ecf8427e") == ["Hashes"]
    assert on(lists, T.FILENAME, "d41d8cd98f00b204e9800998ecf8427e") == []  # the hash part only
    assert on(lists, T.FILENAME, "example.doc") == ["All"]
    # "domain|ip" holds an address for cidr lists only
    assert on(lists, T.IPV4, "10.0.0.1") == ["Networks"]
    assert not domains.applies_to(T.IPV4)
    assert networks.applies_to(T.IPV4_CIDR)
    assert not networks.applies_to(T.DOMAIN)  # a cidr list never holds a domain
    assert not make("hostname", ["a.example"]).applies_to(T.SHA256)


def test_every_indicator_type_has_misp_attribute_types() -> None:
    assert set(MISP_ATTRIBUTE_TYPES) == set(IndicatorType)


# --- built-in lists -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        (T.IPV4, "10.1.2.3", [RFC1918, RFC5735]),
        (T.IPV4, "172.31.0.1", [RFC1918, RFC5735]),
        (T.IPV4, "192.168.1.1", [RFC1918, RFC5735]),
        (T.IPV4, "8.8.8.8", []),
        (T.IPV4, "127.0.0.1", [RFC5735]),
        (T.IPV4, "169.254.1.1", [RFC5735]),
        (T.IPV4, "0.1.2.3", [RFC5735]),
        (T.IPV4, "192.0.2.10", [RFC5735]),
        (T.IPV4, "198.51.100.1", [RFC5735]),
        (T.IPV4, "203.0.113.255", [RFC5735]),
        (T.IPV4, "255.255.255.255", [RFC5735]),
        (T.IPV4, "100.64.0.1", ["List of RFC 6598 CIDR blocks"]),
        (T.IPV4, "100.128.0.1", []),
        (T.IPV4, "239.1.2.3", [RFC5735, "List of RFC 5771 multicast CIDR blocks"]),
        (T.IPV4_CIDR, "10.20.0.0/16", [RFC1918, RFC5735]),
        (T.IPV4_CIDR, "0.0.0.0/0", []),
        (T.IPV6, "2001:db8::1", ["List of RFC 3849 CIDR blocks", "List of IPv6 special-purpose blocks"]),
        (T.IPV6, "fe80::1", ["List of IPv6 link local blocks", "List of IPv6 special-purpose blocks"]),
        (T.IPV6, "fd12:3456::1", ["List of IPv6 special-purpose blocks"]),
        (T.IPV6, "::1", ["List of IPv6 special-purpose blocks"]),
        (T.IPV6, "ff02::1", ["List of IPv6 special-purpose blocks"]),
        (T.IPV6, "2606:4700:4700::1111", []),
        (T.IPV6, "::ffff:192.168.0.1", [RFC1918, RFC5735]),
        (T.DOMAIN, "www.example.com", [RESERVED_DOMAINS]),
        (T.DOMAIN, "evil.example", [RESERVED_DOMAINS]),
        (T.DOMAIN, "a.b.test", [RESERVED_DOMAINS]),
        (T.DOMAIN, "nothing.invalid", [RESERVED_DOMAINS]),
        (T.DOMAIN, "app.localhost", [RESERVED_DOMAINS]),
        (T.DOMAIN, "printer.local", [RESERVED_DOMAINS]),
        (T.DOMAIN, "router.home.arpa", [RESERVED_DOMAINS]),
        (T.DOMAIN, "1.1.168.192.in-addr.arpa", [RESERVED_DOMAINS]),
        (T.DOMAIN, "evil.top", []),
        (T.DOMAIN, "example.co", []),
        (T.DOMAIN, "myexample.com", []),
        (T.URL, "https://login.example.net/phish", [RESERVED_DOMAINS]),
        (T.EMAIL, "alice@example.org", [RESERVED_DOMAINS]),
        (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", []),
    ],
)
def test_builtin_lists(type_: IndicatorType, value: str, expected: list[str]) -> None:
    assert on(WarningLists.builtin(), type_, value) == expected


def test_builtin_lists_are_named_like_misp_and_have_no_problems() -> None:
    lists = builtin_lists()
    assert [w.id for w in lists] == [
        "rfc1918",
        "rfc5735",
        "rfc6598",
        "multicast",
        "ipv6-linklocal",
        "rfc3849",
        "ipv6-special",
        "special-use-domains",
    ]
    assert all(w.source == "built-in" and not w.problems and w.description for w in lists)
    assert {w.type for w in lists} == {ListType.CIDR, ListType.HOSTNAME}


# --- files and folders ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "expected a JSON object (a MISP warninglist), not an array"),
        (b'{"type": "string", "list": ["a"]}', "'name' is missing or empty"),
        (b'{"name": "X", "type": "glob", "list": ["a"]}', "'type' is 'glob'; expected one of string,"),
        (b'{"name": "X", "type": "string", "list": "a"}', "'list' must be an array of entries, not a string"),
        (b'{"name": "X", "type": "string", "list": ["a", null]}', "entry 1 of 'list' is null, not a string"),
        (b'{"name": "X", "type": "string", "list": [" "]}', "'list' has no entries"),
        (b'{"name": "X", "list": ["a"], "matching_attributes": "ip-src"}', "'matching_attributes' must be"),
        (b'{"name": "X", "list": ["a"], "version": "one"}', "'version' must be a whole number"),
        (b'{"name": "X", "list": ["a"], "category": "bad"}', "'category' is 'bad'"),
        (b'{"name": "X", "list": ["a"], "description": 3}', "'description' must be a string, not a number"),
    ],
)
def test_a_malformed_list_names_the_file_and_the_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(WarningListError) as caught:
        load_warninglist(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert reason in caught.value.reason
    restored = pickle.loads(pickle.dumps(caught.value))
    assert (restored.source, restored.reason) == (caught.value.source, caught.value.reason)


def test_misp_defaults_and_variants_are_accepted(tmp_path: Path) -> None:
    # no type (MISP reads "string"), a list of types (MISP takes the first), entries with comments,
    # numbers, and a numeric version in a string
    plain = write(tmp_path / "plain.json", {"name": "Plain", "list": ["a", 42, ""]})
    assert (w := load_warninglist(plain)).type is ListType.STRING and w.entries == ("a", "42")
    assert w.version == 1 and w.category == "false_positive" and w.matching_attributes == ()
    variant = write(
        tmp_path / "v" / "list.json",
        {"name": "V", "type": ["hostname"], "list": {"a.example": "a comment"}, "version": "7"},
    )
    w = load_warninglist(variant)
    assert (w.id, w.type, w.entries, w.version) == ("v", ListType.HOSTNAME, ("a.example",), 7)


def test_a_folder_of_lists_flat_or_in_misp_layout(tmp_path: Path) -> None:
    write(tmp_path / "flat" / "b.json", {"name": "B", "type": "string", "list": ["b"]})
    write(tmp_path / "flat" / "a.json", {"name": "A", "type": "string", "list": ["a"]})
    (tmp_path / "flat" / "README.md").write_text("not a list")
    loaded = load_directory(tmp_path / "flat")
    assert [(w.id, w.name) for w in loaded.lists] == [("a", "A"), ("b", "B")] and loaded.errors == ()
    write(tmp_path / "repo" / "lists" / "c" / "list.json", {"name": "C", "type": "string", "list": ["c"]})
    (tmp_path / "repo" / "schema.json").write_text("{}")  # beside lists/, not a list
    assert [w.id for w in load_directory(tmp_path / "repo").lists] == ["c"]
    with pytest.raises(WarningListError, match="is not a folder"):
        load_directory(tmp_path / "missing")


def test_a_bad_list_stops_the_load_or_is_skipped_and_reported(tmp_path: Path) -> None:
    write(tmp_path / "good.json", {"name": "Good", "type": "string", "list": ["g"]})
    (tmp_path / "bad.json").write_text('{"name": "Bad", "list": [}')
    write(tmp_path / "copy.json", {"name": "Good", "type": "string", "list": ["h"]})
    with pytest.raises(WarningListError) as caught:
        load_directory(tmp_path)
    assert caught.value.source == str(tmp_path / "bad.json")
    loaded = load_directory(tmp_path, skip_invalid=True)
    assert [w.name for w in loaded.lists] == ["Good"]
    assert [(e.source, e.reason.split(" (")[0]) for e in loaded.errors] == [
        (str(tmp_path / "bad.json"), "is not valid JSON"),
        (str(tmp_path / "good.json"), f"the name 'Good' is already taken by {tmp_path / 'copy.json'}"),
    ]
    lists = WarningLists.from_directory(tmp_path, skip_invalid=True)
    assert [str(e) for e in lists.errors] == [str(e) for e in loaded.errors]
    assert on(lists, T.FILENAME, "h") == ["Good"]


def test_a_loaded_list_replaces_the_builtin_list_of_the_same_id(tmp_path: Path) -> None:
    write(tmp_path / "rfc1918.json", {"name": "Private", "type": "cidr", "list": ["10.0.0.0/8"]})
    lists = WarningLists.from_directory(tmp_path)
    assert len(lists) == len(builtin_lists())
    assert on(lists, T.IPV4, "10.0.0.1") == [RFC5735, "Private"]
    assert on(lists, T.IPV4, "192.168.0.1") == [RFC5735]
    assert lists["Private"].source == str(tmp_path / "rfc1918.json")
    assert len(WarningLists.from_directory(tmp_path, include_builtin=False)) == 1
    with pytest.raises(WarningListError, match="two lists have the name 'L'"):
        WarningLists([make("string", ["a"]), parse_warninglist({"name": "L", "list": ["b"]}, id="other")])


# --- the real MISP lists --------------------------------------------------------------------------
@cache
def real_lists() -> WarningLists:
    return WarningLists.from_directory(default_data_dir() / "warninglists")


@pytest.fixture
def real() -> WarningLists:
    folder = default_data_dir() / "warninglists"
    if not folder.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {folder}")
        pytest.skip(f"no shared warninglists at {folder}")
    return real_lists()


def test_all_real_lists_load_without_errors_or_problems(real: WarningLists) -> None:
    loaded = [w for w in real if w.source != "built-in"]
    assert len(loaded) == 136
    assert real.errors == () and real.problems == {}
    assert {w.type for w in loaded} == set(ListType)
    # MISP's copies replace the six built-in lists that have them; the two without stay
    assert sorted(w.id for w in real if w.source == "built-in") == ["ipv6-special", "special-use-domains"]
    assert sum(len(w.entries) for w in loaded) > 500_000


def test_known_real_cases(real: WarningLists) -> None:
    assert "List of known IPv4 public DNS resolvers" in on(real, T.IPV4, "8.8.8.8")
    assert "List of known IPv6 public DNS resolvers" in on(real, T.IPV6, "2001:4860:4860::8888")
    google = on(real, T.DOMAIN, "google.com")
    assert {"Top 1000 websites from Cisco Umbrella", "Top 1,000 domains from Cloudflare Radar"} <= set(google)
    assert {"Top 1000 website from Alexa", "List of known google domains"} <= set(google)
    # the Alexa list is of type hostname: subdomains and URLs on it too; the Cisco list is of type string
    assert "Top 1000 website from Alexa" in on(real, T.URL, "https://mail.google.com/mail/u/0/")
    assert "Top 1000 websites from Cisco Umbrella" not in on(real, T.DOMAIN, "nope.google.com")
    assert "List of known hashes for empty files" in on(real, T.MD5, "d41d8cd98f00b204e9800998ecf8427e")
    assert "List of RFC 1918 CIDR blocks" in on(real, T.IPV4, "10.1.2.3")
    assert "List of known Amazon AWS IP address ranges" in on(real, T.IPV4_CIDR, "52.95.245.0/24")
    assert "List of disposable email domains" in on(real, T.EMAIL, "someone@0-mail.com")
    assert "Common contact e-mail addresses" in on(real, T.EMAIL, "abuse@isp.example")
    assert on(real, T.DOMAIN, "c2-4f7a91.evil-domain.top") == []
    assert on(real, T.SHA256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") == []


# --- check never raises ---------------------------------------------------------------------------
@cache
def every_kind() -> WarningLists:
    """The built-in lists and one list of each type, applying to every indicator type."""
    extra = [
        make("string", ["Example.com", "AS13335", "x"], name="S"),
        make("substring", ["evil", "ab", "[.]"], name="Sub"),
        make("hostname", ["example.org", "::1"], name="H"),
        make("cidr", ["0.0.0.0/1", "::/1", "::ffff:0:0/96"], name="C"),
        make("regex", [r"/^a.*z$/i", "/[0-9]{5}/"], name="R"),
    ]
    return WarningLists([*builtin_lists(), *extra])


TLDS = ["org", "example", "test", "com", "local"]
HOSTS = ["example.org", "[::1]", "10.0.0.1", "evil.example.org."]


def canonical_or_raw(type_: IndicatorType, value: str) -> str:
    try:
        return canonicalize(type_, value)
    except InvalidIndicator:
        return value


@settings(max_examples=300)
@given(st.sampled_from(list(IndicatorType)), st.text(max_size=80))
def test_check_never_raises_on_any_text(type_: IndicatorType, text: str) -> None:
    lists = every_kind()
    assert isinstance(lists.check(type_, text), list)
    assert isinstance(lists.check(type_, canonical_or_raw(type_, text)), list)


@settings(max_examples=200)
@given(st.ip_addresses(), st.integers(0, 128), st.sampled_from(["", "http://", "a@b."]))
def test_check_never_raises_on_canonical_addresses_and_networks(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, length: int, prefix: str
) -> None:
    lists = every_kind()
    v4 = address.version == 4
    network = f"{address}/{min(length, 32 if v4 else 128)}"
    for type_, value in [
        (T.IPV4 if v4 else T.IPV6, str(address)),
        (T.IPV4_CIDR if v4 else T.IPV6_CIDR, network),
        (T.URL, f"http://{address if v4 else f'[{address}]'}/"),
    ]:
        lists.check(type_, canonicalize(type_, value))
        lists.check(type_, prefix + value)  # not canonical, and of the wrong shape: still no exception


def test_check_never_raises_on_random_canonical_values() -> None:
    rnd = random.Random(7)
    lists = every_kind()
    samples = {
        T.DOMAIN: lambda: ".".join([*rnd.choices(["a", "1", "xn--bcher-kva", "org"], k=2), rnd.choice(TLDS)]),
        T.URL: lambda: (
            f"https://u@{rnd.choice(['example.org', '[::1]', '10.0.0.1'])}:{rnd.randint(1, 9)}/p?q"
        ),
        T.EMAIL: lambda: f'"a b"@{rnd.choice(["example.org", "x.test"])}',
        T.ASN: lambda: f"AS{rnd.randint(1, 2**32 - 1)}",
    }
    for type_, sample in samples.items():
        for _ in range(200):
            lists.check(type_, canonicalize(type_, sample()))


def test_the_type_may_be_given_as_its_value() -> None:
    lists = WarningLists.builtin()
    assert lists.check("domain", "www.example.com") == [RESERVED_DOMAINS]  # type: ignore[arg-type]
    assert lists.check("url", "http://a.example/") == [RESERVED_DOMAINS]  # type: ignore[arg-type]
    assert lists.check("no-such-type", "x") == []  # type: ignore[arg-type]
