"""STIX 2.1 in and out: the official examples and MITRE ATT&CK of the shared folder, every bad input named
by index, id and reason, the export checked by the real stix2-validator and read back, and properties
(Hypothesis) of patterns and of the cutting of large arrays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2validator import validate_parsed_json

from commonspace.demo.sources import default_data_dir
from commonspace.domain.canonical import canonicalize
from commonspace.domain.vocab import TLP, IndicatorType
from commonspace.formats import stix
from commonspace.formats.model import Exchange, FormatError, IndicatorItem, OrgItem, RawObject, ReportItem
from commonspace.formats.stix import (
    TLP2_EXTENSION,
    TLP2_MARKINGS,
    common,
    markings,
    parse_stix,
    patterns,
    pieces,
    read_pattern,
    records,
    stix_pattern,
    to_stix,
)

T = IndicatorType
IN_CI = os.environ.get("CI", "").lower() == "true"
ENTERPRISE = "enterprise-attack-18.1-reconstructed-stix21.json"
TLP1_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"


@pytest.fixture(scope="module")
def stix_data() -> Path:
    root = default_data_dir() / "stix"
    if not root.is_dir():
        if IN_CI:
            pytest.fail(f"the shared data folder is missing under CI: {root}")
        pytest.skip(f"no shared STIX data at {root}")
    return root


def example(root: Path, name: str) -> Exchange:
    path = next((root / "examples").rglob(name))
    return parse_stix(path.read_bytes(), source=name)


def values(report: ReportItem) -> set[tuple[IndicatorType | None, str]]:
    return {(i.type, i.value) for i in report.indicators}


def object_ids(report: ReportItem) -> list[str]:
    return [o.id if isinstance(o, RawObject) else o["id"] for o in report.objects]


def objects_of(report: ReportItem) -> list[dict[str, Any]]:
    return [orjson.loads(o.body) if isinstance(o, RawObject) else o for o in report.objects]


def validate(bundle: bytes) -> None:
    """The real stix2-validator, default options: no error (warnings are advice)."""
    results = validate_parsed_json(orjson.loads(bundle))
    errors = [
        str(e) for result in (results if isinstance(results, list) else [results]) for e in result.errors
    ]
    assert errors == []
    assert all(result.is_valid for result in (results if isinstance(results, list) else [results]))


# --- building STIX by hand ---------------------------------------------------------------------------


def sid(type_: str, n: int) -> str:
    return f"{type_}--{uuid.uuid5(uuid.NAMESPACE_OID, f'{type_}{n}')}"


def sdo(type_: str, n: int, **props: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "spec_version": "2.1",
        "id": sid(type_, n),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        **props,
    }


def indicator(n: int, pattern: str, **props: Any) -> dict[str, Any]:
    return sdo(
        "indicator",
        n,
        **({"pattern": pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"} | props),
    )


def report(n: int, refs: list[str], **props: Any) -> dict[str, Any]:
    return sdo(
        "report",
        n,
        **({"name": f"report {n}", "published": "2024-01-02T00:00:00Z", "object_refs": refs} | props),
    )


def bundle(*objects: Any, **props: Any) -> bytes:
    return orjson.dumps({"type": "bundle", "id": sid("bundle", 1), **props, "objects": list(objects)})


def problems_of(data: bytes) -> list[tuple[str, str | None, str]]:
    with pytest.raises(FormatError) as caught:
        parse_stix(data, source="bad.json")
    assert all(p.source == "bad.json" for p in caught.value.problems)
    return [(p.where, p.object_id, p.reason) for p in caught.value.problems]


# --- the official examples ------------------------------------------------------------------------------


def test_every_official_example_reads_without_a_problem(stix_data: Path) -> None:
    files = sorted((stix_data / "examples").rglob("*.json"))
    assert len(files) >= 19
    for path in files:
        exchange = parse_stix(path.read_bytes(), source=path.name)
        assert exchange.problems == [], path
        assert exchange.reports, path
        held = {oid for r in exchange.reports for oid in object_ids(r)}
        document = orjson.loads(path.read_bytes())
        objects = document.get("objects", [document]) if isinstance(document, dict) else document
        assert held == {o["id"] for o in objects}, path  # nothing lost
        assert exchange.objects_read == len(objects)


def test_apt1_report_holds_its_objects_and_indicators(stix_data: Path) -> None:
    (apt1,) = example(stix_data, "apt1.json").reports
    assert apt1.title == "APT1: Exposing One of China's Cyber Espionage Units"
    assert apt1.source_id == "report--e33ffe07-2f4c-48d8-b0af-ee2619d765cf"
    assert apt1.created == datetime(2015, 5, 15, 9, 12, 16, 432000, tzinfo=UTC)
    assert len(apt1.objects) == 76 and object_ids(apt1)[0] == apt1.source_id
    assert values(apt1) == {
        (T.IPV4_CIDR, "223.166.0.0/15"),
        (T.IPV4_CIDR, "58.246.0.0/15"),
        (T.IPV4_CIDR, "112.64.0.0/15"),
        (T.IPV4_CIDR, "139.226.0.0/15"),
        (T.DOMAIN, "hugesoft.org"),
        (T.DOMAIN, "arrowservice.net"),
        (T.DOMAIN, "msnhome.org"),
        (T.MD5, "001dd76872d80801692ff942308c64e6"),
        (T.MD5, "002325a0a67fded0381b5648d7fe9b8e"),
        (T.MD5, "00dbb9e1c09dbdafb360f3163ba5a3de"),
    }
    # Every indicator names the STIX indicator it came from, which stays among the objects; the two
    # X.509 certificate indicators have nothing of ours and are kept as objects only.
    held = set(object_ids(apt1))
    assert all(i.source_id in held and i.source_id.startswith("indicator--") for i in apt1.indicators)
    certificates = [o for o in objects_of(apt1) if "x509-certificate" in o.get("pattern", "")]
    assert len(certificates) == 2 and not {o["id"] for o in certificates} & {
        i.source_id for i in apt1.indicators
    }
    assert all(i.to_detect and i.first_seen is not None for i in apt1.indicators)


def test_poisonivy_author_indicators_and_the_container(stix_data: Path) -> None:
    poisonivy, container = example(stix_data, "poisonivy.json").reports
    assert poisonivy.author == OrgItem(
        name="FireEye, Inc.", source_id="identity--81cade27-7df8-4730-836b-62d880e6d9d3"
    )
    assert (T.FILENAME, "CBricksDoc") in values(poisonivy)
    assert (T.DOMAIN, "www.webserver.dynssl.com") in values(poisonivy)
    assert (T.IPV4, "113.10.246.30") in values(poisonivy)
    # One pattern of six values gives six indicators, each naming the same STIX indicator.
    source = next(i.source_id for i in poisonivy.indicators if i.value == "www.webserver.dynssl.com")
    assert len([i for i in poisonivy.indicators if i.source_id == source]) == 6
    # The one malware no report refers to is in the bundle's container, titled by the file name.
    assert container.title == "poisonivy.json"
    assert container.source_id == "bundle--ac946f1d-6a0e-4a9d-bc83-3f1f3bfda6ba"
    assert [o["type"] for o in objects_of(container)] == ["malware"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("indicator-for-malicious-url.json", {(T.URL, "http://x4z9arb.cn/4712/")}),
        (
            "malware-indicator-for-file-hash.json",
            {(T.SHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c")},
        ),
        ("sighting-of-an-indicator.json", {(T.URL, "http://paypa1.banking.com")}),
        ("threat-actor-leveraging-attack-patterns-and-malware.json", set()),
        ("identifying-a-threat-actor-profile.json", set()),
        ("malicious-email-indicator-with-attachment.json", set()),  # MATCHES on subjects: kept as objects
        ("using-granular-markings.json", set()),  # MATCHES on a sender
        ("infrastructure.json", {(T.IPV4, "198.51.100.3"), (T.DOMAIN, "example.com")}),
    ],
)
def test_official_examples_give_their_indicators(stix_data: Path, name: str, expected: set[Any]) -> None:
    exchange = example(stix_data, name)
    (container,) = exchange.reports
    assert container.title == name
    assert container.source_id is not None and container.source_id.startswith("bundle--")
    assert values(container) == expected


def test_the_container_is_named_after_the_bundle_without_a_file_name(stix_data: Path) -> None:
    path = next((stix_data / "examples").rglob("indicator-for-malicious-url.json"))
    (container,) = parse_stix(path.read_bytes()).reports
    assert container.title == "STIX bundle bundle--56be2a3b-1534-4bef-8fe9-602926274089"
    single = parse_stix(orjson.dumps(indicator(1, "[url:value = 'http://a.example/']")))
    assert single.reports[0].source_id is not None and single.reports[0].source_id.startswith("file:")
    assert len(single.reports[0].source_id) == len("file:") + 64


def test_observables_behind_observed_data_are_not_for_detection(stix_data: Path) -> None:
    (container,) = example(stix_data, "sighting-of-observed-data.json").reports
    seen = datetime(2017, 2, 27, 21, 37, 11, 213000, tzinfo=UTC)  # the observed-data's first_observed
    assert [(i.type, i.value, i.to_detect, i.first_seen, i.source_id) for i in container.indicators] == [
        (
            T.MD5,
            "1717b7fff97d37a1e1a0029d83492de1",
            False,
            seen,
            "file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d",
        ),
        (
            T.SHA1,
            "c79a326f8411e9488bdc3779753e1e3489aaedea",
            False,
            seen,
            "file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d",
        ),
        (T.FILENAME, "resume.pdf", False, seen, "file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"),
    ]


def test_tlp_from_markings_of_either_version(stix_data: Path) -> None:
    (marked,) = example(stix_data, "using-marking-definitions.json").reports
    assert marked.tlp is TLP.AMBER
    assert marked.author is not None and marked.author.name == "Stark Industries"
    for ref, tlp in [*stix.TLP1_MARKINGS.items(), *((r, t) for t, r in TLP2_MARKINGS.items())]:
        data = bundle(report(1, [sid("malware", 1)], object_marking_refs=[ref]))
        assert parse_stix(data).reports[0].tlp is tlp
    # The strictest marking of what a report holds wins: a RED indicator makes a GREEN report RED.
    red = indicator(1, "[ipv4-addr:value = '198.51.100.1']", object_marking_refs=[TLP2_MARKINGS[TLP.RED]])
    data = bundle(report(1, [red["id"]], object_marking_refs=[TLP2_MARKINGS[TLP.GREEN]]), red)
    assert parse_stix(data).reports[0].tlp is TLP.RED


def test_the_objects_of_a_report(stix_data: Path) -> None:
    author = sdo("identity", 1, name="CERT-Example", identity_class="organization")
    marking = sdo("marking-definition", 1, definition_type="statement", definition={"statement": "(c)"})
    del marking["modified"]
    malware = sdo("malware", 1, name="Evil", is_family=True)
    ind = indicator(1, "[domain-name:value = 'evil.example']", created_by_ref=author["id"])
    uses = sdo(
        "relationship", 1, relationship_type="indicates", source_ref=ind["id"], target_ref=malware["id"]
    )
    observable = {"type": "ipv4-addr", "id": sid("ipv4-addr", 1), "value": "198.51.100.7"}
    observed = sdo(
        "observed-data",
        1,
        first_observed="2024-02-01T00:00:00Z",
        last_observed="2024-02-02T00:00:00Z",
        number_observed=1,
        object_refs=[observable["id"]],
    )
    elsewhere = sdo("tool", 1, name="unrelated")
    rep = report(
        1,
        [ind["id"], malware["id"], observed["id"]],
        created_by_ref=author["id"],
        object_marking_refs=[marking["id"]],
        labels=["apt", "tlp:green"],
        description="What happened.",
    )
    data = bundle(author, marking, malware, ind, uses, observable, observed, elsewhere, rep)
    first, container = parse_stix(data, source="x.json").reports
    assert (
        first.title == "report 1" and first.summary == "What happened." and first.tags == ["apt", "tlp:green"]
    )
    assert first.author == OrgItem(name="CERT-Example", source_id=author["id"])
    assert object_ids(first) == [rep["id"], ind["id"], malware["id"], observed["id"], observable["id"]] + [
        uses["id"],
        author["id"],
        marking["id"],
    ]
    assert [(i.type, i.value, i.to_detect, i.source_id) for i in first.indicators] == [
        (T.DOMAIN, "evil.example", True, ind["id"]),
        (T.IPV4, "198.51.100.7", False, observable["id"]),
    ]
    assert first.indicators[1].first_seen == datetime(2024, 2, 1, tzinfo=UTC)
    assert object_ids(container) == [elsewhere["id"]]
    # Objects are kept serialised, equal to what was read.
    assert objects_of(first)[1] == ind


def test_the_attack_bundles(stix_data: Path) -> None:
    for name, count in [("ics-attack-18.1.json", 1826), ("mobile-attack-17.1.json", 2148)]:
        exchange = parse_stix((stix_data / "attack" / name).read_bytes(), source=name)
        (container,) = exchange.reports
        assert exchange.objects_read == count and len(container.objects) == count
        assert container.title == name and container.indicators == []
        assert container.author is not None and container.author.name == "The MITRE Corporation"


def test_enterprise_attack_reads_in_well_under_a_second(stix_data: Path) -> None:
    data = (stix_data / "attack" / ENTERPRISE).read_bytes()
    counts: list[int] = []
    exchange = parse_stix(data, progress=counts.append)
    assert counts == [5000, 10000, 15000, 20000, 24771]
    (container,) = exchange.reports
    assert len(container.objects) == 24771 and exchange.objects_read == 24771
    assert container.title == "STIX bundle bundle--7525e069-158e-4e2b-9b57-f21f21e89c6e"
    assert container.source_id == "bundle--7525e069-158e-4e2b-9b57-f21f21e89c6e"
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        parse_stix(data)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 1.0, timings  # the stix2 library takes about 7 s on the same file


def test_enterprise_attack_memory_stays_under_three_times_the_file(stix_data: Path) -> None:
    path = stix_data / "attack" / ENTERPRISE
    script = (
        "import resource, sys\n"
        "from commonspace.formats.stix import parse_stix\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "exchange = parse_stix(data)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    peak = int(done.stdout) * 1024  # kilobytes on Linux
    assert peak < 3 * path.stat().st_size, (
        f"{peak / 2**20:.0f} MiB for a {path.stat().st_size / 2**20:.0f} MiB file"
    )


# --- bad input ---------------------------------------------------------------------------------------------


def test_invalid_json_names_line_and_column() -> None:
    data = b'{\n  "type": "bundle",\n  "objects": [\n    {"type": "indicator",, "id": "x"}\n  ]\n}\n'
    assert problems_of(data) == [
        ("line 4, column 26", None, "invalid JSON: unexpected character, expected a string key")
    ]
    assert problems_of(b"") == [
        ("line 1, column 1", None, "invalid JSON: Input is a zero-length, empty document")
    ]
    assert problems_of(b"[1, 2") == [("line 1, column 6", None, "invalid JSON: unexpected end of data")]
    ((where, _, reason),) = problems_of(b"\xff\xfe")
    assert where == "line 1, column 1" and reason.startswith("invalid JSON: str is not valid UTF-8")


def test_not_stix_at_all() -> None:
    assert problems_of(b'"just a string"') == [
        ("document", None, "expected a STIX bundle, an object or a list of them")
    ]
    (problem,) = problems_of(b"[1]")
    assert problem == ("object 0", None, "expected a STIX object, found int")


def test_stix_2_0_is_refused_clearly() -> None:
    old = {k: v for k, v in indicator(1, "[ipv4-addr:value = '198.51.100.1']").items() if k != "spec_version"}
    ((where, ident, reason),) = problems_of(bundle(old, spec_version="2.0"))
    assert (where, ident) == ("bundle", sid("bundle", 1))
    assert "spec_version '2.0' on the bundle" in reason and "STIX 2.0 bundle" in reason
    in_objects = indicator(1, "[ipv4-addr:value = '198.51.100.1']", spec_version="2.0")
    assert problems_of(bundle(in_objects)) == [
        ("object 0", in_objects["id"], "spec_version '2.0': only STIX 2.1 is read")
    ]


def test_missing_required_properties() -> None:
    cases = [
        ({k: v for k, v in report(1, [sid("malware", 1)]).items() if k != "published"}, "published"),
        ({k: v for k, v in report(2, []).items() if k != "object_refs"}, "object_refs"),
        ({k: v for k, v in report(3, []).items() if k != "name"}, "name"),
        ({k: v for k, v in indicator(1, "[url:value = 'x']").items() if k != "pattern"}, "pattern"),
        ({k: v for k, v in indicator(2, "[url:value = 'x']").items() if k != "pattern_type"}, "pattern_type"),
        ({k: v for k, v in indicator(3, "[url:value = 'x']").items() if k != "valid_from"}, "valid_from"),
        (sdo("relationship", 1, relationship_type="uses", source_ref=sid("malware", 1)), "target_ref"),
        (
            sdo("relationship", 2, source_ref=sid("malware", 1), target_ref=sid("tool", 1)),
            "relationship_type",
        ),
        (sdo("sighting", 1), "sighting_of_ref"),
        (sdo("identity", 1), "name"),
        (
            {k: v for k, v in sdo("malware", 1, name="m", is_family=False).items() if k != "created"},
            "created",
        ),
        ({k: v for k, v in sdo("tool", 1, name="t").items() if k != "modified"}, "modified"),
    ]
    found = problems_of(bundle(*(obj for obj, _ in cases)))
    assert found == [
        (f"object {i}", obj["id"], f"the required property {prop!r} is missing")
        for i, (obj, prop) in enumerate(cases)
    ]
    marking = {"type": "marking-definition", "spec_version": "2.1", "id": sid("marking-definition", 1)}
    marking["created"] = "2024-01-01T00:00:00.000Z"
    assert problems_of(bundle(marking)) == [
        (
            "object 0",
            marking["id"],
            "a marking definition needs definition_type and definition, or name and extensions",
        )
    ]
    # The TLP 2.0 form (name and extensions) is a marking definition too.
    official = markings.tlp2_marking(TLP.AMBER)
    assert parse_stix(bundle(official)).problems == []


@pytest.mark.parametrize(
    "stamp",
    [
        "2016-13-01T00:00:00Z",
        "2016-01-01 00:00:00Z",
        "2016-01-01T00:00:00",
        "2016-01-01T00:00:00+01:00",
        "2016-02-30T00:00:00Z",
        "2016-01-01T24:00:00Z",
        "2016-01-01T00:00:00.Z",
        "16-01-01T00:00:00Z",
        "2016-101-27T13:49:54.326Z",
    ],
)
def test_bad_timestamps(stamp: str) -> None:
    obj = sdo("campaign", 1, name="c", first_seen=stamp)
    ((where, ident, reason),) = problems_of(bundle(obj))
    assert (where, ident) == ("object 0", obj["id"])
    assert reason.startswith(f"first_seen {stamp!r} is not a STIX timestamp")


def test_good_timestamps_are_kept_as_written() -> None:
    stamps = ["2016-01-01T00:00:00Z", "2016-02-29T23:59:60.123456789Z", "2016-01-01T00:00:00.1Z"]
    objects = [sdo("campaign", i, name="c", first_seen=s) for i, s in enumerate(stamps)]
    (container,) = parse_stix(bundle(*objects)).reports
    assert [o["first_seen"] for o in objects_of(container)] == stamps


def test_bad_ids_and_types() -> None:
    no_type = {"id": sid("malware", 1)}
    no_id = {"type": "malware"}
    other_type = sdo("malware", 2, name="m", is_family=True) | {"id": sid("tool", 2)}
    not_uuid = sdo("tool", 3, name="t") | {"id": "tool--1234"}
    bad_ref = sdo("tool", 4, name="t", created_by_ref="CERT-FR")
    bad_refs = report(5, ["malware--nope"])
    nested = {"type": "bundle", "id": sid("bundle", 2), "objects": []}
    assert problems_of(bundle(no_type, no_id, other_type, not_uuid, bad_ref, bad_refs, nested)) == [
        ("object 0", sid("malware", 1), "the object has no type"),
        ("object 1", None, "the object has no id"),
        ("object 2", sid("tool", 2), f"id {sid('tool', 2)!r} is not 'malware--' followed by a UUID"),
        ("object 3", "tool--1234", "id 'tool--1234' is not 'tool--' followed by a UUID"),
        ("object 4", bad_ref["id"], "created_by_ref 'CERT-FR' is not a STIX id"),
        ("object 5", bad_refs["id"], "object_refs must be a list of STIX ids"),
        ("object 6", sid("bundle", 2), "a bundle inside a bundle"),
    ]
    # Any UUID is read, version 7 included (STIX 2.1 names versions 1 to 5, newer producers write 7).
    newer = indicator(1, "[ipv4-addr:value = '198.51.100.1']") | {"id": f"indicator--{uuid7()}"}
    assert (
        parse_stix(bundle(report(1, [newer["id"]]), newer)).reports[0].indicators[0].source_id == newer["id"]
    )


def test_wrongly_typed_properties_are_problems_not_crashes() -> None:
    objects = [
        report(1, [], name=["not", "a", "string"]),
        sdo("identity", 1, name=7),
        indicator(1, "[url:value = 'x']", labels="one"),
        indicator(2, "[url:value = 'x']", confidence=101),
        indicator(3, "[url:value = 'x']", object_marking_refs="tlp"),
        sdo("observed-data", 1, first_observed="2024-01-01T00:00:00Z", last_observed="2024-01-01T00:00:00Z")
        | {"number_observed": 1, "objects": ["not a dict"]},
        {"type": "ipv4-addr", "id": sid("ipv4-addr", 1), "value": 3232235777},
        {"type": "file", "id": sid("file", 1), "hashes": {"MD5": 5}},
        {"type": "file", "id": sid("file", 2)},
        {"type": "autonomous-system", "id": sid("autonomous-system", 1), "number": "AS1"},
        indicator(4, 42),
    ]
    found = problems_of(bundle(*objects))
    assert [where for where, _, _ in found] == [f"object {i}" for i in range(len(objects))]
    assert all(ident == obj["id"] for (_, ident, _), obj in zip(found, objects, strict=True))


def test_unreadable_patterns() -> None:
    objects = [
        indicator(1, "[ipv4-addr:value = '198.51.100.1'"),
        indicator(2, "ipv4-addr:value = '198.51.100.1'"),
        indicator(3, "[ipv4-addr:value = 198.51.100.1]"),
        indicator(4, ""),
    ]
    found = problems_of(bundle(*objects))
    assert [(w, i) for w, i, _ in found] == [(f"object {n}", o["id"]) for n, o in enumerate(objects)]
    assert all(reason.startswith("cannot read pattern ") for _, _, reason in found)
    unclosed = "cannot read pattern \"[ipv4-addr:value = '198.51.100.1'\": "
    assert found[0][2] == unclosed + "1:33: mismatched input '<EOF>' expecting ']'"
    # Other pattern languages are not read: kept as objects, never a problem.
    sigma = sdo(
        "indicator",
        9,
        pattern="title: x\ndetection: {}",
        pattern_type="sigma",
        valid_from="2024-01-01T00:00:00Z",
    )
    (container,) = parse_stix(bundle(sigma)).reports
    assert container.indicators == [] and object_ids(container) == [sigma["id"]]


def test_all_problems_are_collected_and_skip_invalid_keeps_the_rest() -> None:
    good = indicator(1, "[ipv4-addr:value = '198.51.100.1']")
    bad_time = indicator(2, "[ipv4-addr:value = '198.51.100.2']", valid_from="yesterday")
    bad_pattern = indicator(3, "[ipv4-addr:value = '198.51.100.3'")
    rep = report(1, [good["id"], bad_time["id"], bad_pattern["id"]])
    data = bundle(good, bad_time, 17, bad_pattern, rep)
    found = problems_of(data)
    assert [(w, i) for w, i, _ in found] == [
        ("object 1", bad_time["id"]),
        ("object 2", None),
        ("object 3", bad_pattern["id"]),
    ]
    exchange = parse_stix(data, source="bad.json", skip_invalid=True)
    assert [(p.where, p.object_id) for p in exchange.problems] == [(w, i) for w, i, _ in found]
    assert str(exchange.problems[0]).startswith(
        f"bad.json: object 1 ({bad_time['id']}): valid_from 'yesterday'"
    )
    (kept,) = exchange.reports
    assert object_ids(kept) == [rep["id"], good["id"]]
    assert values(kept) == {(T.IPV4, "198.51.100.1")}
    assert exchange.objects_read == 5


def test_the_latest_version_of_an_object_wins() -> None:
    old = sdo("malware", 1, name="old", is_family=True)
    new = old | {"name": "new", "modified": "2024-06-01T00:00:00.000Z"}
    for order in ((old, new), (new, old)):
        (container,) = parse_stix(bundle(*order)).reports
        assert [o["name"] for o in objects_of(container)] == ["new"]


@pytest.mark.parametrize("chunk", [64, 1 << 19])
def test_versions_in_other_pieces_and_ties(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Pieces are read one step each: the versions of an object meet across them as within one, a tie
    going to the later, and each object keeps its place."""
    monkeypatch.setattr(pieces, "_CHUNK", chunk)
    first = [sdo("tool", i, name=f"first {i}") for i in range(6)]
    later = first[2] | {"name": "later", "modified": "2024-06-01T00:00:00.000Z"}
    tie = first[4] | {"name": "tie"}
    older = first[0] | {"name": "older", "modified": "2023-06-01T00:00:00.000Z"}
    data = json.dumps({"type": "bundle", "id": sid("bundle", 1), "objects": [*first, later, tie, older]})
    counts: list[int] = []
    exchange = parse_stix(data.encode(), progress=counts.append)
    (container,) = exchange.reports
    names = ["first 0", "first 1", "first 3", "first 5", "later", "tie"]
    assert [o["name"] for o in objects_of(container)] == names
    assert exchange.objects_read == 9 and counts == [9]


