"""`medexempt`, the one command: it gathers the generator's commands and those of the reference
service (and of any installed package) without either side importing the other.

The generator's commands live in `medexempt.generator.cli`; every other command comes from an
entry point of the `medexempt.commands` group (the reference service's `serve`, `db`, `search`
and `hash-password`, with the `service` extra). This module imports neither: a command's module
is imported when that command runs (or when `--help` lists them all), so `medexempt generate`
loads nothing of the service's stack and `medexempt serve` nothing of the generator.
"""

from __future__ import annotations

import difflib
import re
import sys
from importlib.metadata import (
    EntryPoint,
    PackageNotFoundError,
    distribution,
    entry_points,
    requires,
)
from typing import NoReturn

import click

PLUGINS = "medexempt.commands"  # the entry-point group other packages add commands by
# The generator's commands, by name (a test checks this against the generator's own group), so
# that a plugin's command is found without importing the generator.
GENERATOR_COMMANDS = ("check", "diff", "example", "generate", "init", "inspect", "verify-signature")
EXIT_ERROR = 2


class Commands(click.Group):
    """The generator's commands and the installed plugins', each loaded only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*GENERATOR_COMMANDS, *_plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in GENERATOR_COMMANDS:
            from medexempt.generator.cli import main as generator

            return generator.get_command(ctx, cmd_name)
        entry = _plugins().get(cmd_name)
        if entry is None:
            return None
        missing = _missing_service_packages()
        if missing:
            return _unavailable(cmd_name, ", ".join(missing))
        try:
            loaded = entry.load()
        except ModuleNotFoundError as exc:
            return _unavailable(cmd_name, exc.name or str(exc))
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"the entry point {entry.value} is not a command")
        return loaded

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if not args or name.startswith("-"):
            return super().resolve_command(ctx, args)
        command = self.get_command(ctx, name)
        if command is None and not ctx.resilient_parsing:  # not while completing a command line
            known = self.list_commands(ctx)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"no such command {name!r}{hint} (known: {', '.join(known)})")
        return (command.name if command else None), command, args[1:]


def _plugins() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=PLUGINS)}


def _missing_service_packages() -> list[str]:
    """The requirements of medexempt's `service` extra that are not installed."""
    try:
        wanted = requires("medexempt") or []
    except PackageNotFoundError:  # run from a checkout that is not installed
        return []
    missing = []
    for requirement in wanted:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if name is None or not re.search(r"extra\s*==\s*['\"]service['\"]", requirement):
            continue
        try:
            distribution(name.group())
        except PackageNotFoundError:
            missing.append(name.group())
    return missing


def _unavailable(name: str, missing: str) -> click.Command:
    """A command whose packages are not installed: says which, and how to get them (exit 2)."""

    def refuse() -> NoReturn:
        click.echo(
            f"error: `medexempt {name}` needs the reference service's packages (not installed: "
            f"{missing}): pip install 'medexempt[service]'",
            err=True,
        )
        sys.exit(EXIT_ERROR)

    return click.Command(
        name,
        callback=refuse,
        help="Needs the reference service's packages: pip install 'medexempt[service]'.",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def _version() -> str:
    """The code's own version (`medexempt.generator` is only its package's __init__ here), the
    same that `python -m medexempt.generator --version` and the generated headers say."""
    from medexempt.generator import __version__

    return __version__


@click.group(cls=Commands)
@click.version_option(version=_version(), prog_name="medexempt")
def main() -> None:
    """medexempt: typed SOAP bindings from XSD (generate, check, diff, example, …), and the
    reference Medical exemptions service built on them (serve, db, search, hash-password; with
    the `service` extra).

    `generate` and `check` take their options from `[tool.medexempt]` of the nearest
    pyproject.toml (keys xsd-dir, manifest, out, package; paths relative to that file), and
    the command line overrides them; `diff` and `example` take its xsd-dir (and manifest)."""
