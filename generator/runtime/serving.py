"""The WSGI app behind every generated `server` module: what does not vary by schema.

`server.make_app(servicer, ServerConfig(...))` gives a `SyncChannelApp`, which runs under any WSGI
server. It serves POST on `config.path` and `GET <path>?wsdl`; refuses other methods (405), other
content types (415) and bodies over the limit (413) before parsing; answers in the SOAP version it
was asked in; authenticates senders in constant time; dispatches on serviceId plus the payload's
xsi:type, never on SOAPAction, to the servicer's method of that service; and answers every failure
with a SOAP fault that says why (HTTP 500 for SOAP 1.1 faults; 400 for SOAP 1.2 Sender faults, 500
for the rest).
"""

from __future__ import annotations

import logging
import time
import unicodedata
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs

from lxml import etree
from lxml.etree import _Element

from . import syncchannel as sc
from .envelope import Envelope, FaultCode, SoapVersion, read_request, write_envelope
from .gateway import ZONE, ServiceBinding, gateway_fault, request_of, response_message
from .passwords import Senders, Throttle, Verdict
from .services import SERVICES, wsdl_text
from .wssecurity import DS_NS, WSSE_NS, Reason, SignatureError, Signer, VerifiedSigner, Verifier
from .xmlsafe import MessageError, SerializationError, VersionMismatchError, clark, parse_xml

__all__ = [
    "ReplayGuard",
    "RequestContext",
    "RequestLog",
    "ServerConfig",
    "ServiceFault",
    "SignatureMode",
    "SyncChannelApp",
    "loggable",
]

log = logging.getLogger(f"{__package__}.server")  # named by the module users import

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    411: "Length Required", 413: "Content Too Large", 415: "Unsupported Media Type",
    500: "Internal Server Error",
}  # fmt: skip
_MEDIA = {
    "text/xml": SoapVersion.SOAP11,
    "application/xml": SoapVersion.SOAP11,
    "application/soap+xml": SoapVersion.SOAP12,
}
# Header blocks a sender may mark mustUnderstand: WS-Addressing is routing information the
# service does not need; WS-Security is read by the signature layer when one is configured.
UNDERSTOOD_HEADERS = frozenset(
    {
        "http://www.w3.org/2005/08/addressing",
        "http://schemas.xmlsoap.org/ws/2004/08/addressing",
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    }
)
# off: signatures are not looked at; verify-if-present: a signed request must verify, an unsigned
# one is served; required: every request must carry a signature that verifies.
SignatureMode = Literal["off", "verify-if-present", "required"]
_SIGNATURE_MODES = ("off", "verify-if-present", "required")
_SIGNED_MARKS = ("{" + WSSE_NS + "}Security", "{" + DS_NS + "}Signature")


