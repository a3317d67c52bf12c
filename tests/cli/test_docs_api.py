"""docs/api.md lists exactly the endpoints the app serves, every error code, and examples that validate."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from commonspace.domain.errors import CommonspaceError
from commonspace.forum.schemas import PostIn, TopicIn
from commonspace.reports.api import SearchIn
from commonspace.reports.schemas import BulkIndicators, ReportIn, SightingIn
from commonspace.store.db import make_engine
from commonspace.web.app import create_app

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = {"get", "post", "put", "patch", "delete"}
# A row of an endpoint table: | `GET` | `/api/v1/reports` | ...
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE)`\s*\|\s*`(/[^`]*)`\s*\|", re.MULTILINE)


@functools.cache
def text() -> str:
    return API_MD.read_text(encoding="utf-8")


def served() -> set[tuple[str, str]]:
    engine = make_engine("sqlite://")
    try:
        spec: dict[str, Any] = create_app(engine).openapi()
    finally:
        engine.dispose()
    return {
        (method.upper(), path) for path, ops in spec["paths"].items() for method in ops if method in METHODS
    }


def documented() -> set[tuple[str, str]]:
    return {(m.group(1), m.group(2)) for m in ROW.finditer(text())}


def test_every_endpoint_is_documented() -> None:
    missing = sorted(served() - documented())
    assert not missing, "docs/api.md has no table row for: " + ", ".join(f"{m} {p}" for m, p in missing)


def test_every_documented_endpoint_exists() -> None:
    gone = sorted(documented() - served())
    assert not gone, "docs/api.md lists endpoints the app does not serve: " + ", ".join(
        f"{m} {p}" for m, p in gone
    )


def _subclasses(cls: type[CommonspaceError]) -> Iterator[type[CommonspaceError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.mark.parametrize("error", sorted(_subclasses(CommonspaceError), key=lambda c: c.code), ids=str)
def test_every_error_code_is_documented(error: type[CommonspaceError]) -> None:
    assert re.search(rf"^\| {error.status} \| `{error.code}` \|", text(), re.MULTILINE), error.code


# Request bodies in the curl examples: `"$CS/<path>" -d '<json>'` or `"$CS/<path>" \ ... -d '<json>'`.
EXAMPLE = re.compile(r"\"\$CS(/[^\"?]*)[^\"]*\"[^']*?-d '(\{.*?\})'", re.DOTALL)
BODIES: dict[str, type[BaseModel]] = {
    "/reports": ReportIn,
    "/search/indicators": SearchIn,
    "/indicators/$INDICATOR/sightings": SightingIn,
    "/reports/$REPORT/indicators": BulkIndicators,
    "/reports/$REPORT/posts": PostIn,
    "/forum/topics": TopicIn,
}


def examples() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in EXAMPLE.finditer(text())]


def test_the_examples_are_found() -> None:
    assert {path for path, _ in examples()} >= {"/reports", "/search/indicators"}


@pytest.mark.parametrize(("path", "body"), examples(), ids=[p for p, _ in examples()])
def test_the_example_bodies_are_valid(path: str, body: str) -> None:
    """Each example's JSON parses and passes the endpoint's own validation (TLP rule included)."""
    assert path in BODIES, f"no schema known for the example body of {path}: add it to BODIES"
    BODIES[path].model_validate(json.loads(body))
