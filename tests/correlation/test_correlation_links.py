"""Which values link two reports, and how (the kind, said from the side of the value asked about)."""

from __future__ import annotations

import pytest
from correlation_helpers import all_links, links, links_of, report_correlations, value_correlations
from fastapi.testclient import TestClient

from commonspace.correlation import lookup, service
from world import API, World, add_indicators, field_paths, new_report

SHA256 = "a" * 64


def _report(
    client: TestClient, world: World, label: str, *values: str | dict[str, str], **fields: str
) -> str:
    items = [{"value": v} if isinstance(v, str) else v for v in values]
    report = new_report(client, world, label, publish=True, indicators=items, **fields)
    uuid: str = report["uuid"]
    return uuid


def test_equal_values_link_two_reports_both_ways(client: TestClient, world: World) -> None:
    ours = _report(client, world, "ministry.publisher", "45.9.148.3", SHA256, "only-ours.top")
    theirs = _report(client, world, "bank.publisher", "45.9.148.3", SHA256.upper(), "only-theirs.top")
    assert links(report_correlations(client, world, "ministry.reader", ours)) == {
        "45.9.148.3": {(theirs, "equal", "ipv4", "45.9.148.3")},
        SHA256: {(theirs, "equal", "sha256", SHA256)},  # canonical: the case does not matter
    }
    assert links(report_correlations(client, world, "bank.reader", theirs)) == {
        "45.9.148.3": {(ours, "equal", "ipv4", "45.9.148.3")},
        SHA256: {(ours, "equal", "sha256", SHA256)},
    }


def test_an_address_inside_a_network_both_ways(client: TestClient, world: World) -> None:
    address = _report(client, world, "ministry.publisher", "45.9.148.3", "2a05:d014::5")
    networks = _report(
        client, world, "bank.publisher", "45.9.148.0/24", "45.9.0.0/16", "45.9.149.0/24", "2a05:d014::/32"
    )
    assert links(report_correlations(client, world, "ministry.reader", address)) == {
        "45.9.148.3": {
            (networks, "contained-in", "ipv4-cidr", "45.9.148.0/24"),
            (networks, "contained-in", "ipv4-cidr", "45.9.0.0/16"),
        },
        "2a05:d014::5": {(networks, "contained-in", "ipv6-cidr", "2a05:d014::/32")},
    }
    assert links(report_correlations(client, world, "bank.reader", networks)) == {
        "45.9.148.0/24": {(address, "contains", "ipv4", "45.9.148.3")},
        "45.9.0.0/16": {(address, "contains", "ipv4", "45.9.148.3")},
        "2a05:d014::/32": {(address, "contains", "ipv6", "2a05:d014::5")},
    }


def test_a_network_inside_a_network_both_ways(client: TestClient, world: World) -> None:
    wide = _report(client, world, "ministry.publisher", "45.9.0.0/16", "45.9.148.0/24")
    narrow = _report(client, world, "bank.publisher", "45.9.148.128/25", "45.9.148.0/24", "45.8.0.0/16")
    assert links(report_correlations(client, world, "ministry.reader", wide)) == {
        "45.9.0.0/16": {
            (narrow, "contains", "ipv4-cidr", "45.9.148.128/25"),
            (narrow, "contains", "ipv4-cidr", "45.9.148.0/24"),
        },
        "45.9.148.0/24": {
            (narrow, "contains", "ipv4-cidr", "45.9.148.128/25"),
            (narrow, "equal", "ipv4-cidr", "45.9.148.0/24"),
        },
    }
    assert links(report_correlations(client, world, "bank.reader", narrow)) == {
        "45.9.148.128/25": {
            (wide, "contained-in", "ipv4-cidr", "45.9.0.0/16"),
            (wide, "contained-in", "ipv4-cidr", "45.9.148.0/24"),
        },
        "45.9.148.0/24": {
            (wide, "contained-in", "ipv4-cidr", "45.9.0.0/16"),
            (wide, "equal", "ipv4-cidr", "45.9.148.0/24"),
        },
    }