# --- patterns ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv4-addr:value = '198.51.100.1']", [(T.IPV4, "198.51.100.1")]),
        ("[ipv4-addr:value = '198.51.100.0/24']", [(T.IPV4_CIDR, "198.51.100.0/24")]),
        ("[ipv6-addr:value = '2001:db8::1']", [(T.IPV6, "2001:db8::1")]),
        ("[ipv6-addr:value = '2001:db8::/32']", [(T.IPV6_CIDR, "2001:db8::/32")]),
        ("[ url:value = 'http://a.example/' ]", [(T.URL, "http://a.example/")]),
        ("[email-addr:value = 'a@b.example']", [(T.EMAIL, "a@b.example")]),
        ("[email-message:from_ref.value = 'a@b.example']", [(T.EMAIL, "a@b.example")]),
        ("[file:hashes.MD5 = 'aa']", [(T.MD5, "aa")]),
        ("[file:hashes.md5 = 'aa']", [(T.MD5, "aa")]),
        ("[file:hashes.'SHA-1' = 'bb']", [(T.SHA1, "bb")]),
        ("[file:hashes.'SHA-256' = 'cc']", [(T.SHA256, "cc")]),
        ("[file:hashes.'SHA-512' = 'dd']", [(T.SHA512, "dd")]),
        ("[file:name = 'it\\'s a \\\\ name.exe']", [(T.FILENAME, "it's a \\ name.exe")]),
        ("[autonomous-system:number = 13335]", [(T.ASN, "AS13335")]),
        (
            "[domain-name:value = 'a.example' OR ipv4-addr:value = '198.51.100.1'] AND [url:value = 'http://b/']",
            [(T.DOMAIN, "a.example"), (T.IPV4, "198.51.100.1"), (T.URL, "http://b/")],
        ),
        # The slow path: qualifiers, other operators, parentheses, IN, negations, paths not ours.
        (
            "[file:hashes.'SHA-256' = 'ee' AND file:size > 10] FOLLOWEDBY [ipv4-addr:value = '198.51.100.9'] "
            "WITHIN 300 SECONDS",
            [(T.SHA256, "ee"), (T.IPV4, "198.51.100.9")],
        ),
        (
            "([domain-name:value IN ('a.example', 'b.example')])",
            [(T.DOMAIN, "a.example"), (T.DOMAIN, "b.example")],
        ),
        ("[ipv4-addr:value != '198.51.100.1']", []),
        ("[ipv4-addr:value NOT = '198.51.100.1']", []),
        ("[x509-certificate:issuer = 'CN=WEBMAIL']", []),
        ("[email-message:subject MATCHES '^Invoice']", []),
        ("[file:hashes.'SHA3-256' = 'ff']", []),
    ],
)
def test_read_pattern(pattern: str, expected: list[tuple[IndicatorType, str]]) -> None:
    assert read_pattern(pattern) == expected


