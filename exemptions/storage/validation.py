"""The rules an imported row must follow, checked one row at a time; every failure is an `Issue`.

Messages never repeat an IIN, passport number or name: the report may end up in a log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from medexempt.exemptions.iin import is_valid
from medexempt.exemptions.records import ZONE

from . import models

# Import field -> column, in the documented order.
FIELDS: dict[str, str] = {
    "number": "number",
    "iin": "iin",
    "passportNumber": "passport_number",
    "citizenshipCode": "citizenship_code",
    "lastName": "last_name",
    "firstName": "first_name",
    "middleName": "middle_name",
    "birthDate": "birth_date",
    "procedureCode": "procedure_code",
    "contraindication": "contraindication",
    "endDate": "end_date",
    "issueDate": "issue_date",
    "organization": "organization",
    "doctor": "doctor",
    "revokedAt": "revoked_at",
    "revocationReason": "revocation_reason",
    "organizationBin": "organization_bin",
    "signedBy": "signed_by",
    "signedAt": "signed_at",
}
REQUIRED = (
    *("number", "lastName", "firstName", "birthDate", "procedureCode"),
    *("contraindication", "issueDate", "organization", "doctor"),
)
LENGTHS = {
    "number": models.NUMBER_LENGTH,
    "passportNumber": models.PASSPORT_LENGTH,
    "citizenshipCode": models.CODE_LENGTH,
    "procedureCode": models.CODE_LENGTH,
    "lastName": models.NAME_LENGTH,
    "firstName": models.NAME_LENGTH,
    "middleName": models.NAME_LENGTH,
    "organization": models.ORGANIZATION_LENGTH,
    "doctor": models.DOCTOR_LENGTH,
    "revocationReason": models.REASON_LENGTH,
    "signedBy": models.DOCTOR_LENGTH,
}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
CONTRAINDICATIONS = ("temporary", "permanent")


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    """What is wrong, where: line 0 is the file as a whole; field None is the row as a whole."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass(frozen=True, slots=True)
class Dictionaries:
    procedures: frozenset[str]
    citizenships: frozenset[str]


@dataclass(slots=True)
class _Row:
    line: int
    raw: dict[str, object]
    issues: list[Issue]
    values: dict[str, Any] = field(default_factory=dict)
    # Whether any value may hold a character XML cannot carry: searched once for the whole row
    # (its strings joined), and field by field only when it does.
    suspect: bool = True

    def fail(self, name: str | None, message: str) -> None:
        self.issues.append(Issue(self.line, name, message))

    def text(self, name: str) -> str | None:
        """The trimmed string value; empty or missing is None."""
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(name, "must be a string (quote numbers: leading zeros count)")
            return None
        value = value.strip()
        if not value:
            return None
        bad = _NOT_XML.search(value) if self.suspect else None
        if bad is not None:
            # It would be in every answer that finds the record, and XML 1.0 cannot carry it.
            self.fail(name, f"holds U+{ord(bad.group()):04X}, which XML cannot carry")
            return None
        limit = LENGTHS.get(name)
        if limit is not None and len(value) > limit:
            self.fail(name, f"longer than {limit} characters")
            return None
        return value or None

    def parsed(self, name: str, parse: Callable[[str], Any], what: str) -> Any:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            self.fail(name, f"not {what}")
            return None


