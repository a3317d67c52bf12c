"""How the look-ups run, beside what they answer (the other files): what the index must hold for them
on PostgreSQL, and the garbage collector they pause."""

from __future__ import annotations

from sqlalchemy import Column, Engine, inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from commonspace import policy
from commonspace.correlation import lookup
from commonspace.domain.vocab import Role
from commonspace.policy import Subject
from commonspace.store import tables as t

ANALYST = Subject(member_id=1, org_id=1, role=Role.ANALYST, group_ids=frozenset({1}))


def _indicator_columns(statement: object) -> set[str]:
    return {
        element.name
        for element in visitors.iterate(statement)  # type: ignore[arg-type]
        if isinstance(element, Column) and element.table is t.Indicator.__table__
    }


def test_the_canonical_index_covers_what_the_lookups_of_values_read(pg_engine: Engine) -> None:
    """Each value's look-up is an index-only scan of ``ix_indicator_canonical`` only if the index holds
    every column of ``indicator`` the statement reads (for a site admin, a member, and with the policy
    checked by joining each row to its report): a column added to the look-up must be added to the
    index (``INCLUDE``, in ``store.tables`` and a migration), or each match is read from the table again."""
    (index,) = [
        i for i in inspect(pg_engine).get_indexes("indicator") if i["name"] == "ix_indicator_canonical"
    ]
    held = {*index["column_names"], *index.get("dialect_options", {}).get("postgresql_include", ())}
    others = [t.Indicator.report_id != 1, t.Indicator.warninglists.is_(None)]
    keys = [("ipv4", "45.9.148.3"), ("domain", "evil-c2.top")]
    admin = Subject(member_id=2, org_id=2, role=Role.SITE_ADMIN)
    with Session(pg_engine) as session:
        for subject in (ANALYST, admin):
            wanted = [policy.indicator_filter(subject), *others]
            alone = [lookup._seen_among(subject, [1, 2, 3]), *others]
            for statement in (
                lookup._held_statement(session, keys, wanted, alone, 51),
                lookup._held_statement(session, keys, wanted, None, 51),
            ):
                read = _indicator_columns(statement)
                assert read, "no column of indicator found in the statement"
                assert read <= held, f"read but not in the index: {sorted(read - held)}"