def test_pattern_round_trip_of_every_type() -> None:
    for type_, value in [
        (T.IPV4, "198.51.100.1"),
        (T.IPV4_CIDR, "198.51.100.0/24"),
        (T.IPV6, "2001:db8::1"),
        (T.IPV6_CIDR, "2001:db8::/32"),
        (T.DOMAIN, "a.example"),
        (T.URL, "http://a.example/it's?q=\\"),
        (T.EMAIL, "o'brien@a.example"),
        (T.MD5, "a" * 32),
        (T.SHA1, "b" * 40),
        (T.SHA256, "c" * 64),
        (T.SHA512, "d" * 128),
        (T.FILENAME, "C:\\Users\\x\\it's.exe"),
        (T.ASN, "AS13335"),
    ]:
        pattern = stix_pattern(type_, value)
        assert read_pattern(pattern) == [(type_, value)]
        assert patterns._read_pattern_slowly(pattern) == [(type_, value)]  # stix2-patterns agrees


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), whitelist_characters="'\\"),
        min_size=1,
        max_size=40,
    )
)
def test_quotes_and_backslashes_survive_patterns(name: str) -> None:
    name = name.strip() or "'"
    pattern = stix_pattern(T.FILENAME, name)
    assert read_pattern(pattern) == [(T.FILENAME, name)]
    assert patterns._read_pattern_slowly(pattern) == [(T.FILENAME, name)]
    exchange = Exchange(reports=[ReportItem(title="r", indicators=[IndicatorItem(name, T.FILENAME)])])
    (back,) = parse_stix(to_stix(exchange)).reports
    assert [(i.type, i.value) for i in back.indicators] == [(T.FILENAME, name)]


