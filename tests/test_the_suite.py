"""The suite's own rules (tests/processes.py): the quick run starts no Python process."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import programs, runs_python

STARTS_PYTHON = r", a Python process: mark it `system`"
PYTHON = sys.executable


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ([PYTHON, "-c", "pass"], {}),
        (["python3", "-c", "pass"], {}),
        (["env", "X=1", "python3", "-c", "pass"], {}),
        ("X=1 python3 -c pass", {"shell": True}),
        ("cd / && python3 -c pass", {"shell": True}),
        ("true; (python3 -c pass)", {"shell": True}),
        (["bash", "-lc", "timeout 20 nice -n 5 python3 -c pass"], {}),
        (["anything"], {"executable": PYTHON}),
        ([PYTHON.encode(), b"-c", b"pass"], {}),
    ],
    ids=[
        "interpreter", "by-name", "env", "shell", "after-cd", "subshell", "wrappers",
        "executable", "bytes",
    ],
)  # fmt: skip
def test_a_quick_test_that_starts_a_python_fails_saying_so(
    args: list[str] | str, options: dict[str, object]
) -> None:
    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        subprocess.run(args, check=False, capture_output=True, **options)  # type: ignore[call-overload]


def test_os_system_posix_spawn_asyncio_and_multiprocessing_are_watched_too() -> None:
    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        os.system(f"{PYTHON} -c pass")
    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        os.posix_spawn(PYTHON, [PYTHON, "-c", "pass"], os.environ)

    async def start() -> None:
        await asyncio.create_subprocess_exec(PYTHON, "-c", "pass")

    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        asyncio.run(start())
    for process in (
        multiprocessing.get_context("spawn").Process(target=print),
        multiprocessing.get_context("forkserver").Process(target=print),
    ):
        with pytest.raises(AssertionError, match=STARTS_PYTHON):
            process.start()


@pytest.fixture(scope="module")
def started_in_a_module_fixture() -> Iterator[str]:
    """What became of a module fixture's start of a Python, set up by a quick test."""
    try:
        subprocess.run([PYTHON, "-c", "pass"], check=False)
    except AssertionError as refused:
        yield str(refused)
    else:
        yield "started"


def test_a_fixture_of_a_quick_test_is_watched_too(started_in_a_module_fixture: str) -> None:
    assert started_in_a_module_fixture.endswith(STARTS_PYTHON.replace("\\", "")), (
        started_in_a_module_fixture
    )


def test_a_quick_test_may_still_run_a_program_that_is_no_python(tmp_path: Path) -> None:
    true = shutil.which("true")
    assert true is not None
    assert subprocess.run([true], check=False).returncode == 0
    assert subprocess.run(true.encode(), check=False).returncode == 0
    config = tmp_path / "python3-config"  # a shell script, named like python's own
    config.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    config.chmod(0o755)
    assert subprocess.run([str(config)], check=False).returncode == 0


def test_a_copy_of_the_interpreter_under_another_name_is_a_python(tmp_path: Path) -> None:
    copy = tmp_path / "renamed"
    shutil.copy2(os.path.realpath(PYTHON), copy)
    assert runs_python(str(copy))


def test_the_programs_of_a_command_line() -> None:
    assert list(programs(["sh", "-c", "A=1 env -u B x; cd /; y | z && (w)"])) == [
        "x",
        "y",
        "z",
        "w",
    ]
    assert list(programs(["env", "-S", "python3 -c pass"])) == ["python3"]
    assert list(programs(["bash", "-o", "pipefail", "-e", "-c", "x | y"])) == ["x", "y"]
    assert list(programs(["sh", "-e", "script.sh", "-c"])) == ["script.sh"]
    assert runs_python("python3.11") is (shutil.which("python3.11") is not None)
    assert not runs_python("true")


@pytest.mark.system  # starts a fresh Python, which only a system test may
def test_a_system_test_starts_what_it_needs() -> None:
    assert subprocess.run([PYTHON, "-c", "pass"], check=False).returncode == 0
