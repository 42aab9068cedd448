"""A hatchling build hook: building a project (`pip wheel`, `hatch build`, `python -m build`)
regenerates its bindings first, or checks that they are up to date.

In the project's pyproject.toml:

    [build-system]
    requires = ["hatchling", "medexempt"]
    build-backend = "hatchling.build"

    [tool.hatch.build.hooks.medexempt]
    mode = "generate"          # or "check": the build fails while the bindings are stale

The options are the project's `[tool.medexempt]` table. hatchling finds the hook by the `hatch`
entry point of the medexempt distribution; nothing else imports this module.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl

from .errors import closest_known

MODES = ("generate", "check")


class MedexemptBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs `medexempt generate` (or `check`) in the project's root before it is built."""

    PLUGIN_NAME = "medexempt"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        unknown = sorted(
            set(self.config) - {"mode", "dependencies", "require-runtime-dependencies"}
        )
        if unknown:
            hint = closest_known(unknown[0], ["mode"])
            raise ValueError(
                f"[tool.hatch.build.hooks.medexempt]: unknown key {unknown[0]!r}{hint}"
            )
        mode = self.config.get("mode", "generate")
        if mode not in MODES:
            raise ValueError(
                f"[tool.hatch.build.hooks.medexempt] mode must be one of {MODES}, not {mode!r}"
            )
        from .cli import main

        said = io.StringIO()
        before = Path.cwd()
        os.chdir(self.root)
        try:
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                try:
                    main.main(args=[mode], prog_name="medexempt", standalone_mode=False)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os.chdir(before)
        self.app.display_info(said.getvalue().rstrip())
        if code != 0:
            raise RuntimeError(
                f"medexempt {mode} failed (exit {code}):\n{said.getvalue().rstrip()}"
            )


@hookimpl
def hatch_register_build_hook() -> type[BuildHookInterface]:  # type: ignore[type-arg]
    return MedexemptBuildHook