# --- large arrays in pieces ------------------------------------------------------------------------------


nested = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(alphabet='{}[],: "\\ab\n', max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "}"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nested, min_size=1, max_size=25), st.booleans(), st.booleans())
def test_cutting_an_array_in_pieces_reads_the_same_objects(
    extras: list[Any], pretty: bool, as_list: bool
) -> None:
    objects = [
        sdo("campaign", i, name="c", x_extra={"v": extra, "list": [{"a": "},{"}, {"b": [{}]}]})
        for i, extra in enumerate(extras)
    ]
    document: Any = objects if as_list else {"type": "bundle", "id": sid("bundle", 1), "objects": objects}
    data = json.dumps(
        document, indent=2 if pretty else None, separators=None if pretty else (",", ":")
    ).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pieces, "_CHUNK", 64)  # tiny pieces: small documents are cut many times
        (container,) = parse_stix(data).reports
    assert objects_of(container) == objects


def test_a_syntax_error_in_a_large_array_is_found_where_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "_CHUNK", 256)
    objects = [sdo("campaign", i, name="c") for i in range(40)]
    text = json.dumps({"type": "bundle", "id": sid("bundle", 1), "objects": objects}, indent=2)
    lines = text.splitlines()
    line = next(n for n, t in enumerate(lines) if sid("campaign", 30) in t)
    lines[line] = lines[line].replace('"id":', '"id"')
    ((where, _, reason),) = problems_of("\n".join(lines).encode())
    assert where.startswith(f"line {line + 1}, column ") and reason.startswith("invalid JSON")


