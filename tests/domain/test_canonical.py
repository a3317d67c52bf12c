"""Canonical indicator forms: examples from real reports, and properties checked with Hypothesis."""

from __future__ import annotations

import ipaddress
import pickle
import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from commonspace.domain.canonical import (
    InvalidIndicator,
    canonicalize,
    defang,
    detect_type,
    host_key,
    ip_networks_containing,
    network_prefix_length,
    parent_domains,
    refang,
)
from commonspace.domain.vocab import IndicatorType

T = IndicatorType

# hypothesis' domains() allows 255 characters (the wire limit); the text form allows 253.
short_domains = domains(max_length=253)
# Generating domains is the slow part; these properties were also run with 5000 examples each.
fewer = settings(max_examples=50)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def assert_canonical(type_: IndicatorType, value: str) -> str:
    """canonicalize is idempotent and its result survives a defang/refang round trip."""
    canonical = canonicalize(type_, value)
    assert canonicalize(type_, canonical) == canonical
    assert refang(defang(canonical, type_)) == canonical
    assert refang(canonical) == canonical
    return canonical


# --- examples ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        (T.URL, "hxxp://evil[.]example(dot)com/a", "http://evil.example.com/a"),
        (T.URL, "hXXps[://]evil[.]example[.]com", "https://evil.example.com/"),
        (T.URL, "fxp[:]//files{.}example.org:21/x", "ftp://files.example.org/x"),
        (T.URL, "HTTP://U:P@Example.COM:80/%7eu/%2f%41?q=%2f#frag", "http://U:P@example.com/~u/%2FA?q=%2f"),
        (T.URL, "https://example.com:8443", "https://example.com:8443/"),
        (T.URL, "example.com/path", "http://example.com/path"),
        (T.URL, "example.com:8080/path", "http://example.com:8080/path"),
        (T.URL, "http://[2001:DB8::1]:80/a b", "http://[2001:db8::1]/a%20b"),
        (T.URL, "http://10.0.0.1/", "http://10.0.0.1/"),
        (T.URL, "http://bücher.de/ä", "http://xn--bcher-kva.de/%C3%A4"),
        (T.URL, "http://example.com/(%2E)", "http://example.com/."),
        (T.URL, "http://evil.example\\@good.example/", "http://evil.example/@good.example/"),
        (T.URL, "ssh://evil.example\\@good.example/", "ssh://evil.example\\@good.example/"),
        (T.IPV6, "::FFFF:c000:0201", "::ffff:192.0.2.1"),
        (T.IPV6_CIDR, "::ffff:192.0.2.1/120", "::ffff:192.0.2.0/120"),
        (T.DOMAIN, "ExAmple.COM.", "example.com"),
        (T.DOMAIN, "bücher.de", "xn--bcher-kva.de"),
        (T.DOMAIN, "BÜCHER。de", "xn--bcher-kva.de"),
        (T.DOMAIN, "_dmarc.example.com", "_dmarc.example.com"),
        (T.DOMAIN, "r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"),
        (T.DOMAIN, "evil[.]example[dot]com", "evil.example.com"),
        (T.IPV4, " 192.168.1.1 ", "192.168.1.1"),
        (T.IPV4, "10[.]0[.]0[.]1", "10.0.0.1"),
        (T.IPV6, "2001:0db8:0000::0001", "2001:db8::1"),
        (T.IPV6, "[::1]", "::1"),
        (T.IPV6, "2001:DB8::A", "2001:db8::a"),
        (T.IPV4_CIDR, "10.1.2.3/8", "10.0.0.0/8"),
        (T.IPV4_CIDR, "10.1.2.3", "10.1.2.3/32"),
        (T.IPV6_CIDR, "2001:db8::1/32", "2001:db8::/32"),
        (T.IPV6_CIDR, "2001:db8::1", "2001:db8::1/128"),
        (T.EMAIL, "<mailto:John.Doe@Example.COM>", "John.Doe@example.com"),
        (T.EMAIL, "john(at)example(dot)com", "john@example.com"),
        (T.EMAIL, '"john doe@home"@example.com', '"john doe@home"@example.com'),
        (T.MD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        (T.SHA1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (T.SHA256, EMPTY_SHA256.upper(), EMPTY_SHA256),
        (T.ASN, "AS13335", "AS13335"),
        (T.ASN, "as13335", "AS13335"),
        (T.ASN, "13335", "AS13335"),
        (T.ASN, "AS 13335", "AS13335"),
        (T.FILENAME, "  C:\\Users\\Public\\invoice.pdf.exe ", "C:\\Users\\Public\\invoice.pdf.exe"),
        (T.FILENAME, "invoice\u202egpj.exe", "invoice\u202egpj.exe"),
    ],
)  # fmt: skip
def test_examples(type_: IndicatorType, value: str, expected: str) -> None:
    assert assert_canonical(type_, value) == expected


