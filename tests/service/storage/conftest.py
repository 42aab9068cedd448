"""A clean, migrated database per test, on SQLite always and on PostgreSQL when one is configured.

Set MEDEXEMPT_TEST_POSTGRES_URL (postgresql+psycopg://USER:PASS@HOST/DB) to run the PostgreSQL
variants; the database's `public` schema is dropped and recreated for every test. On CI (CI=true)
a missing URL fails those variants instead of skipping them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
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


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated to the newest schema; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("migrated") / "medexempt.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(empty_url: str, request: pytest.FixtureRequest) -> str:
    """The URL of a database migrated to the newest schema, dictionaries loaded, no records (on
    SQLite a copy of one migrated once, taken with SQLite's backup API; PostgreSQL is migrated
    for each test)."""
    if not empty_url.startswith("sqlite:///"):
        upgrade(empty_url)
        return empty_url
    template: Path = request.getfixturevalue("_migrated_sqlite")
    with (
        closing(sqlite3.connect(template)) as source,
        closing(sqlite3.connect(empty_url.removeprefix("sqlite:///"))) as copy,
    ):
        source.backup(copy)
    return empty_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return Registry(engine)
