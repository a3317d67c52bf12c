"""The authorization matrix, generated and driven over the real REST API, on SQLite and PostgreSQL.

Subjects × objects × operations, each cell's expected HTTP outcome computed by the independent oracle
(tests/policy_oracle.py, which never calls ``commonspace.policy``):

- subjects: anonymous; a site admin of a third, operator organisation; the owner organisation's org admin,
  publisher, analyst and reader; a read-only key of the owner's publisher; org admins of another
  community organisation, of an organisation in the reports' sharing group and of one outside it (but in
  another group); a member of the owner disabled, and an owner key revoked, after one successful request;
- objects: every distribution × every TLP allowed with it × draft/published (sharing-group reports go to
  a group of the owner and the partner organisation), each with one indicator of a unique value;
- operations: list (in GET /reports?), search (does POST /search/indicators with the report's value find
  it?), get, update (PATCH title), delete, publish.

The read-only operations run on one world. Every update, delete and publish cell gets its own copy of the
object, so a wrong answer in one cell cannot disturb another, and its effect on the database is checked
too (a refused change must leave the report as it was). A 404 must look exactly like the 404 for a random
UUID. All differing cells are collected and shown together.
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuid_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

import policy_oracle as oracle
from commonspace.accounts import service as accounts
from commonspace.domain.vocab import OrgKind, Role
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.store.db import session_factory, transaction
from commonspace.web.app import create_app

API = "/api/v1"

OWNER, OPERATOR, PARTNER, OUTSIDER, OTHER = "Owner", "Operator", "Partner", "Outsider", "Other"
ORGANISATIONS = (OWNER, OPERATOR, PARTNER, OUTSIDER, OTHER)
GROUP, OTHER_GROUP = "owner-and-partner", "outsider-and-partner"
GROUP_OWNERS = {GROUP: OWNER, OTHER_GROUP: OUTSIDER}
MEMBERSHIPS: dict[str, frozenset[str]] = {
    GROUP: frozenset({OWNER, PARTNER}),
    OTHER_GROUP: frozenset({OUTSIDER, PARTNER}),
}
CHANGED_TITLE = "changed by the matrix"


@dataclass(frozen=True)
class SubjectSpec:
    name: str
    email: str | None = None  # None: anonymous (no credentials at all)
    org: str | None = None
    role: str | None = None
    read_only: bool = False
    disabled: bool = False  # the member is disabled after one successful request
    revoked: bool = False  # the key is revoked after one successful request

    @property
    def actor(self) -> oracle.Actor | None:
        if self.email is None or self.disabled or self.revoked:
            return None
        assert self.org is not None and self.role is not None
        return oracle.Actor(org=self.org, role=self.role, read_only=self.read_only)


SUBJECTS = (
    SubjectSpec("anonymous"),
    SubjectSpec("site-admin@operator", "admin@operator.example", OPERATOR, "site-admin"),
    SubjectSpec("org-admin@owner", "admin@owner.example", OWNER, "org-admin"),
    SubjectSpec("publisher@owner", "publisher@owner.example", OWNER, "publisher"),
    SubjectSpec("analyst@owner", "analyst@owner.example", OWNER, "analyst"),
    SubjectSpec("reader@owner", "reader@owner.example", OWNER, "reader"),
    SubjectSpec("read-only key of publisher@owner", "publisher@owner.example", OWNER, "publisher", True),
    SubjectSpec("org-admin@other (community)", "admin@other.example", OTHER, "org-admin"),
    SubjectSpec("org-admin@partner (in group)", "admin@partner.example", PARTNER, "org-admin"),
    SubjectSpec("org-admin@outsider (not in group)", "admin@outsider.example", OUTSIDER, "org-admin"),
    SubjectSpec("disabled publisher@owner", "gone@owner.example", OWNER, "publisher", disabled=True),
    SubjectSpec("revoked key of org-admin@owner", "admin@owner.example", OWNER, "org-admin", revoked=True),
)


@dataclass(frozen=True)
class ObjectSpec:
    distribution: str
    tlp: str
    status: str

    @property
    def label(self) -> str:
        return f"{self.distribution}/{self.tlp}/{self.status}"

    @property
    def shared(self) -> oracle.Shared:
        group = GROUP if self.distribution == "sharing-group" else None
        return oracle.Shared(org=OWNER, status=self.status, distribution=self.distribution, group=group)

    @property
    def value(self) -> str:
        """The report's one indicator: a SHA-256 found in no other report."""
        return hashlib.sha256(f"matrix {self.label}".encode()).hexdigest()


