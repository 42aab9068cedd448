"""Certificates of SPEC §5: the PDF in two layouts and the token its QR code's URL carries."""

from ..records import Layout
from .render import render
from .tokens import token_matches, verification_token, verification_url

__all__ = ["Layout", "render", "token_matches", "verification_token", "verification_url"]