def test_a_domain_and_its_subdomains_both_ways(client: TestClient, world: World) -> None:
    parent = _report(client, world, "ministry.publisher", "evil-c2.top", "b.a.evil-c2.top")
    child = _report(
        client,
        world,
        "bank.publisher",
        "a.evil-c2.top",
        "other.a.evil-c2.top",
        "notevil-c2.top",
        "evil-c2.top.example",
    )
    assert links(report_correlations(client, world, "ministry.reader", parent)) == {
        "evil-c2.top": {
            (child, "subdomain", "domain", "a.evil-c2.top"),
            (child, "subdomain", "domain", "other.a.evil-c2.top"),
        },
        "b.a.evil-c2.top": {(child, "parent-domain", "domain", "a.evil-c2.top")},
    }
    assert links(report_correlations(client, world, "bank.reader", child)) == {
        "a.evil-c2.top": {
            (parent, "parent-domain", "domain", "evil-c2.top"),
            (parent, "subdomain", "domain", "b.a.evil-c2.top"),
        },
        "other.a.evil-c2.top": {(parent, "parent-domain", "domain", "evil-c2.top")},
    }


def test_urls_and_email_addresses_under_a_domain_both_ways(client: TestClient, world: World) -> None:
    domain = _report(client, world, "ministry.publisher", "login.evil-c2.top")
    under = _report(
        client,
        world,
        "bank.publisher",
        "https://login.evil-c2.top/verify",
        "http://cdn.login.evil-c2.top:8080/x",
        "boss@login.evil-c2.top",
        "https://evil-c2.top/",  # the host is a parent: no link
        "https://login.evil-c2.top.example/",
    )
    assert links(report_correlations(client, world, "ministry.reader", domain)) == {
        "login.evil-c2.top": {
            (under, "contains", "url", "https://login.evil-c2.top/verify"),
            (under, "contains", "url", "http://cdn.login.evil-c2.top:8080/x"),
            (under, "contains", "email", "boss@login.evil-c2.top"),
        }
    }
    found = links(report_correlations(client, world, "bank.reader", under))
    assert found == {
        "https://login.evil-c2.top/verify": {(domain, "contained-in", "domain", "login.evil-c2.top")},
        "http://cdn.login.evil-c2.top:8080/x": {(domain, "contained-in", "domain", "login.evil-c2.top")},
        "boss@login.evil-c2.top": {(domain, "contained-in", "domain", "login.evil-c2.top")},
    }


def test_values_that_only_look_alike_do_not_link(client: TestClient, world: World) -> None:
    ours = _report(
        client,
        world,
        "ministry.publisher",
        "https://evil-c2.top/a",
        "a.evil-c2.top",
        {"type": "filename", "value": "evil-c2.top"},
        "45.9.148.3",
    )
    _report(
        client,
        world,
        "bank.publisher",
        "https://evil-c2.top/b",  # same host, another URL
        "b.evil-c2.top",  # a sibling
        "evil-c2.top.exe.example",
        "45.9.148.4",
        "45.9.148.4/32",
        "45.9.149.0/24",
    )
    assert report_correlations(client, world, "ministry.reader", ours)["items"] == []


def test_a_report_does_not_correlate_with_itself(client: TestClient, world: World) -> None:
    ours = _report(
        client, world, "ministry.publisher", "45.9.148.0/24", "45.9.148.3", "evil-c2.top", "a.evil-c2.top"
    )
    assert report_correlations(client, world, "ministry.reader", ours)["items"] == []


