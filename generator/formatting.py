"""Format rendered Python in memory with the pinned ruff and the generator's own ruff config."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ruff.__main__ import find_ruff_bin

from .errors import GeneratorError, Problem

_CONFIG = Path(__file__).with_name("ruff.toml")


def format_python(source: str, filename: str) -> str:
    """Sort and prune imports, then format; the result depends only on `source`."""
    fixed = _ruff(["check", "--fix", "--unsafe-fixes", "--exit-zero", "--quiet"], source, filename)
    return _ruff(["format", "--quiet"], fixed, filename)


def _ruff(arguments: list[str], source: str, filename: str) -> str:
    command = [find_ruff_bin(), *arguments, "--config", str(_CONFIG), "--stdin-filename", filename]
    done = subprocess.run(  # noqa: S603 - the pinned ruff, fixed arguments
        [*command, "-"],
        input=source,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.strip() or f"ruff exited with {done.returncode}"
        raise GeneratorError(
            [Problem(filename, None, f"generated code does not format: {message}")]
        )
    return done.stdout
