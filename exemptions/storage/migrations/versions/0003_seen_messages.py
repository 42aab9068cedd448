"""The replay seen-set: (senderId, messageId) pairs received within the messageDate window."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "seen_messages",
        sa.Column("sender_id", sa.String(200), primary_key=True),
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_messages_expires", "seen_messages", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_seen_messages_expires", table_name="seen_messages")
    op.drop_table("seen_messages")
