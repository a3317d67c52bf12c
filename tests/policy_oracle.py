"""The access rules, restated independently of ``commonspace.policy``, for the policy tests.

Written from the specification only (it imports nothing of the product, and uses the wire spellings as
plain strings), so that the product and this oracle can be checked against each other:

- a site admin sees everything;
- an organisation sees all its own reports, drafts included;
- others see only published reports: distribution ``organisation`` nobody else, ``sharing-group`` the
  member organisations of that group, ``community`` and ``connected-communities`` every organisation;
- TLP RED and AMBER+STRICT travel only with ``organisation`` or ``sharing-group``;
- visible never means editable: publishers and org admins of the creator organisation, and site admins,
  edit, delete and publish; analysts and readers never; read-only API keys never write;
- an indicator inherits its report's visibility unless narrowed, and then both must allow;
- a forum topic is seen by its own organisation and, by distribution, ``community`` every organisation,
  ``sharing-group`` the member organisations of that group; site admins see every topic;
- a post is seen exactly when its parent (a report's thread, or a topic) is; whoever sees the parent may
  post, readers included, except with a read-only key;
- a post is edited and deleted by its author, the org admins of the organisation it was posted from, and
  site admins, never with a read-only key;
- over HTTP: no valid credentials (anonymous, revoked key, disabled member) is 401; invisible is 404
  (absent from lists and searches); visible but not allowed is 403; otherwise 2xx.

Ambiguity resolved: "publishers, org admins (of the creator organisation) and site admins" is read with
the parenthesis binding to publishers and org admins only: a site admin of any organisation may change
any report (a site admin sees everything, and is the instance's operator).

Used by tests/test_policy_matrix.py and tests/test_policy_agreement.py (``tests/`` is on ``sys.path``:
it has no ``__init__.py``, so pytest's default "prepend" import mode puts it there for its conftest).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, replace

ROLES = ("site-admin", "org-admin", "publisher", "analyst", "reader")
DISTRIBUTIONS = ("organisation", "sharing-group", "community", "connected-communities")
TLPS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
STATUSES = ("draft", "published")
OPERATIONS = ("list", "search", "get", "update", "delete", "publish")

# Group -> the organisations that are its members.
Memberships = Mapping[Hashable, Collection[Hashable]]


def tlp_allowed(tlp: str, distribution: str) -> bool:
    """RED and AMBER+STRICT only with the organisation or a sharing group."""
    if tlp in ("RED", "AMBER+STRICT"):
        return distribution in ("organisation", "sharing-group")
    return True


@dataclass(frozen=True)
class Actor:
    """Someone with valid credentials: their organisation, role and whether the key is read-only."""

    org: Hashable
    role: str
    read_only: bool = False
    member: Hashable | None = None  # who they are, for what they wrote themselves


@dataclass(frozen=True)
class Shared:
    """What the rules look at in a report: who made it, whether it is published, and to whom it goes."""

    org: Hashable
    status: str
    distribution: str
    group: Hashable | None = None


def sees(actor: Actor, report: Shared, memberships: Memberships) -> bool:
    if actor.role == "site-admin":
        return True
    if actor.org == report.org:
        return True
    if report.status != "published":
        return False
    if report.distribution == "organisation":
        return False
    if report.distribution == "sharing-group":
        return report.group is not None and actor.org in memberships.get(report.group, ())
    if report.distribution in ("community", "connected-communities"):
        return True
    raise ValueError(f"unknown distribution {report.distribution!r}")


def sees_indicator(
    actor: Actor,
    report: Shared,
    narrowing: tuple[str, Hashable | None] | None,
    memberships: Memberships,
) -> bool:
    """``narrowing`` is the indicator's own (distribution, group), or None when it has none."""
    if not sees(actor, report, memberships):
        return False
    if narrowing is None:
        return True
    distribution, group = narrowing
    return sees(actor, replace(report, distribution=distribution, group=group), memberships)


@dataclass(frozen=True)
class Topic:
    """What the rules look at in a forum topic."""

    org: Hashable
    distribution: str
    group: Hashable | None = None


def sees_topic(actor: Actor, topic: Topic, memberships: Memberships) -> bool:
    if actor.role == "site-admin" or actor.org == topic.org:
        return True
    if topic.distribution == "community":
        return True
    if topic.distribution == "sharing-group":
        return topic.group is not None and actor.org in memberships.get(topic.group, ())
    raise ValueError(f"a topic has no distribution {topic.distribution!r}")


def may_post(actor: Actor, sees_parent: bool) -> bool:
    """In a report's thread or a topic whose visibility to ``actor`` is ``sees_parent``."""
    return sees_parent and not actor.read_only


def may_moderate(actor: Actor, author: Hashable | None, post_org: Hashable) -> bool:
    """Edit or delete a post written by ``author`` (None: unknown) from organisation ``post_org``."""
    if actor.read_only:
        return False
    if actor.role == "site-admin":
        return True
    if author is not None and author == actor.member:
        return True
    return actor.role == "org-admin" and actor.org == post_org


def may_change(actor: Actor, report: Shared) -> bool:
    """Edit, delete, publish (the report must also be visible, which a change implies here)."""
    if actor.read_only:
        return False
    if actor.role == "site-admin":
        return True
    return actor.role in ("org-admin", "publisher") and actor.org == report.org


def expected(actor: Actor | None, report: Shared, operation: str, memberships: Memberships) -> str:
    """The HTTP outcome of ``operation`` on ``report``; ``actor`` None means no valid credentials.

    list/search: "present" or "absent"; get/update/delete/publish: "2xx", "403" or "404"; or "401".
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    if actor is None:
        return "401"
    if operation == "list":
        return "present" if sees(actor, report, memberships) else "absent"
    if operation == "search":  # the report's own indicator, not narrowed
        return "present" if sees_indicator(actor, report, None, memberships) else "absent"
    if not sees(actor, report, memberships):
        return "404"
    if operation == "get":
        return "2xx"
    return "2xx" if may_change(actor, report) else "403"
