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

from generated.server import RequestLog

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


class JsonLines(logging.Formatter):
    """Every record as one JSON object: time, level, logger, message, and its `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


_listener: list[tuple[logging.handlers.QueueListener, logging.Handler]] = []


def configure(level: str = "INFO", queue_limit: int = 10_000) -> None:
    """JSON lines on stderr for every logger, at `level`.

    A request's thread only puts its record on a queue; one thread of the process formats and
    writes them (the standard library's QueueHandler and QueueListener), so serving never waits
    for the log's file or for another thread holding its lock. Call it in each process (a server
    worker after the fork): the writing thread does not survive a fork. At exit it drains, and
    from then on records are written directly. When the output cannot keep up and `queue_limit`
    records wait, further ones are dropped and counted, and a warning says how many once there is
    room again: memory stays bounded and requests are never held.
    """
    stop()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    # The C queue: a put costs a request's thread no lock of Python's and no notify; the limit is
    # checked by _Enqueue (qsize is exact for one thread, a few over under a race), and the
    # listener's stop sentinel always gets in.
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler, respect_handler_level=True)
    root = logging.getLogger()
    root.handlers[:] = [_Enqueue(records, queue_limit)]
    root.setLevel(level.upper())
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


class _Enqueue(logging.handlers.QueueHandler):
    """Queues a copy of the record with its message and fields fixed as they are now (a caller
    may change its arguments afterwards, and they are not the writing thread's to read); the
    JSON formatting runs on the writing thread. Other handlers keep the record untouched."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], limit: int) -> None:
        super().__init__(records)
        self.records = records
        self.limit = limit
        self.dropped = 0
        self._count = threading.Lock()

    def enqueue(self, record: logging.LogRecord) -> None:
        if self.dropped and self.records.qsize() < self.limit - 1:
            self._report_dropped()
        if self.records.qsize() < self.limit:
            self.records.put_nowait(record)
        else:
            with self._count:
                self.dropped += 1

    def _report_dropped(self) -> None:
        with self._count:
            dropped, self.dropped = self.dropped, 0
        if not dropped:
            return
        note = logging.LogRecord(
            __name__, logging.WARNING, __file__, 0,
            "%d log records were dropped: the log's output could not keep up", (dropped,), None,
        )  # fmt: skip
        self.records.put_nowait(self.prepare(note))

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        queued = copy.copy(record)
        queued.msg = record.getMessage()
        queued.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            queued.fields = dict(fields)
        if record.exc_info:
            # The traceback must not outlive this thread's frames: it travels as text.
            queued.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            queued.exc_info = None
        return queued
