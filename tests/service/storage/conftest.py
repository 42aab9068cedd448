"""A clean, migrated database per test, on SQLite always and on PostgreSQL when one is configured.

Set MEDEXEMPT_TEST_POSTGRES_URL (postgresql+psycopg://USER:PASS@HOST/DB) to run the PostgreSQL
variants; the database's `public` schema is dropped and recreated for every test. On CI (CI=true)
a missing URL fails those variants instead of skipping them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from medexempt.exemptions.storage import Registry, create_engine, upgrade
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'medexempt.db'}"
    return postgres_url()


@pytest.fixture
def db_url(empty_url: str) -> str:
    """The URL of a database migrated to the newest schema, dictionaries loaded, no records."""
    upgrade(empty_url)
    return empty_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return Registry(engine)
