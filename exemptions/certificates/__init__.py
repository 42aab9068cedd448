"""Certificates of SPEC §5: the PDF in two layouts and the token its QR code's URL carries."""

from .render import Layout, render
from .tokens import token_matches, verification_token, verification_url

__all__ = ["Layout", "render", "token_matches", "verification_token", "verification_url"]