def test_accepts_plain_strings_as_type() -> None:
    assert canonicalize("domain", "Example.com") == "example.com"


@pytest.mark.parametrize(
    ("type_", "value", "reason"),
    [
        (T.IPV4, "010.1.1.1", "leading zero"),
        (T.IPV4, "256.1.1.1", "greater than 255"),
        (T.IPV4, "1.2.3", "four"),
        (T.IPV4, "1.2.3.x", "not a decimal number"),
        (T.IPV4, "::1", "IPv6"),
        (T.IPV6, "1.2.3.4", "IPv4"),
        (T.IPV6, "2001:db8::g", "2001:db8::g"),
        (T.IPV6, "fe80::1%eth0", "zone"),
        (T.IPV4_CIDR, "10.0.0.0/33", "longer than 32"),
        (T.IPV4_CIDR, "10.0.0.0/x", "not a number"),
        (T.IPV6_CIDR, "2001:db8::/129", "longer than 128"),
        (T.DOMAIN, "", "empty"),
        (T.DOMAIN, "   ", "empty"),
        (T.DOMAIN, "localhost", "dot"),
        (T.DOMAIN, "a..example.com", "empty label"),
        (T.DOMAIN, "a" * 64 + ".com", "longer than 63"),
        (T.DOMAIN, ".".join(["a" * 63] * 4) + ".com", "at most 253"),
        (T.DOMAIN, "-bad.example.com", "starts or ends with '-'"),
        (T.DOMAIN, "b*d.example.com", "letters, digits"),
        (T.DOMAIN, "1.2.3.4", "IP address"),
        (T.DOMAIN, "1.2.3.400", "numeric"),
        (T.URL, "mailto:someone@example.com", "no '//'"),
        (T.URL, "http://", "no host"),
        (T.URL, "http://localhost/", "host 'localhost'"),
        (T.URL, "http://example.com:99999/", "port"),
        (T.URL, "http://2001:db8::1/", "brackets"),
        (T.URL, "http://[2001:db8::1/", "unclosed"),
        (T.URL, "http://010.0.0.1/", "leading zero"),
        (T.URL, "http://example.com/a\nb", "control characters"),
        (T.EMAIL, "john.example.com", "exactly one '@'"),
        (T.EMAIL, "a@b@example.com", "exactly one '@'"),
        (T.EMAIL, "@example.com", "empty local part"),
        (T.EMAIL, "jo hn@example.com", "local part"),
        (T.EMAIL, "john@localhost", "domain part"),
        (T.EMAIL, '"unterminated@example.com', "quoted"),
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427", "expected 32 hexadecimal characters, got 31"),
        (T.SHA1, "z" * 40, "not hexadecimal"),
        (T.SHA256, "ab" * 16, "expected 64"),
        (T.SHA512, "ab" * 32, "expected 128"),
        (T.FILENAME, "bad\x00name.exe", "control"),
        (T.FILENAME, "two\nlines", "control"),
        (T.ASN, "AS0", "from 1"),
        (T.ASN, f"AS{2**32}", "from 1"),
        (T.ASN, "ASX", "AS number"),
        ("sha3", "abc", "unknown indicator type"),
    ],
)
def test_rejects_with_a_reason(type_: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator) as caught:
        canonicalize(type_, value)
    assert reason in caught.value.reason
    assert caught.value.type == str(type_)
    assert caught.value.value == value
    assert str(caught.value) == f"invalid {type_} {value!r}: {caught.value.reason}"
    assert isinstance(caught.value, ValueError)


def test_invalid_indicator_pickles() -> None:
    exc = InvalidIndicator("md5", "x", "too short")
    again = pickle.loads(pickle.dumps(exc))
    assert (again.type, again.value, again.reason, str(again)) == ("md5", "x", "too short", str(exc))


def test_refang_and_defang() -> None:
    assert refang("  hxxps[:]//a[.]b(.)c{.}d(dot)e[dot]f/x ") == "https://a.b.c.d.e.f/x"
    assert (
        refang("john[@]example[.]com")
        == refang("john(at)example[at]com".replace("[at]", "."))
        == ("john@example.com")
    )
    assert refang("[[.]]") == "."  # nested spellings too, so that refang is idempotent
    assert refang("[[.].]") == "[..]"
    assert refang("x" + "[" * 5000 + "." + "]" * 5000) == "x."  # and linear, not quadratic
    assert refang("thxxp.exe") == "thxxp.exe"
    assert defang("http://evil.example.com/a.php", T.URL) == "hxxp://evil[.]example[.]com/a.php"
    assert defang("https://1.2.3.4/", T.URL) == "hxxps://1[.]2[.]3[.]4/"
    assert defang("john.doe@example.com", T.EMAIL) == "john[.]doe[@]example[.]com"
    assert defang("10.0.0.0/8", T.IPV4_CIDR) == "10[.]0[.]0[.]0/8"
    assert defang("invoice.pdf", T.FILENAME) == "invoice.pdf"