OBJECTS = tuple(
    ObjectSpec(distribution, tlp, status)
    for distribution in oracle.DISTRIBUTIONS
    for tlp in oracle.TLPS
    if oracle.tlp_allowed(tlp, distribution)
    for status in oracle.STATUSES
)
DESTRUCTIVE = ("update", "delete", "publish")

# 12 subjects × (4 + 4 + 2 + 2 TLPs per distribution × 2 statuses = 32 objects) × 6 operations.
EXPECTED_CELLS = 12 * 32 * 6


@dataclass
class World:
    client: TestClient
    engine: Engine
    headers: dict[str, dict[str, str]]  # subject name -> request headers
    reports: dict[str, str] = field(default_factory=dict)  # object label -> report uuid


@dataclass(frozen=True)
class Cell:
    subject: str
    object: str
    operation: str
    expected: str
    actual: str


def _outcome(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


def _body_shape(response: Any, uuid: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return json.dumps(body, sort_keys=True).replace(uuid, "<uuid>")


def _request(client: TestClient, operation: str, uuid: str, headers: dict[str, str]) -> Any:
    url = f"{API}/reports/{uuid}"
    if operation == "get":
        return client.get(url, headers=headers)
    if operation == "update":
        return client.patch(url, json={"title": CHANGED_TITLE}, headers=headers)
    if operation == "delete":
        return client.delete(url, headers=headers)
    if operation == "publish":
        return client.post(f"{url}/publish", headers=headers)
    raise ValueError(operation)


def build_world(engine: Engine, client: TestClient, objects: tuple[ObjectSpec, ...] = OBJECTS) -> World:
    """Organisations, groups, members and keys as the operator makes them; ``objects`` over the API."""
    key_uuids: dict[str, str] = {}
    member_uuids: dict[str, str] = {}
    keys: dict[str, str] = {}
    with transaction(session_factory(engine, writer=True)) as session:
        orgs = {
            name: accounts.create_organisation(
                session, None, name=name, kind=OrgKind.ENTERPRISE, country="FR"
            )
            for name in ORGANISATIONS
        }
        for group, members in MEMBERSHIPS.items():
            owner = orgs[GROUP_OWNERS[group]]
            sharing.create_group(session, None, name=group, owner=owner, members=[orgs[m] for m in members])
        members: dict[str, t.Member] = {}
        for spec in SUBJECTS:
            if spec.email is None:
                continue
            assert spec.org is not None and spec.role is not None
            if spec.email not in members:
                members[spec.email] = accounts.create_member(
                    session, None, email=spec.email, org=orgs[spec.org], role=Role(spec.role)
                )
            member = members[spec.email]
            api_key, keys[spec.name] = accounts.create_api_key(
                session, None, member, name=spec.name, read_only=spec.read_only
            )
            key_uuids[spec.name], member_uuids[spec.name] = api_key.uuid, member.uuid
    headers = {spec.name: {"Authorization": f"Bearer {keys[spec.name]}"} for spec in SUBJECTS if spec.email}
    headers["anonymous"] = {}
    world = World(client=client, engine=engine, headers=headers)

    publisher = headers["publisher@owner"]
    for obj in objects:
        body: dict[str, Any] = {
            "title": obj.label,
            "tlp": obj.tlp,
            "distribution": obj.distribution,
            "indicators": [{"value": obj.value}],
        }
        if obj.distribution == "sharing-group":
            body["sharing_group"] = GROUP
        created = client.post(f"{API}/reports", json=body, headers=publisher)
        assert created.status_code == 201, created.text
        world.reports[obj.label] = created.json()["uuid"]
        if obj.status == "published":
            published = client.post(f"{API}/reports/{world.reports[obj.label]}/publish", headers=publisher)
            assert published.status_code == 200, published.text

    # A revoked key and a disabled member work until the change, and get 401 from the very next request.
    admin = headers["org-admin@owner"]
    for spec in SUBJECTS:
        if spec.revoked or spec.disabled:
            assert client.get(f"{API}/reports", headers=headers[spec.name]).status_code == 200
        if spec.revoked:
            revoked = client.delete(f"{API}/api-keys/{key_uuids[spec.name]}", headers=admin)
            assert revoked.status_code == 200, revoked.text
        if spec.disabled:
            disabled = client.patch(
                f"{API}/members/{member_uuids[spec.name]}", json={"disabled": True}, headers=admin
            )
            assert disabled.status_code == 200, disabled.text
    return world


def _listed(world: World, headers: dict[str, str]) -> str | set[str]:
    """The report uuids GET /reports shows (following the cursor), or the error status."""
    seen: set[str] = set()
    params: dict[str, Any] = {"limit": 500}
    while True:
        response = world.client.get(f"{API}/reports", params=params, headers=headers)
        if response.status_code != 200:
            return str(response.status_code)
        page = response.json()
        seen |= {item["uuid"] for item in page["items"]}
        if not page["next_cursor"]:
            return seen
        params["cursor"] = page["next_cursor"]


def _searched(world: World, headers: dict[str, str]) -> str | dict[str, set[str]]:
    """One search for every object's value at once: report uuid -> the values it was found by."""
    found: dict[str, set[str]] = {}
    body: dict[str, Any] = {"values": [obj.value for obj in OBJECTS], "limit": 1000}
    while True:
        response = world.client.post(f"{API}/search/indicators", json=body, headers=headers)
        if response.status_code != 200:
            return str(response.status_code)
        page = response.json()
        for hit in page["items"]:
            found.setdefault(hit["report_uuid"], set()).update(hit["matched"])
        if not page["next_cursor"]:
            return found
        body["cursor"] = page["next_cursor"]


def _copies(world: World) -> dict[tuple[str, str, str], str]:
    """A fresh copy of each object for each destructive cell: (subject, object, operation) -> uuid."""
    copies: dict[tuple[str, str, str], str] = {}
    with transaction(session_factory(world.engine, writer=True)) as session:
        originals = {
            r.uuid: r
            for r in session.scalars(select(t.Report).where(t.Report.uuid.in_(world.reports.values())))
        }
        for operation in DESTRUCTIVE:
            for spec in SUBJECTS:
                for obj in OBJECTS:
                    source = originals[world.reports[obj.label]]
                    copy = t.Report(
                        uuid=str(uuid_module.uuid4()),
                        title=source.title,
                        tlp=source.tlp,
                        distribution=source.distribution,
                        sharing_group_id=source.sharing_group_id,
                        status=source.status,
                        org_id=source.org_id,
                        creator_id=source.creator_id,
                        published=source.published,
                    )
                    session.add(copy)
                    copies[spec.name, obj.label, operation] = copy.uuid
    return copies


def _effect_problem(operation: str, outcome: str, obj: ObjectSpec, row: tuple[str, str] | None) -> str | None:
    """What is wrong with the copy's state after the request, if anything."""
    if outcome == "2xx":
        wanted = {
            "update": (CHANGED_TITLE, obj.status),
            "delete": None,
            "publish": (obj.label, "published"),
        }[operation]
    else:
        wanted = (obj.label, obj.status)
    if row == wanted:
        return None
    return f"left the report as {row!r}, not {wanted!r}"


def run_matrix(world: World) -> tuple[list[Cell], int]:
    """Every cell's actual outcome against the oracle's; returns the differing cells and the cell count."""
    cells: list[Cell] = []

    def check(spec: SubjectSpec, obj: ObjectSpec, operation: str, actual: str) -> None:
        wanted = oracle.expected(spec.actor, obj.shared, operation, MEMBERSHIPS)
        cells.append(Cell(spec.name, obj.label, operation, wanted, actual))

    not_found: dict[tuple[str, str], str] = {}  # (subject, operation) -> status and body for a random uuid
    for spec in SUBJECTS:
        headers = world.headers[spec.name]
        for operation in ("get", *DESTRUCTIVE):
            absent = str(uuid_module.uuid4())
            response = _request(world.client, operation, absent, headers)
            not_found[spec.name, operation] = f"{response.status_code} {_body_shape(response, absent)}"

    def actual_of(spec: SubjectSpec, operation: str, uuid: str, response: Any) -> str:
        outcome = _outcome(response.status_code)
        if outcome == "404":
            shape = f"404 {_body_shape(response, uuid)}"
            if shape != not_found[spec.name, operation]:
                return f"{shape} (a random uuid gives {not_found[spec.name, operation]})"
        return outcome

    # The read-only operations, on the one world.
    for spec in SUBJECTS:
        headers = world.headers[spec.name]
        listed, searched = _listed(world, headers), _searched(world, headers)
        for obj in OBJECTS:
            uuid = world.reports[obj.label]
            if isinstance(listed, str):
                check(spec, obj, "list", listed)
            else:
                check(spec, obj, "list", "present" if uuid in listed else "absent")
            if isinstance(searched, str):
                check(spec, obj, "search", searched)
            else:
                check(spec, obj, "search", "present" if obj.value in searched.get(uuid, ()) else "absent")
            response = _request(world.client, "get", uuid, headers)
            check(spec, obj, "get", actual_of(spec, "get", uuid, response))

    # The changing operations, each on its own copy; then what each did to its copy.
    by_name = {spec.name: spec for spec in SUBJECTS}
    copies = _copies(world)
    outcomes: dict[tuple[str, str, str], tuple[str, str]] = {}  # cell -> (status class, actual)
    for (subject, label, operation), uuid in copies.items():
        spec = by_name[subject]
        response = _request(world.client, operation, uuid, world.headers[subject])
        actual = actual_of(spec, operation, uuid, response)
        outcomes[subject, label, operation] = (_outcome(response.status_code), actual)
    with transaction(session_factory(world.engine)) as session:
        state = {
            uuid: (title, status)
            for uuid, title, status in session.execute(
                select(t.Report.uuid, t.Report.title, t.Report.status).where(
                    t.Report.uuid.in_(list(copies.values()))
                )
            )
        }
    by_label = {obj.label: obj for obj in OBJECTS}
    for (subject, label, operation), uuid in copies.items():
        outcome, actual = outcomes[subject, label, operation]
        problem = _effect_problem(operation, outcome, by_label[label], state.get(uuid))
        check(by_name[subject], by_label[label], operation, f"{actual} but {problem}" if problem else actual)

    assert len({(c.subject, c.object, c.operation) for c in cells}) == len(cells), "a cell ran twice"
    return [c for c in cells if c.expected != c.actual], len(cells)


def _table(cells: list[Cell]) -> str:
    header = Cell("subject", "object", "operation", "expected", "actual")
    rows = [header, *sorted(cells, key=lambda c: (c.subject, c.object, c.operation))]
    widths = [
        max(len(getattr(r, name)) for r in rows) for name in ("subject", "object", "operation", "expected")
    ]
    return "\n".join(
        f"{r.subject:<{widths[0]}}  {r.object:<{widths[1]}}  {r.operation:<{widths[2]}}  "
        f"{r.expected:<{widths[3]}}  {r.actual}"
        for r in rows
    )


@pytest.fixture
def matrix_client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as test_client:
        yield test_client


def test_the_matrix_is_complete() -> None:
    assert len(SUBJECTS) == 12
    assert len(OBJECTS) == 32
    assert len(set(SUBJECTS)) == len(SUBJECTS) and len(set(OBJECTS)) == len(OBJECTS)
    assert len(SUBJECTS) * len(OBJECTS) * len(oracle.OPERATIONS) == EXPECTED_CELLS


def test_authorization_matrix(engine: Engine, matrix_client: TestClient) -> None:
    world = build_world(engine, matrix_client)
    differing, count = run_matrix(world)
    assert count == EXPECTED_CELLS, f"the matrix has {count} cells, not {EXPECTED_CELLS}"
    assert not differing, f"{len(differing)} of {count} cells differ from the rules:\n{_table(differing)}"


def test_tlp_red_and_amber_strict_stay_narrow(engine: Engine, matrix_client: TestClient) -> None:
    """The combinations the matrix leaves out are refused, at creation and by an update."""
    refused = [
        (tlp, distribution)
        for tlp in oracle.TLPS
        for distribution in oracle.DISTRIBUTIONS
        if not oracle.tlp_allowed(tlp, distribution)
    ]
    assert len(refused) == 4
    narrow_and_wide = {ObjectSpec("organisation", tlp, "draft") for tlp, _ in refused} | {
        ObjectSpec(distribution, "CLEAR", "draft") for _, distribution in refused
    }
    client = matrix_client
    world = build_world(engine, client, tuple(sorted(narrow_and_wide, key=lambda obj: obj.label)))
    publisher = world.headers["publisher@owner"]
    for tlp, distribution in refused:
        body = {"title": "too wide", "tlp": tlp, "distribution": distribution}
        created = client.post(f"{API}/reports", json=body, headers=publisher)
        assert created.status_code == 422, (tlp, distribution, created.text)
        narrow = world.reports[ObjectSpec("organisation", tlp, "draft").label]
        widened = client.patch(
            f"{API}/reports/{narrow}", json={"distribution": distribution}, headers=publisher
        )
        assert widened.status_code == 422, (tlp, distribution, widened.text)
        # and a wide report cannot be made RED or AMBER+STRICT either
        wide = world.reports[ObjectSpec(distribution, "CLEAR", "draft").label]
        tightened = client.patch(f"{API}/reports/{wide}", json={"tlp": tlp}, headers=publisher)
        assert tightened.status_code == 422, (tlp, distribution, tightened.text)
