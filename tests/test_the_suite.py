"""The suite's own rules (tests/conftest.py): what the quick run may not do."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


def test_a_quick_test_that_starts_a_python_of_this_environment_fails_saying_so() -> None:
    with pytest.raises(
        AssertionError, match=r"starts .*python.*, a Python process: mark it `system`"
    ):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_a_quick_test_may_still_run_a_program_of_the_system() -> None:
    true = shutil.which("true")
    assert true is not None
    assert subprocess.run([true], check=False).returncode == 0


@pytest.mark.system  # starts a fresh Python, which only a system test may
def test_a_system_test_starts_what_it_needs() -> None:
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0
