"""The verification token (SPEC §5): keyed, stable, unguessable, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from medexempt.exemptions.certificates.tokens import (
    token_matches,
    verification_token,
    verification_url,
)

SECRET = b"s" * 32
OTHER = b"o" * 32


def test_same_number_and_secret_give_the_same_token() -> None:
    assert verification_token("01085", SECRET) == verification_token("01085", SECRET)


def test_a_different_secret_or_number_gives_a_different_token() -> None:
    token = verification_token("01085", SECRET)
    assert verification_token("01085", OTHER) != token
    assert verification_token("01086", SECRET) != token
    assert verification_token("1085", SECRET) != token  # leading zeros are significant


def test_the_token_is_base64url_of_at_least_128_bits() -> None:
    token = verification_token("01085", SECRET)
    assert "=" not in token
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) * 8 >= 128
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_token_cannot_be_derived_from_the_number_alone() -> None:
    # Every secret-free function of the number that someone might try gives something else, and
    # tokens of neighbouring numbers share nothing a walker could extrapolate.
    number = "01085"
    token = verification_token(number, SECRET)
    unkeyed = [
        hashlib.sha256(number.encode()).digest(),
        hashlib.md5(number.encode()).digest(),
        hmac.new(b"", number.encode(), hashlib.sha256).digest(),
        number.encode(),
    ]
    for digest in unkeyed:
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert not encoded.startswith(token[:8])
        assert token not in encoded
    assert number not in token
    neighbours = {verification_token(f"{n:05d}", SECRET) for n in range(1000, 1100)}
    assert len(neighbours) == 100
    prefixes = {t[:4] for t in neighbours}
    assert len(prefixes) > 90


def test_token_matches_accepts_only_the_right_token() -> None:
    token = verification_token("01085", SECRET)
    assert token_matches("01085", token, SECRET)
    assert not token_matches("01085", token, OTHER)
    assert not token_matches("01086", token, SECRET)
    assert not token_matches("01085", token[:-1], SECRET)
    assert not token_matches("01085", "", SECRET)
    assert not token_matches("01085", "ё" * 22, SECRET)
    assert not token_matches("01085", "\udcff" * 22, SECRET)  # a surrogate from a WSGI path


def test_token_matches_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = verification_token("01085", SECRET)
    assert token_matches("01085", token, SECRET)
    assert not token_matches("01085", "x" * len(token), SECRET)
    assert len(calls) == 2


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        verification_token("01085", b"short")


@pytest.mark.parametrize(
    ("public_url", "number", "path"),
    [
        ("https://medexempt.example.kz", "01085", "/verify/01085"),
        ("https://medexempt.example.kz/", "01085", "/verify/01085"),
        ("http://127.0.0.1:8080/app/", "KZ-2026/000417", "/verify/KZ-2026%2F000417"),
        ("http://localhost", "№ 7 a", "/verify/%E2%84%96%207%20a"),
    ],
)
def test_verification_url(public_url: str, number: str, path: str) -> None:
    url = verification_url(public_url, number, SECRET)
    assert url == f"{public_url.rstrip('/')}{path}?t={verification_token(number, SECRET)}"