# What XML 1.0 cannot carry (its Char production), plus the non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def validate(
    line: int, raw: dict[str, object], known: Dictionaries
) -> tuple[dict[str, Any], list[Issue]]:
    """The row's column values and its issues (the values are meaningful only without issues)."""
    row = _Row(line, raw, [])
    strings = [v for v in raw.values() if isinstance(v, str)]
    row.suspect = _NOT_XML.search("\n".join(strings)) is not None
    for name in raw:
        if name not in FIELDS:
            row.fail(name, "unknown field")
    text_fields = [n for n in FIELDS if n not in _DATES and n not in _INSTANTS]
    values = {FIELDS[n]: row.text(n) for n in text_fields}
    for name in _DATES:
        values[FIELDS[name]] = row.parsed(name, _date, "a date YYYY-MM-DD")
    for name in _INSTANTS:
        values[FIELDS[name]] = row.parsed(name, _instant, "a date or an ISO date and time")
    for name in REQUIRED:
        if values[FIELDS[name]] is None and not _failed(row, name):
            row.fail(name, "required")
    _check_person(row, values, known)
    _check_codes(row, values, known)
    _check_dates(row, values)
    _check_revocation(row, values)
    _check_signature(row, values)
    return values, row.issues


_DATES = ("birthDate", "endDate", "issueDate")
_INSTANTS = ("revokedAt", "signedAt")


def _failed(row: _Row, name: str) -> bool:
    return any(i.field == name for i in row.issues)


def _date(value: str) -> date:
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _instant(value: str) -> datetime:
    if _DATE.fullmatch(value):
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), ZONE)
    if not _DATETIME.fullmatch(value):
        raise ValueError(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZONE)


def _check_person(row: _Row, values: dict[str, Any], known: Dictionaries) -> None:
    iin, passport = values["iin"], values["passport_number"]
    citizenship = values["citizenship_code"]
    if iin is not None and not is_valid(iin):
        row.fail("iin", "not a valid IIN (12 digits with a matching check digit)")
    if passport is not None and citizenship is None and not _failed(row, "citizenshipCode"):
        row.fail("citizenshipCode", "required with passportNumber")
    if iin is None and passport is None and not _failed(row, "iin"):
        row.fail("iin", "a person needs an iin, or a passportNumber with its citizenshipCode")


def _check_codes(row: _Row, values: dict[str, Any], known: Dictionaries) -> None:
    procedure, citizenship = values["procedure_code"], values["citizenship_code"]
    if procedure is not None and procedure not in known.procedures:
        row.fail("procedureCode", f"unknown procedure code {procedure!r}")
    if citizenship is not None and citizenship not in known.citizenships:
        row.fail("citizenshipCode", f"unknown citizenship code {citizenship!r}")
    kind = values["contraindication"]
    if kind is not None and kind not in CONTRAINDICATIONS:
        row.fail("contraindication", "must be temporary or permanent")


def _check_revocation(row: _Row, values: dict[str, Any]) -> None:
    _together(row, values, "revokedAt", "revocationReason")


def _together(row: _Row, values: dict[str, Any], first: str, second: str) -> None:
    """Two fields given both or neither: the one missing is named (unless either failed)."""
    given = values[FIELDS[first]] is not None
    if given == (values[FIELDS[second]] is not None):
        return
    if not _failed(row, first) and not _failed(row, second):
        row.fail(second if given else first, f"{first} and {second} go together")


def _check_signature(row: _Row, values: dict[str, Any]) -> None:
    bin_ = values["organization_bin"]
    if bin_ is not None and not is_valid(bin_):
        row.fail("organizationBin", "not a valid BIN (12 digits with a matching check digit)")
    _together(row, values, "signedBy", "signedAt")
    signed_at, issue = values["signed_at"], values["issue_date"]
    if signed_at is not None and issue is not None and signed_at.astimezone(ZONE).date() < issue:
        row.fail("signedAt", "before the issue date")


def _check_dates(row: _Row, values: dict[str, Any]) -> None:
    kind, end = values["contraindication"], values["end_date"]
    birth, issue = values["birth_date"], values["issue_date"]
    if kind == "temporary" and end is None and not _failed(row, "endDate"):
        row.fail("endDate", "required for a temporary contraindication")
    if kind == "permanent" and end is not None:
        row.fail("endDate", "a permanent contraindication has no end date")
    if birth is not None and issue is not None and issue < birth:
        row.fail("issueDate", "before the birth date")
    if end is not None and issue is not None and end < issue:
        row.fail("endDate", "before the issue date")