def test_the_answer_names_both_sides(client: TestClient, world: World) -> None:
    ours = _report(client, world, "ministry.publisher", "45.9.148.3")
    theirs = _report(client, world, "bank.publisher", "45.9.148.3", title="Their report", tlp="GREEN")
    page = report_correlations(client, world, "ministry.reader", ours)
    (item,) = page["items"]
    indicators = client.get(f"{API}/reports/{ours}/indicators", headers=world.headers("ministry.reader"))
    assert item["indicator"] == indicators.json()["items"][0]["uuid"]
    assert (item["type"], item["value"], item["over_correlating"]) == ("ipv4", "45.9.148.3", False)
    (report,) = item["reports"]
    assert report["uuid"] == theirs
    assert report["title"] == "Their report"
    assert report["tlp"] == "GREEN"
    assert report["status"] == "published"
    assert report["organisation"]["uuid"] == world.orgs["bank"].uuid
    assert report["more_matches"] is False
    their_indicators = client.get(f"{API}/reports/{theirs}/indicators", headers=world.headers("bank.reader"))
    assert report["matches"] == [
        {
            "kind": "equal",
            "type": "ipv4",
            "value": "45.9.148.3",
            "indicator": their_indicators.json()["items"][0]["uuid"],
        }
    ]
    assert page["next_cursor"] is None
    assert page["over_correlation_limit"] == service.DEFAULT_LIMIT


def test_over_correlating_values_are_flagged_not_expanded(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service.LIMIT_VARIABLE, "2")
    ours = _report(client, world, "ministry.publisher", "45.9.148.3", "evil-c2.top", "45.9.150.0/24")
    others = [_report(client, world, "bank.publisher", "45.9.148.3", title=f"Other {n}") for n in range(3)]
    _report(client, world, "bank.publisher", "a.evil-c2.top")
    two = [
        _report(client, world, "intl.publisher", "45.9.150.7"),
        _report(client, world, "ngo.publisher", "45.9.150.8"),
    ]
    page = report_correlations(client, world, "ministry.reader", ours)
    assert page["over_correlation_limit"] == 2
    found = links(page)
    assert found["45.9.148.3"] == "over-correlating"  # three other reports: more than 2
    assert len(found["evil-c2.top"]) == 1
    assert {link[0] for link in found["45.9.150.0/24"]} == set(two)  # two: at the limit, listed
    (over,) = [item for item in page["items"] if item["over_correlating"]]
    assert over["reports"] == []
    # A value linked to more than the limit through several links is over-correlating as well.
    monkeypatch.setenv(service.LIMIT_VARIABLE, "3")
    _report(client, world, "bank.publisher", "45.9.148.0/24")
    assert (
        links(report_correlations(client, world, "ministry.reader", ours))["45.9.148.3"] == "over-correlating"
    )
    monkeypatch.setenv(service.LIMIT_VARIABLE, "4")
    assert {
        link[0] for link in links(report_correlations(client, world, "ministry.reader", ours))["45.9.148.3"]
    } >= set(others)


def test_a_wrong_limit_is_refused_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    for wrong in ("0", "-3", "many", "2.5"):
        monkeypatch.setenv(service.LIMIT_VARIABLE, wrong)
        with pytest.raises(ValueError, match=service.LIMIT_VARIABLE):
            service.over_correlation_limit()
    monkeypatch.setenv(service.LIMIT_VARIABLE, " 7 ")
    assert service.over_correlation_limit() == 7
    monkeypatch.delenv(service.LIMIT_VARIABLE)
    assert service.over_correlation_limit() == service.DEFAULT_LIMIT