# --- properties ----------------------------------------------------------------------------------------
@given(st.ip_addresses(v=4))
def test_ipv4_properties(address: ipaddress.IPv4Address) -> None:
    assert assert_canonical(T.IPV4, str(address)) == str(address)


@given(st.ip_addresses(v=6), st.booleans())
def test_ipv6_properties(address: ipaddress.IPv6Address, exploded: bool) -> None:
    text = address.exploded.upper() if exploded else str(address)
    assert ipaddress.IPv6Address(assert_canonical(T.IPV6, text)) == address


@given(st.ip_addresses(), st.integers(min_value=0, max_value=128))
def test_network_properties(address: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int) -> None:
    prefix = min(prefix, address.max_prefixlen)
    type_ = T.IPV4_CIDR if address.version == 4 else T.IPV6_CIDR
    canonical = assert_canonical(type_, f"{address}/{prefix}")
    network = ipaddress.ip_network(canonical)
    assert address in network and network.prefixlen == prefix == network_prefix_length(canonical)
    assert canonical in ip_networks_containing(str(address), [prefix])


@fewer
@given(short_domains, st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8))
def test_domain_properties(domain: str, label: str) -> None:
    canonical = assert_canonical(T.DOMAIN, domain)
    assert canonical == domain.lower()
    assert canonicalize(T.DOMAIN, defang(domain.upper(), T.DOMAIN) + ".") == canonical
    assert detect_type(domain) is T.DOMAIN
    # host_key ranges select exactly the domain and its subdomains, not look-alikes.
    k = host_key(canonical)
    upper = k[:-1] + "/"
    for child in (canonical, f"{label}.{canonical}", f"_x.{label}.{canonical}"):
        assert k <= host_key(child) < upper
        assert canonical in parent_domains(child)
    assert not k <= host_key(f"{label}{canonical}") < upper  # "notexample.com" is not below "example.com"


@st.composite
def our_urls(draw: st.DrawFn) -> str:
    host = draw(short_domains | st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map("[{}]".format))
    scheme = draw(st.sampled_from(["http", "HTTPS", "ftp", "ssh", "git+ssh", ""]))
    userinfo = draw(st.sampled_from(["", "user@", "user:p%41ss@"])) if scheme else ""
    port = draw(st.sampled_from(["", ":", ":80", ":443", ":021", ":8080"]))
    path = draw(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])))
    path = path.replace("#", "").replace("?", "")
    query = draw(st.none() | st.text(alphabet=string.ascii_letters + "=&%/.[]"))
    prefix = f"{scheme}://" if scheme else ""
    return f"{prefix}{userinfo}{host}{port}/{path}" + ("" if query is None else f"?{query}")


@fewer
@given(our_urls())
def test_url_properties(url: str) -> None:
    assert_canonical(T.URL, url)


@fewer
@given(urls())
def test_hypothesis_url_properties(url: str) -> None:
    assume(len(url.split("/")[2].split(":")[0]) <= 253)
    canonical = assert_canonical(T.URL, url)
    assert "#" not in canonical
    assert detect_type(canonical) is T.URL


@fewer
@given(st.emails(domains=domains(max_length=180)))
def test_email_properties(email: str) -> None:
    canonical = assert_canonical(T.EMAIL, email)
    local, _, domain = email.rpartition("@")
    assert canonical == f"{refang(local)}@{domain.lower()}"
    assert detect_type(email) is T.EMAIL


@given(st.sampled_from([T.MD5, T.SHA1, T.SHA256, T.SHA512]), st.data())
def test_hash_properties(type_: IndicatorType, data: st.DataObject) -> None:
    size = {T.MD5: 16, T.SHA1: 20, T.SHA256: 32, T.SHA512: 64}[type_]
    digest = data.draw(st.binary(min_size=size, max_size=size)).hex()
    assert assert_canonical(type_, digest.upper()) == digest
    assert detect_type(digest) is type_
    with pytest.raises(InvalidIndicator, match=f"expected {2 * size} hexadecimal"):
        canonicalize(type_, digest + "0")


