"""Indicators in free text: realistic pastes, prose that must stay prose, and properties (Hypothesis)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.canonical import canonicalize, defang
from commonspace.domain.vocab import IndicatorType
from commonspace.formats.freetext import Found, extract

T = IndicatorType


def found(text: str) -> set[tuple[IndicatorType, str]]:
    return {(f.type, f.canonical) for f in extract(text)}


def test_defanged_report_text() -> None:
    text = (
        "Phishing wave against Rheinbank customers.\n"
        "The lure pointed to hxxp://login-rheinbank[.]top/x and hxxps://cdn.evil[.]xyz:8443/a?q=1.\n"
        "C2 at 45.33.32[.]156 and 198.51.100(.)23; replies went to billing[at]mail-rheinbank[.]top.\n"
    )
    results = extract(text)
    assert {(f.type, f.canonical) for f in results} == {
        (T.URL, "http://login-rheinbank.top/x"),
        (T.URL, "https://cdn.evil.xyz:8443/a?q=1"),  # the full stop ends the sentence, not the URL
        (T.IPV4, "45.33.32.156"),
        (T.IPV4, "198.51.100.23"),
        (T.EMAIL, "billing@mail-rheinbank.top"),
    }
    first = results[0]
    assert first == Found(
        T.URL, "hxxp://login-rheinbank[.]top/x", "http://login-rheinbank.top/x", 63, 2, 21, 1
    )
    assert [f.line for f in results] == [2, 2, 3, 3, 3]


def test_networks_addresses_and_hashes() -> None:
    md5, sha1 = hashlib.md5(b"a").hexdigest(), hashlib.sha1(b"a").hexdigest()
    sha256, sha512 = hashlib.sha256(b"a").hexdigest(), hashlib.sha512(b"a").hexdigest()
    text = (
        "Networks 203.0.113.0/24, 10.1.2.3/8 and 2001:db8::/32;\n"
        "hosts 2001:DB8:0:0::2 and [2a00:1450::200e].\n"
        f"md5 {md5}; sha1 {sha1.upper()}, sha256: {sha256}. sha512={sha512} (AS13335, ASN 64500)"
    )
    assert found(text) == {
        (T.IPV4_CIDR, "203.0.113.0/24"),
        (T.IPV4_CIDR, "10.0.0.0/8"),  # host bits cleared, as the canonicaliser does
        (T.IPV6_CIDR, "2001:db8::/32"),
        (T.IPV6, "2001:db8::2"),
        (T.IPV6, "2a00:1450::200e"),
        (T.MD5, md5),
        (T.SHA1, sha1),
        (T.SHA256, sha256),
        (T.SHA512, sha512),
        (T.ASN, "AS13335"),
        (T.ASN, "AS64500"),
    }


def test_prose_and_file_names_are_not_indicators() -> None:
    text = (
        "We saw this, e.g. in the attachment report.pdf and invoice.docx, i.e. the usual. The file setup.exe "
        "ran. Version 1.2.3 was used (v1.2.3.4), see section 4.2 and figure 1.1. Mr. Smith etc. said so.The "
        "end. Python 3.11.2 in the U.S. at 9 a.m., known as 12 people; ratio 3:2 at 12:30:45 on 2024-01-02."
    )
    assert extract(text) == []
    assert extract("") == [] and extract("   \n ") == []


def test_domains_next_to_punctuation_and_inside_other_indicators() -> None:
    text = (
        '(c2.evil.xyz), "quoted.org", last.io. Also www.bad-site.co.uk; evil.xyz again, EVIL.XYZ and '
        "evil[dot]xyz, but http://evil.xyz/a and ops@evil.xyz count as a URL and an address."
    )
    results = {(f.type, f.canonical): f for f in extract(text)}
    assert set(results) == {
        (T.DOMAIN, "c2.evil.xyz"),
        (T.DOMAIN, "quoted.org"),
        (T.DOMAIN, "last.io"),
        (T.DOMAIN, "www.bad-site.co.uk"),
        (T.DOMAIN, "evil.xyz"),
        (T.URL, "http://evil.xyz/a"),
        (T.EMAIL, "ops@evil.xyz"),
    }
    evil = results[(T.DOMAIN, "evil.xyz")]
    assert evil.count == 3 and evil.value == "evil.xyz"  # the first spelling is kept


def test_only_our_defanging_conventions_count() -> None:
    # ioc-finder's own fanging also reads "DOT"; our canonicaliser does not, so the value is not in the text.
    assert extract("see evil DOT xyz") == []
    assert found("see evil[.]xyz and hxxp[:]//bad[.]xyz/p, <https://evil.xyz/a?b=c&d=e>") == {
        (T.DOMAIN, "evil.xyz"),
        (T.URL, "http://bad.xyz/p"),
        (T.URL, "https://evil.xyz/a?b=c&d=e"),  # the ">" closes the URL, it is not part of it
    }


def test_international_names_are_punycoded() -> None:
    assert found("Lookalike bücher.de spotted") == {(T.DOMAIN, "xn--bcher-kva.de")}


# --- properties --------------------------------------------------------------------------------------
TLDS = ["com", "net", "org", "de", "fr", "io", "xyz", "top", "ru", "br"]
label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
domain = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(label, min_size=1, max_size=3),
    st.sampled_from(TLDS),
)
ipv4 = st.tuples(*[st.integers(1, 254)] * 4).map(lambda o: ".".join(map(str, o)))
hashes = st.sampled_from([16, 20, 32, 64]).flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(bytes.hex)
values = st.one_of(
    domain.map(lambda d: (T.DOMAIN, d)),
    ipv4.map(lambda a: (T.IPV4, a)),
    hashes.map(lambda h: ({32: T.MD5, 40: T.SHA1, 64: T.SHA256, 128: T.SHA512}[len(h)], h)),
    st.tuples(domain, st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)).map(
        lambda dp: (T.URL, f"https://{dp[0]}/{dp[1]}")
    ),
    st.tuples(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), domain).map(
        lambda ld: (T.EMAIL, f"{ld[0]}@{ld[1]}")
    ),
)
words = st.lists(st.sampled_from(["the", "actor", "used", "and", "then", "C2:", "see", "(", ")"]), max_size=5)


def assert_sound(results: list[Found]) -> None:
    for f in results:
        assert canonicalize(f.type, f.canonical) == f.canonical  # a canonical value is its own form
        assert canonicalize(f.type, f.value) == f.canonical  # the spelling found refangs to it
        assert f.count >= 1 and f.line >= 1 and f.column >= 1


@settings(max_examples=60, deadline=None)
@given(st.lists(values, min_size=1, max_size=4), words, words, st.booleans())
def test_refanged_values_are_found(
    items: list[tuple[IndicatorType, str]], before: list[str], after: list[str], defanged: bool
) -> None:
    written = [defang(value, type_) if defanged else value for type_, value in items]
    text = " ".join([*before, ", ".join(written) + ".", *after])
    results = extract(text)
    assert_sound(results)
    keys = {(f.type, f.canonical) for f in results}
    for type_, value in items:
        if type_ is T.DOMAIN and any(value in other and value != other for _, other in items):
            continue  # a domain written only inside a URL, an address or a longer name counts as that
        assert (type_, canonicalize(type_, value)) in keys, (text, results)


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_any_text_gives_sound_results(text: str) -> None:
    assert_sound(extract(text))