# --- the plain relationship's short way ----------------------------------------------------------------

_MISSING = object()
_KNOWN_IDS = [sid("malware", 1), sid("identity", 1), TLP1_AMBER]
_ODD = st.sampled_from([None, 7, 1.5, True, "", "x", "malware--1", [], {}, ["x"], {"a": 1}])
_STAMP = st.sampled_from(
    ["2024-01-01T00:00:00.000Z", "2024-02-29T23:59:60Z", "2023-02-29T00:00:00Z", "2024-01-31T00:00:00Z",
     "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.5Z"]
)  # fmt: skip
_REF = st.sampled_from([*_KNOWN_IDS, sid("attack-pattern", 2), "Tool--" + sid("x", 1)[3:]])
_VARIANTS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.sampled_from([sid("relationship", 1), sid("tool", 1), "relationship--1234"]) | _ODD,
    "spec_version": st.sampled_from(["2.1", "2.0"]) | _ODD,
    "created": _STAMP | _ODD,
    "modified": _STAMP | _ODD,
    "relationship_type": st.sampled_from(["uses"]) | _ODD,
    "source_ref": _REF | _ODD,
    "target_ref": _REF | _ODD,
    "created_by_ref": _REF | _ODD,
    "object_marking_refs": st.lists(_REF | _ODD, max_size=3) | _ODD,
    "name": st.just("n") | _ODD,
    "description": st.just("d") | _ODD,
    "labels": st.lists(st.just("l") | _ODD, max_size=2) | _ODD,
    "confidence": st.sampled_from([0, 50, 100, 101, -1]) | _ODD,
    "granular_markings": st.lists(st.fixed_dictionaries({"marking_ref": _REF | _ODD}), max_size=2) | _ODD,
    "extensions": st.dictionaries(st.sampled_from(["extension-definition--" + sid("x", 2)[3:], "e"]),
                                  st.just({}), max_size=2) | _ODD,
}  # fmt: skip


