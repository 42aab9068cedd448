"""Fixtures shared across the suite: a real server on loopback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from tests import support
from tests.harness import free_port, running_server
from tests.support import ROOT

# The quick run starts no Python process: tests/processes.py.
pytest_plugins = ["tests.processes"]


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


# --- Which tests are system tests ---------------------------------------------------------------
# `system` (pyproject.toml says what it covers) is given here to everything under tests/system/ and
# to any test that uses a real server, browser or PostgreSQL; the rest carry the mark themselves
# (`@pytest.mark.system` or a module's `pytestmark`), with a comment saying why.

_SYSTEM_FIXTURES = frozenset({"e2e_url", "browser", "gost_url", "two_servers", "postgres"})
_SYSTEM_PARAMETERS = ("postgresql",)


def _names_system(name: str, /, **kwargs: str | int | bool | None) -> bool:
    return name == "system" and not kwargs


def pytest_configure(config: pytest.Config) -> None:
    """The quick run is one whose `-m` leaves the system tests out (`tests/support.py`)."""
    from _pytest.mark.expression import Expression

    expression = config.getoption("markexpr") or ""
    try:
        leaves_system_out = bool(expression) and not Expression.compile(expression).evaluate(
            _names_system
        )
    except Exception:  # pytest refuses a wrong -m itself, with its own message
        leaves_system_out = False
    support.QUICK = leaves_system_out and not os.environ.get("CI")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    system = pytest.mark.system
    for item in items:
        path = item.path.as_posix()
        fixtures = set(getattr(item, "fixturenames", ()))
        parameters = getattr(getattr(item, "callspec", None), "params", {})
        uses_postgres = any(value in _SYSTEM_PARAMETERS for value in parameters.values())
        if "/tests/system/" in path or fixtures & _SYSTEM_FIXTURES or uses_postgres:
            item.add_marker(system)
