"""A small world for API tests: organisations, members of every role with API keys, a sharing group.

Everything is created through the services (as the operator, ``subject=None``), never with raw SQL, so the
world is one the application itself could have made. Labels name things in tests:

- organisations by short name: ``ministry`` (government, FR), ``bank`` (enterprise, DE), ``intl``
  (international organisation, no country), ``ngo`` (civil society, BR), ``operator`` (enterprise, EE,
  home of the site administrator);
- members as ``ORG.ROLE``: ``ministry.admin``, ``ministry.publisher``, ``ministry.analyst``,
  ``ministry.reader`` and the same for ``bank``, ``intl`` and ``ngo``; ``site`` (site-admin) and
  ``operator.admin`` in ``operator``;
- the sharing group ``ministry-bank`` owned by ``ministry`` with ``bank`` as its other member.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from commonspace.accounts import service as accounts
from commonspace.domain.vocab import OrgKind, Role
from commonspace.sharing import service as sharing
from commonspace.store.db import session_factory, transaction

API = "/api/v1"

ORGS: dict[str, tuple[str, OrgKind, str | None]] = {
    "ministry": ("Ministry of Digital Affairs", OrgKind.GOVERNMENT, "FR"),
    "bank": ("Rheinbank AG", OrgKind.ENTERPRISE, "DE"),
    "intl": ("International Response Team", OrgKind.INTERNATIONAL, None),
    "ngo": ("Citizens for a Safe Net", OrgKind.CIVIL_SOCIETY, "BR"),
    "operator": ("Commonspace Operator", OrgKind.ENTERPRISE, "EE"),
}
ROLE_LABELS = {
    "admin": Role.ORG_ADMIN,
    "publisher": Role.PUBLISHER,
    "analyst": Role.ANALYST,
    "reader": Role.READER,
}
GROUP = "ministry-bank"


@dataclass(frozen=True)
class OrgInfo:
    id: int
    uuid: str
    name: str
    kind: str
    country: str | None


@dataclass(frozen=True)
class MemberInfo:
    id: int
    uuid: str
    email: str
    org: str
    role: Role


@dataclass(frozen=True)
class KeyInfo:
    id: int
    uuid: str


@dataclass(frozen=True)
class GroupInfo:
    id: int
    uuid: str
    name: str


@dataclass
class World:
    engine: Engine
    orgs: dict[str, OrgInfo] = field(default_factory=dict)
    members: dict[str, MemberInfo] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, KeyInfo] = field(default_factory=dict)
    groups: dict[str, GroupInfo] = field(default_factory=dict)

    def headers(self, label: str) -> dict[str, str]:
        """The Authorization header of member ``label``'s API key."""
        return {"Authorization": f"Bearer {self.keys[label]}"}

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the world's database, to look behind the API."""
        with transaction(session_factory(self.engine)) as session:
            yield session


def build_world(engine: Engine) -> World:
    world = World(engine)
    with transaction(session_factory(engine, writer=True)) as session:
        rows = {}
        for short, (name, kind, country) in ORGS.items():
            org = accounts.create_organisation(session, None, name=name, kind=kind, country=country)
            rows[short] = org
            world.orgs[short] = OrgInfo(org.id, org.uuid, org.name, org.kind, org.country)
        people: list[tuple[str, str, Role]] = [("site", "operator", Role.SITE_ADMIN)]
        people.append(("operator.admin", "operator", Role.ORG_ADMIN))
        for short in ("ministry", "bank", "intl", "ngo"):
            people += [(f"{short}.{r}", short, role) for r, role in ROLE_LABELS.items()]
        for label, short, role in people:
            member = accounts.create_member(
                session, None, email=f"{label}@{short}.example", org=rows[short], role=role, name=label
            )
            key, plaintext = accounts.create_api_key(session, None, member, name=f"{label} key")
            world.members[label] = MemberInfo(member.id, member.uuid, member.email, short, role)
            world.keys[label] = plaintext
            world.key_ids[label] = KeyInfo(key.id, key.uuid)
        group = sharing.create_group(
            session, None, name=GROUP, owner=rows["ministry"], members=[rows["bank"]], description="bilateral"
        )
        world.groups[GROUP] = GroupInfo(group.id, group.uuid, group.name)
    return world


# --- helpers shared by the API tests ----------------------------------------------------------------


def report_body(title: str = "Phishing wave", **fields: Any) -> dict[str, Any]:
    """A minimal valid report body (AMBER, community) with ``fields`` on top."""
    return {"title": title, "tlp": "AMBER", "distribution": "community", **fields}


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of a JSON error response (and check its shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields"}
    return error


def field_paths(response: Any) -> list[str]:
    return [f["path"] for f in error_of(response).get("fields", [])]


def new_report(
    client: Any, world: World, label: str, *, publish: bool = False, title: str = "Report", **fields: Any
) -> dict[str, Any]:
    """Create a report as member ``label`` (and publish it); its JSON."""
    response = client.post(f"{API}/reports", json=report_body(title, **fields), headers=world.headers(label))
    assert response.status_code == 201, response.text
    report: dict[str, Any] = response.json()
    if publish:
        response = client.post(f"{API}/reports/{report['uuid']}/publish", headers=world.headers(label))
        assert response.status_code == 200, response.text
        report = response.json()
    return report


def add_indicators(
    client: Any, world: World, label: str, report_uuid: str, *items: dict[str, Any] | str
) -> dict[str, Any]:
    """Add indicators (dicts, or bare values) to a report as member ``label``; the bulk result."""
    body = {"indicators": [{"value": i} if isinstance(i, str) else i for i in items]}
    response = client.post(f"{API}/reports/{report_uuid}/indicators", json=body, headers=world.headers(label))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


# --- helpers shared by the page tests ---------------------------------------------------------------

PASSWORD = "correct horse battery staple"


def give_password(world: World, label: str, password: str = PASSWORD) -> None:
    """Set member ``label``'s password (the world is built without, as argon2 is slow on purpose)."""
    with transaction(session_factory(world.engine, writer=True)) as session:
        member = accounts.visible_member(session, None, world.members[label].uuid)
        accounts.update_member(session, None, member, password=password)


def form_token(html: str) -> str:
    """The CSRF token in a page's form."""
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def sign_in(client: Any, world: World, label: str) -> str:
    """Sign member ``label`` in through the sign-in form; the session's CSRF token for later forms."""
    give_password(world, label)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": world.members[label].email, "password": PASSWORD, "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return form_token(client.get("/").text)