def test_warninglisted_values_are_left_out_unless_asked(client: TestClient, world: World) -> None:
    # 10.1.2.3 is on the built-in RFC 1918 list, ssl.example on the special-use domain names.
    ours = _report(client, world, "ministry.publisher", "10.1.2.3", "45.9.148.3", "www.ssl.example")
    theirs = _report(client, world, "bank.publisher", "10.1.2.3", "10.1.0.0/16", "45.9.148.3", "ssl.example")
    assert links(report_correlations(client, world, "ministry.reader", ours)) == {
        "45.9.148.3": {(theirs, "equal", "ipv4", "45.9.148.3")}
    }
    everything = links(
        report_correlations(client, world, "ministry.reader", ours, include_warninglisted="true")
    )
    assert everything == {
        "10.1.2.3": {
            (theirs, "equal", "ipv4", "10.1.2.3"),
            (theirs, "contained-in", "ipv4-cidr", "10.1.0.0/16"),
        },
        "45.9.148.3": {(theirs, "equal", "ipv4", "45.9.148.3")},
        "www.ssl.example": {(theirs, "parent-domain", "domain", "ssl.example")},
    }
    assert value_correlations(client, world, "bank.reader", "10.1.2.3")["reports"] == []
    listed = value_correlations(client, world, "bank.reader", "10.1.2.3", include_warninglisted="true")
    assert {r["uuid"] for r in listed["reports"]} == {ours, theirs}


def test_pages_of_indicators(client: TestClient, world: World) -> None:
    values = [f"45.9.148.{n}" for n in range(1, 8)]
    ours = _report(client, world, "ministry.publisher", *values, "only-ours.top")
    theirs = _report(client, world, "bank.publisher", *values[::2])
    first = report_correlations(client, world, "ministry.reader", ours, limit=3)
    assert [item["value"] for item in first["items"]] == ["45.9.148.1", "45.9.148.3"]
    assert first["next_cursor"]
    everything = all_links(client, world, "ministry.reader", ours, limit=2)
    assert everything == {v: {(theirs, "equal", "ipv4", v)} for v in values[::2]}
    wrong = client.get(
        f"{API}/reports/{ours}/correlations", params={"limit": 0}, headers=world.headers("ministry.reader")
    )
    assert wrong.status_code == 422 and field_paths(wrong) == ["limit"]
    wrong = client.get(
        f"{API}/reports/{ours}/correlations",
        params={"cursor": "nope"},
        headers=world.headers("ministry.reader"),
    )
    assert wrong.status_code == 422 and field_paths(wrong) == ["cursor"]


def test_matches_under_one_report_are_capped(client: TestClient, world: World) -> None:
    ours = _report(client, world, "ministry.publisher", "evil-c2.top")
    many = [f"h{n:02d}.evil-c2.top" for n in range(service.MAX_MATCHES + 5)]
    theirs = _report(client, world, "bank.publisher", *many)
    (item,) = report_correlations(client, world, "ministry.reader", ours)["items"]
    (report,) = item["reports"]
    assert report["uuid"] == theirs and report["more_matches"] is True
    assert [m["value"] for m in report["matches"]] == many[: service.MAX_MATCHES]  # the first added


