"""Personal data stays out of the logs: searches by IIN and passport, at DEBUG, leave none of it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from medexempt.exemptions import demo
from medexempt.exemptions.app import Settings, build_app
from medexempt.exemptions.logs import JsonLines, keyed_hash
from medexempt.exemptions.storage import create_engine, upgrade
from medexempt.generated import Envelope, models, read_response, write_envelope
from medexempt.generated.gateway import request_message
from medexempt.generated.passwords import hash_password
from tests.harness import wsgi_call

PASSWORD = "pa55-W0rd-never-logged"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    # What an operator chasing a problem would switch on: every SQL statement.
    sql = logging.getLogger("sqlalchemy.engine")
    sql.setLevel(logging.DEBUG)
    yield stream
    sql.setLevel(logging.NOTSET)
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], io.StringIO]]:
    """`configured(queue_limit)`: `logs.configure("INFO", ...)` with stderr captured (patched
    inside the test: pytest swaps stderr between setup and the call); the root logger is put back
    as it was afterwards."""
    from medexempt.exemptions import logs

    def start(queue_limit: int) -> io.StringIO:
        stream = io.StringIO()
        monkeypatch.setattr("sys.stderr", stream)
        logs.configure("INFO", queue_limit=queue_limit)
        return stream

    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    yield start
    logs.stop()
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


def post(app: Any, payload: models.MedicalExemptionSearchRequest, password: str = PASSWORD) -> Any:
    message = request_message(
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH", payload, sender_id="mis", password=password
    )
    body = write_envelope(Envelope(body=message))
    return read_response(wsgi_call(app, body, content_type="text/xml").body).body


def test_a_search_by_iin_and_by_passport_logs_no_personal_data(
    tmp_path: Path, captured: io.StringIO
) -> None:
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    engine = create_engine(url)
    upgrade(engine)
    demo.load(engine)
    engine.dispose()
    settings = Settings(
        db_url=url,
        public_url="http://127.0.0.1:8080",
        secret=b"s" * 32,
        senders={"mis": hash_password(PASSWORD, n=2**10)},
    )
    app = build_app(settings)
    found = post(app, models.MedicalExemptionSearchRequest(iin="900101300017"))
    assert found.response.response_data.data.status.code == "SUCCESS"
    post(
        app,
        models.MedicalExemptionSearchRequest(passport_number="N12345678", citizenship_code="643"),
    )
    post(app, models.MedicalExemptionSearchRequest(iin="900101300018"))  # refused: bad check digit
    post(app, models.MedicalExemptionSearchRequest(number="01085"), password="wrong-" + PASSWORD)

    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    requests = [line for line in lines if line["logger"] == "medexempt.requests"]
    assert [r["outcome"] for r in requests] == [
        "SUCCESS",
        "SUCCESS",
        "INVALID_REQUEST",
        "AUTHENTICATION_FAILED",
    ]
    assert all(
        {"time", "messageId", "senderId", "serviceId", "durationMs"} <= set(r) for r in requests
    )
    assert any(line["logger"].startswith("sqlalchemy") for line in lines), (
        "DEBUG logging was not on"
    )
    for secret in (
        "900101300017",
        "900101300018",
        "N12345678",
        PASSWORD,
        "Ахметова",
        "Әлия",
        "%PDF",
    ):
        assert secret not in output, f"{secret!r} is in the log"


def test_keyed_hash_correlates_without_revealing() -> None:
    assert keyed_hash("900101300017", b"k" * 32) == keyed_hash("900101300017", b"k" * 32)
    assert keyed_hash("900101300017", b"k" * 32) != keyed_hash("900101300017", b"j" * 32)
    assert "900101300017" not in keyed_hash("900101300017", b"k" * 32)


def test_configured_logging_writes_from_its_own_thread_and_drains_at_stop(
    configured: Callable[[int], io.StringIO],
) -> None:
    import threading
    from datetime import UTC, datetime

    from medexempt.exemptions import logs
    from medexempt.generated.server import RequestLog

    before = set(threading.enumerate())
    stream = configured(10_000)
    assert len(set(threading.enumerate()) - before) == 1, "no writing thread was started"
    for n in range(200):
        logs.log_request(RequestLog(datetime.now(UTC), 0.001, 200, "SUCCESS", message_id=f"m{n}"))
    seen: list[logging.LogRecord] = []

    class Other(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logging.getLogger().addHandler(Other())  # another handler sees the record as it was logged
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("medexempt.test").exception("failed %s", "here")
    state = {"n": 1}
    fields = {"n": 1}
    logging.getLogger("medexempt.test").warning("state %s", state, extra={"fields": fields})
    state["n"] = fields["n"] = 2  # changed after logging: the line keeps what was logged
    logging.getLogger("medexempt.test").debug("below the level")
    logs.stop()  # what exit does: everything queued is written
    logging.getLogger("medexempt.test").warning("after the stop")  # written directly
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["messageId"] for line in lines[:200]] == [f"m{n}" for n in range(200)]
    assert lines[200]["message"] == "failed here"
    assert "RuntimeError: boom" in lines[200]["error"]
    assert lines[201]["message"] == "state {'n': 1}" and lines[201]["n"] == 1
    assert lines[202]["message"] == "after the stop"
    assert len(lines) == 203
    assert seen[0].exc_info is not None and seen[1].args is state  # logging unpacks one mapping


def test_a_log_output_that_cannot_keep_up_drops_and_counts_and_never_holds_the_caller(
    configured: Callable[[int], io.StringIO],
) -> None:
    import time

    from medexempt.exemptions import logs

    log = logging.getLogger("medexempt.test")
    stream = configured(5)
    writer = logs._listener[0][1]
    assert writer.lock is not None
    with writer.lock:  # the output is stuck: the writing thread waits on it
        started = time.monotonic()
        for n in range(50):
            log.warning("record %d", n)
        assert time.monotonic() - started < 1.0  # the caller was never held
    time.sleep(0.2)
    log.warning("after")
    logs.stop()
    lines = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    dropped = [m for m in lines if "dropped" in m]
    assert len(dropped) == 1
    written = [m for m in lines if m.startswith("record ")]
    assert int(dropped[0].split()[0]) + len(written) == 50
    assert 5 <= len(written) <= 6  # the queue's 5, and the one the writer held when it stuck
    assert lines[-1] == "after"


def test_the_stop_at_exit_gets_in_while_the_queue_is_at_its_limit(
    configured: Callable[[int], io.StringIO],
) -> None:
    import threading
    import time

    from medexempt.exemptions import logs

    log = logging.getLogger("medexempt.test")
    failures: list[BaseException] = []

    def stop() -> None:
        try:
            logs.stop()
        except BaseException as error:
            failures.append(error)

    stream = configured(3)
    writer = logs._listener[0][1]
    assert writer.lock is not None
    with writer.lock:  # the output is stuck with the queue full when exit comes
        log.warning("record 0")
        time.sleep(0.1)  # the writing thread takes it and waits on the output
        for n in range(1, 10):
            log.warning("record %d", n)
        stopping = threading.Thread(target=stop)
        stopping.start()
        time.sleep(0.2)
    stopping.join(5)
    lines = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert not stopping.is_alive() and failures == []
    written = [m for m in lines if m.startswith("record ")]
    assert 3 <= len(written) <= 4  # what was queued, and the one the writer held


def test_a_log_output_that_cannot_keep_up_is_bounded_in_bytes_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Large records fill the byte bound long before the record count: 950 KB messages, each cut
    to the line's bound, and at most `queue_bytes` of them wait."""
    import time

    from medexempt.exemptions import logs

    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    logs.configure("INFO", queue_limit=10_000, queue_bytes=64 * 1024)
    try:
        enqueue = root.handlers[0]
        assert isinstance(enqueue, logs._Enqueue)
        writer = logs._listener[0][1]
        assert writer.lock is not None
        with writer.lock:
            for _ in range(200):
                logging.getLogger("medexempt.test").warning("%s", "x" * 950_000)
            assert enqueue.queued_bytes <= 64 * 1024
            assert enqueue.dropped >= 150
        time.sleep(0.3)
    finally:
        logs.stop()
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
    lines = stream.getvalue().splitlines()
    assert max(len(line) for line in lines) < logs.MESSAGE_CHARACTERS + 400