@st.composite
def relationships(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "relationship"}
    base = sdo(
        "relationship", 1, relationship_type="uses", source_ref=_KNOWN_IDS[0], target_ref=sid("tool", 3)
    )
    for prop, variants in _VARIANTS.items():
        choice = draw(st.sampled_from(["plain"] * 6 + ["missing", "other"]))
        value = (
            base.get(prop, _MISSING)
            if choice == "plain"
            else _MISSING
            if choice == "missing"
            else draw(variants)
        )
        if value is not _MISSING:
            obj[prop] = value
    return obj


@settings(max_examples=400, deadline=None)
@given(relationships())
def test_the_short_way_for_relationships_reads_them_as_the_long_way(obj: dict[str, Any]) -> None:
    """A relationship read the short way gives the very record (or problems) the long way gives."""
    ids = common.Ids()
    for known in _KNOWN_IDS[:2]:
        ids(known)
    short = records.read_object(obj, 3, ids)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records, "_plain_relationship", lambda *_: None)
        long = records.read_object(obj, 3, common.Ids())
    assert short == long


def test_the_short_way_is_taken_by_plain_relationships() -> None:
    plain = sdo(
        "relationship",
        1,
        relationship_type="uses",
        source_ref=sid("malware", 1),
        target_ref=sid("tool", 1),
        created_by_ref=sid("identity", 1),
        object_marking_refs=[TLP1_AMBER],
    )
    record = records._plain_relationship(plain, plain["id"], 0, common.Ids())
    assert record is not None and record.uses == (sid("identity", 1), TLP1_AMBER)
    assert record.ends == (sid("malware", 1), sid("tool", 1)) and record.author == sid("identity", 1)
    assert records._plain_relationship(plain | {"labels": ["x"]}, plain["id"], 0, common.Ids()) is None


