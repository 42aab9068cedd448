"""Structured logs: JSON lines, one per request, with nothing personal in them.

A request's line holds its time, messageId, senderId, serviceId, outcome, HTTP status and duration,
never the payload (IINs, passport numbers, names), credentials, tokens or PDF bytes. Database
statement parameters are hidden by the engine (see storage.database). Where two log lines must be
linked through a personal value, `keyed_hash` gives a digest keyed by the server's secret.
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import hmac
import json
import logging
import logging.handlers
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from medexempt.generated.server import RequestLog

REQUESTS = logging.getLogger("medexempt.requests")


def keyed_hash(value: str, secret: bytes) -> str:
    """A short, secret-keyed digest of a personal value, for correlating log lines only."""
    return hmac.new(secret, b"log\0" + value.encode(), hashlib.sha256).hexdigest()[:16]


def log_request(record: RequestLog) -> None:
    """The `on_request` hook of the generated server: one JSON line per SOAP request."""
    REQUESTS.info(
        "request",
        extra={
            "fields": {
                "messageId": record.message_id,
                "senderId": record.sender_id,
                "serviceId": record.service_id,
                "outcome": record.outcome,
                "status": record.http_status,
                "durationMs": round(record.duration * 1000, 2),
                "soapVersion": record.soap_version,
            }
        },
    )


# Upper bounds on what one line carries, whatever a library or a request puts in a record.
MESSAGE_CHARACTERS = 2_000
FIELD_CHARACTERS = 256
ERROR_CHARACTERS = 8_000


def _bounded(value: object, limit: int) -> object:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"…(+{len(value) - limit} characters)"
    return value


class JsonLines(logging.Formatter):
    """Every record as one JSON object: time, level, logger, message, and its `fields`, each
    string bounded (JSON escapes the control characters, so a value cannot split the line)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _bounded(record.getMessage(), MESSAGE_CHARACTERS),
        }
        fields = getattr(record, "fields", {})
        line.update({str(k)[:64]: _bounded(v, FIELD_CHARACTERS) for k, v in fields.items()})
        if record.exc_info:
            line["error"] = _bounded(self.formatException(record.exc_info), ERROR_CHARACTERS)
        elif record.exc_text:
            line["error"] = _bounded(record.exc_text, ERROR_CHARACTERS)
        # U+2028/2029 are line ends to some readers of JSON lines: escaped too.
        text = json.dumps(line, ensure_ascii=False)
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_listener: list[tuple[logging.handlers.QueueListener, logging.Handler]] = []
# Libraries whose records can spell out personal data: fontTools lists the glyphs it keeps when a
# font is cut for a certificate (the letters of a patient's name). Errors only.
QUIET_LOGGERS = ("fontTools",)