def test_a_line_is_bounded_and_stays_one_line() -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, "a\u2028b" + "y" * 10_000, None, None)
    record.fields = {"messageId": "z" * 5_000, "note": 'evil"\n{"iin": "900101300017"}'}
    line = JsonLines().format(record)
    assert "\n" not in line and "\u2028" not in line and len(line) < 3_000
    parsed = json.loads(line)
    assert parsed["messageId"].endswith("(+4744 characters)")
    assert parsed["note"] == 'evil"\n{"iin": "900101300017"}'  # escaped by JSON, on one line


def test_sender_values_reach_the_request_log_bounded_and_escaped() -> None:
    """Refused before any password check (an unknown mustUnderstand header), a 950 KB messageId
    and a senderId forging a line end are logged cut and escaped."""
    from medexempt.generated.server import (
        LOGGED_CHARACTERS,
        RequestLog,
        ServerConfig,
        Servicer,
        make_app,
    )

    seen: list[RequestLog] = []
    config = ServerConfig(senders={}, on_request=seen.append, max_body_bytes=2_000_000)
    app = make_app(Servicer(), config)
    message = request_message(
        "EHEALTH_MEDICAL_EXEMPTION_SEARCH",
        models.MedicalExemptionSearchRequest(number="1"),
        sender_id='s\n{"level":"INFO","iin":"900101300017"}\u202e',
        message_id="m" * 950_000,
    )
    header = '<x:Trap xmlns:x="urn:trap" soap:mustUnderstand="1"/>'
    body = write_envelope(Envelope(body=message)).replace(
        b"<soap:Body", b"<soap:Header>" + header.encode() + b"</soap:Header><soap:Body", 1
    )
    wsgi_call(app, body, content_type="text/xml")
    (record,) = seen
    assert record.outcome == "MUST_UNDERSTAND"
    assert record.message_id is not None and record.sender_id is not None
    assert len(record.message_id) < LOGGED_CHARACTERS + 40
    assert "\n" not in record.sender_id and "\u202e" not in record.sender_id
    assert "\\u000a" in record.sender_id


def test_gunicorn_writes_json_lines_and_no_access_log() -> None:
    import logging.config

    from medexempt.exemptions.logs import gunicorn_logconfig

    config = gunicorn_logconfig("info")
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    saved = logging.getLogger().level, logging.getLogger().handlers[:]
    try:
        logging.config.dictConfig(config)
        logging.getLogger("gunicorn.error").info("Invalid request line: %r", "GET /\r\x01")
        logging.getLogger("gunicorn.access").info("127.0.0.1 GET /sync")
    finally:
        root = logging.getLogger()
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name in ("gunicorn.error", "gunicorn.access"):
            logging.getLogger(name).handlers.clear()
    (line,) = stream.getvalue().splitlines()
    assert json.loads(line)["logger"] == "gunicorn.error"


def test_libraries_that_can_spell_a_name_are_quiet(
    configured: Callable[[int], io.StringIO],
) -> None:
    from medexempt.exemptions import logs

    stream = configured(10_000)
    logging.getLogger("fontTools.subset").info("Glyph names: ['А', 'х', 'м']")
    logging.getLogger("medexempt.test").info("kept")
    logs.stop()
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["kept"]
