"""A report the viewer cannot see never shows in correlations, nor changes anything the viewer observes:
not the reports listed, not the values listed, not an over-correlating flag, not the pages."""

from __future__ import annotations

from typing import Any

import pytest
from correlation_helpers import links, report_correlations, value_correlations
from fastapi.testclient import TestClient
from sqlalchemy import select

from commonspace.correlation import service
from commonspace.store import tables as t
from world import API, GROUP, World, error_of, new_report

VALUES = ("45.9.148.3", "login.evil-c2.top", "45.9.150.7", "https://cdn.evil-c2.top/kit.zip")


def _report(
    client: TestClient, world: World, label: str, *values: Any, publish: bool = True, **fields: Any
) -> str:
    items = [{"value": v} if isinstance(v, str) else v for v in values]
    uuid: str = new_report(client, world, label, publish=publish, indicators=items, **fields)["uuid"]
    return uuid


def _observed(client: TestClient, world: World, label: str, report: str) -> list[Any]:
    """Everything ``label`` can learn about correlations around ``report``, pages and values included."""
    seen: list[Any] = [report_correlations(client, world, label, report)]
    seen.append(report_correlations(client, world, label, report, limit=1))
    seen += [
        value_correlations(client, world, label, value) for value in (*VALUES, "evil-c2.top", "45.9.0.0/16")
    ]
    return seen


def test_hidden_reports_change_nothing_a_member_observes(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service.LIMIT_VARIABLE, "2")
    theirs = _report(
        client, world, "bank.publisher", "45.9.148.3", "evil-c2.top", "45.9.150.0/24", tlp="GREEN"
    )
    ours = _report(client, world, "ngo.publisher", *VALUES)
    before = _observed(client, world, "ngo.reader", ours)
    assert links(before[0]) == {
        "45.9.148.3": {(theirs, "equal", "ipv4", "45.9.148.3")},
        "login.evil-c2.top": {(theirs, "parent-domain", "domain", "evil-c2.top")},
        "45.9.150.7": {(theirs, "contained-in", "ipv4-cidr", "45.9.150.0/24")},
        "https://cdn.evil-c2.top/kit.zip": {(theirs, "contained-in", "domain", "evil-c2.top")},
    }
    linked = ("45.9.148.3", "evil-c2.top", "45.9.150.0/24", "www.login.evil-c2.top", "45.9.0.0/16")
    # Hidden from ngo, each in its own way, and each holding every linked value, five times over: more
    # than the limit of reports, and hot values for the counts.
    hidden = []
    for _ in range(5):
        hidden.append(_report(client, world, "ministry.publisher", *linked, distribution="organisation"))
        hidden.append(_report(client, world, "intl.publisher", *linked, publish=False))  # a draft
        hidden.append(
            _report(
                client,
                world,
                "ministry.publisher",
                *linked,
                tlp="RED",
                distribution="sharing-group",
                sharing_group=GROUP,
            )
        )
        narrowed = [{"value": value, "distribution": "organisation"} for value in linked]
        hidden.append(_report(client, world, "intl.publisher", *narrowed, "only-this.top"))
    with world.session() as session:
        counts = {
            v: n for v, n in session.execute(select(t.CorrelationValue.canonical, t.CorrelationValue.reports))
        }
    assert counts["45.9.148.3"] == 22  # the counts know them all ...
    assert _observed(client, world, "ngo.reader", ours) == before  # ... ngo learns nothing of them
    # The bank is in the group: it does see the group's reports, and the same values over-correlate there.
    bank_view = links(report_correlations(client, world, "bank.reader", theirs))
    assert bank_view["45.9.148.3"] == "over-correlating"
    # A hidden report is not found either, exactly as a report that does not exist.
    for uuid in hidden[:3]:
        refused = client.get(f"{API}/reports/{uuid}/correlations", headers=world.headers("ngo.reader"))
        missing = client.get(
            f"{API}/reports/00000000-0000-4000-8000-000000000000/correlations",
            headers=world.headers("ngo.reader"),
        )
        assert refused.status_code == missing.status_code == 404
        assert error_of(refused)["code"] == error_of(missing)["code"] == "not_found"


def test_a_narrowed_indicator_of_ours_is_not_correlated_for_others(client: TestClient, world: World) -> None:
    ours = _report(
        client,
        world,
        "ministry.publisher",
        "45.9.148.3",
        {"value": "evil-c2.top", "distribution": "organisation"},
    )
    theirs = _report(client, world, "bank.publisher", "45.9.148.3", "evil-c2.top")
    assert set(links(report_correlations(client, world, "ministry.reader", ours))) == {
        "45.9.148.3",
        "evil-c2.top",
    }
    assert set(links(report_correlations(client, world, "bank.reader", ours))) == {"45.9.148.3"}
    assert links(report_correlations(client, world, "bank.reader", theirs)) == {
        "45.9.148.3": {(ours, "equal", "ipv4", "45.9.148.3")}
    }


def test_reading_correlations_is_in_the_access_log_of_the_reports_listed(
    client: TestClient, world: World
) -> None:
    ours = _report(client, world, "ngo.publisher", "45.9.148.3")
    theirs = _report(client, world, "bank.publisher", "45.9.148.3")
    own = _report(client, world, "ngo.publisher", "45.9.148.3")
    report_correlations(client, world, "ngo.reader", ours)
    value_correlations(client, world, "intl.reader", "45.9.148.3")
    with world.session() as session:
        events = session.execute(
            select(t.AuditEvent.object_uuid, t.AuditEvent.org_id, t.AuditEvent.detail).where(
                t.AuditEvent.action == "report.read"
            )
        ).all()
    by_correlation = {(uuid, org) for uuid, org, detail in events if detail.get("path") == "correlation"}
    ngo, intl = world.orgs["ngo"].id, world.orgs["intl"].id
    assert by_correlation == {(theirs, ngo), (ours, intl), (theirs, intl), (own, intl)}
