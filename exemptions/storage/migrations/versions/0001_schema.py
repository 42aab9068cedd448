"""The first schema: dictionaries, exemptions with an index per search path, stored certificates."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _dictionary(name: str) -> None:
    op.create_table(
        name,
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name_ru", sa.String(500), nullable=False),
        sa.Column("name_kk", sa.String(500), nullable=False),
    )


def upgrade() -> None:
    _dictionary("procedures")
    _dictionary("citizenships")
    op.create_table(
        "exemptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("iin", sa.String(12)),
        sa.Column("passport_number", sa.String(64)),
        sa.Column("citizenship_code", sa.String(16), sa.ForeignKey("citizenships.code")),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("middle_name", sa.String(200)),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column(
            "procedure_code", sa.String(16), sa.ForeignKey("procedures.code"), nullable=False
        ),
        sa.Column("contraindication", sa.String(16), nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("organization", sa.String(500), nullable=False),
        sa.Column("doctor", sa.String(300), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revocation_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("number", name="uq_exemptions_number"),
        sa.CheckConstraint(
            "(contraindication = 'temporary' AND end_date IS NOT NULL)"
            " OR (contraindication = 'permanent' AND end_date IS NULL)",
            name="ck_exemptions_end_date",
        ),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revocation_reason IS NULL)", name="ck_exemptions_revocation"
        ),
        sa.CheckConstraint(
            "iin IS NOT NULL OR (passport_number IS NOT NULL AND citizenship_code IS NOT NULL)",
            name="ck_exemptions_person",
        ),
        sa.CheckConstraint("version >= 1", name="ck_exemptions_version"),
    )
    op.create_index("ix_exemptions_iin", "exemptions", ["iin", "issue_date", "number"])
    op.create_index(
        "ix_exemptions_passport",
        "exemptions",
        ["passport_number", "citizenship_code", "issue_date", "number"],
    )
    op.create_index("ix_exemptions_issue_date", "exemptions", ["issue_date", "number"])
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


def downgrade() -> None:
    op.drop_table("certificates")
    op.drop_table("exemptions")
    op.drop_table("citizenships")
    op.drop_table("procedures")
