"""Helpers of the correlation tests: the answers of the two endpoints, reduced to what they link."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from world import API, World

Link = tuple[str, str, str, str]  # (their report's UUID, kind, their type, their value)


def report_correlations(
    client: TestClient, world: World, label: str, report_uuid: str, **params: Any
) -> dict[str, Any]:
    response = client.get(
        f"{API}/reports/{report_uuid}/correlations", params=params, headers=world.headers(label)
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def value_correlations(
    client: TestClient, world: World, label: str, value: str, **params: Any
) -> dict[str, Any]:
    response = client.get(
        f"{API}/correlations", params={"value": value, **params}, headers=world.headers(label)
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def links_of(item: dict[str, Any]) -> set[Link]:
    return {
        (report["uuid"], match["kind"], match["type"], match["value"])
        for report in item["reports"]
        for match in report["matches"]
    }


def links(page: dict[str, Any]) -> dict[str, set[Link] | str]:
    """Our canonical value -> its links, or "over-correlating"."""
    return {
        item["value"]: "over-correlating" if item["over_correlating"] else links_of(item)
        for item in page["items"]
    }


def all_links(
    client: TestClient, world: World, label: str, report_uuid: str, **params: Any
) -> dict[str, Any]:
    """links() over every page."""
    found: dict[str, Any] = {}
    cursor = None
    while True:
        page = report_correlations(
            client, world, label, report_uuid, **params, **({"cursor": cursor} if cursor else {})
        )
        found.update(links(page))
        cursor = page["next_cursor"]
        if cursor is None:
            return found