class ServiceFault(Exception):  # noqa: N818 - a name of the public API
    """Raise from a service method to answer with a SOAP fault.

    `sender=True` (the default) blames the request (a Sender/Client fault, not worth retrying);
    `sender=False` is a failure of the service (Receiver/Server).
    """

    def __init__(
        self, message: str, *, error_code: str = "SERVICE_ERROR", sender: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.sender = sender


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a service method may want to know about the request besides its payload."""

    sender_id: str
    message_id: str
    service_id: str
    soap_version: SoapVersion
    session_id: str | None
    header: tuple[_Element, ...]
    environ: Mapping[str, Any] = field(repr=False)
    signed_by: VerifiedSigner | None = None  # the verified signer, when the request was signed


@dataclass(frozen=True)
class ServerConfig:
    """How the app serves.

    `senders` maps senderId to a password hash from `passwords.hash_password`; None switches
    authentication off (only behind something else that authenticates). `public_url` is the
    address written into the WSDL; None uses the URL the WSDL was fetched by.
    """

    path: str = "/sync"
    public_url: str | None = None
    max_body_bytes: int = 1024 * 1024
    senders: Mapping[str, str] | None = None
    understood_headers: frozenset[str] = UNDERSTOOD_HEADERS
    # Replay protection: a messageDate older than max_message_age or further ahead than
    # max_clock_skew seconds is refused (None: no window); replay_guard refuses a
    # (senderId, messageId) it has seen within that window (None: no seen-set).
    max_message_age: float | None = 300.0
    max_clock_skew: float = 60.0
    replay_guard: ReplayGuard | None = None
    # Called once per request with what may be logged about it (no payload, no credentials).
    on_request: Callable[[RequestLog], None] | None = None
    # WS-Security: how requests' signatures are checked (see SignatureMode), by `verifier`; a
    # `signer` signs every response (faults go unsigned).
    signature_mode: SignatureMode = "off"
    verifier: Verifier | None = None
    signer: Signer | None = None
    # How failed authentications are slowed down (see passwords.Throttle).
    throttle: Throttle = field(default_factory=Throttle)
    # senderId -> the certificates (DER) that may sign for it; a signature by any other trusted
    # certificate is refused (SIGNER_NOT_SENDER). None: any certificate the verifier trusts.
    signers: Mapping[str, Collection[bytes]] | None = None

    def __post_init__(self) -> None:
        if self.signature_mode not in _SIGNATURE_MODES:
            raise ValueError(f"signature_mode must be one of {', '.join(_SIGNATURE_MODES)}")
        if self.signature_mode != "off" and self.verifier is None:
            raise ValueError(f"signature_mode {self.signature_mode!r} needs a verifier")


class ReplayGuard(Protocol):
    """Remembers (senderId, messageId) pairs until they expire; shared by every worker and host."""

    def first_seen(self, sender_id: str, message_id: str, expires: datetime) -> bool:
        """True the first time a pair is offered before `expires`, False for a replay."""
        ...


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One request, as the access log may record it: identifiers and outcome, no content.

    The identifiers come from the sender, before any check: each is cut to LOGGED_CHARACTERS with
    its control characters escaped (`loggable`), so a request cannot make its log line long or
    split it in two.
    """

    started: datetime
    duration: float  # seconds
    http_status: int
    outcome: str  # the payload's status code, the fault's errorCode, or the HTTP refusal
    message_id: str | None = None
    sender_id: str | None = None
    service_id: str | None = None
    soap_version: str | None = None


class _Service(Protocol):
    def __call__(self, request: Any, context: RequestContext) -> Any: ...


LOGGED_CHARACTERS = 128
_LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def loggable(value: str, limit: int = LOGGED_CHARACTERS) -> str:
    """A sender's value fit for a log: control and format characters (new lines, U+202E) escaped,
    at most `limit` characters, and what was cut said by its length."""
    cut = value[:limit]
    shown = "".join(
        c if c.isprintable() and unicodedata.category(c) != "Cf" else f"\\u{ord(c):04x}"
        for c in cut
    )
    if len(value) > limit:
        shown += f"…(+{len(value) - limit} characters)"
    return shown


@dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    body: bytes
    extra: tuple[tuple[str, str], ...] = ()
    outcome: str = ""
    info: sc.SyncMessageInfo | None = None
    version: SoapVersion | None = None


class SyncChannelApp:
    """A WSGI application; see the module's docstring for what it does."""

    def __init__(self, servicer: object, config: ServerConfig) -> None:
        self.servicer = servicer
        self.config = config
        self._senders = None if config.senders is None else Senders(config.senders, config.throttle)
        self._routes: dict[str, tuple[ServiceBinding[Any, Any], _Service]] = {
            service_id: (binding, getattr(servicer, binding.method))
            for service_id, binding in SERVICES.items()
        }
        self._wsdl = etree.fromstring(wsdl_text().encode("utf-8"))
        self._wsdl_cache: dict[str, bytes] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started, clock = datetime.now(UTC), time.perf_counter()
        answer = self._answer(environ)
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            *answer.extra,
        ]
        start_response(f"{answer.status} {_REASONS.get(answer.status, '')}".strip(), headers)
        if self.config.on_request is not None:
            self._report(answer, started, time.perf_counter() - clock)
        return [answer.body]

    def _report(self, answer: _Answer, started: datetime, duration: float) -> None:
        info = answer.info
        record = RequestLog(
            started=started,
            duration=duration,
            http_status=answer.status,
            outcome=answer.outcome or _REASONS.get(answer.status, str(answer.status)),
            message_id=loggable(info.message_id) if info else None,
            sender_id=loggable(info.sender.sender_id) if info else None,
            service_id=loggable(info.service_id) if info else None,
            soap_version=answer.version.value if answer.version else None,
        )
        try:
            assert self.config.on_request is not None
            self.config.on_request(record)
        except Exception:  # a broken log sink must not break the answer
            log.exception("on_request failed")

    def _answer(self, environ: dict[str, Any]) -> _Answer:
        if environ.get("PATH_INFO", "") != self.config.path:
            return _text(404, "not found")
        method = environ.get("REQUEST_METHOD", "")
        if method == "GET" and "wsdl" in {
            k.lower() for k in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        }:
            return _Answer(200, "text/xml; charset=utf-8", self._wsdl_for(environ))
        if method != "POST":
            return _text(405, "use POST for SOAP, or GET ?wsdl", extra=(("Allow", "GET, POST"),))
        media = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        hinted = _MEDIA.get(media)
        if hinted is None:
            return _text(
                415, "Content-Type must be text/xml, application/soap+xml or application/xml"
            )
        body = self._read_body(environ)
        if isinstance(body, _Answer):
            return body
        try:
            return self._soap(body, hinted, environ)
        except (
            Exception
        ):  # a bug of ours or a library's: still a fault, never the WSGI server's 500
            incident = uuid.uuid4().hex[:12]
            log.exception("the request failed (incident %s)", incident)
            return self._fault(
                hinted,
                FaultCode.RECEIVER,
                "INTERNAL_ERROR",
                f"internal error (incident {incident})",
            )

    def _read_body(self, environ: dict[str, Any]) -> bytes | _Answer:
        limit = self.config.max_body_bytes
        length = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if length:
            if not (length.isascii() and length.isdigit()):
                return _text(400, "bad Content-Length")
            if int(length) > limit:
                return _text(413, f"the body is over {limit} bytes")
            return bytes(stream.read(int(length)))
        if (
            environ.get("wsgi.input_terminated")
            or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            data = bytes(stream.read(limit + 1))
            return _text(413, f"the body is over {limit} bytes") if len(data) > limit else data
        return _text(411, "Content-Length is required")

    def _soap(self, body: bytes, hinted: SoapVersion, environ: dict[str, Any]) -> _Answer:
        try:
            envelope = read_request(body)
            request_of(envelope.body)  # nil, where a gateway copy allows it, is refused here
        except VersionMismatchError as exc:
            return self._fault(hinted, FaultCode.VERSION_MISMATCH, "VERSION_MISMATCH", exc.reason)
        except MessageError as exc:
            version = exc.soap_version if isinstance(exc.soap_version, SoapVersion) else hinted
            return self._fault(
                version, FaultCode.SENDER, "INVALID_MESSAGE", f"{exc.reason} (at {exc.path})"
            )
        answer = self._dispatch(envelope, environ)
        return replace(
            answer, info=request_of(envelope.body).request_info, version=envelope.version
        )

    def _dispatch(self, envelope: Envelope[sc.SendMessage], environ: dict[str, Any]) -> _Answer:
        version = envelope.version
        info = request_of(envelope.body).request_info
        session = info.session_id
        # Cheap checks first: headers, the sender (its password check is remembered once it
        # passed), the date window; then the signature; the seen-set is written last, so that a
        # refused message cannot burn a messageId.
        not_understood = self._not_understood(envelope.header or (), version)
        if not_understood:
            return self._fault(version, FaultCode.MUST_UNDERSTAND, "MUST_UNDERSTAND",
                               f"header {not_understood} is not understood", session)  # fmt: skip
        if self._senders is not None:
            verdict = self._senders.verdict(
                info.sender.sender_id, info.sender.password, environ.get("REMOTE_ADDR", "")
            )
            if verdict is Verdict.THROTTLED:
                return self._fault(version, FaultCode.SENDER, "AUTHENTICATION_THROTTLED",
                                   "too many failed authentications: try again later", session)  # fmt: skip
            if verdict is not Verdict.VALID:
                return self._fault(
                    version,
                    FaultCode.SENDER,
                    "AUTHENTICATION_FAILED",
                    "sender authentication failed",
                    session,
                )
        sent = self._sent_at(info)
        stale = self._outside_window(info, sent)
        if stale is not None:
            return self._fault(version, FaultCode.SENDER, stale[0], stale[1], session)
        try:
            signed_by = self._verify(envelope)
        except SignatureError as refused:
            return self._fault(
                version, FaultCode.SENDER, refused.reason.value, refused.message, session
            )
        if signed_by is not None and not self._may_sign(info.sender.sender_id, signed_by):
            return self._fault(version, FaultCode.SENDER, "SIGNER_NOT_SENDER",
                               "the certificate that signed is not registered for this senderId", session)  # fmt: skip
        replayed = self._replayed(info, sent)
        if replayed is not None:
            return self._fault(version, FaultCode.SENDER, replayed[0], replayed[1], session)
        route = self._routes.get(info.service_id)
        if route is None:
            return self._fault(
                version,
                FaultCode.SENDER,
                "UNKNOWN_SERVICE",
                f"unknown serviceId {info.service_id!r}",
                session,
            )
        binding, method = route
        payload = request_of(envelope.body).request_data.data
        if not isinstance(payload, binding.request):
            got = "no data" if payload is None else type(payload).__name__
            message = f"{binding.service_id} takes {binding.request_qname}, not {got}"
            return self._fault(version, FaultCode.SENDER, "WRONG_PAYLOAD_TYPE", message, session)
        context = RequestContext(
            sender_id=info.sender.sender_id,
            message_id=info.message_id,
            service_id=info.service_id,
            soap_version=version,
            session_id=session,
            header=envelope.header or (),
            environ=environ,
            signed_by=signed_by,
        )
        return self._call(binding, method, payload, context, info)

    def _call(
        self,
        binding: ServiceBinding[Any, Any],
        method: _Service,
        payload: object,
        context: RequestContext,
        info: sc.SyncMessageInfo,
    ) -> _Answer:
        version, session = context.soap_version, context.session_id
        try:
            result = method(payload, context)
            if not isinstance(result, binding.response):
                raise TypeError(
                    f"{binding.method} returned {type(result).__name__}, not {binding.response.__name__}"
                )
            reply = self._signed(
                write_envelope(Envelope(body=response_message(info, result), version=version))
            )
        except ServiceFault as fault:
            code = FaultCode.SENDER if fault.sender else FaultCode.RECEIVER
            return self._fault(version, code, fault.error_code, fault.message, session)
        except Exception:  # the service's own failure: logged here, never shown to the sender
            incident = uuid.uuid4().hex[:12]
            log.exception(
                "%s failed (incident %s, message %s)",
                binding.service_id,
                incident,
                loggable(context.message_id),
            )
            return self._fault(
                version,
                FaultCode.RECEIVER,
                "INTERNAL_ERROR",
                f"internal error, incident {incident}",
                session,
            )
        outcome = getattr(getattr(result, "status", None), "code", None)
        return _Answer(
            200,
            version.content_type,
            reply,
            outcome=outcome if isinstance(outcome, str) else "SUCCESS",
        )

    def _verify(self, envelope: Envelope[sc.SendMessage]) -> VerifiedSigner | None:
        """The verified signer; None when signatures are off, or absent and not required."""
        mode, document = self.config.signature_mode, envelope.document
        if mode == "off" or document is None or self.config.verifier is None:
            return None
        if not any(True for _ in document.iter(*_SIGNED_MARKS)):
            if mode == "required":
                raise SignatureError(Reason.MISSING, "the request must be signed (wsse:Security)")
            return None
        return self.config.verifier.verify(document)

    def _signed(self, reply: bytes) -> bytes:
        """The reply signed by the configured signer: our own output parsed, signed, serialized."""
        if self.config.signer is None:
            return reply
        document = parse_xml(reply)
        self.config.signer.sign(document)
        return bytes(etree.tostring(document, encoding="utf-8"))

    def _sent_at(self, info: sc.SyncMessageInfo) -> datetime | None:
        """When the message says it was sent; None outside Python's years 1..9999 (a valid
        xs:dateTime still), where its window would not fit either."""
        date = info.message_date
        try:
            # 24:00:00 is valid xs:dateTime: midnight at the end of that day.
            midnight = date.hour == 24
            sent = (date._replace(hour=0) if midnight else date).to_datetime()
            if sent.tzinfo is None:
                sent = sent.replace(tzinfo=ZONE)  # SPEC §7: a date without offset is Almaty time
            sent += timedelta(days=1) if midnight else timedelta()
        except (ValueError, OverflowError):
            return None
        window = timedelta(seconds=self.config.max_message_age or 0.0)
        return sent if _LAST_INSTANT - sent >= window else None

    def _outside_window(
        self, info: sc.SyncMessageInfo, sent: datetime | None
    ) -> tuple[str, str] | None:
        """Why the message is refused as too old or from the future; None if within the window."""
        limit = self.config.max_message_age
        if limit is None:
            return None
        if sent is None:
            future = info.message_date.year > 5000  # years 10000 and later, or the last day of 9999
        else:
            age = (datetime.now(UTC) - sent).total_seconds()
            future = -age > self.config.max_clock_skew
            if age > limit:
                return "MESSAGE_EXPIRED", f"messageDate is more than {limit:g} s old"
        if future:
            return (
                "MESSAGE_FROM_THE_FUTURE",
                f"messageDate is more than {self.config.max_clock_skew:g} s ahead",
            )
        if sent is None:
            return "MESSAGE_EXPIRED", f"messageDate is more than {limit:g} s old"
        return None

    def _replayed(self, info: sc.SyncMessageInfo, sent: datetime | None) -> tuple[str, str] | None:
        """Why the message is refused as seen before within its window; None if it is new."""
        guard, limit = self.config.replay_guard, self.config.max_message_age
        if limit is None or guard is None or sent is None:
            return None
        expires = sent + timedelta(seconds=limit)
        if not guard.first_seen(info.sender.sender_id, info.message_id, expires):
            return "REPLAYED_MESSAGE", "this messageId was already received from this sender"
        return None

    def _may_sign(self, sender_id: str, signer: VerifiedSigner) -> bool:
        """Whether the certificate is registered for the sender (any trusted one without `signers`)."""
        if self.config.signers is None:
            return True
        return signer.certificate in self.config.signers.get(sender_id, ())

    def _not_understood(self, header: tuple[_Element, ...], version: SoapVersion) -> str | None:
        must = clark(version.namespace, "mustUnderstand")
        for block in header:
            if (block.get(must) or "").strip() in ("1", "true") and isinstance(block.tag, str):
                namespace = block.tag[1:].partition("}")[0] if block.tag.startswith("{") else ""
                if namespace not in self.config.understood_headers:
                    return block.tag
        return None

    def _fault(
        self,
        version: SoapVersion,
        code: FaultCode,
        error_code: str,
        message: str,
        session: str | None = None,
    ) -> _Answer:
        fault = gateway_fault(code, error_code, message, session_id=session)
        try:
            body = write_envelope(Envelope(body=fault, version=version))
        except SerializationError:  # a message with characters XML cannot carry
            fault = gateway_fault(
                code, error_code, message.encode("ascii", "replace").decode(), session_id=session
            )
            body = write_envelope(Envelope(body=fault, version=version))
        status = 400 if version is SoapVersion.SOAP12 and code is FaultCode.SENDER else 500
        return _Answer(status, version.content_type, body, outcome=error_code, version=version)

    def _wsdl_for(self, environ: dict[str, Any]) -> bytes:
        address = self.config.public_url or _request_url(environ)
        cached = self._wsdl_cache.get(address)
        if cached is None:
            document = etree.fromstring(etree.tostring(self._wsdl))
            for port in document.iter("{*}address"):
                port.set("location", address)
            cached = etree.tostring(document, xml_declaration=True, encoding="utf-8")
            if len(self._wsdl_cache) < 64:
                self._wsdl_cache[address] = cached
        return cached


def _request_url(environ: Mapping[str, Any]) -> str:
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_HOST")
        or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    )
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"


def _text(status: int, message: str, *, extra: tuple[tuple[str, str], ...] = ()) -> _Answer:
    return _Answer(status, "text/plain; charset=utf-8", message.encode("utf-8") + b"\n", extra)
