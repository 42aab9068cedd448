"""The reference service's commands of `medexempt`: serve, hash-password.

They reach the `medexempt` command through the `medexempt.commands` entry points (pyproject.toml),
beside `search` and `db`; the generator's own commands know nothing of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from medexempt.generated.server import SignatureMode


def _signer_pairs(values: tuple[str, ...]) -> tuple[tuple[str, Path], ...]:
    pairs = []
    for value in values:
        sender, _, path = value.partition("=")
        if not sender or not path:
            raise click.BadParameter(
                f"{value!r}: write SENDER=CERTIFICATE.pem", param_hint="--signer"
            )
        if not Path(path).is_file():
            raise click.BadParameter(f"{path}: no such file", param_hint="--signer")
        pairs.append((sender, Path(path)))
    return tuple(pairs)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option(
    "--workers", type=int, default=None, help="Worker processes  [default: 2 per core, 2..8]."
)
@click.option(
    "--db",
    "db_url",
    envvar="MEDEXEMPT_DB",
    help="Database URL  [env MEDEXEMPT_DB; default: sqlite:///medexempt.db].",
)
@click.option(
    "--public-url",
    help="The URL clients and QR codes use  [env MEDEXEMPT_PUBLIC_URL; default: http://HOST:PORT].",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MEDEXEMPT_CONFIG",
    help="TOML with `secret`, `public_url` and a [senders] table  [env MEDEXEMPT_CONFIG].",
)
@click.option("--demo", is_flag=True, help="Demo data and the original's sender; no set-up needed.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="JSON-lines logs on stderr; personal data is never logged.",
)
@click.option(
    "--signature-mode",
    type=click.Choice(["off", "verify-if-present", "required"]),
    help="WS-Security on requests  [default: off with --demo, verify-if-present otherwise].",
)
@click.option(
    "--trust",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An accepted signing certificate or CA, PEM or DER, RSA or GOST (repeatable).",
)
@click.option(
    "--signer",
    "signers",
    multiple=True,
    metavar="SENDER=PEM",
    help="A certificate that may sign for that senderId (repeatable); with any, a signature by "
    "another trusted certificate is refused (SIGNER_NOT_SENDER).",
)
@click.option(
    "--sign-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Key to sign responses: a PKCS#12 file as НУЦ issues it (password in "
    "MEDEXEMPT_SIGN_KEY_PASSWORD), or a PEM/DER key (RSA or GOST) with --sign-cert.",
)
@click.option(
    "--sign-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Certificate of --sign-key (PEM or DER); not with a PKCS#12 key.",
)
def serve(
    host: str,
    port: int,
    workers: int | None,
    db_url: str | None,
    public_url: str | None,
    config: Path | None,
    demo: bool,
    log_level: str,
    signature_mode: SignatureMode | None,
    trust: tuple[Path, ...],
    sign_key: Path | None,
    sign_cert: Path | None,
    signers: tuple[str, ...],
) -> None:
    """Run the reference Medical exemptions service on gunicorn.

    An empty database is created and upgraded first. With --demo the demo data set is loaded and
    the original's sender (sender / password) is accepted.
    """
    import os

    from . import demo as demo_data
    from .serve import ConfigError, ServeOptions, banner, run, settings_for, workers_default
    from .storage import create_engine, database_url, display, upgrade

    url = database_url(db_url)
    options = ServeOptions(
        host,
        port,
        workers or workers_default(),
        url,
        public_url,
        demo,
        config,
        log_level,
        signature_mode=signature_mode,
        trust=trust,
        sign_key=sign_key,
        sign_cert=sign_cert,
        signers=_signer_pairs(signers),
    )
    try:
        settings = settings_for(options, os.environ)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    engine = create_engine(url)
    try:
        upgrade(engine)
        loaded = demo_data.load(engine) if demo else 0
    finally:
        engine.dispose()
    click.echo(
        f"database:       {display(url)}" + (f" ({loaded} demo records loaded)" if loaded else "")
    )
    click.echo(banner(settings, demo))
    run(settings, options)


@click.command("hash-password")
@click.option("--password", help="The sender's password (asked for, twice, when not given).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (`echo pw | ...`).",
)
def hash_password(password: str | None, password_stdin: bool) -> None:
    """Print the stored form of a sender's password, for the server's senders.

    Exit status: 0 printed; 2 no password (an empty one, or none on a standard input that is not
    a terminal without --password-stdin).
    """
    import sys

    from medexempt.generated.passwords import hash_password as make_hash

    if password is not None and password_stdin:
        raise click.UsageError("give --password or --password-stdin, not both")
    if password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    elif password is None:
        if not sys.stdin.isatty():
            raise click.UsageError(
                "standard input is not a terminal: pass --password-stdin to read the password "
                "from it (or --password)"
            )
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("the password is empty")
    click.echo(make_hash(password))
