"""warninglists an indicator is on

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 15:45:00.000000

Spell the schema out here; never import commonspace.store.tables, which moves on after this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warninglists", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.drop_column("warninglists")
