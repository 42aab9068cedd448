"""What a certificate shows when the record carries it: the issuing organisation's BIN, and who
signed the record electronically (ЭЦП) and when."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("exemptions") as table:
        table.add_column(sa.Column("organization_bin", sa.String(12), nullable=True))
        table.add_column(sa.Column("signed_by", sa.String(300), nullable=True))
        table.add_column(sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exemptions") as table:
        table.drop_column("signed_at")
        table.drop_column("signed_by")
        table.drop_column("organization_bin")
