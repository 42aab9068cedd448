"""Import rows for the storage tests: valid by default, with synthetic IINs and names."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medexempt.exemptions.storage.validation import FIELDS

IIN_A = "900101300017"
IIN_B = "850812400027"


def row(number: str = "01085", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": number,
        "iin": IIN_A,
        "passportNumber": None,
        "citizenshipCode": "398",
        "lastName": "Тестова",
        "firstName": "Әсел",
        "middleName": "Қайратқызы",
        "birthDate": "1990-01-01",
        "procedureCode": "100",
        "contraindication": "temporary",
        "endDate": "2031-12-31",
        "issueDate": "2021-05-20",
        "organization": "Городская поликлиника № 1",
        "doctor": "Врач Тестовый",
        "revokedAt": None,
        "revocationReason": None,
    }
    base.update(fields)
    return base


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for r in rows:
            stream.write(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n")
    return path


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(FIELDS))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if v is None else v for k, v in r.items()})
    return path