@given(st.integers(min_value=1, max_value=2**32 - 1), st.sampled_from(["AS", "as", "", "AS "]))
def test_asn_properties(number: int, prefix: str) -> None:
    assert assert_canonical(T.ASN, f"{prefix}{number}") == f"AS{number}"


@given(st.sampled_from(list(IndicatorType)), st.text())
def test_any_text_is_rejected_or_canonical(type_: IndicatorType, text: str) -> None:
    """Whatever is pasted, canonicalize either refuses with a reason or returns a stable value."""
    try:
        canonical = canonicalize(type_, text)
    except InvalidIndicator as exc:
        assert exc.reason
        return
    assert_canonical(type_, canonical)


@given(st.text(alphabet="[](){}.:/@dotaDOTAhxpsf "))
def test_refang_is_idempotent(text: str) -> None:
    assert refang(refang(text)) == refang(text)


@given(st.sampled_from(list(IndicatorType)), st.text(alphabet="[](){}.:/\\@?#hxpftaod0123456789abcdef%AS- "))
def test_fangy_text_is_rejected_or_canonical(type_: IndicatorType, text: str) -> None:
    try:
        canonical = canonicalize(type_, text)
    except InvalidIndicator:
        return
    assert_canonical(type_, canonical)


# --- detection -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2.3.4", T.IPV4),
        ("1[.]2[.]3[.]4", T.IPV4),
        ("2001:db8::1", T.IPV6),
        ("[::1]", T.IPV6),
        ("10.0.0.0/8", T.IPV4_CIDR),
        ("2001:db8::/32", T.IPV6_CIDR),
        ("evil.example.com", T.DOMAIN),
        ("evil[.]example(dot)com", T.DOMAIN),
        ("bücher.de", T.DOMAIN),
        ("evil.xn--p1ai", T.DOMAIN),
        ("hxxp://evil[.]example/a", T.URL),
        ("ssh://git@example.com/repo", T.URL),
        ("john@example.com", T.EMAIL),
        ("mailto:john@example.com", T.EMAIL),
        ("d41d8cd98f00b204e9800998ecf8427e", T.MD5),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", T.SHA1),
        (EMPTY_SHA256, T.SHA256),
        ("ab" * 64, T.SHA512),
        ("AS13335", T.ASN),
        ("as13335", T.ASN),
        ("", None),
        ("13335", None),
        ("invoice.pdf", None),
        ("dropper.exe", None),
        ("localhost", None),
        ("1.2.3.400", None),
        ("010.1.1.1", None),
        ("john@localhost", None),
        ("10.0.0.0/99", None),
        ("just some words", None),
        ("ab" * 17, None),
    ],
)
def test_detect_type(value: str, expected: IndicatorType | None) -> None:
    assert detect_type(value) is expected


# --- keys ----------------------------------------------------------------------------------------------
def test_host_key_and_parents() -> None:
    assert host_key("a.example.com") == "com.example.a."
    assert host_key("com") == "com."
    assert parent_domains("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com", "com"]
    assert parent_domains("com") == ["com"]


def test_ip_networks_containing() -> None:
    assert ip_networks_containing("10.1.2.3", [8, 24, 32]) == ["10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32"]
    assert ip_networks_containing("2001:db8::1", [32, 64, 128]) == [
        "2001:db8::/32",
        "2001:db8::/64",
        "2001:db8::1/128",
    ]
    assert ip_networks_containing("10.1.2.3", [16, 48, 16]) == ["10.1.0.0/16"]
    with pytest.raises(InvalidIndicator):
        ip_networks_containing("10.1.2", [8])
    assert network_prefix_length("10.0.0.0/8") == 8
    assert network_prefix_length("2001:db8::/32") == 32
    with pytest.raises(InvalidIndicator):
        network_prefix_length("nonsense")


_NAME_CHARS = string.ascii_lowercase + string.digits + "-_."


@given(
    st.one_of(
        st.text(alphabet=_NAME_CHARS, max_size=80),
        st.lists(st.text(alphabet=_NAME_CHARS, min_size=1, max_size=70), min_size=2, max_size=6).map(
            ".".join
        ),
        domains().map(str.lower),
        st.ip_addresses(v=4).map(str),
        st.text(alphabet="0123456789.", max_size=16),
        st.sampled_from(["invoice.pdf", "as12.com", "a.b" * 90, "x-.com", "_x.com", "a..b.com", "1.2.3.4"]),
    )
)
def test_detect_names_written_canonically_as_the_general_path_does(value: str) -> None:
    """detect() answers dotted quads and lower-case ASCII names early, as the general path would."""
    from commonspace.domain import canonical

    general = canonical.detect(" " + value)  # a leading space takes the general path
    assert canonical.detect(value) == general
