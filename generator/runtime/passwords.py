"""Sender passwords, stored hashed (scrypt) and checked in constant time.

`hash_password` makes the stored form `scrypt$<n>$<r>$<p>$<salt>$<hash>`; `Senders` checks a
senderId/password pair against such hashes. scrypt is slow on purpose, so a pair that was verified
once is remembered as a keyed digest (a secret made per process, never stored): later requests of
the same sender cost one HMAC, and a changed password falls back to the full check.

Against floods of wrong passwords (`Senders.verdict`): a pair that just failed fails again without
scrypt; a senderId or a client address with too many failures in a window is throttled without
scrypt; and only a few checks run at once, a further one is throttled at once, so the senders
already verified keep their latency. All of it is bounded in memory; the failure counts are shared
by a pre-forking server's workers when the throttle is made by `Throttle.across_processes`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")

_N, _R, _P = 2**14, 8, 1
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """The stored form of `password`, with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p)
    encoded = [base64.b64encode(x).decode("ascii") for x in (salt, digest)]
    return f"scrypt${n}${r}${p}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored form; the comparison is constant-time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


class Verdict(Enum):
    """The outcome of a password check."""

    VALID = "valid"
    INVALID = "invalid"
    THROTTLED = "throttled"  # not checked: too many failures, or too many checks running


@dataclass(frozen=True)
class Throttle:
    """How failed authentications are slowed down. The failure counts are per process unless
    the throttle is made by `across_processes` (before a pre-forking server starts its workers);
    the cap on concurrent checks is always per process."""

    failures: int = 5  # per senderId, and per client address, within `window` seconds
    window: float = 60.0
    concurrent_checks: int = 1  # scrypt runs at once; beyond it, see `wait`
    wait: float = 2.0  # seconds a known sender without failures waits for a check; others: none
    remembered: int = 10_000  # entries of each bounded table
    shared: SharedFailures | None = field(default=None, compare=False, repr=False)

    @classmethod
    def across_processes(cls, **settings: Any) -> Throttle:
        """A throttle whose failure counts every process forked after this call shares (POSIX):
        spreading guesses over a server's workers gains an attacker nothing."""
        throttle = cls(**settings)
        return replace(throttle, shared=SharedFailures(throttle.remembered))


class _Table(Protocol):
    def count(self, key: str, now: float, throttle: Throttle) -> int: ...

    def add(self, key: str, now: float, throttle: Throttle) -> None: ...


