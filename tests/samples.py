"""Sample records for tests and benchmarks: the two the certificate tests render (a temporary and a
permanent exemption), and any number of registry-like ones (`generated_records`)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from medexempt.exemptions import demo
from medexempt.exemptions.iin import check_digit
from medexempt.exemptions.records import Contraindication, Procedure, Record
from medexempt.exemptions.storage.dictionaries import STATELESS
from medexempt.exemptions.storage.dictionaries import load as load_dictionary

SECRET = b"certificate-tests-secret-0123456789"
PUBLIC_URL = "https://medexempt.example.kz/"

COVID = Procedure(
    code="100",
    name_ru="Иммунопрофилактика от коронавирусной инфекции",
    name_kk="Коронавирустық инфекцияға қарсы иммунопрофилактика",
)
MEASLES = Procedure(
    code="104",
    name_ru="Вакцинация против кори, краснухи и эпидемического паротита",
    name_kk="Қызылшаға, қызамыққа және эпидемиялық паротитке қарсы вакцинация",
)

TEMPORARY = Record(
    number="01085",
    iin="900101300017",
    passport_number=None,
    citizenship_code=None,
    last_name="Әбдірахманова",
    first_name="Гүлнұр",
    middle_name="Өмірзаққызы",
    birth_date=date(1990, 1, 1),
    procedure=COVID,
    contraindication=Contraindication.TEMPORARY,
    end_date=date(2026, 12, 31),
    issue_date=date(2026, 3, 15),
    organization=(
        "ГКП на ПХВ «Городская поликлиника № 5» Управления общественного здравоохранения г. Алматы"
    ),
    doctor="Қасымов Ерлан Нұрланұлы",
)

PERMANENT = Record(
    number="KZ-2026/000417",
    iin="850812400027",
    passport_number="N12345678",
    citizenship_code="398",
    last_name="Іңкәрбекұлы",
    first_name="Һибатулла",
    middle_name=None,
    birth_date=date(1985, 8, 12),
    procedure=MEASLES,
    contraindication=Contraindication.PERMANENT,
    end_date=None,
    issue_date=date(2025, 11, 3),
    organization="Областная детская больница, г. Шымкент",
    doctor="Ұзақбаева Айгүл Серікқызы",
)

RECORDS = {"temporary": TEMPORARY, "permanent": PERMANENT}


# --- registry-like records: valid, varied, the same on every run ---------------------------------

_SYLLABLES = ("ас", "ар", "бе", "да", "ер", "жа", "ка", "лан", "ма", "на", "ра", "са", "те", "ұл")
_REASON = "Противопоказание снято по результатам повторного осмотра"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def make_iin(rng: random.Random, birth: date) -> str:
    """A valid IIN for someone born on `birth`: YYMMDD, century and sex, serial, check digit."""
    century = (3 if birth.year < 2000 else 5) + rng.randrange(2)
    while True:
        first = f"{birth:%y%m%d}{century}{rng.randrange(10_000):04d}"
        check = check_digit(first)
        if check is not None:
            return first + str(check)


def generated_records(count: int) -> list[Record]:
    """`count` valid records, the same on every run: random.Random(0)."""
    rng = random.Random(0)
    procedures = [Procedure(e.code, e.name_ru, e.name_kk) for e in load_dictionary("procedures")]
    citizenships = [e.code for e in load_dictionary("citizenships") if e.code != STATELESS]
    records = []
    for i in range(count):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        issue = date(2020, 1, 1) + timedelta(days=rng.randrange(6 * 365))
        foreign = rng.random() < 0.1
        temporary = rng.random() < 0.5
        revoked = rng.random() < 0.05
        records.append(
            Record(
                number=f"B{i:07d}",
                iin=None if foreign else make_iin(rng, birth),
                passport_number=f"N{rng.randrange(10**8):08d}" if foreign else None,
                citizenship_code=rng.choice(citizenships) if foreign else None,
                last_name=_word(rng),
                first_name=_word(rng),
                middle_name=_word(rng) if rng.random() < 0.8 else None,
                birth_date=birth,
                procedure=rng.choice(procedures),
                contraindication=(
                    Contraindication.TEMPORARY if temporary else Contraindication.PERMANENT
                ),
                end_date=issue + timedelta(days=rng.randint(30, 1500)) if temporary else None,
                issue_date=issue,
                organization=f"Поликлиника №{rng.randint(1, 60)}",
                doctor=f"{_word(rng)} {_word(rng)}",
                revoked_at=(
                    datetime.combine(issue + timedelta(days=rng.randint(1, 90)), dt.time(9), dt.UTC)
                    if revoked
                    else None
                ),
                revocation_reason=_REASON if revoked else None,
            )
        )
    return records


def write_import_file(records: Sequence[Record], path: Path) -> None:
    """`records` as a file for `medexempt db import`: CSV or JSON Lines by the path's suffix."""
    rows = [demo.import_row(r) for r in records]
    with path.open("w", encoding="utf-8", newline="") as stream:
        if path.suffix == ".csv":
            writer = csv.writer(stream)
            writer.writerow(rows[0])
            writer.writerows([["" if v is None else v for v in row.values()] for row in rows])
        else:
            stream.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
