"""Load the shipped dictionaries: vaccination procedures and citizenships."""

from __future__ import annotations

from alembic import op
from sqlalchemy import column, delete, table

from medexempt.exemptions.storage import dictionaries

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    for name in dictionaries.DICTIONARIES:
        dictionaries.sync(op.get_bind(), name)


def downgrade() -> None:
    for name in dictionaries.DICTIONARIES:
        target = table(name, column("code"))
        codes = [e.code for e in dictionaries.load(name)]
        op.execute(delete(target).where(target.c.code.in_(codes)))
