"""The IIN (ИИН), Kazakhstan's 12-digit individual identification number (SPEC §6)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{12}")
_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first_eleven: str) -> int | None:
    """The 12th digit for the first eleven, or None when the number can never be issued."""
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST, _SECOND):
        value = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if value != 10:
            return value
    return None


def is_valid(iin: str) -> bool:
    """Twelve ASCII digits, the last one the check digit (`str.isdigit` accepts other digits)."""
    if not _DIGITS.fullmatch(iin):
        return False
    return check_digit(iin[:11]) == int(iin[11])
