"""The gateway's SendMessage from the calling side, on httpx: what does not vary by schema.

`client.Client` and `client.AsyncClient` are `ClientBase` and `AsyncClientBase` with one method
per service of the manifest; what they do, raise and retry is said in `client`'s docstring.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import httpx
from lxml import etree

from . import syncchannel as sc
from .envelope import Envelope, FaultCode, SoapFault, SoapVersion, read_response, write_envelope
from .gateway import ServiceBinding, request_message, request_of, response_of
from .services import SERVICES
from .wssecurity import SignatureError, Signer, Verifier
from .xmlsafe import MessageError, SerializationError, parse_xml

__all__ = [
    "AsyncClientBase",
    "ClientBase",
    "ClientError",
    "GatewayFault",
    "MessageOptions",
    "ProtocolError",
    "RetryPolicy",
    "SignatureRejected",
    "TransportError",
]

Req = TypeVar("Req")
Resp = TypeVar("Resp")
_SOAP_MEDIA = ("text/xml", "application/soap+xml", "application/xml")


class ClientError(Exception):
    """Base of every error a client raises."""


class TransportError(ClientError):
    """No usable answer: the connection failed or timed out, or HTTP failed without a SOAP body.
    `message_id` is the id of the message that was being sent."""

    def __init__(
        self, message: str, *, status_code: int | None = None, message_id: str | None = None
    ) -> None:
        super().__init__(f"{message} (messageId {message_id})" if message_id else message)
        self.status_code = status_code
        self.message_id = message_id


@dataclass(frozen=True, slots=True)
class MessageOptions:
    """What a caller sets in requestInfo beyond the payload: its own messageId (else a fresh one
    per attempt), routeId, sessionId and properties (key -> value)."""

    message_id: str | None = None
    route_id: str | None = None
    session_id: str | None = None
    properties: Mapping[str, str] | None = None


class ProtocolError(ClientError):
    """An answer that cannot be read, or that does not belong to the request."""


class SignatureRejected(ProtocolError):  # noqa: N818 - a name of the public API
    """The answer's signature is missing or refused; `reason` is the SignatureError's kind."""

    def __init__(self, error: SignatureError) -> None:
        super().__init__(f"the answer's signature is refused: {error}")
        self.reason = error.reason
        self.error = error


class GatewayFault(ClientError):  # noqa: N818 - a name of the public API
    """A SOAP fault; `error_code`, `error_message` and `sub_errors` come from its ErrorInfo."""

    def __init__(self, fault: SoapFault, *, status_code: int) -> None:
        self.fault = fault
        self.status_code = status_code
        detail = fault.detail
        self.error_code = detail.error_code if detail else None
        self.error_message = detail.error_message if detail else fault.reason
        self.sub_errors: list[sc.ErrorInfo] = []
        sub = detail.sub_error if detail else None
        while sub is not None:
            self.sub_errors.append(sub)
            sub = sub.sub_error
        super().__init__(
            f"{fault.code.value} fault {self.error_code or ''}: {fault.reason}".strip()
        )

    @property
    def is_sender_fault(self) -> bool:
        """The request itself was refused: sending it again cannot help."""
        return self.fault.code in (
            FaultCode.SENDER,
            FaultCode.VERSION_MISMATCH,
            FaultCode.MUST_UNDERSTAND,
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to try in all, and how long to pause between attempts (doubling, with jitter)."""

    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0

    def pauses(self) -> Iterator[float]:
        """The pauses before the second, third, ... attempt."""
        pause = self.backoff
        for _ in range(self.attempts - 1):
            yield min(pause, self.max_backoff) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
            pause *= 2


def _retryable(error: ClientError) -> bool:
    if isinstance(error, TransportError):
        # No answer, a server-side HTTP error, or "come back later"; other 4xx refuse the request.
        status = error.status_code
        return status is None or status >= 500 or status in (408, 429)
    return isinstance(error, GatewayFault) and not error.is_sender_fault


