"""Structured logs: JSON lines, one per request, with nothing personal in them.

A request's line holds its time, messageId, senderId, serviceId, outcome, HTTP status and duration,
never the payload (IINs, passport numbers, names), credentials, tokens or PDF bytes. Database
statement parameters are hidden by the engine (see storage.database). Where two log lines must be
linked through a personal value, `keyed_hash` gives a digest keyed by the server's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
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
        return json.dumps(line, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr for every logger, at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