class _Counts:
    """Failures per key within a window, the oldest keys forgotten first beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def count(self, key: str, now: float, throttle: Throttle) -> int:
        started, count = self.items.get(key, (now, 0))
        return count if now - started < throttle.window else 0

    def add(self, key: str, now: float, throttle: Throttle) -> None:
        started, count = self.items.pop(key, (now, 0))
        if now - started >= throttle.window:
            started, count = now, 0
        self.items[key] = (started, count + 1)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


# A slot of a shared table: the key's keyed digest, when its window started (time.monotonic,
# which is one clock for every process of the machine), and its failures in that window.
_SLOT = struct.Struct("<16sdI4x")
_PROBES = 8  # slots a key may occupy; a full neighbourhood forgets its oldest key


class SharedFailures:
    """Two tables of failure counts (per senderId, per client address) in a file every process
    forked after it was made maps: fixed in size (`slots` keys each, 32 bytes a key), kept
    consistent by a POSIX record lock, which the kernel releases if a process dies holding it.
    Keys are stored as digests keyed by a secret of this object, never in clear."""

    def __init__(self, slots: int) -> None:
        import mmap
        import tempfile

        self.slots = max(slots, _PROBES)
        # Open for as long as the server runs: every worker maps it.
        self._file = tempfile.TemporaryFile(prefix="medexempt-throttle-")  # noqa: SIM115
        size = 2 * self.slots * _SLOT.size
        self._file.truncate(size)
        self._map = mmap.mmap(self._file.fileno(), size)
        # Closed when the last reference goes (at the latest when the process ends).
        weakref.finalize(self, _close, self._map, self._file)
        self._secret = secrets.token_bytes(32)
        self._threads = threading.Lock()
        self.by_sender = _SharedCounts(self, 0)
        self.by_client = _SharedCounts(self, 1)

    def _digest(self, key: str) -> bytes:
        return hashlib.blake2b(
            key.encode("utf-8", "surrogatepass"), digest_size=16, key=self._secret
        ).digest()

    def _locked(self, work: Callable[[], _T]) -> _T:
        import fcntl

        with self._threads:
            fcntl.lockf(self._file.fileno(), fcntl.LOCK_EX)
            try:
                return work()
            finally:
                fcntl.lockf(self._file.fileno(), fcntl.LOCK_UN)

    def _slot(
        self, table: int, digest: bytes, now: float, window: float, claim: bool
    ) -> int | None:
        """The slot holding `digest`; with `claim`, else a free, stale or the oldest slot near it."""
        start = int.from_bytes(digest[:8], "little") % self.slots
        chosen, chosen_started = None, float("inf")
        for probe in range(_PROBES):
            index = table * self.slots + (start + probe) % self.slots
            held, started, count = _SLOT.unpack_from(self._map, index * _SLOT.size)
            if held == digest:
                return index
            if claim:
                age = float("-inf") if count == 0 or now - started >= window else started
                if age < chosen_started:
                    chosen, chosen_started = index, age
        return chosen


def _close(*handles: Any) -> None:
    for handle in handles:
        handle.close()


class _SharedCounts:
    def __init__(self, shared: SharedFailures, table: int) -> None:
        self.shared = shared
        self.table = table

    def count(self, key: str, now: float, throttle: Throttle) -> int:
        digest = self.shared._digest(key)

        def read() -> int:
            index = self.shared._slot(self.table, digest, now, throttle.window, claim=False)
            if index is None:
                return 0
            _, started, count = _SLOT.unpack_from(self.shared._map, index * _SLOT.size)
            return int(count) if now - started < throttle.window else 0

        return self.shared._locked(read)

    def add(self, key: str, now: float, throttle: Throttle) -> None:
        digest = self.shared._digest(key)

        def write() -> None:
            index = self.shared._slot(self.table, digest, now, throttle.window, claim=True)
            assert index is not None
            held, started, count = _SLOT.unpack_from(self.shared._map, index * _SLOT.size)
            if held != digest or now - started >= throttle.window:
                started, count = now, 0
            _SLOT.pack_into(self.shared._map, index * _SLOT.size, digest, started, count + 1)

        self.shared._locked(write)


class Senders:
    """The senders allowed to call, by senderId, with their stored password hashes."""

    def __init__(self, hashes: Mapping[str, str], throttle: Throttle | None = None) -> None:
        self._hashes = dict(hashes)
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.throttle = throttle or Throttle()
        self._slots = threading.BoundedSemaphore(self.throttle.concurrent_checks)
        self._failed: OrderedDict[bytes, None] = OrderedDict()
        shared = self.throttle.shared
        self._by_sender: _Table = shared.by_sender if shared else _Counts(self.throttle.remembered)
        self._by_client: _Table = shared.by_client if shared else _Counts(self.throttle.remembered)

    def __contains__(self, sender_id: object) -> bool:
        return sender_id in self._hashes

    def check(self, sender_id: str, password: str | None) -> bool:
        """True when the pair is valid. Unknown senders cost the same as known ones."""
        return self.verdict(sender_id, password) is Verdict.VALID

    def verdict(self, sender_id: str, password: str | None, client: str = "") -> Verdict:
        """The pair checked, or throttled. A verified sender is never throttled; `client` is the
        caller's address, when known."""
        stored = self._hashes.get(sender_id)
        given = password or ""
        digest = hmac.new(self._key, f"{sender_id}\0{given}".encode(), hashlib.sha256).digest()
        with self._lock:
            remembered = self._verified.get(sender_id)
        if (
            stored is not None
            and remembered is not None
            and hmac.compare_digest(digest, remembered)
        ):
            return Verdict.VALID
        now = time.monotonic()
        with self._lock:
            if digest in self._failed:
                self._failed.move_to_end(digest)
                return Verdict.INVALID
            failed = self._by_sender.count(sender_id, now, self.throttle)
            limited = failed >= self.throttle.failures or (
                bool(client)
                and self._by_client.count(client, now, self.throttle) >= self.throttle.failures
            )
            # A burst of a registered sender's first requests queues; a stranger or a sender
            # that has just failed does not hold a thread waiting.
            patient = stored is not None and failed == 0
        if limited:
            return Verdict.THROTTLED
        if not self._slots.acquire(timeout=self.throttle.wait if patient else 0):
            return Verdict.THROTTLED
        try:
            valid = verify_password(given, stored or _DUMMY) and stored is not None
        finally:
            self._slots.release()
        with self._lock:
            if valid:
                self._verified[sender_id] = digest
            else:
                self._failed[digest] = None
                while len(self._failed) > self.throttle.remembered:
                    self._failed.popitem(last=False)
                self._by_sender.add(sender_id, now, self.throttle)
                if client:
                    self._by_client.add(client, now, self.throttle)
        return Verdict.VALID if valid else Verdict.INVALID
