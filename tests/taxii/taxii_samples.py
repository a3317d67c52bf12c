"""STIX 2.1 objects for the TAXII tests, the live server's handle, and helpers shared by the modules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx2
from taxii2client.v21 import ApiRoot, Collection, Server

from world import World

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/api"
COMMUNITY = "432d9716-72b4-58ee-b188-2f104e2e6088"
CLEAR = "a5ebb859-9df1-5d26-babf-0758898cc932"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def stix_id(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n, version=4)}"


def attack_pattern(n: int = 1, modified: str = "2024-01-02T03:04:05.000Z", **extra: Any) -> dict[str, Any]:
    return {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": stix_id("attack-pattern", n),
        "created": "2024-01-02T03:04:05.000Z",
        "modified": modified,
        "name": f"Spearphishing link {n}",
        **extra,
    }


def indicator(n: int, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id("indicator", n),
        "created": "2024-01-02T03:04:05.000Z",
        "modified": "2024-01-02T03:04:05.000Z",
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-02T03:04:05Z",
        **extra,
    }


def report(n: int, refs: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": stix_id("report", n),
        "created": "2024-01-02T03:04:05.000Z",
        "modified": "2024-01-02T03:04:05.000Z",
        "name": f"Kit report {n}",
        "published": "2024-01-02T03:04:05Z",
        "object_refs": refs,
        **extra,
    }


def objects_url(collection: str) -> str:
    return f"{ROOT}/collections/{collection}/objects/"


def taxii_headers(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": TAXII, **more}


def post_headers(key: str) -> dict[str, str]:
    return taxii_headers(key, **{"Content-Type": TAXII})


def taxii_error_of(response: Any) -> dict[str, Any]:
    """The TAXII error message of a response (and check its shape and media type)."""
    assert response.headers["content-type"] == TAXII, response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == {"title", "description", "http_status"}, body
    assert body["http_status"] == str(response.status_code) and body["title"] and body["description"]
    return body


@dataclass
class TaxiiServer:
    url: str
    world: World
    http: httpx2.Client  # for the REST API and raw TAXII requests

    def server(self, label: str) -> Server:
        """The discovery endpoint as member ``label`` (HTTP Basic, the key as the password)."""
        return Server(f"{self.url}/taxii2/", user=label, password=self.world.keys[label])

    def api_root(self, label: str) -> ApiRoot:
        return ApiRoot(f"{self.url}/taxii2/api/", user=label, password=self.world.keys[label])

    def collection(self, label: str, collection_id: str) -> Collection:
        url = f"{self.url}/taxii2/api/collections/{collection_id}/"
        return Collection(url, user=label, password=self.world.keys[label])
