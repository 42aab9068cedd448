"""The replay seen-set in the database, so that it holds across workers and across servers."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .database import in_transaction
from .models import SeenMessageRow

_PURGE_EVERY = 1000


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class SeenMessages:
    """`generated.server.ReplayGuard` over the `seen_messages` table.

    The primary key (senderId, messageId) makes the first insert win, whichever worker or host
    does it; a later one fails, which is the replay. Expired pairs are purged now and then. Both
    are stored as their SHA-256, so ids of any length are compared whole (two ids that share a
    long prefix are two messages) and the table holds no sender's text.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inserts = itertools.count(1)

    def first_seen(self, sender_id: str, message_id: str, expires: datetime) -> bool:
        now = datetime.now(UTC)
        row = {"sender_id": _key(sender_id), "message_id": _key(message_id), "expires": expires}
        try:
            in_transaction(
                self.engine, lambda connection: connection.execute(insert(SeenMessageRow), row)
            )
        except IntegrityError:
            return self._reuse_if_expired(row, now)
        if next(self._inserts) % _PURGE_EVERY == 0:
            self.purge(now)
        return True

    def _reuse_if_expired(self, row: dict[str, object], now: datetime) -> bool:
        # A pair whose window has passed may come again; the date window refuses a resent old one.
        key = (SeenMessageRow.sender_id == row["sender_id"]) & (
            SeenMessageRow.message_id == row["message_id"]
        )
        renew = (
            update(SeenMessageRow)
            .where(key & (SeenMessageRow.expires < now))
            .values(expires=row["expires"])
        )
        return in_transaction(self.engine, lambda c: c.execute(renew).rowcount == 1)

    def purge(self, now: datetime | None = None) -> int:
        """Forget the pairs whose window has passed; the number forgotten."""
        expired = delete(SeenMessageRow).where(SeenMessageRow.expires < (now or datetime.now(UTC)))
        return in_transaction(self.engine, lambda c: c.execute(expired).rowcount)

    def count(self) -> int:
        with self.engine.connect() as connection:
            return len(connection.execute(select(SeenMessageRow.message_id)).all())
