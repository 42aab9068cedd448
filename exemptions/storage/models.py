"""The tables, as typed SQLAlchemy 2 mappings; the migrations, not `create_all`, build them.

Rows never leave this package: `registry` maps them to `exemptions.records.Record`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Column widths, shared with the importer so that a too-long value is a reported row error rather
# than a failure in the middle of a transaction (PostgreSQL enforces them; SQLite does not).
NUMBER_LENGTH = 64
PASSPORT_LENGTH = 64
CODE_LENGTH = 16
NAME_LENGTH = 200
ORGANIZATION_LENGTH = 500
DOCTOR_LENGTH = 300
BIN_LENGTH = 12
REASON_LENGTH = 1000
DICTIONARY_NAME_LENGTH = 500


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC; SQLite keeps no offset, so it is restored on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no place in the database: give it an offset")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ProcedureRow(Base):
    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(DICTIONARY_NAME_LENGTH))
    name_kk: Mapped[str] = mapped_column(String(DICTIONARY_NAME_LENGTH))


class CitizenshipRow(Base):
    __tablename__ = "citizenships"

    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(DICTIONARY_NAME_LENGTH))
    name_kk: Mapped[str] = mapped_column(String(DICTIONARY_NAME_LENGTH))


class ExemptionRow(Base):
    __tablename__ = "exemptions"
    __table_args__ = (
        CheckConstraint(
            "(contraindication = 'temporary' AND end_date IS NOT NULL)"
            " OR (contraindication = 'permanent' AND end_date IS NULL)",
            name="ck_exemptions_end_date",
        ),
        CheckConstraint(
            "(revoked_at IS NULL) = (revocation_reason IS NULL)", name="ck_exemptions_revocation"
        ),
        CheckConstraint(
            "iin IS NOT NULL OR (passport_number IS NOT NULL AND citizenship_code IS NOT NULL)",
            name="ck_exemptions_person",
        ),
        CheckConstraint("version >= 1", name="ck_exemptions_version"),
        UniqueConstraint("number", name="uq_exemptions_number"),  # the number search path
        # Each search path filters on its key and orders newest first: the issue date rides along.
        Index("ix_exemptions_iin", "iin", "issue_date", "number"),
        Index(
            "ix_exemptions_passport",
            "passport_number",
            "citizenship_code",
            "issue_date",
            "number",
        ),
        Index("ix_exemptions_issue_date", "issue_date", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(NUMBER_LENGTH))
    iin: Mapped[str | None] = mapped_column(String(12))
    passport_number: Mapped[str | None] = mapped_column(String(PASSPORT_LENGTH))
    citizenship_code: Mapped[str | None] = mapped_column(
        String(CODE_LENGTH), ForeignKey("citizenships.code")
    )
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    middle_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    birth_date: Mapped[date] = mapped_column(Date)
    procedure_code: Mapped[str] = mapped_column(String(CODE_LENGTH), ForeignKey("procedures.code"))
    contraindication: Mapped[str] = mapped_column(String(16))
    end_date: Mapped[date | None] = mapped_column(Date)
    issue_date: Mapped[date] = mapped_column(Date)
    organization: Mapped[str] = mapped_column(String(ORGANIZATION_LENGTH))
    doctor: Mapped[str] = mapped_column(String(DOCTOR_LENGTH))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    organization_bin: Mapped[str | None] = mapped_column(String(BIN_LENGTH))
    signed_by: Mapped[str | None] = mapped_column(String(DOCTOR_LENGTH))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)


class SeenMessageRow(Base):
    """A (senderId, messageId) received, kept until its messageDate leaves the replay window."""

    __tablename__ = "seen_messages"
    __table_args__ = (Index("ix_seen_messages_expires", "expires"),)

    sender_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires: Mapped[datetime] = mapped_column(UTCDateTime())