def test_ranges_read_one_by_one_give_the_same_answer(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ROW_CAP rows, ranges are scanned one at a time: the answer must not change."""
    monkeypatch.setenv(service.LIMIT_VARIABLE, "2")
    ours = _report(
        client, world, "ministry.publisher", "evil-c2.top", "45.9.148.0/24", "45.9.0.0/16", "bad.top"
    )
    many = [f"h{n:02d}.evil-c2.top" for n in range(service.MAX_MATCHES + 2)]
    bank = _report(client, world, "bank.publisher", *many, "45.9.148.1", "45.9.148.2")
    intl = _report(client, world, "intl.publisher", "45.9.148.9", "www.bad.top", "45.9.7.7")
    ngo = _report(client, world, "ngo.publisher", "45.9.149.10", "cdn.bad.top")
    at_once = report_correlations(client, world, "ministry.reader", ours)
    monkeypatch.setattr(lookup, "ROW_CAP", 3)  # 30 rows in the ranges: one range at a time
    one_by_one = report_correlations(client, world, "ministry.reader", ours)
    assert one_by_one == at_once
    found = links(at_once)
    assert found["45.9.0.0/16"] == "over-correlating"  # bank, intl and ngo: more than 2
    assert found["45.9.148.0/24"] == {
        (bank, "contains", "ipv4", "45.9.148.1"),
        (bank, "contains", "ipv4", "45.9.148.2"),
        (intl, "contains", "ipv4", "45.9.148.9"),
    }
    assert found["bad.top"] == {
        (intl, "subdomain", "domain", "www.bad.top"),
        (ngo, "subdomain", "domain", "cdn.bad.top"),
    }
    (evil,) = [item for item in at_once["items"] if item["value"] == "evil-c2.top"]
    (report,) = evil["reports"]
    assert report["more_matches"] is True and len(report["matches"]) == service.MAX_MATCHES


def test_the_correlations_of_a_value(client: TestClient, world: World) -> None:
    a = _report(client, world, "ministry.publisher", "45.9.148.0/24", "login.evil-c2.top")
    b = _report(client, world, "bank.publisher", "45.9.148.3", "https://www.login.evil-c2.top/x")
    found = value_correlations(client, world, "ngo.reader", "45[.]9.148.3")
    assert (found["type"], found["value"], found["indicator"], found["over_correlating"]) == (
        "ipv4",
        "45.9.148.3",
        None,
        False,
    )
    assert found["over_correlation_limit"] == service.DEFAULT_LIMIT
    assert links_of(found) == {
        (a, "contained-in", "ipv4-cidr", "45.9.148.0/24"),
        (b, "equal", "ipv4", "45.9.148.3"),
    }
    domain = value_correlations(client, world, "ngo.reader", "evil-c2.top")
    assert links_of(domain) == {
        (a, "subdomain", "domain", "login.evil-c2.top"),
        (b, "contains", "url", "https://www.login.evil-c2.top/x"),
    }
    assert [r["uuid"] for r in domain["reports"]] == [b, a]  # newest first
    named = value_correlations(client, world, "ngo.reader", "login.evil-c2.top", type="filename")
    assert named["reports"] == []
    for params, path in (
        ({"value": "report.pdf"}, "value"),
        ({"value": "999.1.1.1", "type": "ipv4"}, "value"),
    ):
        wrong = client.get(f"{API}/correlations", params=params, headers=world.headers("ngo.reader"))
        assert wrong.status_code == 422 and field_paths(wrong) == [path], wrong.text
    missing = client.get(f"{API}/correlations", headers=world.headers("ngo.reader"))
    assert missing.status_code == 422


def test_indicators_added_changed_and_deleted_later(client: TestClient, world: World) -> None:
    ours = _report(client, world, "ministry.publisher", "45.9.148.3")
    theirs = _report(client, world, "bank.publisher", "evil-c2.top")
    assert report_correlations(client, world, "ministry.reader", ours)["items"] == []
    add_indicators(client, world, "bank.publisher", theirs, "45.9.148.0/24")
    assert links(report_correlations(client, world, "ministry.reader", ours)) == {
        "45.9.148.3": {(theirs, "contained-in", "ipv4-cidr", "45.9.148.0/24")}
    }
    items = client.get(f"{API}/reports/{theirs}/indicators", headers=world.headers("bank.publisher")).json()
    network = next(i for i in items["items"] if i["type"] == "ipv4-cidr")
    # Narrowed to bank alone: ministry no longer sees it, nor the link.
    changed = client.patch(
        f"{API}/indicators/{network['uuid']}",
        json={"distribution": "organisation"},
        headers=world.headers("bank.publisher"),
    )
    assert changed.status_code == 200, changed.text
    assert report_correlations(client, world, "ministry.reader", ours)["items"] == []
    client.patch(
        f"{API}/indicators/{network['uuid']}",
        json={"distribution": None},
        headers=world.headers("bank.publisher"),
    )
    assert len(report_correlations(client, world, "ministry.reader", ours)["items"]) == 1
    deleted = client.delete(f"{API}/indicators/{network['uuid']}", headers=world.headers("bank.publisher"))
    assert deleted.status_code == 204
    assert report_correlations(client, world, "ministry.reader", ours)["items"] == []
