"""The suite's own rules (tests/conftest.py): what the quick run may not do."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

import pytest

STARTS_PYTHON = r", a Python process: mark it `system`"


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ([sys.executable, "-c", "pass"], {}),
        (["python3", "-c", "pass"], {}),
        (["env", "X=1", "python3", "-c", "pass"], {}),
        ("X=1 python3 -c pass", {"shell": True}),
        (["anything"], {"executable": sys.executable}),
        ([sys.executable.encode(), b"-c", b"pass"], {}),
    ],
    ids=["interpreter", "by-name", "env", "shell", "executable", "bytes"],
)
def test_a_quick_test_that_starts_a_python_fails_saying_so(
    args: list[str] | str, options: dict[str, object]
) -> None:
    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        subprocess.run(args, check=False, capture_output=True, **options)  # type: ignore[call-overload]


def test_os_system_and_asyncio_are_watched_too() -> None:
    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        os.system(f"{sys.executable} -c pass")

    async def start() -> None:
        await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")

    with pytest.raises(AssertionError, match=STARTS_PYTHON):
        asyncio.run(start())


def test_a_quick_test_may_still_run_a_program_that_is_no_python() -> None:
    true = shutil.which("true")
    assert true is not None
    assert subprocess.run([true], check=False).returncode == 0
    assert subprocess.run(true.encode(), check=False).returncode == 0


@pytest.mark.system  # starts a fresh Python, which only a system test may
def test_a_system_test_starts_what_it_needs() -> None:
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0
