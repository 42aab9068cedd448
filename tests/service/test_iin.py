"""IIN check digits (SPEC §6)."""

from __future__ import annotations

import pytest

from medexempt.exemptions.iin import check_digit, is_valid


@pytest.mark.parametrize("iin", ["900101300017", "850812400027", "000229601230", "900101300811"])
def test_the_specs_examples_are_valid(iin: str) -> None:
    assert is_valid(iin)


def test_the_second_pass_is_used_when_the_first_gives_10() -> None:
    digits = [int(c) for c in "90010130081"]
    assert sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11 == 10
    assert check_digit("90010130081") == 1


@pytest.mark.parametrize(
    "iin",
    [
        "900101300018",
        "90010130001",
        "9001013000170",
        "９００１０１３０００１７",
        "90010130001a",
        "",
    ],
)
def test_invalid(iin: str) -> None:
    assert not is_valid(iin)


def test_a_number_never_issued() -> None:
    # Eleven digits for which both passes give 10: invalid whatever the last digit is.
    never = next(f"{n:011d}" for n in range(10**6) if check_digit(f"{n:011d}") is None)
    assert not any(is_valid(never + str(d)) for d in range(10))