class _Exchange:
    """What the sync and async clients share: building a request and reading its answer."""

    def __init__(
        self,
        url: str,
        *,
        sender_id: str,
        password: str | None,
        soap_version: SoapVersion,
        retry: RetryPolicy | None,
        signer: Signer | None = None,
        verifier: Verifier | None = None,
        options: MessageOptions | None = None,
        resend_on_closed_connection: bool = True,
    ) -> None:
        self.url = url
        self.options = options or MessageOptions()
        self.resend = resend_on_closed_connection
        self.signer = signer
        self.verifier = verifier
        self.sender_id = sender_id
        self.password = password
        self.version = soap_version
        self.retry = retry or RetryPolicy(attempts=1)

    def build(
        self, binding: ServiceBinding[Any, Any], payload: object, options: MessageOptions | None
    ) -> tuple[str, bytes, dict[str, str]]:
        if not isinstance(payload, binding.request):
            raise TypeError(
                f"{binding.service_id} takes {binding.request.__name__}, not {type(payload).__name__}"
            )
        given = options or self.options
        message = request_message(
            binding.service_id, payload, sender_id=self.sender_id, password=self.password,
            message_id=given.message_id, route_id=given.route_id, session_id=given.session_id,
            properties=given.properties,
        )  # fmt: skip
        try:
            body = write_envelope(Envelope(body=message, version=self.version))
        except SerializationError as exc:
            raise TypeError(f"the request cannot be sent: {exc}") from exc
        if self.signer is not None:
            document = parse_xml(body)
            self.signer.sign(document)
            body = bytes(etree.tostring(document, encoding="utf-8"))
        if self.version is SoapVersion.SOAP11:
            headers = {"Content-Type": self.version.content_type, "SOAPAction": '""'}
        else:
            headers = {"Content-Type": f'{self.version.content_type}; action=""'}
        return request_of(message).request_info.message_id, body, headers

    def read(
        self, binding: ServiceBinding[Any, Resp], message_id: str, response: httpx.Response
    ) -> Envelope[sc.SendMessageResponse]:
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in _SOAP_MEDIA or not response.content:
            if response.is_success:
                raise ProtocolError(
                    f"the answer is not SOAP (HTTP {response.status_code}, {media or 'no type'})"
                )
            raise TransportError(
                f"HTTP {response.status_code} without a SOAP answer",
                status_code=response.status_code,
            )
        try:
            envelope = read_response(response.content)
            if not isinstance(envelope.body, SoapFault):
                response_of(envelope.body)  # nil, where a gateway copy allows it, is unreadable
        except MessageError as exc:
            if response.is_success:
                raise ProtocolError(f"the answer cannot be read: {exc}") from exc
            raise TransportError(
                f"HTTP {response.status_code}: unreadable answer ({exc})",
                status_code=response.status_code,
            ) from exc
        body = envelope.body
        if isinstance(body, SoapFault):
            raise GatewayFault(body, status_code=response.status_code)
        if not response.is_success:
            raise ProtocolError(f"HTTP {response.status_code} with a SendMessageResponse")
        if self.verifier is not None and envelope.document is not None:
            try:
                self.verifier.verify(envelope.document)
            except SignatureError as exc:
                raise SignatureRejected(exc) from exc
        correlation = response_of(body).response_info.correlation_id
        if correlation and correlation != message_id:
            raise ProtocolError(
                f"the answer correlates to {correlation!r}, not to this request {message_id!r}"
            )
        payload = response_of(body).response_data.data
        if not isinstance(payload, binding.response):
            raise ProtocolError(
                f"{binding.service_id} answers {binding.response.__name__}, not {type(payload).__name__}"
            )
        return Envelope(body=body, version=envelope.version, header=envelope.header)


def _payload(envelope: Envelope[sc.SendMessageResponse]) -> Any:
    return response_of(envelope.body).response_data.data


def _timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    return (
        timeout
        if isinstance(timeout, httpx.Timeout)
        else httpx.Timeout(timeout, connect=min(timeout, 5.0))
    )


