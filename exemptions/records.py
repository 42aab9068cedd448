"""The service's vocabulary: a medical exemption record and its status, the search criteria, the
certificate layouts, and the one time zone everything is judged in.

Storage returns `Record`s, the search takes `Criteria`, the certificates render a `Record` in a
`Layout`; nothing else in exemptions/ spells these ideas another way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Almaty")  # UTC+05:00 since 1 March 2024 (SPEC §7)


class Contraindication(enum.Enum):
    """Whether the exemption ends (temporary, with an end date) or not (permanent)."""

    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class Status(enum.Enum):
    """The status a search reports (SPEC §3); derived at request time, never stored."""

    UP_TO_DATE = "UP_TO_DATE"  # актуален
    NOT_UP_TO_DATE = "NOT_UP_TO_DATE"  # неактуален
    REVOKED = "REVOKED"  # отозван


class Layout(enum.Enum):
    """The two certificate layouts of SPEC §5."""

    ELECTRONIC = "electronic"  # `certificate`: to view on screen
    PRINTABLE = "printable"  # `printableCertificate`: black on white, room for stamp and signature


@dataclass(frozen=True, slots=True)
class Criteria:
    """The criteria of a valid request, trimmed; a record must match all that are given."""

    number: str | None = None
    iin: str | None = None
    passport_number: str | None = None
    citizenship_code: str | None = None

    def given(self) -> dict[str, str]:
        """The criteria given, by field name, in the order above."""
        values = (self.number, self.iin, self.passport_number, self.citizenship_code)
        names = ("number", "iin", "passport_number", "citizenship_code")
        return {name: value for name, value in zip(names, values, strict=True) if value is not None}


@dataclass(frozen=True, slots=True)
class Procedure:
    """A vaccination (procedure dictionary entry) an exemption is from."""

    code: str
    name_ru: str
    name_kk: str


@dataclass(frozen=True, slots=True)
class Record:
    """One exemption, with everything SPEC §3 and §5 need. `version` grows with every change."""

    number: str
    iin: str | None
    passport_number: str | None
    citizenship_code: str | None
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    procedure: Procedure
    contraindication: Contraindication
    end_date: date | None
    issue_date: date
    organization: str
    doctor: str
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    organization_bin: str | None = None  # the issuing organisation's BIN (БИН), when known
    signed_by: str | None = None  # who signed the record electronically (ЭЦП), and when
    signed_at: datetime | None = None
    version: int = 1

    def status(self, today: date) -> Status:
        """REVOKED if revoked; else NOT_UP_TO_DATE if temporary and ended before `today`."""
        if self.revoked_at is not None:
            return Status.REVOKED
        temporary = self.contraindication is Contraindication.TEMPORARY
        if temporary and self.end_date is not None and self.end_date < today:
            return Status.NOT_UP_TO_DATE
        return Status.UP_TO_DATE

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


def today() -> date:
    """Today in Asia/Almaty, the date statuses are judged by."""
    return datetime.now(ZONE).date()


def midnight(day: date) -> datetime:
    """The start of `day` in Asia/Almaty (an end date on the wire is that instant)."""
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)
