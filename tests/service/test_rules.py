"""SPEC §2: the rules a search request must follow, and their INVALID_REQUEST messages."""

from __future__ import annotations

import pytest

from medexempt.exemptions import rules
from medexempt.exemptions.records import Criteria
from medexempt.exemptions.rules import Invalid, read_criteria
from medexempt.generated.models import MedicalExemptionSearchRequest as Request


def read(**fields: str | None) -> Criteria | Invalid:
    return read_criteria(Request(**fields), lambda code: code in {"398", "643"})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"number": "01085"}, Criteria(number="01085")),
        ({"number": "  01085\t"}, Criteria(number="01085")),
        ({"iin": "900101300017"}, Criteria(iin="900101300017")),
        (
            {"passport_number": "N12345678", "citizenship_code": "398"},
            Criteria(None, None, "N12345678", "398"),
        ),
        ({"number": "01085", "iin": "900101300017"}, Criteria(number="01085", iin="900101300017")),
        ({"number": "01085", "iin": ""}, Criteria(number="01085")),
    ],
)
def test_valid_requests(fields: dict[str, str], expected: Criteria) -> None:
    assert read(**fields) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, rules.NO_CRITERIA),
        ({"number": "  ", "iin": ""}, rules.NO_CRITERIA),
        ({"passport_number": "N12345678"}, rules.PASSPORT_WITHOUT_CITIZENSHIP),
        ({"citizenship_code": "398"}, rules.CITIZENSHIP_WITHOUT_PASSPORT),
        ({"iin": "900101300018"}, rules.BAD_IIN),
        ({"iin": "９００１０１３０００１７"}, rules.BAD_IIN),
        ({"number": "01085", "iin": "123"}, rules.BAD_IIN),
        ({"passport_number": "N1", "citizenship_code": "999"}, rules.unknown_citizenship("999")),
    ],
)
def test_each_rule_and_its_message(fields: dict[str, str], message: str) -> None:
    result = read(**fields)
    assert isinstance(result, Invalid)
    assert result.message == message


def test_every_broken_rule_is_reported() -> None:
    result = read(passport_number="N1", iin="1")
    assert isinstance(result, Invalid)
    assert result.message == f"{rules.PASSPORT_WITHOUT_CITIZENSHIP}; {rules.BAD_IIN}"


def test_messages_name_the_element() -> None:
    for message in (
        rules.PASSPORT_WITHOUT_CITIZENSHIP,
        rules.CITIZENSHIP_WITHOUT_PASSPORT,
        rules.BAD_IIN,
    ):
        assert any(name in message for name in ("iin", "passportNumber", "citizenshipCode"))