class ClientBase:
    """The synchronous client without its per-service methods (`client.Client` adds them)."""

    def __init__(
        self,
        url: str,
        *,
        sender_id: str,
        password: str | None = None,
        soap_version: SoapVersion = SoapVersion.SOAP11,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http: httpx.Client | None = None,
        signer: Signer | None = None,
        verifier: Verifier | None = None,
        options: MessageOptions | None = None,
        resend_on_closed_connection: bool = True,
    ) -> None:
        self._exchange = _Exchange(
            url, sender_id=sender_id, password=password, soap_version=soap_version, retry=retry,
            signer=signer, verifier=verifier, options=options,
            resend_on_closed_connection=resend_on_closed_connection,
        )  # fmt: skip
        self._http = http or httpx.Client(timeout=_timeout(timeout), headers=headers)
        self._owns_http = http is None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def send(
        self,
        binding: ServiceBinding[Req, Resp],
        payload: Req,
        options: MessageOptions | None = None,
    ) -> Envelope[sc.SendMessageResponse]:
        """Send `payload` to the service; the whole answer, responseInfo included."""
        pauses = self._exchange.retry.pauses()
        while True:
            try:
                return self._attempt(binding, payload, options)
            except (TransportError, GatewayFault) as error:
                pause = next(pauses, None) if _retryable(error) else None
                if pause is None:
                    raise
                time.sleep(pause)

    def _attempt(
        self, binding: ServiceBinding[Req, Resp], payload: Req, options: MessageOptions | None
    ) -> Envelope[sc.SendMessageResponse]:
        for last in (not self._exchange.resend, True):
            message_id, body, headers = self._exchange.build(binding, payload, options)
            try:
                response = self._http.post(self._exchange.url, content=body, headers=headers)
            except httpx.RemoteProtocolError as exc:
                # A kept-alive connection closed before any answer (gunicorn does this after a
                # 413 it could not drain): once more, on a new connection (see the module's doc).
                if last:
                    raise TransportError(
                        f"{type(exc).__name__}: {exc}", message_id=message_id
                    ) from exc
                continue
            except httpx.HTTPError as exc:
                raise TransportError(f"{type(exc).__name__}: {exc}", message_id=message_id) from exc
            return self._exchange.read(binding, message_id, response)
        raise AssertionError("unreachable")

    def call(
        self,
        binding: ServiceBinding[Req, Resp],
        payload: Req,
        options: MessageOptions | None = None,
    ) -> Resp:
        """Send `payload`; the response payload."""
        answer: Resp = _payload(self.send(binding, payload, options))
        return answer

    def call_service(
        self, service_id: str, payload: object, options: MessageOptions | None = None
    ) -> object:
        """Send `payload` to the service named by its id (see SERVICES)."""
        binding = SERVICES.get(service_id)
        if binding is None:
            raise KeyError(f"unknown serviceId {service_id!r}")
        return self.call(binding, payload, options)


class AsyncClientBase:
    """The asyncio client without its per-service methods (`client.AsyncClient` adds them)."""

    def __init__(
        self,
        url: str,
        *,
        sender_id: str,
        password: str | None = None,
        soap_version: SoapVersion = SoapVersion.SOAP11,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
        signer: Signer | None = None,
        verifier: Verifier | None = None,
        options: MessageOptions | None = None,
        resend_on_closed_connection: bool = True,
    ) -> None:
        self._exchange = _Exchange(
            url, sender_id=sender_id, password=password, soap_version=soap_version, retry=retry,
            signer=signer, verifier=verifier, options=options,
            resend_on_closed_connection=resend_on_closed_connection,
        )  # fmt: skip
        self._http = http or httpx.AsyncClient(timeout=_timeout(timeout), headers=headers)
        self._owns_http = http is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def send(
        self,
        binding: ServiceBinding[Req, Resp],
        payload: Req,
        options: MessageOptions | None = None,
    ) -> Envelope[sc.SendMessageResponse]:
        """Send `payload` to the service; the whole answer, responseInfo included."""
        pauses = self._exchange.retry.pauses()
        while True:
            try:
                return await self._attempt(binding, payload, options)
            except (TransportError, GatewayFault) as error:
                pause = next(pauses, None) if _retryable(error) else None
                if pause is None:
                    raise
                await asyncio.sleep(pause)

    async def _attempt(
        self, binding: ServiceBinding[Req, Resp], payload: Req, options: MessageOptions | None
    ) -> Envelope[sc.SendMessageResponse]:
        for last in (not self._exchange.resend, True):
            message_id, body, headers = self._exchange.build(binding, payload, options)
            try:
                response = await self._http.post(self._exchange.url, content=body, headers=headers)
            except httpx.RemoteProtocolError as exc:
                # A kept-alive connection closed before any answer (gunicorn does this after a
                # 413 it could not drain): once more, on a new connection (see the module's doc).
                if last:
                    raise TransportError(
                        f"{type(exc).__name__}: {exc}", message_id=message_id
                    ) from exc
                continue
            except httpx.HTTPError as exc:
                raise TransportError(f"{type(exc).__name__}: {exc}", message_id=message_id) from exc
            return self._exchange.read(binding, message_id, response)
        raise AssertionError("unreachable")

    async def call(
        self,
        binding: ServiceBinding[Req, Resp],
        payload: Req,
        options: MessageOptions | None = None,
    ) -> Resp:
        """Send `payload`; the response payload."""
        answer: Resp = _payload(await self.send(binding, payload, options))
        return answer

    async def call_service(
        self, service_id: str, payload: object, options: MessageOptions | None = None
    ) -> object:
        """Send `payload` to the service named by its id (see SERVICES)."""
        binding = SERVICES.get(service_id)
        if binding is None:
            raise KeyError(f"unknown serviceId {service_id!r}")
        return await self.call(binding, payload, options)
