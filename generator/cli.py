"""The generator's commands: generate bindings and check that they are up to date."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .errors import GeneratorError
from .load import load
from .render import GeneratedFile, render
from .write import stale, write

EXIT_STALE = 1
EXIT_ERROR = 2


@dataclass(frozen=True)
class Target:
    """Where the generator reads from and writes to."""

    xsd_dir: Path
    manifest: Path
    out: Path
    package: str

    def files(self) -> list[GeneratedFile]:
        return render(load(self.xsd_dir, self.manifest, self.package))


def _target_options(func: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option(
            "--xsd-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("xsd"),
            show_default=True,
            help="Folder of the XSD files.",
        ),
        click.option(
            "--manifest",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="The services manifest  [default: XSD_DIR/services.toml].",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("generated"),
            show_default=True,
            help="Folder of the generated package.",
        ),
        click.option(
            "--package",
            default=None,
            help="Import name of the generated package  [default: the --out folder's name].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _target(xsd_dir: Path, manifest: Path | None, out: Path, package: str | None) -> Target:
    name = package or out.resolve().name
    if not all(part.isidentifier() for part in name.split(".")):
        where = "--package" if package else f"the --out folder's name {name!r}"
        raise click.BadParameter(f"{where} is not a Python import name; give --package NAME")
    return Target(
        xsd_dir=xsd_dir,
        manifest=manifest or xsd_dir / "services.toml",
        out=out,
        package=name,
    )


@click.group()
@click.version_option(__version__, prog_name="medexempt")
def main() -> None:
    """The medexempt generator: typed SOAP bindings from an XSD folder."""


@main.command()
@_target_options
def generate(xsd_dir: Path, manifest: Path | None, out: Path, package: str | None) -> None:
    """Generate the typed package (models, codecs, WSDL) from the XSD folder."""
    target = _target(xsd_dir, manifest, out, package)
    try:
        changes = write(target.files(), target.out)
    except GeneratorError as exc:
        _fail(exc)
    except Exception as exc:  # a bug of ours: still exit 2, with what happened
        _crash(exc)
    for path in changes.written:
        click.echo(f"wrote {target.out / path}")
    for path in changes.removed:
        click.echo(f"removed {target.out / path}")
    click.echo(f"{target.out}: {len(changes.written) + len(changes.removed)} file(s) changed")


@main.command()
@_target_options
def check(xsd_dir: Path, manifest: Path | None, out: Path, package: str | None) -> None:
    """Exit 0 if the generated package is up to date, 1 if stale (naming the files), 2 on error."""
    target = _target(xsd_dir, manifest, out, package)
    try:
        differ = stale(target.files(), target.out)
    except GeneratorError as exc:
        _fail(exc)
    except Exception as exc:  # a bug of ours: never "stale" (1), always an error (2)
        _crash(exc)
    if differ:
        for path in differ:
            click.echo(f"stale: {target.out / path}", err=True)
        click.echo(f"run `{_generate_command()}` to bring it up to date", err=True)
        sys.exit(EXIT_STALE)
    click.echo(f"{target.out} is up to date")


def _generate_command() -> str:
    """`medexempt generate` with the options this check was given, as a shell command."""
    import shlex

    context = click.get_current_context()
    words = ["medexempt", "generate"]
    for name, flag in (("xsd_dir", "--xsd-dir"), ("manifest", "--manifest"), ("out", "--out"),
                       ("package", "--package")):  # fmt: skip
        source = context.get_parameter_source(name)
        value = context.params.get(name)
        if value is not None and source is not click.core.ParameterSource.DEFAULT:
            words += [flag, str(value)]
    return shlex.join(words)


def _fail(exc: GeneratorError) -> NoReturn:
    for problem in exc.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(EXIT_ERROR)


def _crash(exc: Exception) -> NoReturn:
    click.echo(f"error: the generator failed: {type(exc).__name__}: {exc}", err=True)
    sys.exit(EXIT_ERROR)
