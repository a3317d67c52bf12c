"""correlation: per-value report counts, and host keys of addresses and networks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00.000000

Spell the schema out here; never import commonspace.store.tables, which moves on after this revision.
The host keys of addresses and networks are computed here as commonspace.correlation.keys does (the
family, then the first address in fixed-width hexadecimal), for the indicators stored before.
"""

import ipaddress
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDRESS_TYPES = ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr")
BATCH = 10_000

indicator = sa.table(
    "indicator",
    sa.column("id", sa.Integer()),
    sa.column("type", sa.String(20)),
    sa.column("canonical", sa.String(2048)),
    sa.column("host_key", sa.String(260)),
)


def _key(canonical: str) -> str:
    address = ipaddress.ip_address(canonical.partition("/")[0])
    if address.version == 4:
        return f"4:{int(address):08x}"
    return f"6:{int(address):032x}"


def upgrade() -> None:
    op.create_table(
        "correlation_value",
        sa.Column("canonical", sa.String(length=2048), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("canonical", "type", name=op.f("pk_correlation_value")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(indicator.c.id, indicator.c.canonical)
            .where(indicator.c.type.in_(ADDRESS_TYPES), indicator.c.id > after)
            .order_by(indicator.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            indicator.update()
            .where(indicator.c.id == sa.bindparam("row_id"))
            .values(host_key=sa.bindparam("key")),
            [{"row_id": row_id, "key": _key(canonical)} for row_id, canonical in rows],
        )
        after = rows[-1][0]
    op.execute(
        "INSERT INTO correlation_value (canonical, type, reports) "
        "SELECT canonical, type, count(*) FROM indicator GROUP BY canonical, type"
    )


def downgrade() -> None:
    op.execute(indicator.update().where(indicator.c.type.in_(ADDRESS_TYPES)).values(host_key=None))
    op.drop_table("correlation_value")
