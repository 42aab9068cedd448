"""Headless Chromium (Debian's `chromium`) for page tests: the rendered DOM and a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# Without these, Chromium reaches for Google's services at start-up; this machine has no network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    """The browser's path; a failure under CI (it must be installed there), a skip elsewhere."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/test-services.sh installs it)")
        pytest.skip("chromium is not installed; run scripts/test-services.sh")
    return path


def _run(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def dom(url: str) -> str:
    """The page's DOM after Chromium has loaded and rendered it."""
    done = _run(url, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, path: Path, width: int = 412, height: int = 915) -> Path:
    """A PNG of the page at a phone's size."""
    done = _run(url, f"--screenshot={path}", f"--window-size={width},{height}")
    assert done.returncode == 0 and path.exists(), done.stderr[-2000:]
    return path
