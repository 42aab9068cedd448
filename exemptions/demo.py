"""The demo data set `medexempt serve --demo` loads: every status and every search path.

- 01085, IIN 900101300017: UP_TO_DATE, permanent, procedure 100 (the original's sample).
- 01090, IIN 900101300017: UP_TO_DATE, temporary until 30-06-2027 (newest first by IIN).
- 01087, IIN 850812400027: NOT_UP_TO_DATE, temporary, ended 31-12-2024.
- 01088, IIN 850812400027: REVOKED, with its reason.
- 01089, passport N12345678 + citizenship 643: UP_TO_DATE, permanent (a foreign citizen, no IIN).
- 01091, IIN 000229601230: UP_TO_DATE, temporary until 31-12-2030 (born on 29 February).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .records import ZONE, Contraindication, Procedure, Record

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

COVID = Procedure(
    "100",
    "Иммунопрофилактика от коронавирусной инфекции",
    "Коронавирустық инфекцияға қарсы иммунопрофилактика",
)
_CLINIC = "ГКП на ПХВ «Городская поликлиника №5» акимата г. Астаны"
_CLINIC_ALMATY = "ГКП на ПХВ «Городская поликлиника №12» УОЗ г. Алматы"


def _record(number: str, **fields: object) -> Record:
    base: dict[str, object] = {
        "number": number,
        "iin": None,
        "passport_number": None,
        "citizenship_code": None,
        "middle_name": None,
        "procedure": COVID,
        "contraindication": Contraindication.PERMANENT,
        "end_date": None,
        "organization": _CLINIC,
        "doctor": "Сәрсенбаева Гүлнар Қайратқызы",
    }
    base.update(fields)
    return Record(**base)  # type: ignore[arg-type]


RECORDS = (
    _record(
        "01085",
        iin="900101300017",
        last_name="Ахметова",
        first_name="Әлия",
        middle_name="Серікқызы",
        birth_date=date(1990, 1, 1),
        issue_date=date(2021, 11, 10),
        organization_bin="010240001234",
        signed_by="Сәрсенбаева Гүлнар Қайратқызы",
        signed_at=datetime(2021, 11, 10, 10, 42, tzinfo=ZONE),
    ),
    _record(
        "01090",
        iin="900101300017",
        last_name="Ахметова",
        first_name="Әлия",
        middle_name="Серікқызы",
        birth_date=date(1990, 1, 1),
        contraindication=Contraindication.TEMPORARY,
        end_date=date(2027, 6, 30),
        issue_date=date(2025, 9, 1),
    ),
    _record(
        "01087",
        iin="850812400027",
        last_name="Нұрланов",
        first_name="Ерлан",
        middle_name="Болатұлы",
        birth_date=date(1985, 8, 12),
        contraindication=Contraindication.TEMPORARY,
        end_date=date(2024, 12, 31),
        issue_date=date(2024, 6, 3),
        organization=_CLINIC_ALMATY,
        doctor="Ким Ольга Викторовна",
    ),
    _record(
        "01088",
        iin="850812400027",
        last_name="Нұрланов",
        first_name="Ерлан",
        middle_name="Болатұлы",
        birth_date=date(1985, 8, 12),
        issue_date=date(2023, 2, 1),
        organization=_CLINIC_ALMATY,
        doctor="Ким Ольга Викторовна",
        revoked_at=datetime(2025, 2, 15, 6, 30, tzinfo=UTC),
        revocation_reason="Противопоказание снято по результатам повторного осмотра",
    ),
    _record(
        "01089",
        passport_number="N12345678",
        citizenship_code="643",
        last_name="Иванов",
        first_name="Сергей",
        middle_name="Петрович",
        birth_date=date(1978, 4, 23),
        issue_date=date(2024, 10, 14),
    ),
    _record(
        "01091",
        iin="000229601230",
        last_name="Әбілқасымова",
        first_name="Аружан",
        birth_date=date(2000, 2, 29),
        contraindication=Contraindication.TEMPORARY,
        end_date=date(2030, 12, 31),
        issue_date=date(2025, 3, 1),
    ),
)


def import_row(record: Record) -> dict[str, str | None]:
    """A record as a row of `medexempt db import` (the README's field names)."""

    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "number": record.number,
        "iin": record.iin,
        "passportNumber": record.passport_number,
        "citizenshipCode": record.citizenship_code,
        "lastName": record.last_name,
        "firstName": record.first_name,
        "middleName": record.middle_name,
        "birthDate": day(record.birth_date),
        "procedureCode": record.procedure.code,
        "contraindication": record.contraindication.value,
        "endDate": day(record.end_date),
        "issueDate": day(record.issue_date),
        "organization": record.organization,
        "doctor": record.doctor,
        "revokedAt": None if record.revoked_at is None else record.revoked_at.isoformat(),
        "revocationReason": record.revocation_reason,
        "organizationBin": record.organization_bin,
        "signedBy": record.signed_by,
        "signedAt": None if record.signed_at is None else record.signed_at.isoformat(),
    }


def load(engine: Engine) -> int:
    """Import the demo records that are not in the database yet (through the checked import)."""
    from .storage import Registry
    from .storage.importer import import_file

    registry = Registry(engine)
    missing = [r for r in RECORDS if registry.by_number(r.number) is None]
    if not missing:
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.jsonl"
        lines = (json.dumps(import_row(r), ensure_ascii=False) for r in missing)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return import_file(engine, path).inserted
