"""the canonical index covers correlation's look-ups on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 19:00:00.000000

Spell the schema out here; never import commonspace.store.tables, which moves on after this revision.

On PostgreSQL, ``ix_indicator_canonical`` carries the columns that correlation reads of each indicator
holding a value (``INCLUDE``), so that its look-ups are index-only scans: a 10,000-indicator report makes
some 30,000 of them, and reading each match's row from the table, in random order, was most of their time
once the table was larger than the buffer cache. SQLite's index is unchanged (it has no ``INCLUDE``).
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDED = ["type", "report_id", "id", "uuid", "distribution", "sharing_group_id", "warninglists"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_indicator_canonical", table_name="indicator")
    op.create_index("ix_indicator_canonical", "indicator", ["canonical"], postgresql_include=INCLUDED)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_indicator_canonical", table_name="indicator")
    op.create_index("ix_indicator_canonical", "indicator", ["canonical"])