def gunicorn_logconfig(level: str) -> dict[str, Any]:
    """gunicorn's own loggers as JSON lines on stderr too (its `logconfig_dict`); its access log
    stays off: the service writes its own line per request."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"stderr": handler},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


def configure(
    level: str = "INFO", queue_limit: int = 10_000, queue_bytes: int = 16 * 1024 * 1024
) -> None:
    """JSON lines on stderr for every logger, at `level`.

    A request's thread only puts its record on a queue; one thread of the process formats and
    writes them (the standard library's QueueHandler and QueueListener), so serving never waits
    for the log's file or for another thread holding its lock. Call it in each process (a server
    worker after the fork): the writing thread does not survive a fork. At exit it drains, and
    from then on records are written directly. When the output cannot keep up and `queue_limit`
    records, or `queue_bytes` of their text, wait, further ones are dropped and counted, and a
    warning says how many once there is room again: memory stays bounded (each record's strings
    are cut as the line would cut them) and requests are never held.
    """
    stop()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    # The C queue: a put costs a request's thread no lock of Python's and no notify; the limit is
    # checked by _Enqueue (qsize is exact for one thread, a few over under a race), and the
    # listener's stop sentinel always gets in.
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    enqueue = _Enqueue(records, queue_limit, queue_bytes)
    listener = _Writer(records, handler, enqueue)
    root = logging.getLogger()
    root.handlers[:] = [enqueue]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    listener.start()
    _listener.append((listener, handler))


def stop() -> None:
    """Write what is queued, stop the writing thread and write directly from now on (at exit,
    and before configuring anew)."""
    root = logging.getLogger()
    while _listener:
        listener, handler = _listener.pop()
        listener.stop()
        if any(isinstance(h, _Enqueue) for h in root.handlers):
            root.handlers[:] = [h for h in root.handlers if not isinstance(h, _Enqueue)] + [handler]


atexit.register(stop)


_NOTE_BYTES = 1024  # what the note of dropped records takes, at most


class _Enqueue(logging.handlers.QueueHandler):
    """Queues a copy of the record with its message and fields fixed as they are now (a caller
    may change its arguments afterwards, and they are not the writing thread's to read); the
    JSON formatting runs on the writing thread. Other handlers keep the record untouched."""

    def __init__(
        self, records: queue.SimpleQueue[logging.LogRecord], limit: int, byte_limit: int
    ) -> None:
        super().__init__(records)
        self.records = records
        self.limit = limit
        self.byte_limit = byte_limit
        self.queued_bytes = 0
        self.dropped = 0
        self._count = threading.Lock()

    def enqueue(self, record: logging.LogRecord) -> None:
        if (
            self.dropped
            and self.records.qsize() < self.limit - 1
            and self.queued_bytes + 2 * _NOTE_BYTES <= self.byte_limit
        ):
            self._report_dropped()
        size = getattr(record, "size", 0)
        with self._count:
            room = self.records.qsize() < self.limit and self.queued_bytes + size <= self.byte_limit
            if room:
                self.queued_bytes += size
            else:
                self.dropped += 1
        if room:
            self.records.put_nowait(record)

    def written(self, record: logging.LogRecord) -> None:
        with self._count:
            self.queued_bytes -= getattr(record, "size", 0)

    def _report_dropped(self) -> None:
        with self._count:
            dropped, self.dropped = self.dropped, 0
        if not dropped:
            return
        note = logging.LogRecord(
            __name__, logging.WARNING, __file__, 0,
            "%d log records were dropped: the log's output could not keep up", (dropped,), None,
        )  # fmt: skip
        prepared = self.prepare(note)
        with self._count:
            self.queued_bytes += getattr(prepared, "size", 0)
        self.records.put_nowait(prepared)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        queued = copy.copy(record)
        message = str(_bounded(record.getMessage(), MESSAGE_CHARACTERS))
        queued.msg = message
        queued.args = None
        size = 512 + len(message)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            bounded = {k: _bounded(v, FIELD_CHARACTERS) for k, v in fields.items()}
            queued.fields = bounded
            size += sum(len(str(v)) + 32 for v in bounded.values())
        if record.exc_info:
            # The traceback must not outlive this thread's frames: it travels as text.
            queued.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            queued.exc_info = None
        if queued.exc_text:
            queued.exc_text = str(_bounded(queued.exc_text, ERROR_CHARACTERS))
            size += len(queued.exc_text)
        queued.size = size  # the bytes it holds, about, for the queue's bound
        return queued


class _Writer(logging.handlers.QueueListener):
    """The writing thread: each record written gives its bytes back to the queue's bound."""

    def __init__(
        self, records: queue.SimpleQueue[logging.LogRecord], handler: logging.Handler,
        enqueue: _Enqueue,
    ) -> None:  # fmt: skip
        super().__init__(records, handler, respect_handler_level=True)
        self.enqueue_handler = enqueue

    def handle(self, record: logging.LogRecord) -> None:
        try:
            super().handle(record)
        finally:
            self.enqueue_handler.written(record)
