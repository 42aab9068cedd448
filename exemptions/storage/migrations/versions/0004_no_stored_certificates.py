"""Certificates are no longer stored: they render in milliseconds from the record, the same bytes
every time, so a search writes nothing; each worker keeps recent ones in memory."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_table("certificates")


def downgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column(
            "number",
            sa.String(64),
            sa.ForeignKey("exemptions.number", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("layout", sa.String(16), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("layout IN ('electronic', 'printable')", name="ck_certificates_layout"),
    )
