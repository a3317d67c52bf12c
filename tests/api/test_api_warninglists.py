"""Warninglists through the REST API: indicators are flagged when stored, imported or changed, the API
names the lists, and exports leave the flagged values out of detection formats unless told otherwise."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from commonspace.engine.warninglists import WarningList, WarningLists, builtin_lists, parse_warninglist
from commonspace.jobs.runner import Worker
from commonspace.store import tables as t
from commonspace.warninglists import service
from commonspace.web.app import job_handlers
from world import API, World, add_indicators, error_of, new_report

RESOLVERS = parse_warninglist(
    {"name": "Test resolvers", "type": "cidr", "list": ["9.9.9.9", "149.112.112.112/32"]}, id="test-resolvers"
)
TOP_SITES = parse_warninglist(
    {"name": "Test top sites", "type": "hostname", "list": ["google.com"]}, id="test-top-sites"
)
RFC1918 = {"id": "rfc1918", "name": "List of RFC 1918 CIDR blocks"}
RFC5735 = {"id": "rfc5735", "name": "List of RFC 5735 CIDR blocks"}
ON_RESOLVERS = [{"id": "test-resolvers", "name": "Test resolvers"}]
ON_TOP_SITES = [{"id": "test-top-sites", "name": "Test top sites"}]


def use(*extra: WarningList) -> None:
    service.use(WarningLists([*builtin_lists(), *extra]))


@pytest.fixture(autouse=True)
def lists() -> Iterator[None]:
    """The built-in lists and two test lists, for every test here; the process's own lists after."""
    use(RESOLVERS, TOP_SITES)
    yield
    service.reset()


def _on(client: TestClient, world: World, label: str, report_uuid: str) -> dict[str, list[dict[str, str]]]:
    """The warninglists of each indicator of the report, by canonical value."""
    response = client.get(f"{API}/reports/{report_uuid}/indicators", headers=world.headers(label))
    assert response.status_code == 200, response.text
    return {i["canonical"]: i["warninglists"] for i in response.json()["items"]}


def _stored(world: World) -> dict[str, tuple[Any, bool]]:
    """The stored column of each indicator by canonical value, and whether it is SQL NULL."""
    with world.session() as session:
        rows = session.execute(
            select(t.Indicator.canonical, t.Indicator.warninglists, t.Indicator.warninglists.is_(None))
        )
        return {canonical: (flags, is_null) for canonical, flags, is_null in rows}


def test_indicators_are_flagged_when_stored_and_the_api_names_the_lists(
    client: TestClient, world: World
) -> None:
    report = new_report(
        client,
        world,
        "ministry.publisher",
        publish=True,
        indicators=[{"value": "9.9.9.9"}, {"value": "evil-c2.top"}, {"value": "10.1.2.3"}],
    )
    add_indicators(
        client,
        world,
        "ministry.publisher",
        report["uuid"],
        "hxxps://www.google[.]com/search?q=x",
        "45.9.148.3",
    )
    on = _on(client, world, "bank.reader", report["uuid"])
    assert on == {
        "9.9.9.9": ON_RESOLVERS,
        "evil-c2.top": [],
        "10.1.2.3": [RFC1918, RFC5735],  # sorted by id
        "https://www.google.com/search?q=x": ON_TOP_SITES,
        "45.9.148.3": [],
    }
    stored = _stored(world)
    assert stored["9.9.9.9"] == (["test-resolvers"], False)
    assert stored["10.1.2.3"] == (["rfc1918", "rfc5735"], False)
    assert stored["evil-c2.top"] == (None, True)  # SQL NULL, not JSON null: "IS NULL" finds it
    assert stored["45.9.148.3"] == (None, True)
    # One indicator, and the search hits, carry it too.
    items = client.get(f"{API}/reports/{report['uuid']}/indicators", headers=world.headers("bank.reader"))
    resolver = next(i for i in items.json()["items"] if i["canonical"] == "9.9.9.9")
    one = client.get(f"{API}/indicators/{resolver['uuid']}", headers=world.headers("bank.reader")).json()
    assert one["warninglists"] == ON_RESOLVERS
    hits = client.post(
        f"{API}/search/indicators",
        json={"values": ["9.9.9.9", "evil-c2.top"]},
        headers=world.headers("bank.reader"),
    ).json()["items"]
    assert {h["indicator"]["canonical"]: h["indicator"]["warninglists"] for h in hits} == {
        "9.9.9.9": ON_RESOLVERS,
        "evil-c2.top": [],
    }


