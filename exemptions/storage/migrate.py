"""Schema migrations, run from Python: Alembic with its scripts inside this package, no alembic.ini.

`upgrade(url)` brings a database (empty or older) to the newest schema and loads the dictionaries.
To write a new migration, add `migrations/versions/NNNN_what.py` by hand, or let Alembic draft
one against a database at head: pass `alembic_config(connection)` to `alembic.command.revision`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL, Engine

from .database import create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Migrate the database at `target` (a URL or an engine) to `revision`, in one transaction."""
    engine = target if isinstance(target, Engine) else create_engine(target)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        if engine is not target:
            engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
