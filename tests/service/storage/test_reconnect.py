"""A database server that drops the service's pooled connections (a restart, a failover, an idle
timeout) costs no failed request: a dead connection is replaced, and a read, or a write that had
not reached its COMMIT, is run once more on a fresh one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from medexempt.exemptions.records import Criteria
from medexempt.exemptions.storage import Registry, create_engine, upgrade
from medexempt.exemptions.storage.importer import import_file
from medexempt.exemptions.storage.replay import SeenMessages
from tests.databases import postgres_url

from .rows import row, write_jsonl

pytestmark = pytest.mark.system  # every test here stops PostgreSQL's connections under it


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = postgres_url()
    upgrade(url)
    engine = create_engine(url)
    try:
        import_file(engine, write_jsonl(tmp_path / "rows.jsonl", [row(number="00001")]))
    finally:
        engine.dispose()
    return url


def drop_connections_of(url: str, application: str) -> int:
    """Terminate every backend of `application` from another connection (as a restart would)."""
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name) AS ended"
                ),
                {"name": application},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


def count_pings(engine: Engine) -> list[object]:
    """The connections `engine` pings from now on, in a list that grows."""
    pings: list[object] = []
    original = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


@pytest.fixture
def registry(url: str) -> Iterator[Registry]:
    registry = Registry(
        create_engine(url, connect_args={"application_name": "medexempt-reconnect-test"})
    )
    yield registry
    registry.close()


def test_a_search_after_the_server_dropped_its_connection_succeeds(
    registry: Registry, url: str
) -> None:
    assert [r.number for r in registry.search(Criteria(number="00001"))] == ["00001"]
    assert drop_connections_of(url, "medexempt-reconnect-test") >= 1
    assert [r.number for r in registry.search(Criteria(number="00001"))] == ["00001"]
    assert registry.citizenship_exists("398")


def test_an_idle_connection_is_pinged_and_replaced(url: str) -> None:
    engine = create_engine(
        url, ping_idle_after=0.05, connect_args={"application_name": "medexempt-idle-test"}
    )
    try:
        registry = Registry(engine)
        assert registry.by_number("00001") is not None
        assert drop_connections_of(url, "medexempt-idle-test") >= 1
        time.sleep(0.1)
        pings = count_pings(engine)
        # The checkout pings the idle connection, finds it dead and connects afresh: the write
        # path (an ORM session, no retry of its own) works on the first try.
        registry.revoke("00001", "replaced after a restart")
        assert pings, "the idle connection was not pinged"
        record = registry.by_number("00001")
        assert record is not None and record.revocation_reason == "replaced after a restart"
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(url: str) -> None:
    engine = create_engine(url, ping_idle_after=60.0)
    try:
        pings = count_pings(engine)
        registry = Registry(engine)
        for _ in range(5):
            assert registry.by_number("00001") is not None
        assert pings == []
    finally:
        engine.dispose()


def test_writes_after_the_server_dropped_their_connection_succeed(url: str) -> None:
    # In steady use: no ping would catch the dead connections, the write retries by itself.
    engine = create_engine(
        url, ping_idle_after=60.0, connect_args={"application_name": "medexempt-write-test"}
    )
    try:
        registry, seen = Registry(engine), SeenMessages(engine)
        expires = datetime.now(UTC) + timedelta(minutes=5)
        assert seen.first_seen("mis", "m-1", expires)
        assert drop_connections_of(url, "medexempt-write-test") >= 1
        assert seen.first_seen("mis", "m-2", expires)
        assert not seen.first_seen("mis", "m-2", expires)  # the retry did not insert it twice
        assert drop_connections_of(url, "medexempt-write-test") >= 1
        assert registry.revoke("00001", "after a restart").version == 2
    finally:
        engine.dispose()