# --- writing -------------------------------------------------------------------------------------------

ORG = OrgItem(
    name="CERT-Example", country="FR", uuid="6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", kind="government"
)
WHEN = datetime(2025, 3, 1, 12, 30, 15, 250000)  # naive, as SQLite gives it back: UTC


def uuid7() -> str:
    """A version 7 UUID, as the database gives indicators."""
    return str(uuid.UUID(int=uuid.uuid4().int & ~(0xF << 76) | 7 << 76))


def indicator_id(item: IndicatorItem, kind: str = "indicator") -> str:
    """STIX 2.1 wants UUIDs of versions 1 to 5: a version 7 one is turned into a version 5 one."""
    ours = uuid.UUID(item.uuid)
    return f"{kind}--{ours if ours.version == 4 else uuid.uuid5(common.NAMESPACE, str(ours))}"


def our_report(**props: Any) -> ReportItem:
    indicators = [
        IndicatorItem("198.51.100.7", T.IPV4, uuid=uuid7(), comment="C2", confidence=80, tags=["c2"]),
        IndicatorItem("198.51.100.0/24", T.IPV4_CIDR, uuid=uuid7()),
        IndicatorItem("2001:db8::7", T.IPV6, uuid=uuid7(), first_seen=WHEN, last_seen=WHEN + timedelta(1)),
        IndicatorItem("2001:db8::/32", T.IPV6_CIDR, uuid=uuid7()),
        IndicatorItem("evil.example", T.DOMAIN, uuid=uuid7()),
        IndicatorItem("http://evil.example/it's?a=\\", T.URL, uuid=uuid7()),
        IndicatorItem("o'brien@evil.example", T.EMAIL, uuid=uuid7()),
        IndicatorItem("a" * 32, T.MD5, uuid=uuid7()),
        IndicatorItem("b" * 40, T.SHA1, uuid=uuid7()),
        IndicatorItem("c" * 64, T.SHA256, uuid=uuid7()),
        IndicatorItem("d" * 128, T.SHA512, uuid=uuid7()),
        IndicatorItem("invoice 'final'.pdf.exe", T.FILENAME, uuid=uuid7()),
        IndicatorItem("AS64496", T.ASN, uuid=uuid7()),
        IndicatorItem("203.0.113.9", T.IPV4, uuid=uuid7(), to_detect=False, first_seen=WHEN),
        IndicatorItem("e" * 64, T.SHA256, uuid=uuid7(), to_detect=False),
    ]
    return ReportItem(
        **{
            "title": "Phishing wave",
            "summary": "Lures and **C2**.",
            "tlp": TLP.AMBER,
            "created": WHEN,
            "modified": WHEN + timedelta(hours=1),
            "tags": ["phishing"],
            "author": ORG,
            "uuid": str(uuid.uuid4()),  # reports and organisations have version 4 UUIDs
            "indicators": indicators,
            **props,
        }
    )


def by_id(data: bytes) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in orjson.loads(data)["objects"]}


