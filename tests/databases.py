"""The test databases: a SQLite file, and PostgreSQL when one is configured (CI always has one)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from medexempt.exemptions.storage import create_engine

POSTGRES_ENV = "MEDEXEMPT_TEST_POSTGRES_URL"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must test PostgreSQL: {reason}")
    pytest.skip(f"PostgreSQL variant skipped: {reason} (run scripts/test-services.sh)")


def postgres_url() -> str:
    """The PostgreSQL test database's URL, its `public` schema emptied."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        _unavailable(f"{POSTGRES_ENV} is not set")
        raise AssertionError("unreachable")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except OperationalError as exc:
        _unavailable(f"cannot connect to {POSTGRES_ENV}: {type(exc.orig).__name__}")
    finally:
        engine.dispose()
    return url
