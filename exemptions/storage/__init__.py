"""Storage for the reference service: SQLAlchemy 2 over SQLite (default) or PostgreSQL (psycopg 3).

`upgrade(url)` builds or migrates the schema and loads the dictionaries; `Registry` reads and writes
records as `exemptions.records.Record` values; `importer` loads JSON Lines or CSV files.
"""

from __future__ import annotations

from .database import DEFAULT_URL, ENV_VAR, create_engine, database_url, display
from .migrate import current_revision, head_revision, is_current, upgrade
from .registry import AlreadyRevokedError, Registry, RevocationTimeError, UnknownNumberError

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "AlreadyRevokedError",
    "Registry",
    "RevocationTimeError",
    "UnknownNumberError",
    "create_engine",
    "current_revision",
    "database_url",
    "display",
    "head_revision",
    "is_current",
    "upgrade",
]
