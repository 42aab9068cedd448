"""The verification page, in process: what it shows, and that it reveals nothing without a token."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from medexempt.exemptions.records import Contraindication
from medexempt.exemptions.verify import VerificationPage, mask_name
from tests.service.test_service import BASE, TODAY

TEMPORARY = replace(
    BASE, number="02001", contraindication=Contraindication.TEMPORARY, end_date=date(2027, 5, 31)
)
EXPIRED = replace(TEMPORARY, number="02002", end_date=date(2025, 1, 31))
REVOKED = replace(
    BASE,
    number="02003",
    revoked_at=datetime(2025, 1, 1, tzinfo=UTC),
    revocation_reason="Ошибка <b>",
)
RECORDS = {r.number: r for r in (BASE, TEMPORARY, EXPIRED, REVOKED)}


def get(path: str, query: str = "", method: str = "GET") -> tuple[str, dict[str, str], str]:
    page = VerificationPage(
        RECORDS.get, lambda number, token: token == f"ok-{number}", lambda: TODAY
    )
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(page(environ, start_response)).decode("utf-8")
    return seen["status"], seen["headers"], body


def test_shows_number_procedure_status_and_masked_name_never_the_iin() -> None:
    status, headers, body = get("/verify/01085", "t=ok-01085")
    assert status == "200 OK"
    assert "01085" in body and "Жарамды / Актуален" in body
    assert BASE.procedure.name_ru in body and BASE.procedure.name_kk in body
    assert "А******* Ә. С." in body
    assert "900101300017" not in body and "Ахметова" not in body and "Әлия" not in body
    assert "<script" not in body.lower()
    assert (
        headers["Cache-Control"] == "no-store"
        and "default-src 'none'" in headers["Content-Security-Policy"]
    )


def test_temporary_shows_its_end_date() -> None:
    body = get("/verify/02001", "t=ok-02001")[2]
    assert "Действует до</dt>" in body and "31-05-2027" in body


def test_expired_is_not_up_to_date_and_says_it_was_valid_until() -> None:
    body = get("/verify/02002", "t=ok-02002")[2]
    assert "Жарамсыз / Неактуален" in body and "31-01-2025" in body
    assert "Действовал до</dt>" in body and "Действует до" not in body


def test_revoked_shows_its_reason_escaped_and_the_day_in_almaty() -> None:
    body = get("/verify/02003", "t=ok-02003")[2]
    assert "Кері қайтарылды / Отозван" in body and "Ошибка &lt;b&gt;" in body
    # Revoked at 00:00 UTC on 1 January 2025: 05:00 that day in Almaty.
    assert "Кері қайтарылған күні / Дата отзыва</dt>\n      <dd>01-01-2025</dd>" in body


def test_every_label_is_in_both_languages() -> None:
    import re

    for number in RECORDS:
        body = get(f"/verify/{number}", f"t=ok-{number}")[2]
        labels = re.findall(r"<dt>(.*?)</dt>", body)
        assert labels and all(" / " in label for label in labels), labels


def test_wrong_missing_or_foreign_token_and_unknown_number_look_the_same() -> None:
    answers = [
        get("/verify/01085", "t=wrong"),
        get("/verify/01085"),
        get("/verify/01085", "t=ok-02001"),
        get("/verify/99999", "t=ok-99999"),
        get("/verify/", "t=ok-"),
    ]
    assert {(status, body) for status, _, body in answers} == {answers[0][0:3:2]}
    assert answers[0][0] == "404 Not Found"
    assert "01085" not in answers[0][2]


def test_mask_name() -> None:
    assert mask_name(replace(BASE, last_name="Ли", first_name="Ан", middle_name=None)) == "Л*** А."


def test_the_path_is_decoded_once_as_the_server_decoded_it() -> None:
    """PATH_INFO arrives decoded (PEP 3333); decoding again would open another record."""
    number = "RT%41"
    records = {number: replace(BASE, number=number), "01085": BASE}
    page = VerificationPage(records.get, lambda n, t: t == f"ok-{n}", lambda: TODAY)

    def status(path: str, token: str) -> str:
        seen: list[str] = []
        query = f"t={quote(token)}"
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
        b"".join(page(environ, lambda s, h: seen.append(s)))
        return seen[0]

    # The QR URL quotes `RT%41` as RT%2541; the server hands the page `RT%41`.
    assert status("/verify/RT%41", "ok-RT%41") == "200 OK"
    # /verify/%2530%2531085 arrives as `%30%31085`: not 01085.
    assert status("/verify/%30%31085", "ok-01085") == "404 Not Found"
    assert status("/verify/" + "Ә".encode().decode("latin-1"), "ok-Ә") == "404 Not Found"


def test_the_page_may_not_be_framed() -> None:
    _, headers, _ = get("/verify/01085", "t=ok-01085")
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_format_characters_do_not_survive_masking() -> None:
    masked = mask_name(replace(BASE, last_name="\u202eвотемхА", first_name="\u200bӘлия"))
    assert "\u202e" not in masked and "\u200b" not in masked
    assert masked.startswith("в*") and " Ә. " in masked
