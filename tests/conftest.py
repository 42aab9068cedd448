"""Fixtures shared across the suite: a real server on loopback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tests.harness import free_port, running_server
from tests.support import ROOT


@pytest.fixture(scope="session")
def e2e_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn (the server `medexempt serve` runs) serving tests.e2e.service on a free port."""
    from medexempt.generated.passwords import hash_password
    from tests.e2e.service import PASSWORD

    port = free_port()
    env = {
        **os.environ,
        "E2E_PASSWORD_HASH": hash_password(PASSWORD),
        "E2E_SAMPLE_HASH": hash_password("password"),
    }
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--threads", "4", "--worker-class", "gthread", "--log-level", "warning",
        "--no-control-socket",
        "tests.e2e.service:app",
    ]  # fmt: skip
    log = tmp_path_factory.mktemp("e2e") / "server.log"
    url = f"http://127.0.0.1:{port}/sync"
    with running_server(command, ready=url, log=log, cwd=ROOT, env=env, timeout=30):
        yield url


# --- Which tests are system tests (real servers, browsers, databases, installs, load) -----------

_SYSTEM_FIXTURES = frozenset({"e2e_url", "browser", "gost_url", "two_servers", "postgres"})
# Tests that run a whole tool or a registry-sized load, by name.
_SYSTEM_TESTS = frozenset(
    {
        "test_generated_packages_pass_mypy_strict",
        "test_generated_code_passes_mypy_strict",
        "test_a_hundred_thousand_rows",
    }
)
_SYSTEM_PARAMETERS = ("postgresql",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`system`: everything under tests/system/, and any test elsewhere that starts a server,
    opens a browser, uses PostgreSQL, runs a whole tool (mypy) or a registry-sized load;
    `pytest -m "not system"` leaves them out."""
    system = pytest.mark.system
    for item in items:
        path = item.path.as_posix()
        fixtures = set(getattr(item, "fixturenames", ()))
        parameters = getattr(getattr(item, "callspec", None), "params", {})
        uses_postgres = any(value in _SYSTEM_PARAMETERS for value in parameters.values())
        named = getattr(item, "originalname", item.name) in _SYSTEM_TESTS
        if "/tests/system/" in path or fixtures & _SYSTEM_FIXTURES or uses_postgres or named:
            item.add_marker(system)
