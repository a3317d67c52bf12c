"""CSV in and out, plain lists in: columns, delimiters, problems by line, CSV injection, round trips."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain import canonical
from commonspace.domain.vocab import TLP, IndicatorType
from commonspace.formats.model import Exchange, FormatError, IndicatorItem, ReportItem
from commonspace.formats.tabular import COLUMNS, parse_csv, parse_plain, read_list, to_csv

T = IndicatorType
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def problems_of(data: bytes, parse: Callable[..., Exchange] = parse_csv) -> list[str]:
    with pytest.raises(FormatError) as caught:
        parse(data, source="feed.csv")
    return [f"{p.where}: {p.reason}" for p in caught.value.problems]


# --- reading CSV ---------------------------------------------------------------------------------------
def test_columns_in_any_order_and_case() -> None:
    data = (
        "Value,TYPE,Comment,To_Detect,First Seen,last-seen,Confidence,Tags,Report\n"
        "hxxp://evil[.]example/login,,phishing page,yes,2024-05-01T10:00:00Z,2024-05-02T10:00:00+02:00,80,"
        "phishing; campaign:bank ;phishing,Bank phish\n"
        "198.51.100.7,ipv4,,no,,,,,Bank phish\n"
        f"{SHA256.upper()},,,,,,,,\n"
        "invoice.pdf.exe,filename,attachment,,,,0,,Mail wave\n"
    ).encode()
    exchange = parse_csv(data, source="uploads/june.csv")
    assert [r.title for r in exchange.reports] == ["Bank phish", "june.csv", "Mail wave"]
    assert exchange.objects_read == 4 and exchange.problems == [] and exchange.source == "uploads/june.csv"
    url, address = exchange.reports[0].indicators
    assert (url.value, url.type, url.comment, url.to_detect) == (
        "http://evil.example/login",  # refanged, otherwise as given
        T.URL,
        "phishing page",
        True,
    )
    assert url.first_seen == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert url.last_seen == datetime(2024, 5, 2, 8, tzinfo=UTC)
    assert (url.confidence, url.tags) == (80, ["phishing", "campaign:bank"])
    assert (address.type, address.to_detect, address.confidence, address.tags) == (T.IPV4, False, None, [])
    assert exchange.reports[1].indicators[0].type is T.SHA256
    assert exchange.reports[2].indicators[0].type is T.FILENAME
    assert exchange.reports[2].indicators[0].confidence == 0


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed_and_a_bom_is_allowed(delimiter: str) -> None:
    rows = [["value", "comment", "tags"], ["evil.example", "a, b; c", "x;y"], ["203.0.113.9", "", ""]]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    exchange = parse_csv(b"\xef\xbb\xbf" + out.getvalue().encode(), source="")
    assert exchange.reports[0].title == "CSV import"
    first, second = exchange.reports[0].indicators
    assert (first.value, first.type, first.comment, first.tags) == (
        "evil.example",
        T.DOMAIN,
        "a, b; c",
        ["x", "y"],
    )
    assert second.type is T.IPV4


def test_bad_rows_are_reported_at_their_physical_line() -> None:
    data = (
        b"value,type,comment,to_detect,first_seen,confidence,report\n"  # line 1
        b'evil.example,,"a comment\nover two lines",,,,\n'  # lines 2-3
        b"not a value,,,,,,\n"  # line 4
        b"\n"  # line 5: blank, skipped
        b"10.0.0.1,ipv6,,,,,\n"  # line 6
        b"evil2.example,,,maybe,2024-05-01T10:00:00,101,\n"  # line 7
        b",,comment only,,,,\n"  # line 8
        b"evil3.example,dns,,,,,\n"  # line 9
        b"evil4.example,,,,,,,extra\n"  # line 10
        b"evil5.example,,,,,,,,\n"  # line 11: empty extra cells are fine
    )
    assert problems_of(data) == [
        "line 4: the type of 'not a value' is not recognised; give it in the type column",
        "line 6: invalid ipv6 '10.0.0.1': this is an IPv4 address; use type ipv4",
        "line 7: to_detect 'maybe' is not one of true, false, 1, 0, yes, no; first_seen "
        "'2024-05-01T10:00:00' has no time zone (add Z or +01:00); confidence '101' is not a whole number "
        "from 0 to 100",
        "line 8: the value is empty",
        "line 9: unknown type 'dns' (known: ipv4, ipv6, ipv4-cidr, ipv6-cidr, domain, url, email, md5, sha1, "
        "sha256, sha512, filename, asn)",
        "line 10: 8 fields where the header has 7",
    ]
    exchange = parse_csv(data, source="feed.csv", skip_invalid=True)
    assert [i.value for i in exchange.reports[0].indicators] == ["evil.example", "evil5.example"]
    assert exchange.reports[0].indicators[0].comment == "a comment\nover two lines"
    assert [p.where for p in exchange.problems] == [
        "line 4",
        "line 6",
        "line 7",
        "line 8",
        "line 9",
        "line 10",
    ]
    assert all(p.source == "feed.csv" for p in exchange.problems)
    assert exchange.objects_read == 8


def test_times_and_order_of_times() -> None:
    data = b"value,first_seen,last_seen\nevil.example,2024-05-02T00:00:00+00:00,2024-05-01T00:00:00+00:00\n"
    assert problems_of(data) == ["line 2: first_seen is after last_seen"]
    data = b"value,first_seen\nevil.example,yesterday\n"
    assert problems_of(data) == ["line 2: first_seen 'yesterday' is not an ISO 8601 time"]
    data = b"value,first_seen\nevil.example,2024-05-02T03:04:05.123456+05:30\n"
    moment = parse_csv(data).reports[0].indicators[0].first_seen
    assert moment == datetime(2024, 5, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))


def test_tlp_column() -> None:
    data = b"value,report,tlp\na.example,R,tlp:green\nb.example,R,\nc.example,R,RED\nd.example,S,purple\n"
    assert problems_of(data) == [
        "line 4: TLP RED differs from the report's",
        "line 5: TLP 'purple' is not one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED",
    ]
    exchange = parse_csv(data, skip_invalid=True)
    assert [(r.title, r.tlp, len(r.indicators)) for r in exchange.reports] == [("R", TLP.GREEN, 2)]


def test_files_that_cannot_be_read() -> None:
    assert problems_of(b"") == [
        "line 1: the first row must be a header naming the columns, with at least a 'value' column"
    ]
    assert problems_of(b"evil.example\n203.0.113.1\n")[0].startswith("line 1: the first row must be a header")
    assert problems_of(b"value,Value\nx.example,y.example\n") == [
        "line 1: column 'value' appears more than once"
    ]
    assert problems_of(b"value\nevil.example\n\xff\xfe\n") == ["line 3: the file is not UTF-8 text"]
    assert problems_of(b'value,comment\nevil.example,"open\nnever closed\n')[0].startswith(
        "line 2: not valid CSV"
    )
    # Broken quoting is fatal even when invalid rows are skipped: what follows cannot be trusted.
    with pytest.raises(FormatError):
        parse_csv(b'value,comment\nevil.example,"a"b\nok.example,\n', skip_invalid=True)
    assert parse_csv(b"value,type\n").reports == []  # a header alone is an empty file


def test_unknown_columns_and_report_uuid_are_ignored() -> None:
    data = b"value,category,report_uuid\nevil.example,Network activity,0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0001\n"
    report = parse_csv(data).reports[0]
    assert report.uuid is None and report.source_id is None
    assert report.indicators[0].value == "evil.example"


# --- plain lists ---------------------------------------------------------------------------------------
def test_plain_list() -> None:
    data = (
        "# exported from the mail gateway\r\n"
        "evil[.]example   seen twice\r\n"
        "\r\n"
        "203.0.113.7;c2\r\n"
        "   hxxps://evil[.]example/a?b=c # inline words are ignored\r\n"
        f"{SHA256}\r\n"
        "not-a-value\r\n"
        "ops[at]evil[.]example\r"
        "AS64500\n"
    ).encode()
    assert problems_of(data, parse_plain) == [
        "line 7: 'not-a-value' is not a value of a known type (a file name needs a CSV type column)"
    ]
    exchange = parse_plain(data, source="gateway/list.txt", skip_invalid=True)
    assert exchange.reports[0].title == "list.txt" and exchange.objects_read == 7
    assert [(i.type, i.value) for i in exchange.reports[0].indicators] == [
        (T.DOMAIN, "evil.example"),
        (T.IPV4, "203.0.113.7"),
        (T.URL, "https://evil.example/a?b=c"),
        (T.SHA256, SHA256),
        (T.EMAIL, "ops@evil.example"),
        (T.ASN, "AS64500"),
    ]
    assert [p.where for p in exchange.problems] == ["line 7"]
    assert parse_plain(b"# nothing\n\n").reports == []
    assert parse_plain(b"\xef\xbb\xbfevil.example").reports[0].title == "List import"


def _list_reference(text: str) -> tuple[list[tuple[IndicatorType, str]], list[str], list[int]]:
    """A plain list read the slow way: every line refanged and detected, no shortcut for plain values."""
    entries, written, problems = [], [], []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        value = re.split(r"[\s;]", line, maxsplit=1)[0]
        found = canonical.detect(" " + value)  # a leading space takes detect()'s general path
        if found is None:
            problems.append(number)
            continue
        entries.append(found)
        written.append(canonical.refang(value))
    return entries, written, problems


_LIST_LINES = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.sampled_from(
        [
            "evil.example",
            "EVIL.example",
            "evil.example.",
            "bad..example",
            "invoice.pdf",
            "as12.example",
            "-x.example",
            "x-.example",
            "010.0.0.1",
            "256.1.1.1",
            "1.2.3.4.5",
            "hxxp://evil[.]example/a",
            "evil[.]example",
            "ops[at]evil.example",
            SHA256,
            "AS64500",
            "2001:db8::1",
            "10.0.0.0/8",
            "# comment",
            "",
            "   ",
            "192.0.2.1\t5",
            "evil.example;c2",
            "evil.example  note",
            "not-a-value",
            "a" * 64 + ".example",
            "a" * 63 + ".example",
        ]
    ),  # fmt: skip
    st.text(alphabet="abcz019.-_", min_size=1, max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_LIST_LINES, st.sampled_from(["\n", "\r\n", "\r"])), max_size=30))
def test_lists_read_as_the_slow_way_reads_them(lines: list[tuple[str, str]]) -> None:
    """read_list() sorts plain addresses and names by one expression; the result is the general path's,
    line numbers of problems included, whatever the line breaks."""
    text = "".join(line + end for line, end in lines)
    entries, written, problems = _list_reference(text)
    values = read_list(text.encode(), skip_invalid=True)
    assert values.entries == entries
    assert [values.written.get(i, value) for i, (_, value) in enumerate(values.entries)] == written
    assert [p.where for p in values.problems] == [f"line {n}" for n in problems]
    assert values.read == len(entries) + len(problems)


# --- writing CSV ---------------------------------------------------------------------------------------
def test_to_csv_header_quoting_and_neutralising() -> None:
    report = ReportItem(
        title='=HYPERLINK("http://x")',
        uuid="0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0001",
        tlp=TLP.AMBER_STRICT,
        indicators=[
            IndicatorItem(
                "evil.example",
                T.DOMAIN,
                comment='says "hi", then\r\nleaves',
                first_seen=datetime(2024, 5, 1, 10, tzinfo=UTC),
                last_seen=datetime(2024, 5, 2, 10),  # naive: taken as UTC
                confidence=75,
                tags=["phishing", "tlp:amber"],
            ),
            IndicatorItem("-rf", T.FILENAME, comment="+1", to_detect=False, tags=["@team", "-"]),
            IndicatorItem("'=already quoted", T.FILENAME, comment="\tindented"),
        ],
    )
    text = to_csv(Exchange(reports=[report])).decode("utf-8")
    lines = text.split("\r\n")
    assert (
        lines[0]
        == ",".join(COLUMNS)
        == ("report,report_uuid,type,value,comment,to_detect,first_seen,last_seen,confidence,tags,tlp")
    )
    assert lines[1] == (
        '"\'=HYPERLINK(""http://x"")",0b6f1c1e-5b1a-4f3e-9a39-2f1c1b8e0001,domain,evil.example,'
        '"says ""hi"", then'
    )
    assert lines[2] == (
        'leaves",true,2024-05-01T10:00:00+00:00,2024-05-02T10:00:00+00:00,75,phishing;tlp:amber,AMBER+STRICT'
    )
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[2][3:6] == ["'-rf", "'+1", "false"] and rows[2][9] == "'@team;-"
    assert rows[3][3:5] == ["''=already quoted", "'\tindented"]
    back = parse_csv(text.encode()).reports[0]
    assert [i.value for i in back.indicators] == ["evil.example", "-rf", "'=already quoted"]
    assert [i.comment for i in back.indicators] == ['says "hi", then\r\nleaves', "+1", "\tindented"]
    assert back.title == '=HYPERLINK("http://x")' and back.tlp is TLP.AMBER_STRICT
    assert back.indicators[0].last_seen == datetime(2024, 5, 2, 10, tzinfo=UTC)
    assert back.indicators[1].tags == ["@team", "-"]


def test_every_formula_start_is_neutralised() -> None:
    for start in "=+-@\t\r":
        item = IndicatorItem(f"{start}x", T.FILENAME, comment=f"{start}cmd|' /C calc'!A0")
        text = to_csv(Exchange([ReportItem("r", indicators=[item])])).decode()
        row = list(csv.reader(io.StringIO(text, newline="")))[1]
        assert row[3:5] == [f"'{start}x", f"'{start}cmd|' /C calc'!A0"]
        assert all(not cell.startswith(tuple("=+-@\t\r")) for cell in row), row


# --- round trip ------------------------------------------------------------------------------------------
hostile = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
starts = st.sampled_from(["", "=", "+", "-", "@", "\t", "\r", "'", "''=", "'-", '"', ",", ";", "\n"])
comments = st.builds(lambda a, b: a + b, starts, hostile)
titles = comments.map(str.strip).filter(bool)
tags = st.lists(
    st.builds(lambda a, b: a + b, starts, hostile).map(lambda s: s.replace(";", "").strip()).filter(bool),
    max_size=3,
    unique=True,
)
values = st.sampled_from(
    [
        (T.DOMAIN, "evil.example"),
        (T.IPV4, "203.0.113.7"),
        (T.IPV6_CIDR, "2001:db8::/32"),
        (T.URL, 'http://evil.example/a?b=1;c="2",d'),
        (T.EMAIL, '"odd, local"@evil.example'),
        (T.FILENAME, "-rf"),
        (T.FILENAME, "=SUM(A1)"),
        (T.FILENAME, "'@x"),
        (T.FILENAME, 'in"v;o|ice,\u202eexe.txt'),
        (T.SHA256, SHA256),
        (T.ASN, "AS1"),
    ]
)
moments = st.none() | st.datetimes(timezones=st.just(UTC))
items = st.builds(
    lambda v, comment, detect, first, confidence, t: IndicatorItem(
        v[1], v[0], comment=comment, to_detect=detect, first_seen=first, confidence=confidence, tags=t
    ),
    values,
    comments,
    st.booleans(),
    moments,
    st.none() | st.integers(0, 100),
    tags,
)
reports = st.builds(
    lambda title, tlp, indicators: ReportItem(title=title, tlp=tlp, indicators=indicators),
    titles,
    st.none() | st.sampled_from(list(TLP)),
    st.lists(items, min_size=1, max_size=4),
)


def key(item: IndicatorItem) -> tuple[object, ...]:
    return (item.value, item.type, item.comment, item.to_detect, item.first_seen, item.confidence, item.tags)


@settings(max_examples=150, deadline=None)
@given(st.lists(reports, min_size=1, max_size=3, unique_by=lambda r: r.title))
def test_csv_round_trip_keeps_every_indicator(given_reports: list[ReportItem]) -> None:
    data = to_csv(Exchange(reports=given_reports))
    data.decode("utf-8")
    back = parse_csv(data, source="x.csv")
    assert [r.title for r in back.reports] == [r.title for r in given_reports]
    for original, read in zip(given_reports, back.reports, strict=True):
        assert [key(i) for i in read.indicators] == [key(i) for i in original.indicators]
        assert read.tlp == original.tlp
    for row in csv.reader(io.StringIO(data.decode(), newline="")):
        assert all(not cell.startswith(tuple("=+-@\t\r")) for cell in row)
