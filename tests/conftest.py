"""Fixtures shared across the suite: a real server on loopback."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests import support
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


# --- The quick run starts no Python process ---------------------------------------------------
# A test that starts one (a fresh interpreter, a command of ours, mypy, a server) is a system test.
# While a test that is not runs (its fixtures' setup and teardown included), an audit hook fails
# any start of one through subprocess (asyncio's too), os.system, os.posix_spawn or os.exec*,
# naming the program, so the quick run stays in its own process and the marks stay true. Other
# programs (the ldconfig a library runs, openssl) are not counted; a fork of this process is no
# fresh Python.

_QUICK_TEST: list[str] = []  # the node id of the test that is not a system test, while it runs


def _command(event: str, args: tuple[Any, ...]) -> tuple[list[str], Mapping[str, str] | None, Any]:
    """The argument list, environment and folder an audited start of a program runs with."""
    if event == "subprocess.Popen":
        executable, argv, cwd, env = args
        argv = [argv] if isinstance(argv, (str, bytes, os.PathLike)) else list(argv)
        return [os.fsdecode(executable), *map(os.fsdecode, argv[1:])], env, cwd
    if event == "os.system":
        return ["/bin/sh", "-c", os.fsdecode(args[0])], None, None
    if event in ("os.posix_spawn", "os.exec"):
        path, argv, env = args[0], args[1], args[2]
        return [os.fsdecode(path), *map(os.fsdecode, list(argv)[1:])], env, None
    return [], None, None


def _program(argv: list[str]) -> str | None:
    """The program that ends up running: through `sh -c` and `env`, past their assignments."""
    while argv:
        name = Path(argv[0]).name
        if name in ("sh", "bash", "dash") and len(argv) > 2 and argv[1] == "-c":
            try:
                argv = shlex.split(argv[2])
            except ValueError:  # not a command line shlex reads: the shell will say so
                return None
        elif name == "env" or ("=" in argv[0] and not argv[0].startswith(("/", "."))):
            argv = argv[1:]
            while argv and (argv[0].startswith("-") or "=" in argv[0]):
                argv = argv[2:] if argv[0] in ("-u", "--unset", "-C", "--chdir") else argv[1:]
        elif name == "exec":
            argv = argv[1:]
        else:
            return argv[0]
    return None


def _runs_python(program: str, env: Mapping[str, str] | None, cwd: Any) -> bool:
    """Whether `program` is a Python interpreter or a script one runs (medexempt, mypy…)."""
    if os.sep in program and not os.path.isabs(program) and cwd is not None:
        program = os.path.join(os.fsdecode(cwd), program)
    found = shutil.which(program, path=(env or os.environ).get("PATH"))
    if found is None:
        return False
    interpreters = {
        os.path.realpath(p) for p in (sys.executable, getattr(sys, "_base_executable", ""))
    }
    if os.path.realpath(found) in interpreters or "python" in Path(found).name:
        return True
    try:
        with open(found, "rb") as file:
            first = file.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def _refuse_python_in_quick_tests(event: str, args: tuple[Any, ...]) -> None:
    if not _QUICK_TEST or event not in (
        "subprocess.Popen",
        "os.system",
        "os.posix_spawn",
        "os.exec",
    ):
        return
    argv, env, cwd = _command(event, args)
    program = _program(argv)
    if program is not None and _runs_python(program, env, cwd):
        raise AssertionError(
            f"{_QUICK_TEST[0]} starts {program!r}, a Python process: mark it `system`"
        )


sys.addaudithook(_refuse_python_in_quick_tests)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    if item.get_closest_marker("system") is not None:
        return (yield)
    _QUICK_TEST.append(item.nodeid)
    try:
        return (yield)
    finally:
        _QUICK_TEST.clear()
