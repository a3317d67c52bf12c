"""The API's error format, authentication failures and the OpenAPI description."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from commonspace.reports import service as reports_service
from commonspace.web.app import create_app
from world import API, World, error_of, field_paths


def _errors_are_json(client: TestClient, world: World) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer cs_nope"},
        {"Authorization": "Token x"},
    ):
        response = client.get(f"{API}/reports", headers=headers)
        assert response.status_code == 401, headers
        assert error_of(response)["code"] == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"
        assert world.keys["site"] not in response.text
    assert client.post(f"{API}/reports", json={"title": "x"}).status_code == 401
    # HTTP Basic with the key as password (what TAXII clients send) works too.
    basic = base64.b64encode(f"anyone:{world.keys['bank.reader']}".encode()).decode()
    assert client.get(f"{API}/me", headers={"Authorization": f"Basic {basic}"}).json()["email"] == (
        world.members["bank.reader"].email
    )
    headers = world.headers("bank.publisher")
    missing = client.get(f"{API}/reports/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    no_route = client.get(f"{API}/nowhere", headers=headers)
    assert no_route.status_code == 404 and error_of(no_route)["code"] == "not_found"
    wrong_method = client.put(f"{API}/reports", headers=headers)
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["allow"]
    broken = client.post(
        f"{API}/reports", content=b'{"title": ', headers={**headers, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and error_of(broken)["code"] == "invalid"
    invalid = client.post(f"{API}/reports", json={"tlp": "AMBER"}, headers=headers)
    assert invalid.status_code == 422
    error = error_of(invalid)
    assert error["fields"] == [{"path": "title", "message": "Field required"}]
    assert "title" in error["message"]
    assert field_paths(client.get(f"{API}/reports", params={"limit": "many"}, headers=headers)) == ["limit"]


def _unexpected_errors_are_json_too(engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> list[str]:
        raise RuntimeError("the tag index is corrupt")

    monkeypatch.setattr(reports_service, "visible_tags", broken)
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        response = client.get(f"{API}/tags", headers=world.headers("bank.reader"))
    assert response.status_code == 500
    assert error_of(response) == {"code": "internal", "message": "internal server error"}
    assert "corrupt" not in response.text


def _openapi_lists_the_paths(client: TestClient) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = set(spec["paths"])
    expected = {
        "/organisations",
        "/organisations/{uuid}",
        "/me",
        "/members",
        "/members/{uuid}",
        "/members/{uuid}/api-keys",
        "/api-keys/{uuid}",
        "/sharing-groups",
        "/sharing-groups/{uuid}",
        "/sharing-groups/{uuid}/members",
        "/sharing-groups/{uuid}/members/{org}",
        "/reports",
        "/reports/{uuid}",
        "/reports/{uuid}/publish",
        "/reports/{uuid}/indicators",
        "/indicators/{uuid}",
        "/indicators/{uuid}/sightings",
        "/search/indicators",
        "/tags",
        "/audit/access",
        "/jobs",
        "/jobs/{uuid}",
        "/jobs/{uuid}/cancel",
    }
    assert {API + p for p in expected} <= paths
    assert set(spec["paths"][f"{API}/reports/{{uuid}}"]) == {"get", "patch", "delete"}
    assert "202" in spec["paths"][f"{API}/reports/{{uuid}}/indicators"]["post"]["responses"]
    assert client.get(f"{API}/docs").status_code == 200


def test_errors_and_openapi(
    client: TestClient, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _errors_are_json(client, world)
    _unexpected_errors_are_json_too(engine, world, monkeypatch)
    _openapi_lists_the_paths(client)
