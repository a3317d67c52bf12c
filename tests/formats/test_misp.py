"""MISP core format in and out: the shared MISP files (PyMISP's and MISP's test events, ESET's published
events and two real bad inputs), feeds, the type, TLP and distribution mappings both ways, and round trips
through PyMISP."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pymisp import MISPEvent

from commonspace.demo.sources import default_data_dir
from commonspace.domain.canonical import canonicalize
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ThreatLevel
from commonspace.formats.misp import parse_misp, parse_misp_feed, to_misp, to_misp_bytes
from commonspace.formats.model import Exchange, FormatError, IndicatorItem, OrgItem, ReportItem

T = IndicatorType
IN_CI = os.environ.get("CI", "").lower() == "true"

MALFORMED = "eset/pypi_backdoor__malicious_pypi_packages.misp-event.json"
BLOCKLIST = "eset/dnsbirthday__rqz-dnsduvel_blocklist.json"
# JSON files of the shared folder that are not MISP events (schemas, templates, lists of other things).
NOT_EVENTS = {
    BLOCKLIST,
    "misp/app/files/feed-metadata/defaults.json",  # the default feed list
    "misp/format/2.4/schema-lax.json",
    "misp/format/2.4/schema.json",
    "pymisp/pymisp/data/describeTypes.json",
    "pymisp/tests/git-vuln-finder-quagga.json",
    "pymisp/tests/mispevent_testfiles/event_obj_attr_tag.json",  # objects alone, no event "info"
    "pymisp/tests/mispevent_testfiles/event_obj_def_param.json",
    "pymisp/tests/mispevent_testfiles/event_obj_tag.json",
    "pymisp/tests/mispevent_testfiles/galaxy.json",
    "pymisp/tests/mispevent_testfiles/overwrite_file/definition.json",
    "pymisp/tests/mispevent_testfiles/sighting.json",
    "pymisp/tests/mispevent_testfiles/simple.json",
    "pymisp/tests/mispevent_testfiles/test_object_template/definition.json",
    "pymisp/tests/search_index_result.json",  # an event index: titles without attributes
    "pymisp/tests/sharing_groups.json",
    "pymisp/tests/stix2.json",
}
# Events with values our canonicaliser refuses: they parse only with skip_invalid.
WITH_BAD_VALUES = {"pymisp/tests/reportlab_testfiles/long_event.json": 3}


@pytest.fixture(scope="module")
def misp_data() -> Path:
    root = default_data_dir() / "misp"
    if not root.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {root}")
        pytest.skip(f"no shared MISP data at {root}")
    return root


def shared_files(root: Path) -> dict[str, Path]:
    return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*.json"))}


def parse_file(root: Path, name: str, **kwargs: Any) -> Exchange:
    return parse_misp((root / name).read_bytes(), source=Path(name).name, **kwargs)


def only_report(exchange: Exchange) -> ReportItem:
    assert len(exchange.reports) == 1
    return exchange.reports[0]


def event(*attributes: dict[str, Any], **fields: Any) -> bytes:
    """A MISP event file with these attributes and event fields."""
    body: dict[str, Any] = {"info": "Test event", "uuid": "5c7641bf-a4e8-4d5d-a653-03240a00020f"}
    body.update(fields)
    body["Attribute"] = list(attributes)
    return orjson.dumps({"Event": body})


def attr(type_: str, value: Any, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "value": value, **fields}


def indicators(report: ReportItem) -> list[tuple[IndicatorType | None, str]]:
    return [(item.type, item.value) for item in report.indicators]


def comparable(report: ReportItem) -> list[tuple[Any, ...]]:
    """What an indicator is, compared across a round trip (values in their canonical form)."""
    return [
        (
            item.type,
            canonicalize(item.type, item.value) if item.type else item.value,
            item.to_detect,
            item.relation,
            item.comment,
            tuple(item.tags),
            item.first_seen,
            item.last_seen,
        )
        for item in report.indicators
    ]


# --- the shared files ------------------------------------------------------------------------------------
def test_every_shared_misp_file_parses_or_says_clearly_why_not(misp_data: Path) -> None:
    files = shared_files(misp_data)
    assert set(NOT_EVENTS) | {MALFORMED} <= set(files)
    events = reports = 0
    for name, path in files.items():
        data = path.read_bytes()
        if name == MALFORMED:
            continue  # below
        if name in NOT_EVENTS:
            with pytest.raises(FormatError) as caught:
                parse_misp(data, source=path.name)
            assert caught.value.problems[0].where == "top level", name
            assert "not a MISP event: expected" in str(caught.value), name
            continue
        exchange = parse_misp(data, source=path.name, skip_invalid=True)
        assert exchange.reports, name
        assert len(exchange.problems) == WITH_BAD_VALUES.get(name, 0), (name, exchange.problems)
        if name not in WITH_BAD_VALUES:
            parse_misp(data, source=path.name)  # no problem: also without skip_invalid
        events += exchange.objects_read
        reports += len(exchange.reports)
    assert events == reports == len(files) - len(NOT_EVENTS) - 1


def test_the_eset_events_all_parse_but_the_malformed_one_and_the_blocklist(misp_data: Path) -> None:
    eset = sorted((misp_data / "eset").glob("*.json"))
    assert len(eset) == 59  # 57 events and the two bad inputs
    parsed = indicators_total = notes_total = 0
    for path in eset:
        if f"eset/{path.name}" in (MALFORMED, BLOCKLIST):
            continue
        exchange = parse_misp(path.read_bytes(), source=path.name)
        report = only_report(exchange)
        assert report.author is not None and report.source_id
        parsed += 1
        indicators_total += len(report.indicators)
        notes_total += len(report.notes)
    assert parsed == 57
    assert (indicators_total, notes_total) == (3410, 1084)


def test_malformed_json_names_the_file_line_and_column(misp_data: Path) -> None:
    with pytest.raises(FormatError) as caught:
        parse_file(misp_data, MALFORMED, skip_invalid=True)  # unreadable whatever skip_invalid says
    (problem,) = caught.value.problems
    assert problem.source == "pypi_backdoor__malicious_pypi_packages.misp-event.json"
    assert problem.where == "line 37373, column 12"  # the trailing comma before "]"
    assert problem.reason == "invalid JSON: trailing comma is not allowed"
    assert str(caught.value).startswith("pypi_backdoor__malicious_pypi_packages.misp-event.json: line 37373")


def test_a_file_that_is_not_a_misp_event_says_what_was_expected_and_found(misp_data: Path) -> None:
    with pytest.raises(FormatError) as caught:
        parse_file(misp_data, BLOCKLIST)
    message = str(caught.value)
    assert message.startswith("dnsbirthday__rqz-dnsduvel_blocklist.json: top level: not a MISP event")
    assert '{"Event": {…}}' in message and '{"response": [' in message
    assert message.endswith('found an object with the key "duvelDetails"')


def test_misp_test_event_regin(misp_data: Path) -> None:
    report = only_report(parse_file(misp_data, "misp/tests/event.json"))
    assert report.title == "OSINT - F-Secure W32/Regin, Stage #1"
    assert report.source_id == "54884656-2da8-4625-bf07-43ef950d210b"
    assert report.created == datetime(2014, 12, 10, tzinfo=UTC)
    assert report.modified == datetime.fromtimestamp(1418217625, UTC)
    assert report.published and report.threat_level is ThreatLevel.HIGH
    assert report.distribution is Distribution.COMMUNITY  # 3, "all communities"
    assert report.tlp is None and report.tags == ["Type:OSINT"]
    assert report.author == OrgItem(name="CIRCL", source_id="55f6ea5e-2c60-40e5-964f-47a8950d210f")
    assert Counter(item.type for item in report.indicators) == {T.MD5: 27, T.FILENAME: 6}
    assert Counter(note.partition(":")[0] for note in report.notes) == {"regkey": 3, "link": 1, "text": 1}
    assert "link: https://www.f-secure.com/documents/996508/1030745/w32_regin_stage_1.pdf" in report.notes
    md5 = report.indicators[6]
    assert (md5.type, md5.value, md5.to_detect, md5.comment) == (
        T.MD5,
        "26297dc3cd0b688de3b846983c5385e5",
        True,
        "Regin samples collected.",
    )
    assert report.indicators[0].to_detect is False  # the file names are not for detection


def test_eset_telebots_tlp_white_is_clear(misp_data: Path) -> None:
    report = only_report(parse_file(misp_data, "eset/telebots__misp-telebots.json"))
    assert report.tlp is TLP.CLEAR
    assert report.tags == ["Type:OSINT", 'misp-galaxy:threat-actor="TeleBots"']
    assert report.threat_level is ThreatLevel.MEDIUM
    counts = Counter(item.type for item in report.indicators)
    assert counts == {T.SHA1: 36, T.MD5: 15, T.SHA256: 15, T.IPV4: 9, T.DOMAIN: 3}
    assert Counter(note.partition(":")[0] for note in report.notes) == {"link": 16, "comment": 1}


def test_eset_ebury_object_attributes_keep_their_relation(misp_data: Path) -> None:
    report = only_report(parse_file(misp_data, "eset/windigo__ebury.misp.json"))
    assert (len(report.indicators), len(report.notes)) == (247, 173)
    relations = Counter(item.relation for item in report.indicators if item.relation)
    assert relations == {
        "file/filename": 58,
        "file/md5": 58,
        "file/sha1": 58,
        "file/sha256": 58,
        "domain-ip/ip": 10,
        "domain-ip/domain": 5,
    }
    assert sum(note.startswith("text (elf/arch): ") for note in report.notes) == 33


def test_sightings_are_counted_as_a_note(misp_data: Path) -> None:
    report = only_report(parse_file(misp_data, "pymisp/tests/reportlab_testfiles/sighting_1.json"))
    assert len(report.indicators) == 5
    assert report.notes == ["sightings: 6 in the MISP event, not imported"]


def test_values_the_canonicaliser_refuses_are_problems(misp_data: Path) -> None:
    name = "pymisp/tests/reportlab_testfiles/long_event.json"
    with pytest.raises(FormatError) as caught:
        parse_file(misp_data, name)
    assert [(p.where, p.object_id) for p in caught.value.problems] == [
        ("Event.Attribute[0]", "571620b0-5e38-4e8c-9c29-416d950d210f"),
        ("Event.Attribute[124]", "57163109-6304-413e-9884-4a42950d210f"),
        ("Event.Attribute[125]", "57163109-1e04-4ef4-bf92-480b950d210f"),
    ]
    assert caught.value.problems[0].reason.startswith("url '107.183.86': invalid url")
    exchange = parse_file(misp_data, name, skip_invalid=True)
    assert len(exchange.problems) == 3 and len(only_report(exchange).indicators) == 378


# --- shapes of input ----------------------------------------------------------------------------------------
def test_a_search_result_a_list_and_a_bare_event() -> None:
    one = {"info": "One", "Attribute": [attr("domain", "evil.example")]}
    two = {"info": "Two", "Attribute": [attr("ip-dst", "203.0.113.7")]}
    for data in (
        orjson.dumps({"response": [{"Event": one}, {"Event": two}]}),
        orjson.dumps([{"Event": one}, {"Event": two}]),
        orjson.dumps({"response": [one, two]}),  # bare events in a search result, as older MISP answers
    ):
        exchange = parse_misp(data, source="search.json")
        assert [r.title for r in exchange.reports] == ["One", "Two"] and exchange.objects_read == 2
        assert indicators(exchange.reports[1]) == [(T.IPV4, "203.0.113.7")]
    bare = only_report(parse_misp(orjson.dumps(one)))  # the event's fields alone, as PyMISP writes them
    assert indicators(bare) == [(T.DOMAIN, "evil.example")]
    assert parse_misp(b'{"response": []}').reports == []


def test_an_item_of_a_search_result_that_is_no_event_is_a_problem() -> None:
    data = orjson.dumps({"response": [{"Event": {"info": "One"}}, {"Attribute": []}]})
    with pytest.raises(FormatError, match=r"response\[1\]: expected \{\"Event\": \{…\}\}"):
        parse_misp(data, source="search.json")
    exchange = parse_misp(data, source="search.json", skip_invalid=True)
    assert [r.title for r in exchange.reports] == ["One"] and exchange.problems[0].where == "response[1]"


@pytest.mark.parametrize(
    ("data", "where", "reason"),
    [
        (b'{"Event": {"info": "x",}}', "line 1, column 23", "invalid JSON: trailing comma is not allowed"),
        (b'{"Event":\n  {"info": "caf\xe9"}}', "line 2, column 16", "invalid JSON: not UTF-8 text"),
        (b"", "line 1, column 1", "invalid JSON: Input is a zero-length, empty document"),
    ],
)
def test_invalid_json_gives_the_position(data: bytes, where: str, reason: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_misp(data, source="bad.json")
    assert [(p.source, p.where, p.reason) for p in caught.value.problems] == [("bad.json", where, reason)]


@pytest.mark.parametrize(
    ("document", "found"),
    [
        ({"type": "bundle", "objects": []}, 'an object with the keys "type", "objects"'),
        (
            [{"id": "1", "info": "an index entry"}],
            'a list of 1 item, the first an object with the keys "id", "info"',
        ),
        ("Event", "a string"),
        ({"response": {"Attribute": []}}, 'an object with the key "response"'),
    ],
)
def test_json_that_is_not_misp(document: Any, found: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_misp(orjson.dumps(document), source="other.json")
    assert str(caught.value).endswith(f"; found {found}")
    assert "other.json: top level: not a MISP event: expected" in str(caught.value)


def test_a_utf8_bom_is_accepted() -> None:
    assert only_report(parse_misp(b"\xef\xbb\xbf" + event())).title == "Test event"


# --- the event ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tags", "tlp"),
    [
        (["tlp:white"], TLP.CLEAR),
        (["tlp:clear"], TLP.CLEAR),
        (["TLP:GREEN"], TLP.GREEN),
        (["tlp:amber"], TLP.AMBER),
        (["tlp:amber+strict"], TLP.AMBER_STRICT),
        (["tlp:red"], TLP.RED),
        (["tlp:green", "tlp:amber", "tlp:clear"], TLP.AMBER),  # the most restrictive
        (["tlp:ex:chr"], None),  # not a TLP level: a tag
        ([], None),
    ],
)
def test_tlp_tags_in(tags: list[str], tlp: TLP | None) -> None:
    report = only_report(parse_misp(event(Tag=[{"name": name} for name in [*tags, "apt"]])))
    assert report.tlp is tlp
    assert report.tags == (["tlp:ex:chr"] if "tlp:ex:chr" in tags else []) + ["apt"]


@pytest.mark.parametrize(
    ("number", "distribution"),
    [
        (0, Distribution.ORGANISATION),
        ("1", Distribution.COMMUNITY),
        ("2", Distribution.CONNECTED_COMMUNITIES),
        ("3", Distribution.COMMUNITY),
        (None, None),
    ],
)
def test_distribution_in(number: Any, distribution: Distribution | None) -> None:
    report = only_report(parse_misp(event(distribution=number)))
    assert report.distribution is distribution and report.sharing_group is None


def test_sharing_group_distribution_in() -> None:
    group = {"name": "CERT network", "uuid": "0c2a8f4e-3b7c-4a53-9b55-8d3f2a6c1e01"}
    report = only_report(parse_misp(event(distribution="4", SharingGroup=group)))
    assert (report.distribution, report.sharing_group) == (Distribution.SHARING_GROUP, "CERT network")
    report = only_report(parse_misp(event(distribution="4", SharingGroup={"uuid": group["uuid"]})))
    assert report.sharing_group == group["uuid"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"distribution": "4"}, "distribution 4 (a sharing group) without the SharingGroup's name or uuid"),
        ({"distribution": "9"}, "distribution '9' is not one of 0, 1, 2, 3, 4"),
        ({"date": "2024-13-01"}, "bad date or timestamp: date '2024-13-01' is not YYYY-MM-DD"),
        ({"timestamp": "yesterday"}, "bad date or timestamp: 'yesterday' is not a UNIX time"),
        ({"info": ""}, 'the event has no "info" (its title)'),
    ],
)
def test_an_event_whose_reach_or_time_is_unclear_is_left_out(fields: dict[str, Any], reason: str) -> None:
    data = event(attr("domain", "evil.example"), **fields)
    with pytest.raises(FormatError) as caught:
        parse_misp(data, source="e.json")
    (problem,) = caught.value.problems
    assert (problem.where, problem.reason, problem.object_id) == (
        "Event",
        reason,
        "5c7641bf-a4e8-4d5d-a653-03240a00020f",
    )
    assert parse_misp(data, skip_invalid=True).reports == []


@pytest.mark.parametrize(
    ("level", "threat"),
    [("1", ThreatLevel.HIGH), (2, ThreatLevel.MEDIUM), ("3", ThreatLevel.LOW), ("4", ThreatLevel.UNDEFINED)],
)
def test_threat_levels_in(level: Any, threat: ThreatLevel) -> None:
    assert only_report(parse_misp(event(threat_level_id=level))).threat_level is threat


def test_event_fields_in() -> None:
    data = event(
        date="2024-05-14",
        timestamp="1715700000",
        published=False,
        Orgc={"name": "CERT-FR", "uuid": "5f8c1e3a-1b2c-4d5e-8f90-123456789abc"},
        Tag=[{"name": 'rsit:fraud="phishing"'}, {"name": 'rsit:nonsense="x"'}, {"name": "campaign:bank"}],
        EventReport=[
            {"name": "Summary", "content": "Phishing **wave**."},
            {"name": "Old", "content": "x", "deleted": True},
        ],
    )
    report = only_report(parse_misp(data))
    assert report.created == datetime(2024, 5, 14, tzinfo=UTC)
    assert report.modified == datetime.fromtimestamp(1715700000, UTC)
    assert report.published is False
    assert report.author == OrgItem(name="CERT-FR", source_id="5f8c1e3a-1b2c-4d5e-8f90-123456789abc")
    assert report.category == "fraud/phishing"
    assert report.tags == ['rsit:nonsense="x"', "campaign:bank"]
    assert report.summary == "Phishing **wave**."
    only_timestamp = only_report(parse_misp(event(timestamp=1715700000)))
    assert only_timestamp.created == only_timestamp.modified == datetime.fromtimestamp(1715700000, UTC)


# --- attributes -------------------------------------------------------------------------------------------
def test_type_mapping_in() -> None:
    data = event(
        attr("ip-src", "198.51.100.7"),
        attr("ip-dst", "2001:DB8::1"),
        attr("ip-dst", "203.0.113.0/24"),
        attr("ip-src", "2001:db8::/32"),
        attr("ip-dst|port", "198.51.100.8|443"),
        attr("ip-src|port", "2001:db8::2|8080"),
        attr("domain", "Evil.Example"),
        attr("hostname", "c2.evil.example"),
        attr("hostname|port", "mail.evil.example|25"),
        attr("domain|ip", "www.evil.example|198.51.100.9"),
        attr("url", "hxxp://evil[.]example/a"),
        attr("uri", "https://evil.example/gate.php"),
        attr("email", "a@evil.example"),
        attr("email-src", "b@evil.example"),
        attr("email-dst", "c@victim.example"),
        attr("email-reply-to", "d@evil.example"),
        attr("md5", "D41D8CD98F00B204E9800998ECF8427E"),
        attr("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        attr("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        attr("sha512", "cf83" + "0" * 124),
        attr("filename", "invoice.pdf.exe"),
        attr("filename|md5", "a.exe|d41d8cd98f00b204e9800998ecf8427e"),
        attr("filename|sha256", "b.dll|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        attr("malware-sample", "c.exe|d41d8cd98f00b204e9800998ecf8427e"),
        attr("AS", "13335"),
    )
    assert indicators(only_report(parse_misp(data))) == [
        (T.IPV4, "198.51.100.7"),
        (T.IPV6, "2001:DB8::1"),
        (T.IPV4_CIDR, "203.0.113.0/24"),
        (T.IPV6_CIDR, "2001:db8::/32"),
        (T.IPV4, "198.51.100.8"),
        (T.IPV6, "2001:db8::2"),
        (T.DOMAIN, "Evil.Example"),
        (T.DOMAIN, "c2.evil.example"),
        (T.DOMAIN, "mail.evil.example"),
        (T.DOMAIN, "www.evil.example"),
        (T.IPV4, "198.51.100.9"),
        (T.URL, "hxxp://evil[.]example/a"),
        (T.URL, "https://evil.example/gate.php"),
        (T.EMAIL, "a@evil.example"),
        (T.EMAIL, "b@evil.example"),
        (T.EMAIL, "c@victim.example"),
        (T.EMAIL, "d@evil.example"),
        (T.MD5, "D41D8CD98F00B204E9800998ECF8427E"),
        (T.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (T.SHA512, "cf83" + "0" * 124),
        (T.FILENAME, "invoice.pdf.exe"),
        (T.FILENAME, "a.exe"),
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
        (T.FILENAME, "b.dll"),
        (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (T.FILENAME, "c.exe"),
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
        (T.ASN, "13335"),
    ]


def test_unsupported_types_become_notes_not_problems() -> None:
    data = event(
        attr("link", "https://blog.example/analysis", comment="the write-up"),
        attr("uri", "/gate.php"),  # a path: no URL of ours
        attr("regkey", "HKLM\\Software\\Evil"),
        attr("ssdeep", "96:abc:def"),
        attr("text", "line one\n\n  line two"),
        attr("port", 8443),
        attr("text", ""),  # nothing to note
        attr("yara", "rule x { condition: " + "true and " * 100 + "true }"),
    )
    report = only_report(parse_misp(data))
    assert report.indicators == []
    assert report.notes[:6] == [
        "link: https://blog.example/analysis (the write-up)",
        "uri: /gate.php",
        "regkey: HKLM\\Software\\Evil",
        "ssdeep: 96:abc:def",
        "text: line one line two",
        "port: 8443",
    ]
    assert (
        len(report.notes) == 7
        and len(report.notes[6]) == len("yara: ") + 500
        and report.notes[6].endswith("…")
    )


def test_attribute_fields_in() -> None:
    data = event(
        attr(
            "domain",
            "evil.example",
            uuid="5b6464ca-e73c-4707-9b8a-d0350acd0835",
            to_ids="0",
            comment="C2",
            first_seen="2024-05-01T10:00:00.000000+00:00",
            last_seen="2024-05-02T10:00:00",
            timestamp="1715700000",
            Tag=[{"name": "kill-chain:c2"}],
            Sighting=[{"type": "0"}, {"type": "1"}],
            ShadowAttribute=[{"type": "domain", "value": "other.example"}],
        ),
        attr("domain", "gone.example", deleted=True, Sighting=[{"type": "0"}]),
    )
    report = only_report(parse_misp(data))
    assert report.indicators == [
        IndicatorItem(
            value="evil.example",
            type=T.DOMAIN,
            comment="C2",
            to_detect=False,
            first_seen=datetime(2024, 5, 1, 10, tzinfo=UTC),
            last_seen=datetime(2024, 5, 2, 10, tzinfo=UTC),
            tags=["kill-chain:c2"],
            source_id="5b6464ca-e73c-4707-9b8a-d0350acd0835",
            modified=datetime.fromtimestamp(1715700000, UTC),
        )
    ]
    assert report.notes == [
        "sightings: 2 in the MISP event, not imported",
        "proposals: 1 in the MISP event, not imported",
    ]


def test_object_attributes_and_deleted_objects() -> None:
    file_object = {
        "name": "file",
        "Attribute": [
            attr("filename", "drop.exe", object_relation="filename"),
            attr("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", object_relation="sha1"),
            attr("size-in-bytes", 1024, object_relation="size-in-bytes"),
            attr("md5", "d41d8cd98f00b204e9800998ecf8427e", object_relation="md5", deleted=True),
        ],
    }
    deleted = {"name": "domain-ip", "deleted": True, "Attribute": [attr("domain", "old.example")]}
    report = only_report(parse_misp(event(Object=[file_object, deleted])))
    assert [(i.type, i.value, i.relation) for i in report.indicators] == [
        (T.FILENAME, "drop.exe", "file/filename"),
        (T.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "file/sha1"),
    ]
    assert report.notes == ["size-in-bytes (file/size-in-bytes): 1024"]


@pytest.mark.parametrize(
    ("attribute", "where", "reason"),
    [
        (
            attr("ip-dst", "010.1.1.1"),
            "Event.Attribute[1]",
            "ip-dst '010.1.1.1': invalid ipv4 '010.1.1.1': octet",
        ),
        (attr("domain", "203.0.113.7"), "Event.Attribute[1]", "domain '203.0.113.7': invalid domain"),
        (attr("md5", "xyz"), "Event.Attribute[1]", "md5 'xyz': invalid md5 'xyz': expected 32 hexadecimal"),
        (
            attr("domain|ip", "evil.example"),
            "Event.Attribute[1]",
            "domain|ip 'evil.example': expected 2 parts",
        ),
        (
            attr("domain|ip", "evil.example|1.2.3"),
            "Event.Attribute[1]",
            "domain|ip 'evil.example|1.2.3': invalid",
        ),
        (attr("url", None), "Event.Attribute[1]", "the url attribute has no value"),
        (attr("", "x"), "Event.Attribute[1]", 'the attribute has no "type"'),
        (
            attr("url", "http://x.example/", first_seen="soon"),
            "Event.Attribute[1]",
            "url 'http://x.example/': bad time",
        ),
        ("a string", "Event.Attribute[1]", "expected an attribute object, found a string"),
    ],
)
def test_bad_attributes_are_problems(attribute: Any, where: str, reason: str) -> None:
    data = event(attr("domain", "good.example"), attribute, attr("domain", "fine.example"))
    with pytest.raises(FormatError) as caught:
        parse_misp(data, source="e.json")
    (problem,) = caught.value.problems
    assert (problem.source, problem.where) == ("e.json", where)
    assert problem.reason.startswith(reason), problem.reason
    exchange = parse_misp(data, source="e.json", skip_invalid=True)
    assert exchange.problems == [problem]
    assert indicators(only_report(exchange)) == [(T.DOMAIN, "good.example"), (T.DOMAIN, "fine.example")]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    data = event(attr("md5", "1"), attr("sha1", "2"), attr("domain", "ok.example"))
    with pytest.raises(FormatError) as caught:
        parse_misp(data)
    assert [p.where for p in caught.value.problems] == ["Event.Attribute[0]", "Event.Attribute[1]"]


# --- feeds -------------------------------------------------------------------------------------------------
def write_feed(directory: Path, events: list[dict[str, Any]]) -> None:
    directory.mkdir()
    manifest = {}
    for item in events:
        body = item["Event"]
        manifest[body["uuid"]] = {
            key: body.get(key) for key in ("info", "date", "timestamp", "threat_level_id")
        }
        (directory / f"{body['uuid']}.json").write_bytes(orjson.dumps(item))
    (directory / "manifest.json").write_bytes(orjson.dumps(manifest))


def test_a_feed_of_eset_events(misp_data: Path, tmp_path: Path) -> None:
    names = ["abafar", "akiva", "endor"]
    events = [json.loads((misp_data / f"eset/sshdoor__misp-events__{n}.json").read_bytes()) for n in names]
    write_feed(tmp_path / "feed", events)
    exchange = parse_misp_feed(tmp_path / "feed")
    assert exchange.objects_read == 3 and exchange.problems == [] and exchange.source == "feed"
    assert [r.source_id for r in exchange.reports] == [e["Event"]["uuid"] for e in events]
    singles = [only_report(parse_file(misp_data, f"eset/sshdoor__misp-events__{n}.json")) for n in names]
    assert [comparable(r) for r in exchange.reports] == [comparable(r) for r in singles]
    assert [(len(r.indicators), len(r.notes)) for r in exchange.reports] == [(9, 1), (3, 2), (19, 12)]


def test_feed_problems_name_their_file(tmp_path: Path) -> None:
    good = {"Event": {"info": "Good", "uuid": "11111111-1111-4111-8111-111111111111"}}
    bad = {"Event": {"info": "Bad", "uuid": "22222222-2222-4222-8222-222222222222"}}
    bad["Event"]["Attribute"] = [attr("md5", "nothex")]
    write_feed(tmp_path / "feed", [good, bad])
    manifest = json.loads((tmp_path / "feed/manifest.json").read_text())
    manifest["33333333-3333-4333-8333-333333333333"] = {}  # listed, but no file
    manifest["../../etc/passwd"] = {}  # not a uuid: never opened
    (tmp_path / "feed/manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatError) as caught:
        parse_misp_feed(tmp_path / "feed")
    problems = [(p.source, p.where) for p in caught.value.problems]
    assert problems == [
        ("22222222-2222-4222-8222-222222222222.json", "Event.Attribute[0]"),
        ("33333333-3333-4333-8333-333333333333.json", "the feed"),
        ("manifest.json", "key '../../etc/passwd'"),
    ]
    exchange = parse_misp_feed(tmp_path / "feed", skip_invalid=True)
    assert [r.title for r in exchange.reports] == ["Good", "Bad"] and len(exchange.problems) == 3


def test_a_feed_without_a_readable_manifest(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"manifest\.json: the feed: cannot read the manifest"):
        parse_misp_feed(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(FormatError, match="expected an object keyed by event uuid, found a list of 2 items"):
        parse_misp_feed(tmp_path)


# --- writing -----------------------------------------------------------------------------------------------
def our_report(**fields: Any) -> ReportItem:
    values: dict[str, Any] = {
        "title": "Phishing wave",
        "uuid": "7d0f6a1e-3c55-4f0e-9d7c-2b7f1c9e8a11",
        "created": datetime(2024, 5, 14, 9, 30, tzinfo=UTC),
        "modified": datetime(2024, 5, 15, 12, 0, tzinfo=UTC),
        "author": OrgItem(name="CERT-FR", uuid="5f8c1e3a-1b2c-4d5e-8f90-123456789abc"),
    }
    values.update(fields)
    return ReportItem(**values)


def test_type_mapping_out() -> None:
    values = {
        T.IPV4: "198.51.100.7",
        T.IPV6: "2001:db8::1",
        T.IPV4_CIDR: "203.0.113.0/24",
        T.IPV6_CIDR: "2001:db8::/32",
        T.DOMAIN: "evil.example",
        T.URL: "http://evil.example/a",
        T.EMAIL: "a@evil.example",
        T.MD5: "d41d8cd98f00b204e9800998ecf8427e",
        T.SHA1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        T.SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        T.SHA512: "cf83" + "0" * 124,
        T.FILENAME: "invoice.pdf.exe",
        T.ASN: "AS13335",
    }
    report = our_report(indicators=[IndicatorItem(value=v, type=t) for t, v in values.items()])
    (out,) = to_misp(Exchange(reports=[report]))
    written = [(a["type"], a["category"], a["value"]) for a in out["Event"]["Attribute"]]
    assert written == [
        ("ip-dst", "Network activity", "198.51.100.7"),
        ("ip-dst", "Network activity", "2001:db8::1"),
        ("ip-dst", "Network activity", "203.0.113.0/24"),
        ("ip-dst", "Network activity", "2001:db8::/32"),
        ("domain", "Network activity", "evil.example"),
        ("url", "Network activity", "http://evil.example/a"),
        ("email-src", "Payload delivery", "a@evil.example"),
        ("md5", "Payload delivery", values[T.MD5]),
        ("sha1", "Payload delivery", values[T.SHA1]),
        ("sha256", "Payload delivery", values[T.SHA256]),
        ("sha512", "Payload delivery", values[T.SHA512]),
        ("filename", "Payload delivery", "invoice.pdf.exe"),
        ("AS", "Network activity", "13335"),
    ]
    back = only_report(parse_misp(to_misp_bytes(Exchange(reports=[report]))))
    assert [(i.type, canonicalize(i.type, i.value)) for i in back.indicators] == list(values.items())


def test_event_fields_out() -> None:
    item = IndicatorItem(
        value="evil.example",
        type=T.DOMAIN,
        comment="C2",
        to_detect=False,
        first_seen=datetime(2024, 5, 1, 10, tzinfo=UTC),
        last_seen=datetime(2024, 5, 2, 10, tzinfo=UTC),
        tags=["kill-chain:c2"],
        uuid="9a3e2b1c-0d4f-4e5a-8b6c-7d8e9f0a1b2c",
        modified=datetime(2024, 5, 15, 12, 0, tzinfo=UTC),
    )
    report = our_report(
        tlp=TLP.AMBER,
        distribution=Distribution.COMMUNITY,
        threat_level=ThreatLevel.HIGH,
        category="fraud/phishing",
        tags=["campaign:bank", "TLP:RED"],  # a stray TLP tag: the report's TLP is the one written
        summary="Phishing **wave**.",
        published=False,
        indicators=[item],
    )
    (out,) = to_misp(Exchange(reports=[report]))
    ev = out["Event"]
    assert {k: ev[k] for k in ("uuid", "info", "date", "timestamp", "published", "threat_level_id")} == {
        "uuid": "7d0f6a1e-3c55-4f0e-9d7c-2b7f1c9e8a11",
        "info": "Phishing wave",
        "date": "2024-05-14",
        "timestamp": str(int(datetime(2024, 5, 15, 12, 0, tzinfo=UTC).timestamp())),
        "published": False,
        "threat_level_id": "1",
    }
    assert (ev["analysis"], ev["distribution"]) == ("2", "1") and "SharingGroup" not in ev
    assert ev["Orgc"] == {"name": "CERT-FR", "uuid": "5f8c1e3a-1b2c-4d5e-8f90-123456789abc"}
    assert [t["name"] for t in ev["Tag"]] == ["tlp:amber", 'rsit:fraud="phishing"', "campaign:bank"]
    assert ev["EventReport"][0]["content"] == "Phishing **wave**."
    (attribute,) = ev["Attribute"]
    assert attribute == {
        "uuid": "9a3e2b1c-0d4f-4e5a-8b6c-7d8e9f0a1b2c",
        "type": "domain",
        "category": "Network activity",
        "value": "evil.example",
        "to_ids": False,
        "comment": "C2",
        "distribution": "5",
        "disable_correlation": False,
        "timestamp": attribute["timestamp"],
        "first_seen": "2024-05-01T10:00:00.000000+00:00",
        "last_seen": "2024-05-02T10:00:00.000000+00:00",
        "Tag": [{"name": "kill-chain:c2"}],
    }
    back = only_report(parse_misp(to_misp_bytes(Exchange(reports=[report]))))
    assert (back.tlp, back.distribution, back.threat_level, back.category) == (
        TLP.AMBER,
        Distribution.COMMUNITY,
        ThreatLevel.HIGH,
        "fraud/phishing",
    )
    assert back.tags == ["campaign:bank"] and back.summary == report.summary and not back.published
    assert comparable(back) == comparable(report)


@pytest.mark.parametrize(
    ("tlp", "tag"),
    [
        (TLP.CLEAR, "tlp:clear"),
        (TLP.GREEN, "tlp:green"),
        (TLP.AMBER, "tlp:amber"),
        (TLP.AMBER_STRICT, "tlp:amber+strict"),
        (TLP.RED, "tlp:red"),
    ],
)
def test_tlp_both_ways(tlp: TLP, tag: str) -> None:
    exchange = Exchange(reports=[our_report(tlp=tlp)])
    assert to_misp(exchange)[0]["Event"]["Tag"] == [{"name": tag}]
    assert only_report(parse_misp(to_misp_bytes(exchange))).tlp is tlp


@pytest.mark.parametrize(
    ("distribution", "group", "number", "written_group", "read_group"),
    [
        (Distribution.ORGANISATION, None, "0", None, None),
        (Distribution.COMMUNITY, None, "1", None, None),
        (Distribution.CONNECTED_COMMUNITIES, None, "2", None, None),
        (Distribution.SHARING_GROUP, "CERT network", "4", {"name": "CERT network"}, "CERT network"),
        (
            Distribution.SHARING_GROUP,
            "0C2A8F4E-3B7C-4A53-9B55-8D3F2A6C1E01",
            "4",
            {"uuid": "0c2a8f4e-3b7c-4a53-9b55-8d3f2a6c1e01"},
            "0c2a8f4e-3b7c-4a53-9b55-8d3f2a6c1e01",
        ),
    ],
)
def test_distribution_both_ways(
    distribution: Distribution, group: str | None, number: str, written_group: Any, read_group: str | None
) -> None:
    exchange = Exchange(reports=[our_report(distribution=distribution, sharing_group=group)])
    ev = to_misp(exchange)[0]["Event"]
    assert (ev["distribution"], ev.get("SharingGroup")) == (number, written_group)
    back = only_report(parse_misp(to_misp_bytes(exchange)))
    assert (back.distribution, back.sharing_group) == (distribution, read_group)


def test_a_sharing_group_without_a_name_is_written_as_the_organisation() -> None:
    exchange = Exchange(reports=[our_report(distribution=Distribution.SHARING_GROUP)])
    ev = to_misp(exchange)[0]["Event"]
    assert ev["distribution"] == "0" and "SharingGroup" not in ev


def test_object_indicators_are_grouped_into_objects() -> None:
    def item(type_: T, value: str, relation: str | None) -> IndicatorItem:
        return IndicatorItem(value=value, type=type_, relation=relation)

    report = our_report(
        indicators=[
            item(T.FILENAME, "a.exe", "file/filename"),
            item(T.MD5, "d41d8cd98f00b204e9800998ecf8427e", "file/md5"),
            item(T.FILENAME, "b.exe", "file/filename"),  # a relation repeats: another file
            item(T.DOMAIN, "evil.example", None),
            item(T.DOMAIN, "c2.evil.example", "domain-ip/domain"),
            item(T.IPV4, "198.51.100.7", "domain-ip/ip"),
        ]
    )
    ev = to_misp(Exchange(reports=[report]))[0]["Event"]
    assert [a["value"] for a in ev["Attribute"]] == ["evil.example"]
    objects = [
        (o["name"], [(a["object_relation"], a["value"]) for a in o["Attribute"]]) for o in ev["Object"]
    ]
    assert objects == [
        ("file", [("filename", "a.exe"), ("md5", "d41d8cd98f00b204e9800998ecf8427e")]),
        ("file", [("filename", "b.exe")]),
        ("domain-ip", [("domain", "c2.evil.example"), ("ip", "198.51.100.7")]),
    ]
    loaded = MISPEvent()
    loaded.load(orjson.dumps({"Event": ev}))
    assert [o.name for o in loaded.objects] == ["file", "file", "domain-ip"]
    back = only_report(parse_misp(to_misp_bytes(Exchange(reports=[report]))))
    assert {(i.value, i.relation) for i in back.indicators} == {
        (i.value, i.relation) for i in report.indicators
    }


def test_to_misp_bytes_one_event_or_a_search_result() -> None:
    one = Exchange(reports=[our_report()])
    assert list(orjson.loads(to_misp_bytes(one))) == ["Event"]
    two = Exchange(reports=[our_report(), our_report(title="Another", uuid=None)])
    document = orjson.loads(to_misp_bytes(two))
    assert [e["Event"]["info"] for e in document["response"]] == ["Phishing wave", "Another"]
    assert orjson.loads(to_misp_bytes(Exchange())) == {"response": []}


def test_made_up_uuids_are_stable_and_unique() -> None:
    report = ReportItem(
        title="No uuids",
        indicators=[
            IndicatorItem(value="a.example", type=T.DOMAIN, source_id="5bf30242-895c-4146-ba8d-0b7b0a016219"),
            IndicatorItem(
                value="198.51.100.7", type=T.IPV4, source_id="5bf30242-895c-4146-ba8d-0b7b0a016219"
            ),
            IndicatorItem(
                value="198.51.100.7", type=T.IPV4, source_id="5bf30242-4928-47e1-a643-0b7b0a016219"
            ),
            IndicatorItem(value="b.example", type=T.DOMAIN),
        ],
    )
    first = to_misp(Exchange(reports=[report]))
    assert first == to_misp(Exchange(reports=[report]))
    uuids = [a["uuid"] for a in first[0]["Event"]["Attribute"]]
    assert len(set(uuids)) == 4 and uuids[0] == "5bf30242-895c-4146-ba8d-0b7b0a016219"


# --- round trips through PyMISP -----------------------------------------------------------------------
def test_every_shared_event_round_trips_through_pymisp(misp_data: Path) -> None:
    checked = 0
    for name, path in shared_files(misp_data).items():
        if name in NOT_EVENTS or name == MALFORMED:
            continue
        exchange = parse_misp(path.read_bytes(), source=path.name, skip_invalid=True)
        for written in to_misp(exchange):
            loaded = MISPEvent()
            loaded.load(orjson.dumps(written))  # PyMISP reads what we write
            assert len(loaded.attributes) + sum(len(o.attributes) for o in loaded.objects) == len(
                written["Event"]["Attribute"]
            ) + sum(len(o["Attribute"]) for o in written["Event"]["Object"])
            reread = only_report(parse_misp(loaded.to_json().encode()))  # and we read what PyMISP writes
            assert comparable(reread) == comparable(only_report(parse_misp(orjson.dumps(written))))
        back = parse_misp(to_misp_bytes(exchange), source="out.json")
        for original, again in zip(exchange.reports, back.reports, strict=True):
            assert comparable(again) == comparable(original), name
            for field in ("title", "tlp", "distribution", "threat_level", "published", "tags", "summary"):
                assert getattr(again, field) == getattr(original, field), (name, field)
            assert again.author == original.author
            checked += 1
    assert checked == len(shared_files(misp_data)) - len(NOT_EVENTS) - 1


def test_what_we_write_validates_against_misps_lax_schema(misp_data: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((misp_data / "misp/format/2.4/schema-lax.json").read_bytes())
    validator = jsonschema.Draft4Validator(schema)
    for name in (
        "misp/tests/event.json",
        "eset/windigo__ebury.misp.json",
        "eset/telebots__misp-telebots.json",
    ):
        for written in to_misp(parse_file(misp_data, name)):
            assert list(validator.iter_errors(written)) == [], name
    report = our_report(tlp=TLP.RED, distribution=Distribution.SHARING_GROUP, sharing_group="CERT network")
    for written in to_misp(Exchange(reports=[report])):
        assert list(validator.iter_errors(written)) == []
