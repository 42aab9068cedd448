"""The `medexempt` command line: the generator's commands, and the tools built on the bindings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.cli import check, generate

from .search import search


@click.group()
@click.version_option(package_name="medexempt", prog_name="medexempt")
def main() -> None:
    """medexempt: typed SOAP bindings and the reference Medical exemptions service."""


main.add_command(generate)
main.add_command(check)
main.add_command(search)


@main.command()
@click.argument("message", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def inspect(message: Path) -> None:
    """Read a SOAP message with the generated bindings and print what it holds, as JSON.

    Exit 0 when it reads, 1 when it is refused (the reason and the element path are printed).
    """
    from .inspection import describe_message

    try:
        click.echo(describe_message(message.read_bytes()))
    except ValueError as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(1)


@main.command("hash-password")
@click.password_option(help="The sender's password (asked for when not given).")
def hash_password(password: str) -> None:
    """Print the stored form of a sender's password, for the server's senders."""
    from generated.passwords import hash_password as make_hash

    click.echo(make_hash(password))
