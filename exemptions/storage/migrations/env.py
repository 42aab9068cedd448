"""Alembic's entry point: runs on the connection `exemptions.storage.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from medexempt.exemptions.storage.models import Base


def run() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through exemptions.storage.migrate.upgrade")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
