"""The search rules of SPEC §2: which criteria a request must carry, and how they are read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from medexempt.generated import models

from .iin import is_valid
from .records import Criteria

NO_CRITERIA = (
    "Не указан ни один параметр поиска: number, iin или пара passportNumber + citizenshipCode"
)
PASSPORT_WITHOUT_CITIZENSHIP = "Поле citizenshipCode обязательно, если указан passportNumber"
CITIZENSHIP_WITHOUT_PASSPORT = "Поле citizenshipCode указано без passportNumber"
BAD_IIN = "Поле iin должно содержать 12 цифр ИИН с верной контрольной цифрой"


def unknown_citizenship(code: str) -> str:
    return f"Поле citizenshipCode: кода «{code}» нет в справочнике гражданства"


@dataclass(frozen=True, slots=True)
class Invalid:
    """A request that breaks a rule; `message` names the element(s), in Russian."""

    message: str


def _value(text: str | None) -> str | None:
    """Surrounding white space is trimmed; present but empty counts as absent."""
    if text is None:
        return None
    return text.strip() or None


def read_criteria(
    request: models.MedicalExemptionSearchRequest, citizenship_exists: Callable[[str], bool]
) -> Criteria | Invalid:
    """The request's criteria, or every rule it breaks."""
    criteria = Criteria(
        number=_value(request.number),
        iin=_value(request.iin),
        passport_number=_value(request.passport_number),
        citizenship_code=_value(request.citizenship_code),
    )
    broken: list[str] = []
    if criteria.passport_number and not criteria.citizenship_code:
        broken.append(PASSPORT_WITHOUT_CITIZENSHIP)
    if criteria.citizenship_code and not criteria.passport_number:
        broken.append(CITIZENSHIP_WITHOUT_PASSPORT)
    if not (
        criteria.number or criteria.iin or criteria.passport_number or criteria.citizenship_code
    ):
        broken.append(NO_CRITERIA)
    if criteria.iin is not None and not is_valid(criteria.iin):
        broken.append(BAD_IIN)
    code = criteria.citizenship_code
    if code is not None and criteria.passport_number and not citizenship_exists(code):
        broken.append(unknown_citizenship(code))
    return Invalid("; ".join(broken)) if broken else criteria
