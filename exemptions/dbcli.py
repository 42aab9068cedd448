"""`medexempt db`: create or migrate the database, import records, revoke one.

Exit status: 0 done; 1 refused (invalid rows, unknown or already revoked number); 2 cannot run
(bad arguments, or a database that needs `medexempt db upgrade` first).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from medexempt.exemptions.records import ZONE

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EXIT_REFUSED, EXIT_CANNOT_RUN = 1, 2
F = TypeVar("F", bound=Callable[..., Any])


def _db_option(command: F) -> F:
    option = click.option(
        "--db",
        "url",
        envvar="MEDEXEMPT_DB",
        default="sqlite:///medexempt.db",
        show_default=True,
        help="Database URL: sqlite:///FILE or postgresql+psycopg://USER:PASS@HOST/DB "
        "[env MEDEXEMPT_DB].",
    )
    return option(command)


@click.group()
def db() -> None:
    """The service's database: schema, dictionaries, records."""


@db.command()
@_db_option
def upgrade(url: str) -> None:
    """Create the schema (or migrate it to the newest) and load the dictionaries."""
    from medexempt.exemptions import storage

    try:
        storage.upgrade(url)
    except SQLAlchemyError as exc:
        _cannot_run(url, exc)
    click.echo(f"{storage.display(url)} is at revision {storage.head_revision()}")


@db.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--update", is_flag=True, help="Replace records whose number is already stored.")
@_db_option
def import_(file: Path, update: bool, url: str) -> None:
    """Import records from FILE (JSON Lines or CSV): every row valid, or nothing is written.

    Fields: number, iin, passportNumber, citizenshipCode, lastName, firstName, middleName,
    birthDate, procedureCode, contraindication (temporary|permanent), endDate, issueDate,
    organization, doctor, revokedAt, revocationReason. Dates are YYYY-MM-DD; revokedAt may be
    an ISO date and time (Asia/Almaty when it has no offset).
    """
    from medexempt.exemptions.storage.importer import ImportRejectedError, import_file

    engine = _ready_engine(url)
    try:
        summary = import_file(engine, file, update=update, progress=sys.stderr.isatty())
    except ImportRejectedError as exc:
        for issue in exc.issues:
            click.echo(f"{file}: {issue}", err=True)
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(EXIT_REFUSED)
    finally:
        engine.dispose()
    click.echo(
        f"imported {summary.inserted} new and updated {summary.updated} record(s) "
        f"in {summary.seconds:.2f} s ({summary.rate:,.0f} rows/s)"
    )


@db.command()
@click.argument("number")
@click.option("--reason", required=True, help="Why; shown to whoever searches for the record.")
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="When it was revoked (default now; Asia/Almaty without an offset).",
)
@_db_option
def revoke(number: str, reason: str, at: datetime | None, url: str) -> None:
    """Revoke the exemption NUMBER."""
    from medexempt.exemptions.storage import (
        AlreadyRevokedError,
        Registry,
        RevocationTimeError,
        UnknownNumberError,
    )

    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=ZONE)
    engine = _ready_engine(url)
    try:
        record = Registry(engine).revoke(number, reason, at)
    except UnknownNumberError:
        click.echo(f"no exemption numbered {number}", err=True)
        sys.exit(EXIT_REFUSED)
    except AlreadyRevokedError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_REFUSED)
    except RevocationTimeError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reason") from exc
    finally:
        engine.dispose()
    assert record.revoked_at is not None
    click.echo(f"revoked {number} at {record.revoked_at.astimezone(ZONE).isoformat()}")


def _cannot_run(url: str, exc: SQLAlchemyError) -> NoReturn:
    from medexempt.exemptions.storage import display

    cause = getattr(exc, "orig", None) or exc  # the driver's message, without SQLAlchemy's advice
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    click.echo(f"{display(url)}: {reason}", err=True)
    sys.exit(EXIT_CANNOT_RUN)


def _ready_engine(url: str) -> Engine:
    from sqlalchemy.engine import make_url

    from medexempt.exemptions import storage

    parsed = make_url(url)
    database = parsed.database or ""
    in_a_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if in_a_file and not Path(database).is_file():  # connecting would create an empty file
        click.echo(
            f"{storage.display(url)}: no such database file: create it with "
            "`medexempt db upgrade --db URL` first",
            err=True,
        )
        sys.exit(EXIT_CANNOT_RUN)
    engine = storage.create_engine(url)
    try:
        current = storage.is_current(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        _cannot_run(url, exc)
    if not current:
        engine.dispose()
        click.echo(
            f"{storage.display(url)} has no schema or an old one: "
            f"run `medexempt db upgrade --db URL` first",
            err=True,
        )
        sys.exit(EXIT_CANNOT_RUN)
    return engine
