"""The registry: records and dictionaries, read and written as values.

What leaves this class is a frozen `Record` or `Procedure`, never an ORM object.

The reads a search makes are on its hot path, so they are Core statements built once (one per
combination of criteria) with bound parameters: SQLAlchemy compiles each once and caches it, and
no ORM identity map or unit of work is set up per request. They run in autocommit, a single
statement each, so a pooled PostgreSQL connection goes back without a ROLLBACK round trip; a
read on a connection the server dropped is retried once on a fresh one; so is a write, when the
connection is found dead before its COMMIT (`database.in_transaction`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, bindparam, exists, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from medexempt.exemptions.records import ZONE, Contraindication, Criteria, Procedure, Record

from .database import in_transaction
from .models import CitizenshipRow, ExemptionRow, ProcedureRow


class UnknownNumberError(LookupError):
    """No record has this number."""


class AlreadyRevokedError(ValueError):
    """The record was revoked before; a revocation is final."""


class RevocationTimeError(ValueError):
    """A revocation time before the record's issue date, or in the future."""


# How far ahead of this host's clock a revocation time may be (another host's clock).
_CLOCK_SKEW = timedelta(minutes=5)


_EXEMPTION = ExemptionRow.__table__.c
_PROCEDURE = ProcedureRow.__table__.c
_CRITERIA = ("number", "iin", "passport_number", "citizenship_code")


def _records_where(given: Sequence[str]) -> Select[Any]:
    """The search for records matching the `given` criteria (bound by name), newest first."""
    return (
        select(*_EXEMPTION, _PROCEDURE.name_ru.label("p_ru"), _PROCEDURE.name_kk.label("p_kk"))
        .join_from(ExemptionRow.__table__, ProcedureRow.__table__)
        .where(*(_EXEMPTION[name] == bindparam(name) for name in given))
        .order_by(_EXEMPTION.issue_date.desc(), _EXEMPTION.number)
    )


# One statement per combination of criteria, in the order of _CRITERIA.
_SEARCHES: dict[tuple[str, ...], Select[Any]] = {}
_CITIZENSHIP_EXISTS = select(exists().where(CitizenshipRow.code == bindparam("code")))
_PROCEDURE_BY_CODE = select(*_PROCEDURE).where(_PROCEDURE.code == bindparam("code"))


def _search_statement(given: tuple[str, ...]) -> Select[Any]:
    statement = _SEARCHES.get(given)
    if statement is None:  # a benign race: two threads may build the same statement once
        statement = _SEARCHES[given] = _records_where(given)
    return statement


def to_record(row: Row[Any]) -> Record:
    """A row of `_records_where` as a Record."""
    return Record(
        number=row.number,
        iin=row.iin,
        passport_number=row.passport_number,
        citizenship_code=row.citizenship_code,
        last_name=row.last_name,
        first_name=row.first_name,
        middle_name=row.middle_name,
        birth_date=row.birth_date,
        procedure=Procedure(code=row.procedure_code, name_ru=row.p_ru, name_kk=row.p_kk),
        contraindication=Contraindication(row.contraindication),
        end_date=row.end_date,
        issue_date=row.issue_date,
        organization=row.organization,
        doctor=row.doctor,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        organization_bin=row.organization_bin,
        signed_by=row.signed_by,
        signed_at=row.signed_at,
        version=row.version,
    )


class Registry:
    """Records and certificates in one database; shareable between threads (a session per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # On PostgreSQL a read in autocommit returns its connection without a ROLLBACK round
        # trip; on SQLite that rollback is cheap and switching the mode per checkout is not.
        postgres = engine.dialect.name == "postgresql"
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if postgres else engine
        )

    @classmethod
    def connect(cls, url: str) -> Registry:
        """A registry on its own engine for `url` (the schema must already be upgraded)."""
        from .database import PING_IDLE_AFTER, create_engine

        return cls(create_engine(url, ping_idle_after=PING_IDLE_AFTER))

    def close(self) -> None:
        self.engine.dispose()

    def _read(self, statement: Select[Any], parameters: Mapping[str, Any]) -> list[Row[Any]]:
        """All rows of one read-only statement, in autocommit; retried once on a fresh
        connection when the pooled one turns out to be dead (a restarted database server)."""
        for attempt in (1, 2):
            try:
                with self._reader.connect() as connection:
                    return list(connection.execute(statement, parameters))
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def by_number(self, number: str) -> Record | None:
        rows = self._read(_search_statement(("number",)), {"number": number})
        return to_record(rows[0]) if rows else None

    def search(self, criteria: Criteria) -> list[Record]:
        """Records matching every criterion given, newest issue date first, in one statement."""
        parameters = criteria.given()
        if not parameters:
            raise ValueError("search needs at least one criterion")
        rows = self._read(_search_statement(tuple(parameters)), parameters)
        return [to_record(row) for row in rows]

    def citizenship_exists(self, code: str) -> bool:
        return bool(self._read(_CITIZENSHIP_EXISTS, {"code": code})[0][0])

    def procedure(self, code: str) -> Procedure | None:
        rows = self._read(_PROCEDURE_BY_CODE, {"code": code})
        return (
            Procedure(code=rows[0].code, name_ru=rows[0].name_ru, name_kk=rows[0].name_kk)
            if rows
            else None
        )

    def revoke(self, number: str, reason: str, at: datetime | None = None) -> Record:
        """Revoke at `at` (timezone-aware; default now): bumps the version (its certificates go)."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a revocation needs a reason")
        at = datetime.now(UTC) if at is None else at
        if at.tzinfo is None:
            raise ValueError("the revocation time needs an offset")

        if at > datetime.now(UTC) + _CLOCK_SKEW:
            raise RevocationTimeError(f"{at.isoformat()} is in the future")

        def revoke(connection: Connection) -> None:
            row = connection.execute(
                select(_EXEMPTION.id, _EXEMPTION.revoked_at, _EXEMPTION.issue_date)
                .where(_EXEMPTION.number == number)
                .with_for_update()
            ).first()
            if row is None:
                raise UnknownNumberError(number)
            if row.revoked_at is not None:
                when = row.revoked_at.astimezone(ZONE).isoformat()
                raise AlreadyRevokedError(f"{number} was revoked at {when} (Asia/Almaty)")
            if at.astimezone(ZONE).date() < row.issue_date:
                raise RevocationTimeError(
                    f"{at.astimezone(ZONE).isoformat()} is before {number}'s issue date "
                    f"{row.issue_date.isoformat()}"
                )
            connection.execute(
                update(ExemptionRow)
                .where(_EXEMPTION.id == row.id)
                .values(revoked_at=at, revocation_reason=reason, version=_EXEMPTION.version + 1)
            )

        in_transaction(self.engine, revoke)
        revoked = self.by_number(number)
        assert revoked is not None
        return revoked

    def healthy(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True