def test_export_is_valid_stix_with_our_ids_markings_and_identities() -> None:
    rep = our_report()
    data = to_stix(Exchange(reports=[rep]))
    validate(data)
    objects = by_id(data)
    head = objects[f"report--{rep.uuid}"]
    assert head["name"] == "Phishing wave" and head["description"] == "Lures and **C2**."
    assert head["created"] == "2025-03-01T12:30:15.250Z" and head["modified"] == "2025-03-01T13:30:15.250Z"
    assert head["created_by_ref"] == f"identity--{ORG.uuid}" and head["labels"] == ["phishing"]
    assert head["object_marking_refs"] == [TLP2_MARKINGS[TLP.AMBER]]
    assert objects[f"identity--{ORG.uuid}"]["name"] == "CERT-Example"
    amber = objects[TLP2_MARKINGS[TLP.AMBER]]
    assert amber["name"] == "TLP:AMBER"
    assert amber["extensions"] == {
        TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "amber"}
    }
    assert objects[TLP2_EXTENSION]["type"] == "extension-definition"
    # Every object of the report is listed by it; every indicator is marked.
    assert set(head["object_refs"]) == set(objects) - {
        head["id"],
        TLP2_EXTENSION,
        amber["id"],
        f"identity--{ORG.uuid}",
    }
    first = objects[indicator_id(rep.indicators[0])]
    assert uuid.UUID(first["id"].removeprefix("indicator--")).version == 5
    assert first["pattern"] == "[ipv4-addr:value = '198.51.100.7']" and first["pattern_type"] == "stix"
    assert first["name"] == "C2" and first["confidence"] == 80 and first["labels"] == ["c2"]
    assert first["indicator_types"] == ["malicious-activity"]
    assert first["object_marking_refs"] == [amber["id"]] and first["created_by_ref"] == head["created_by_ref"]
    assert (
        objects[indicator_id(rep.indicators[5])]["pattern"]
        == "[url:value = 'http://evil.example/it\\'s?a=\\\\']"
    )
    dated = objects[indicator_id(rep.indicators[2])]
    assert (dated["valid_from"], dated["valid_until"]) == (
        "2025-03-01T12:30:15.250Z",
        "2025-03-02T12:30:15.250Z",
    )
    # Not for detection: an observed-data and its observable, as MISP does.
    observed = objects[indicator_id(rep.indicators[13], "observed-data")]
    (ref,) = observed["object_refs"]
    assert objects[ref] == {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": ref,
        "value": "203.0.113.9",
        "object_marking_refs": [amber["id"]],
    }
    assert ref == "ipv4-addr--" + str(
        uuid.uuid5(uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7"), '{"value":"203.0.113.9"}')
    )


def test_export_reads_back_to_the_same_indicators() -> None:
    rep = our_report()
    (back,) = parse_stix(to_stix(Exchange(reports=[rep]))).reports
    assert back.source_id == f"report--{rep.uuid}" and back.title == rep.title and back.tlp is TLP.AMBER
    assert back.author is not None and back.author.name == ORG.name

    def key(items: list[IndicatorItem]) -> list[tuple[Any, ...]]:
        return sorted((i.type, canonicalize(i.type, i.value), i.to_detect) for i in items if i.type)

    assert key(back.indicators) == key(rep.indicators)
    dated = next(i for i in back.indicators if i.value == "2001:db8::7")
    assert dated.first_seen == WHEN.replace(tzinfo=UTC) and dated.last_seen == WHEN.replace(
        tzinfo=UTC
    ) + timedelta(1)
    # And once more: reading back what was read gives the same bundle.
    assert by_id(to_stix(Exchange(reports=[back]))).keys() == by_id(to_stix(Exchange(reports=[rep]))).keys()


def test_export_is_deterministic() -> None:
    rep = our_report()
    assert to_stix(Exchange(reports=[rep])) == to_stix(Exchange(reports=[rep]))
    empty = ReportItem(title="empty", uuid=str(uuid.uuid4()))
    objects = by_id(to_stix(Exchange(reports=[empty])))
    (producer,) = [o for o in objects.values() if o["type"] == "identity"]
    assert producer["name"] == "Commonspace" and producer["identity_class"] == "system"
    assert objects[f"report--{empty.uuid}"]["object_refs"] == [producer["id"]]  # a report needs a reference


def test_export_of_imported_reports_validates_and_reads_back(stix_data: Path) -> None:
    paths = sorted((stix_data / "examples").rglob("*.json")) + [stix_data / "attack" / "ics-attack-18.1.json"]
    for path in paths:
        exchange = parse_stix(path.read_bytes())
        data = to_stix(exchange)
        if "attack" not in path.parts:
            validate(data)
        back = parse_stix(data)
        assert sorted((i.type, i.value, i.source_id) for r in back.reports for i in r.indicators) == sorted(
            (i.type, i.value, i.source_id) for r in exchange.reports for i in r.indicators
        ), path
        sent = by_id(data)
        for original in (o for r in exchange.reports for o in objects_of(r) if o["type"] != "report"):
            assert sent[original["id"]] == original  # given back as it was


def test_the_original_report_object_replaces_the_generated_one(stix_data: Path) -> None:
    (apt1,) = example(stix_data, "apt1.json").reports
    apt1.tlp = TLP.RED
    apt1.uuid = str(uuid.uuid4())
    extra = IndicatorItem("203.0.113.50", T.IPV4, uuid=str(uuid.uuid4()))  # version 4: kept as it is
    apt1.indicators.append(extra)
    data = to_stix(Exchange(reports=[apt1]))
    validate(data)
    objects = by_id(data)
    assert f"report--{apt1.uuid}" not in objects
    head = objects[apt1.source_id or ""]
    assert head["name"] == apt1.title
    assert head["object_marking_refs"] == [TLP2_MARKINGS[TLP.RED]]  # today's TLP, not the original's
    assert set(head["object_refs"]) >= set(object_ids(apt1)[1:]) | {f"indicator--{extra.uuid}"}
    # The ten indicators read from the twelve original STIX indicators are not written a second time: the
    # originals stand for them, and only the one added here is new.
    written = [o["id"] for o in objects.values() if o["type"] == "indicator"]
    assert len(written) == 12 + 1 and f"indicator--{extra.uuid}" in written


def test_an_original_is_withheld_when_one_of_its_values_is_not_exported() -> None:
    """An indicator narrowed away from the reader (or deleted) must not travel inside its original object."""
    both = indicator(1, "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'secret.example']")
    malware = sdo("malware", 1, name="m", is_family=True)
    link = sdo(
        "relationship", 1, relationship_type="indicates", source_ref=both["id"], target_ref=malware["id"]
    )
    observable = {"type": "domain-name", "id": sid("domain-name", 1), "value": "hidden.example"}
    observed = sdo(
        "observed-data",
        1,
        first_observed="2024-02-01T00:00:00Z",
        last_observed="2024-02-01T00:00:00Z",
        number_observed=1,
        object_refs=[observable["id"]],
    )
    rep = report(1, [both["id"], malware["id"], link["id"], observed["id"]], object_marking_refs=[TLP1_AMBER])
    (item,) = parse_stix(bundle(rep, both, malware, link, observable, observed)).reports
    assert item.tlp is TLP.AMBER
    everything = to_stix(Exchange(reports=[item]))
    assert b"secret.example" in everything and b"hidden.example" in everything
    item.indicators = [i for i in item.indicators if i.value not in ("secret.example", "hidden.example")]
    data = to_stix(Exchange(reports=[item]))
    validate(data)
    assert b"secret.example" not in data and b"hidden.example" not in data
    objects = by_id(data)
    assert both["id"] not in objects and link["id"] not in objects  # the original and what points at it
    assert observable["id"] not in objects and observed["id"] not in objects
    assert malware["id"] in objects
    head = objects[rep["id"]]
    assert not {both["id"], link["id"], observable["id"], observed["id"]} & set(head["object_refs"])
    assert head["object_marking_refs"] == [TLP2_MARKINGS[TLP.AMBER]]  # TLP 1.0 replaced by TLP 2.0
    (generated,) = [o for o in objects.values() if o["type"] == "indicator"]
    assert (
        generated["pattern"] == "[ipv4-addr:value = '198.51.100.1']"
        and generated["id"] in head["object_refs"]
    )
    # A value spelled differently but the same canonically (as the database gives it back) is there.
    (item,) = parse_stix(bundle(rep, both, malware, link, observable, observed)).reports
    for i in item.indicators:
        i.value = i.value.upper()
    assert {both["id"], observable["id"], observed["id"], link["id"]} <= by_id(
        to_stix(Exchange(reports=[item]))
    ).keys()
