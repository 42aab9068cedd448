"""Replay protection: the messageDate window, and the seen-set shared through the database."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from xsdata.models.datatype import XmlDateTime

from medexempt.exemptions.storage import create_engine, upgrade
from medexempt.exemptions.storage.replay import SeenMessages
from medexempt.generated import Envelope, models, read_response, write_envelope
from medexempt.generated.gateway import request_message
from medexempt.generated.passwords import hash_password
from medexempt.generated.server import ServerConfig, Servicer, make_app
from tests.databases import postgres_url
from tests.harness import free_port, running_server, wsgi_call

SECRET = "f" * 64


class Found(Servicer):
    def medical_exemption_search(
        self, request: Any, context: Any
    ) -> models.MedicalExemptionSearchResponse:
        return models.MedicalExemptionSearchResponse(
            status=models.Status(code="NOT_FOUND", message="-")
        )


def message(sent: datetime | None = None, message_id: str | None = None) -> bytes:
    send = request_message(
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH",
        models.MedicalExemptionSearchRequest(number="01085"),
        sender_id="mis",
        password="pw",
        message_id=message_id,
    )
    if sent is not None:
        send.request.request_info.message_date = XmlDateTime.from_datetime(sent)
    return write_envelope(Envelope(body=send))


def post(app: Any, body: bytes) -> tuple[int, str | None]:
    answer = wsgi_call(app, body, content_type="text/xml")
    reply = read_response(answer.body).body
    code = getattr(getattr(reply, "detail", None), "error_code", None)
    return answer.status, code


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[SeenMessages]:
    engine = create_engine(f"sqlite:///{tmp_path / 'replay.db'}")
    upgrade(engine)
    yield SeenMessages(engine)
    engine.dispose()


def test_a_message_is_accepted_once(guard: SeenMessages) -> None:
    app = make_app(Found(), ServerConfig(replay_guard=guard))
    body = message()
    assert post(app, body) == (200, None)
    assert post(app, body) == (500, "REPLAYED_MESSAGE")
    assert post(app, message()) == (200, None)  # a new messageId


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (timedelta(seconds=-301), "MESSAGE_EXPIRED"),
        (timedelta(seconds=61), "MESSAGE_FROM_THE_FUTURE"),
    ],
)
def test_the_date_window(offset: timedelta, code: str) -> None:
    app = make_app(Found(), ServerConfig())
    assert post(app, message(datetime.now(UTC) + offset)) == (500, code)
    assert post(app, message(datetime.now(UTC) + offset / 2))[0] == 200


def test_the_window_is_configurable() -> None:
    app = make_app(Found(), ServerConfig(max_message_age=3600, max_clock_skew=0))
    assert post(app, message(datetime.now(UTC) - timedelta(minutes=30)))[0] == 200
    assert (
        post(app, message(datetime.now(UTC) + timedelta(seconds=5)))[1] == "MESSAGE_FROM_THE_FUTURE"
    )


def test_expired_pairs_are_purged_and_may_come_again(guard: SeenMessages) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert guard.first_seen("mis", "m-1", past)
    assert guard.first_seen(
        "mis", "m-1", datetime.now(UTC) + timedelta(minutes=5)
    )  # expired: renewed
    assert not guard.first_seen("mis", "m-1", datetime.now(UTC) + timedelta(minutes=5))
    assert guard.first_seen("other", "m-1", datetime.now(UTC) + timedelta(minutes=5))
    guard.first_seen("mis", "m-2", past)
    assert guard.purge() == 1 and guard.count() == 2


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two `medexempt serve` processes, not in demo mode, sharing one PostgreSQL."""
    db_url = postgres_url()
    upgrade(db_url)
    config = tmp_path / "medexempt.toml"
    config.write_text(f'secret = "{SECRET}"\n[senders]\nmis = "{hash_password("pw", n=2**10)}"\n')
    urls = []
    with contextlib.ExitStack() as servers:
        for name in ("a", "b"):
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "medexempt",
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
            ]
            env = {**os.environ, "MEDEXEMPT_DB": db_url, "MEDEXEMPT_CONFIG": str(config)}
            ready = f"http://127.0.0.1:{port}/healthz"
            log = tmp_path / f"{name}.log"
            servers.enter_context(
                running_server(command, ready=ready, log=log, cwd=tmp_path, env=env)
            )
            urls.append(f"http://127.0.0.1:{port}/sync")
        yield urls[0], urls[1]


def test_a_replay_to_another_server_on_the_same_postgresql_is_refused(
    two_servers: tuple[str, str],
) -> None:
    first, second = two_servers
    body = message()
    headers = {"Content-Type": "text/xml"}
    answer = httpx.post(first, content=body, headers=headers)
    assert answer.status_code == 200
    replayed = httpx.post(second, content=body, headers=headers)
    fault = read_response(replayed.content).body
    assert replayed.status_code == 500
    assert getattr(getattr(fault, "detail", None), "error_code", None) == "REPLAYED_MESSAGE"
    fresh = httpx.post(second, content=message(), headers=headers)
    assert fresh.status_code == 200


@pytest.mark.parametrize(
    ("date", "code"),
    [
        ("2024-03-05T24:00:00+05:00", "MESSAGE_EXPIRED"),
        ("0000-01-01T00:00:00Z", "MESSAGE_EXPIRED"),
        ("-0001-01-01T00:00:00Z", "MESSAGE_EXPIRED"),
        ("0001-01-01T00:00:00+05:00", "MESSAGE_EXPIRED"),
        ("9999-12-31T24:00:00Z", "MESSAGE_FROM_THE_FUTURE"),
        ("10000-01-01T00:00:00Z", "MESSAGE_FROM_THE_FUTURE"),
    ],
)
def test_a_valid_message_date_outside_pythons_years_is_refused_as_a_fault(
    date: str, code: str
) -> None:
    """xs:dateTime allows years Python cannot hold and 24:00:00: a fault, never an exception."""
    app = make_app(Servicer(), ServerConfig(senders=None))
    body = write_envelope(Envelope(body=request_message(
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH", models.MedicalExemptionSearchRequest(number="1"),
        sender_id="s",
    )))  # fmt: skip
    body = re.sub(
        rb"<messageDate>[^<]*</messageDate>", f"<messageDate>{date}</messageDate>".encode(), body
    )
    assert post(app, body) == (500, code)


def test_must_understand_with_white_space_is_understood_as_true() -> None:
    """xs:boolean collapses white space: mustUnderstand=" 1 " is 1."""
    app = make_app(Servicer(), ServerConfig(senders=None, max_message_age=None))
    body = write_envelope(Envelope(body=request_message(
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH", models.MedicalExemptionSearchRequest(number="1"),
        sender_id="s",
    )))  # fmt: skip
    header = b'<soap:Header><x:Trap xmlns:x="urn:trap" soap:mustUnderstand=" 1 "/></soap:Header>'
    body = body.replace(b"<soap:Body", header + b"<soap:Body", 1)
    assert post(app, body) == (500, "MUST_UNDERSTAND")


def test_two_long_message_ids_that_share_a_prefix_are_two_messages(guard: SeenMessages) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=300)
    common = "m" * 200
    assert guard.first_seen("s", common + "-1", expires)
    assert guard.first_seen("s", common + "-2", expires)
    assert not guard.first_seen("s", common + "-1", expires)