def test_a_list_gone_from_the_instance_is_named_by_its_id(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", indicators=[{"value": "9.9.9.9"}])
    use()  # the test lists are gone; the stored flag stays until the indicator is checked again
    assert _on(client, world, "ministry.reader", report["uuid"]) == {
        "9.9.9.9": [{"id": "test-resolvers", "name": "test-resolvers"}]
    }


def test_an_update_checks_the_value_against_the_lists_of_now(client: TestClient, world: World) -> None:
    report = new_report(client, world, "ministry.publisher", indicators=[{"value": "45.9.148.3"}])
    (item,) = client.get(
        f"{API}/reports/{report['uuid']}/indicators", headers=world.headers("ministry.publisher")
    ).json()["items"]
    assert item["warninglists"] == []
    extra = parse_warninglist({"name": "Hosting", "type": "cidr", "list": ["45.9.148.0/24"]}, id="hosting")
    use(extra)
    url = f"{API}/indicators/{item['uuid']}"
    changed = client.patch(url, json={"comment": "seen"}, headers=world.headers("ministry.publisher"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["warninglists"] == [{"id": "hosting", "name": "Hosting"}]
    assert _stored(world)["45.9.148.3"] == (["hosting"], False)
    use()
    changed = client.patch(url, json={"to_detect": False}, headers=world.headers("ministry.publisher"))
    assert changed.json()["warninglists"] == []
    assert _stored(world)["45.9.148.3"] == (None, True)


def test_imports_and_background_adds_are_flagged(client: TestClient, world: World) -> None:
    csv = b"type,value\nipv4,9.9.9.9\ndomain,evil-c2.top\n"
    response = client.post(
        f"{API}/import", content=csv, params={"name": "iocs.csv"}, headers=world.headers("ministry.publisher")
    )
    assert response.status_code == 201, response.text
    (imported,) = client.get(f"{API}/reports", headers=world.headers("ministry.publisher")).json()["items"]
    assert _on(client, world, "ministry.publisher", imported["uuid"]) == {
        "9.9.9.9": ON_RESOLVERS,
        "evil-c2.top": [],
    }
    report = new_report(client, world, "bank.publisher")
    body = {
        "indicators": [{"value": "www.google.com"}, {"value": "149.112.112.112"}, {"value": "x.evil.top"}]
    }
    job = client.post(
        f"{API}/reports/{report['uuid']}/indicators",
        params={"background": "true"},
        json=body,
        headers=world.headers("bank.publisher"),
    )
    assert job.status_code == 202, job.text
    worker = Worker(client.app.state.write_sessions, job_handlers(), "test-worker")  # type: ignore[attr-defined]
    assert worker.run_once()
    assert _on(client, world, "bank.publisher", report["uuid"]) == {
        "www.google.com": ON_TOP_SITES,
        "149.112.112.112": ON_RESOLVERS,
        "x.evil.top": [],
    }


def test_the_bulk_path_checks_each_distinct_value_once(client: TestClient, world: World) -> None:
    checked: list[tuple[str, str]] = []

    class Counting(service.InstanceLists):
        def flags(self, type_: Any, canonical: str) -> service.Flags:
            checked.append((str(type_), canonical))
            return super().flags(type_, canonical)

    service.use(Counting(WarningLists([*builtin_lists(), RESOLVERS])))
    report = new_report(client, world, "ministry.publisher", indicators=[{"value": "9.9.9.9"}])
    checked.clear()
    values = ["9.9.9.9", "9.9.9[.]9", "evil.top", "EVIL.top", "evil.top.", "10.0.0.1", "10.0.0.1"]
    result = add_indicators(client, world, "ministry.publisher", report["uuid"], *values)
    assert result == {"added": 2, "duplicates": 5}
    assert len(checked) == len(set(checked))  # each distinct value once
    # (on SQLite the value the report already holds is checked too, then skipped by the database)
    assert (
        {("domain", "evil.top"), ("ipv4", "10.0.0.1")}
        <= set(checked)
        <= {
            ("domain", "evil.top"),
            ("ipv4", "10.0.0.1"),
            ("ipv4", "9.9.9.9"),
        }
    )


# --- exports ------------------------------------------------------------------------------------------

LISTED = ("9.9.9.9", "www.google.com")
UNLISTED = ("45.9.148.3", "evil-c2.top")


def _export(client: TestClient, world: World, fmt: str, **params: str) -> str:
    response = client.get(
        f"{API}/export", params={"format": fmt, **params}, headers=world.headers("bank.reader")
    )
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture
def shared(client: TestClient, world: World) -> dict[str, Any]:
    """A community report of ministry holding two warninglisted values and two others."""
    report = new_report(client, world, "ministry.publisher", publish=True)
    add_indicators(client, world, "ministry.publisher", report["uuid"], *LISTED, *UNLISTED)
    return report


def _spelt(fmt: str, value: str) -> str:
    """How a value appears in an export: a response policy zone writes an address reversed."""
    if fmt == "rpz" and value[0].isdigit():
        return f"32.{'.'.join(reversed(value.split('.')))}.rpz-ip"
    return value


def _holds(fmt: str, exported: str) -> set[str]:
    return {value for value in (*LISTED, *UNLISTED) if _spelt(fmt, value) in exported}


@pytest.mark.parametrize("fmt", ["suricata", "zeek", "rpz", "text"])
def test_detection_formats_leave_warninglisted_values_out_unless_told(
    client: TestClient, world: World, shared: dict[str, Any], fmt: str
) -> None:
    assert _holds(fmt, _export(client, world, fmt)) == set(UNLISTED)
    assert _holds(fmt, _export(client, world, fmt, exclude_warninglisted="true")) == set(UNLISTED)
    everything = _export(client, world, fmt, exclude_warninglisted="false")
    assert _holds(fmt, everything) == {*LISTED, *UNLISTED}


@pytest.mark.parametrize("fmt", ["stix", "misp", "csv"])
def test_data_formats_keep_warninglisted_values_unless_told(
    client: TestClient, world: World, shared: dict[str, Any], fmt: str
) -> None:
    assert _holds(fmt, _export(client, world, fmt)) == {*LISTED, *UNLISTED}
    assert _holds(fmt, _export(client, world, fmt, exclude_warninglisted="false")) == {*LISTED, *UNLISTED}
    assert _holds(fmt, _export(client, world, fmt, exclude_warninglisted="true")) == set(UNLISTED)


def test_an_imported_stix_object_holding_a_warninglisted_value_is_withheld(
    client: TestClient, world: World
) -> None:
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=7, version=4)}",
        "created": "2024-01-02T03:04:05.000Z",
        "modified": "2024-01-02T03:04:05.000Z",
        "pattern": "[ipv4-addr:value = '9.9.9.9'] OR [domain-name:value = 'evil-c2.top']",
        "pattern_type": "stix",
        "valid_from": "2024-01-02T03:04:05Z",
    }
    bundle = {"type": "bundle", "id": f"bundle--{uuid.UUID(int=8, version=4)}", "objects": [indicator]}
    response = client.post(
        f"{API}/import",
        content=json.dumps(bundle).encode(),
        params={"distribution": "community"},
        headers=world.headers("ministry.publisher"),
    )
    assert response.status_code == 201, response.text
    (report,) = client.get(f"{API}/reports", headers=world.headers("ministry.publisher")).json()["items"]
    client.post(f"{API}/reports/{report['uuid']}/publish", headers=world.headers("ministry.publisher"))
    kept = json.loads(_export(client, world, "stix"))
    assert indicator["id"] in {o["id"] for o in kept["objects"]}
    without = _export(client, world, "stix", exclude_warninglisted="true")
    assert "9.9.9.9" not in without and indicator["id"] not in without
    assert "evil-c2.top" in without


def test_a_bad_choice_is_refused(client: TestClient, world: World) -> None:
    response = client.get(
        f"{API}/export",
        params={"format": "text", "exclude_warninglisted": "perhaps"},
        headers=world.headers("bank.reader"),
    )
    assert response.status_code == 422
    assert [f["path"] for f in error_of(response)["fields"]] == ["exclude_warninglisted"]
