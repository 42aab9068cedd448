"""Which database to use and how to connect to it: the URL rules and the engine factory."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError

ENV_VAR = "MEDEXEMPT_DB"
DEFAULT_URL = "sqlite:///medexempt.db"
# A pooled connection idle this long is pinged before use: one that has just served a request is
# not (a ping is a round trip to the server, as costly as the query it would precede).
PING_IDLE_AFTER = 10.0
_LAST_USED = "medexempt_last_used"
_T = TypeVar("_T")


def database_url(explicit: str | None = None) -> str:
    """The URL to use: `--db`, else env MEDEXEMPT_DB, else an SQLite file here."""
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_URL


def normalize(url: str | URL) -> URL:
    """Read a URL; a bare `postgresql://` (or `postgres://`) means psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def display(url: str | URL) -> str:
    """The URL as it may be printed: never with its password."""
    return normalize(url).render_as_string(hide_password=True)


class _NoResultRows(logging.Filter):
    """SQLAlchemy at DEBUG logs every result row, and rows here are personal data: drop those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("Row ", "Col ")))


_ENGINE_LOGGER = logging.getLogger("sqlalchemy.engine.Engine")
if not any(isinstance(f, _NoResultRows) for f in _ENGINE_LOGGER.filters):
    _ENGINE_LOGGER.addFilter(_NoResultRows())


def create_engine(
    url: str | URL, *, ping_idle_after: float | None = None, **options: Any
) -> Engine:
    """An engine for `url`; SQLite gets foreign keys enforced and a write-ahead log for readers.

    With `ping_idle_after` (seconds), a pooled connection that has been idle that long is pinged
    when checked out, and replaced if the server has dropped it (SQLAlchemy's `pool_pre_ping`,
    but sparing the round trip for connections in steady use).
    """
    parsed = normalize(url)
    # Statement parameters are IINs, passport numbers and names: never in logs or error messages.
    options.setdefault("hide_parameters", True)
    engine = sqlalchemy.create_engine(parsed, **options)
    if ping_idle_after is not None:
        _ping_when_idle(engine, ping_idle_after)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        event.listen(engine, "connect", _sqlite_pragmas(wal=not in_memory))
    return engine


def _sqlite_pragmas(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 10000")
            if wal:  # several server workers read while an import writes
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    return on_connect


def _ping_when_idle(engine: Engine, after: float) -> None:
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is None or time.monotonic() - last < after:
            return  # just connected, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool then discards it and connects afresh
            raise DisconnectionError("a pooled connection was dropped by the server") from exc

    event.listen(engine, "checkin", on_checkin)
    event.listen(engine, "checkout", on_checkout)


def in_transaction(engine: Engine, work: Callable[[Connection], _T]) -> _T:
    """`work` in one transaction, committed.

    When the pooled connection turns out to be dead while `work` runs (the server restarted or
    dropped it), nothing was committed, so `work` runs once more on a fresh connection. A failure
    at COMMIT is never retried: the commit may have happened.
    """
    for attempt in (1, 2):
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                result = work(connection)
            except DBAPIError as exc:
                transaction.rollback()
                if attempt == 1 and exc.connection_invalidated:
                    continue
                raise
            except BaseException:
                transaction.rollback()
                raise
            transaction.commit()
            return result
    raise AssertionError("unreachable")
