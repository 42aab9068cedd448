"""`medexempt`, the one command: it gathers the generator's and the service's commands, and
neither side imports the other (medexempt/cli.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from medexempt import cli
from medexempt.generator.cli import main as generator


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running `code`."""
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_generators_commands_are_the_ones_it_names() -> None:
    assert set(cli.GENERATOR_COMMANDS) == set(generator.commands)


def test_help_lists_the_generators_and_the_services_commands() -> None:
    shown = CliRunner().invoke(cli.main, ["--help"])
    assert shown.exit_code == 0, shown.output
    listed = {line.split()[0] for line in shown.output.split("Commands:")[1].splitlines() if line}
    assert listed == {*cli.GENERATOR_COMMANDS, "serve", "db", "search", "hash-password"}


@pytest.mark.system  # a fresh process
def test_the_command_itself_imports_neither_side() -> None:
    loaded = _loaded_after("import medexempt.cli")
    assert not {m for m in loaded if m.startswith(("medexempt.generator.", "medexempt.exemptions"))}
    assert "xsdata" not in loaded and "sqlalchemy" not in loaded


@pytest.mark.system  # a fresh process
def test_a_service_command_loads_nothing_of_the_generator() -> None:
    loaded = _loaded_after(
        "from click.testing import CliRunner\n"
        "from medexempt.cli import main\n"
        "result = CliRunner().invoke(main, ['search', '--help'])\n"
        "assert result.exit_code == 0, result.output\n"
    )
    assert "medexempt.exemptions.search" in loaded  # the command ran
    generator_side = {m for m in loaded if m.startswith(("medexempt.generator.", "xsdata.codegen"))}
    assert not generator_side, sorted(generator_side)


def test_an_unknown_command_is_refused_with_the_known_ones() -> None:
    shown = CliRunner().invoke(cli.main, ["genrate"])
    assert shown.exit_code == 2
    assert "no such command 'genrate'; did you mean 'generate'?" in shown.output, shown.output
    assert "(known: check, db, diff, example, generate," in shown.output
