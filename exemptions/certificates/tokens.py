"""The token a certificate's verification URL carries (SPEC §5).

The token is an HMAC-SHA256 of the certificate number under the server's secret, cut to 128 bits and
written in base64url without padding. Without the secret nobody can compute the token of a number,
so nobody can enumerate certificates by walking the numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

TOKEN_BYTES = 16  # 128 bits: 22 base64url characters
MIN_SECRET_BYTES = 16
# Domain separation: this token never equals an HMAC the same secret gives for another purpose.
_PURPOSE = b"medexempt/verify/v1\x00"


def verification_token(number: str, secret: bytes) -> str:
    """The token for `number`: base64url (no padding) of the first 128 bits of its HMAC-SHA256."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} bytes long")
    mac = hmac.new(secret, _PURPOSE + number.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:TOKEN_BYTES]).rstrip(b"=").decode("ascii")


def token_matches(number: str, token: str, secret: bytes) -> bool:
    """Whether `token` is the token of `number`, compared in constant time."""
    expected = verification_token(number, secret).encode("ascii")
    return hmac.compare_digest(expected, token.encode("utf-8", errors="replace"))


def verification_url(public_url: str, number: str, secret: bytes) -> str:
    """`{public_url}/verify/{number}?t={token}`, the number URL-quoted, no doubled slash."""
    token = verification_token(number, secret)
    return f"{public_url.rstrip('/')}/verify/{quote(number, safe='')}?t={token}"
