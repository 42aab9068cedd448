"""Records the certificate tests render: a temporary and a permanent exemption."""

from __future__ import annotations

from datetime import date

from medexempt.exemptions.records import Contraindication, Procedure, Record

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
