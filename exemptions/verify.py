"""The verification page a certificate's QR code opens: `GET /verify/{number}?t={token}`.

Server-rendered, bilingual, readable on a phone, no JavaScript. It shows the number, the
procedure, the current status (with the end date or the revocation reason) and a masked patient
name, never the IIN. A wrong or missing token and an unknown number get the same 404 page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import jinja2

from .records import ZONE, Record, Status

PREFIX = "/verify/"
_LABELS = {
    Status.UP_TO_DATE: "Жарамды / Актуален",
    Status.NOT_UP_TO_DATE: "Жарамсыз / Неактуален",
    Status.REVOKED: "Кері қайтарылды / Отозван",
}
_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Robots-Tag", "noindex"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
]
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("medexempt.exemptions", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _visible(name: str) -> str:
    # Control and format characters (U+202E turns the text around) are no letters of a name.
    return "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf"))


def mask_name(record: Record) -> str:
    """`Ахметова Әлия Серікқызы` -> `А******* Ә. С.`: enough to recognise, not to identify."""
    last_name = _visible(record.last_name)
    last = last_name[:1] + "*" * max(len(last_name) - 1, 3)
    parts = (_visible(record.first_name), _visible(record.middle_name or ""))
    initials = " ".join(f"{part[:1]}." for part in parts if part)
    return f"{last} {initials}".strip()


class VerificationPage:
    """A WSGI app for `/verify/{number}`: `lookup` finds a record, `token_ok` checks the token."""

    def __init__(
        self,
        lookup: Callable[[str], Record | None],
        token_ok: Callable[[str, str], bool],
        clock: Callable[[], date],
    ) -> None:
        self.lookup = lookup
        self.token_ok = token_ok
        self.clock = clock

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        status, body = self.page(environ)
        start_response(status, [*_HEADERS, ("Content-Length", str(len(body)))])
        return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]

    def page(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return "405 Method Not Allowed", _render(None)
        path = environ.get("PATH_INFO", "")
        # PATH_INFO is already decoded once by the server (PEP 3333: its bytes as latin-1); a
        # second decoding would make /verify/%2530%2531085 open 01085.
        try:
            number = path[len(PREFIX) :].encode("latin-1").decode("utf-8")
        except UnicodeError:
            number = ""
        if not path.startswith(PREFIX):
            number = ""
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("t") or [""])[0]
        # The token is checked before the number is looked up, so an unknown number and a bad
        # token cannot be told apart, by content or by time.
        record = self.lookup(number) if number and token and self.token_ok(number, token) else None
        if record is None:
            return "404 Not Found", _render(None)
        return "200 OK", _render(record, self.clock())


def _render(record: Record | None, day: date | None = None) -> bytes:
    template = _ENV.get_template("verify.html")
    if record is None or day is None:
        return template.render(record=None, title="Табылмады / Не найдено").encode("utf-8")
    status = record.status(day)
    return template.render(
        record=record,
        status=status,
        status_label=_LABELS[status],
        patient=mask_name(record),
        revoked_on=(
            record.revoked_at.astimezone(ZONE).strftime("%d-%m-%Y") if record.revoked_at else ""
        ),
        checked=day.strftime("%d-%m-%Y"),
        title=f"Анықтама / Справка {record.number}",
    ).encode("utf-8")
