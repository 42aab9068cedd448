"""The registry: records, dictionaries and stored certificates, read and written as values.

What leaves this class is a frozen `Record` or `Procedure` (or bytes), never an ORM object.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, exists, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exemptions.records import Contraindication, Procedure, Record

from .models import LAYOUTS, CertificateRow, CitizenshipRow, ExemptionRow, ProcedureRow


class UnknownNumberError(LookupError):
    """No record has this number."""


class AlreadyRevokedError(ValueError):
    """The record was revoked before; a revocation is final."""


def to_procedure(row: ProcedureRow) -> Procedure:
    return Procedure(code=row.code, name_ru=row.name_ru, name_kk=row.name_kk)


def to_record(row: ExemptionRow, procedure: ProcedureRow) -> Record:
    return Record(
        number=row.number,
        iin=row.iin,
        passport_number=row.passport_number,
        citizenship_code=row.citizenship_code,
        last_name=row.last_name,
        first_name=row.first_name,
        middle_name=row.middle_name,
        birth_date=row.birth_date,
        procedure=to_procedure(procedure),
        contraindication=Contraindication(row.contraindication),
        end_date=row.end_date,
        issue_date=row.issue_date,
        organization=row.organization,
        doctor=row.doctor,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        version=row.version,
    )


def _joined() -> Select[ExemptionRow, ProcedureRow]:
    return select(ExemptionRow, ProcedureRow).join(
        ProcedureRow, ProcedureRow.code == ExemptionRow.procedure_code
    )


class Registry:
    """Records and certificates in one database; shareable between threads (a session per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str) -> Registry:
        """A registry on its own engine for `url` (the schema must already be upgraded)."""
        from .database import create_engine

        return cls(create_engine(url, pool_pre_ping=True))

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def by_number(self, number: str) -> Record | None:
        with self._session() as session:
            row = session.execute(_joined().where(ExemptionRow.number == number)).first()
            return None if row is None else to_record(*row)

    def search(
        self,
        number: str | None = None,
        iin: str | None = None,
        passport_number: str | None = None,
        citizenship_code: str | None = None,
    ) -> list[Record]:
        """Records matching every criterion given (None = not given), newest issue date first."""
        criteria = {
            ExemptionRow.number: number,
            ExemptionRow.iin: iin,
            ExemptionRow.passport_number: passport_number,
            ExemptionRow.citizenship_code: citizenship_code,
        }
        given = [column == value for column, value in criteria.items() if value is not None]
        if not given:
            raise ValueError("search needs at least one criterion")
        query = _joined().where(*given)
        query = query.order_by(ExemptionRow.issue_date.desc(), ExemptionRow.number)
        with self._session() as session:
            return [to_record(*row) for row in session.execute(query)]

    def citizenship_exists(self, code: str) -> bool:
        with self._session() as session:
            query = select(exists().where(CitizenshipRow.code == code))
            return bool(session.scalar(query))

    def procedure(self, code: str) -> Procedure | None:
        with self._session() as session:
            row = session.get(ProcedureRow, code)
            return None if row is None else to_procedure(row)

    def stored_certificate(self, number: str, version: int, layout: str) -> bytes | None:
        """The PDF stored for this record version, or None (never stored, or the record changed)."""
        _check_layout(layout)
        query = select(CertificateRow.pdf).where(
            CertificateRow.number == number,
            CertificateRow.layout == layout,
            CertificateRow.version == version,
        )
        with self._session() as session:
            return session.scalar(query)

    def store_certificate(self, number: str, version: int, layout: str, pdf: bytes) -> None:
        """Keep a rendered PDF for this record version (layout: one of LAYOUTS); a no-op if the
        record has moved on to a newer version meanwhile."""
        _check_layout(layout)
        with self._session() as session, session.begin():
            current = session.scalar(
                select(ExemptionRow.version).where(ExemptionRow.number == number)
            )
            if current != version:
                return
            values = {"number": number, "layout": layout, "version": version, "pdf": pdf}
            session.execute(_upsert_certificate(self.engine.dialect.name, values))

    def revoke(self, number: str, reason: str, at: datetime | None = None) -> Record:
        """Revoke at `at` (timezone-aware; default now): bumps the version, drops stored PDFs."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a revocation needs a reason")
        at = datetime.now(UTC) if at is None else at
        if at.tzinfo is None:
            raise ValueError("the revocation time needs an offset")
        with self._session() as session, session.begin():
            row = session.execute(
                select(ExemptionRow).where(ExemptionRow.number == number).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise UnknownNumberError(number)
            if row.revoked_at is not None:
                raise AlreadyRevokedError(f"{number} was revoked at {row.revoked_at.isoformat()}")
            session.execute(
                update(ExemptionRow)
                .where(ExemptionRow.id == row.id)
                .values(
                    revoked_at=at,
                    revocation_reason=reason,
                    version=ExemptionRow.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            session.execute(delete(CertificateRow).where(CertificateRow.number == number))
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


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")


def _upsert_certificate(dialect: str, values: dict[str, Any]) -> Any:
    """INSERT, or replace the stored PDF of an older version; never overwrite a newer one."""
    inserts: dict[str, Callable[..., Any]] = {
        "postgresql": postgresql.insert,
        "sqlite": sqlite.insert,
    }
    if dialect not in inserts:
        raise NotImplementedError(f"certificates are stored on SQLite or PostgreSQL, not {dialect}")
    statement = inserts[dialect](CertificateRow).values(**values)
    return statement.on_conflict_do_update(
        index_elements=[CertificateRow.number, CertificateRow.layout],
        set_={"version": statement.excluded.version, "pdf": statement.excluded.pdf},
        where=CertificateRow.version <= statement.excluded.version,
    )
