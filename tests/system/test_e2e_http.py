"""End to end over real HTTP: the generated client, sync and async, against the generated server.

The server is gunicorn (what `medexempt serve` runs) serving `tests.e2e.service` on loopback (the
session fixture `e2e_url`); the number searched for decides the outcome there. Every outcome and
fault path is exercised through `Client` and `AsyncClient` in SOAP 1.1 and 1.2; raw envelopes and
raw HTTP (httpx, and a bare socket where httpx is too well-behaved) cover what the client refuses
to send; an `httpx.MockTransport` plays a server that answers wrongly; and the WSGI app is called
in process, without a socket, for the configurations the e2e server does not have.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

import httpx
import pytest
from lxml import etree

from medexempt.generated import models
from medexempt.generated.client import (
    AsyncClient,
    Client,
    GatewayFault,
    ProtocolError,
    RetryPolicy,
    TransportError,
)
from medexempt.generated.envelope import (
    Envelope,
    FaultCode,
    SoapFault,
    SoapVersion,
    read_request,
    read_response,
    write_envelope,
)
from medexempt.generated.gateway import gateway_fault, request_message, response_message
from medexempt.generated.server import (
    RequestContext,
    ServerConfig,
    ServiceFault,
    Servicer,
    make_app,
)
from medexempt.generated.services import MEDICAL_EXEMPTION_SEARCH
from tests.e2e.service import CERTIFICATE, PASSWORD, PROCEDURE, SENDER_ID
from tests.harness import wsgi_call
from tests.support import CASES, validate_message

T = TypeVar("T")
Mode = Literal["sync", "async"]

SERVICE_ID = "EHEALTH_MEDICAL_EXEMPTION_SEARCH"
SYNC_NS = "http://ehealth.kz/integration/sync"
NOT_FOUND_MESSAGE = "Медицинский отвод по заданным параметрам не найден"
SUCCESS_MESSAGE = "The request has been processed"
ORIGINAL = (CASES / "original-request" / "message.xml").read_bytes()
ORIGINAL_ID = "92769bcb-a615-4fec-ba5a-81c284d49763"
SOAP12_REQUEST = (CASES / "request-soap12" / "message.xml").read_bytes()
SOAP12_ID = "c784f38c-186c-4399-bab9-ec6b84e94212"
# The SOAP 1.2 case's sender is not one the e2e server knows; this is the same message from the
# original's sample sender, which it does know.
SOAP12_KNOWN_SENDER = SOAP12_REQUEST.replace(
    b"<senderId>damumed</senderId>", b"<senderId>sender</senderId>"
).replace(b"<password>s3cr3t-Pa55</password>", b"<password>password</password>")
MAX_BODY = 64 * 1024  # the e2e server's limit
TIMEOUT = httpx.Timeout(10.0)
INCIDENT = re.compile(r"internal error, incident [0-9a-f]{12}")

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
VERSIONS = pytest.mark.parametrize("version", list(SoapVersion), ids=lambda v: f"soap{v.value}")
FOUND = models.MedicalExemptionSearchRequest(number="01085")


# --- helpers ------------------------------------------------------------------------------------


@dataclass
class Caller:
    """One way of calling: sync or async client, SOAP version, credentials, retry policy.

    Every HTTP request the client sends is kept in `sent` (httpx's request event hook), so tests
    can count attempts and look at headers and bodies on the wire. `transport` replaces the network
    (an `httpx.MockTransport`).
    """

    mode: Mode
    url: str
    version: SoapVersion = SoapVersion.SOAP11
    sender_id: str = SENDER_ID
    password: str | None = PASSWORD
    retry: RetryPolicy | None = None
    transport: httpx.MockTransport | None = None
    sent: list[httpx.Request] = field(default_factory=list)

    def search(
        self, request: models.MedicalExemptionSearchRequest
    ) -> models.MedicalExemptionSearchResponse:
        return self._run(
            lambda client: client.medical_exemption_search(request),
            lambda client: client.medical_exemption_search(request),
        )

    def send(
        self, request: models.MedicalExemptionSearchRequest
    ) -> Envelope[models.SendMessageResponse]:
        return self._run(
            lambda client: client.send(MEDICAL_EXEMPTION_SEARCH, request),
            lambda client: client.send(MEDICAL_EXEMPTION_SEARCH, request),
        )

    def call_service(self, service_id: str, payload: object) -> object:
        return self._run(
            lambda client: client.call_service(service_id, payload),
            lambda client: client.call_service(service_id, payload),
        )

    def messages(self) -> list[models.SendMessage]:
        """The SendMessage bodies the client sent, read back with our codec."""
        return [read_request(request.content).body for request in self.sent]

    def _run(
        self,
        sync: Callable[[Client], T],
        asynchronous: Callable[[AsyncClient], Awaitable[T]],
    ) -> T:
        if self.mode == "sync":

            def record(request: httpx.Request) -> None:
                self.sent.append(request)

            hooks = {"request": [record]}
            with (
                httpx.Client(transport=self.transport, timeout=TIMEOUT, event_hooks=hooks) as http,
                Client(
                    self.url,
                    sender_id=self.sender_id,
                    password=self.password,
                    soap_version=self.version,
                    retry=self.retry,
                    http=http,
                ) as client,
            ):
                return sync(client)

        async def arecord(request: httpx.Request) -> None:
            self.sent.append(request)

        async def run() -> T:
            ahooks = {"request": [arecord]}
            async with (
                httpx.AsyncClient(
                    transport=self.transport, timeout=TIMEOUT, event_hooks=ahooks
                ) as http,
                AsyncClient(
                    self.url,
                    sender_id=self.sender_id,
                    password=self.password,
                    soap_version=self.version,
                    retry=self.retry,
                    http=http,
                ) as client,
            ):
                return await asynchronous(client)

        return asyncio.run(run())


def expected_fault_status(version: SoapVersion, code: FaultCode) -> int:
    """WS-I BP: 500 for every SOAP 1.1 fault; SOAP 1.2: 400 for Sender, 500 for the rest."""
    return 400 if version is SoapVersion.SOAP12 and code is FaultCode.SENDER else 500


def raw_request(
    version: SoapVersion,
    service_id: str = SERVICE_ID,
    payload: object = FOUND,
    *,
    sender_id: str = SENDER_ID,
    password: str | None = PASSWORD,
) -> bytes:
    """A whole request envelope built with our codec, for what the client refuses to send."""
    message = request_message(service_id, payload, sender_id=sender_id, password=password)
    return write_envelope(Envelope(body=message, version=version))


def post(
    url: str,
    body: bytes,
    content_type: str,
    *,
    headers: dict[str, str] | None = None,
    http: httpx.Client | None = None,
) -> httpx.Response:
    """POST `body` as is with plain httpx."""
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if http is not None:
        return http.post(url, content=body, headers=all_headers)
    return httpx.post(url, content=body, headers=all_headers, timeout=TIMEOUT)


def media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip()


def read_fault(response: httpx.Response, version: SoapVersion) -> SoapFault:
    """The SOAP fault of `response`, in `version`, with the HTTP status and type that go with it."""
    assert media_type(response) == version.content_type.split(";")[0]
    envelope = read_response(response.content)
    assert envelope.version is version
    fault = envelope.body
    assert isinstance(fault, SoapFault), response.text
    assert response.status_code == expected_fault_status(version, fault.code)
    assert fault.detail is not None
    assert fault.detail.error_message == fault.reason
    assert not validate_message(response.content)
    return fault


def read_answer(response: httpx.Response) -> models.SendMessageResponse:
    assert response.status_code == 200, response.text
    envelope = read_response(response.content)
    body = envelope.body
    assert isinstance(body, models.SendMessageResponse)
    assert not validate_message(response.content)
    return body


def search_payload(body: models.SendMessageResponse) -> models.MedicalExemptionSearchResponse:
    payload = body.response.response_data.data
    assert isinstance(payload, models.MedicalExemptionSearchResponse)
    return payload


def closed_port_url() -> str:
    """The URL of a loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/sync"


def assert_found(answer: models.MedicalExemptionSearchResponse) -> None:
    assert answer.status == models.Status(code="SUCCESS", message=SUCCESS_MESSAGE)
    [found] = answer.medical_exemption_list
    assert found.number == "01085"  # a string: the leading zero is kept
    assert found.status == "UP_TO_DATE"
    assert found.medical_procedure == PROCEDURE
    assert found.medical_procedure.name_kk == "Коронавирустық инфекцияға қарсы иммунопрофилактика"
    assert found.certificate == CERTIFICATE
    assert found.printable_certificate == CERTIFICATE + b"print"
    assert found.revocation_reason is None
    assert found.temporary_contraindication_end_date is None


# --- outcomes through the client ----------------------------------------------------------------


@MODES
@VERSIONS
def test_found(e2e_url: str, mode: Mode, version: SoapVersion) -> None:
    caller = Caller(mode, e2e_url, version)

    answer = caller.search(FOUND)

    assert_found(answer)
    assert len(caller.sent) == 1


@MODES
@VERSIONS
def test_not_found(e2e_url: str, mode: Mode, version: SoapVersion) -> None:
    answer = Caller(mode, e2e_url, version).search(
        models.MedicalExemptionSearchRequest(number="00000")
    )

    assert answer.status == models.Status(code="NOT_FOUND", message=NOT_FOUND_MESSAGE)
    assert answer.medical_exemption_list == []


@MODES
@VERSIONS
def test_invalid_request(e2e_url: str, mode: Mode, version: SoapVersion) -> None:
    answer = Caller(mode, e2e_url, version).search(
        models.MedicalExemptionSearchRequest(iin="12345")
    )

    assert answer.status.code == "INVALID_REQUEST"
    assert "iin" in answer.status.message
    assert answer.medical_exemption_list == []


@MODES
@VERSIONS
def test_response_info_answers_the_request(e2e_url: str, mode: Mode, version: SoapVersion) -> None:
    caller = Caller(mode, e2e_url, version)

    envelope = caller.send(FOUND)

    [sent] = caller.messages()
    assert envelope.version is version
    info = envelope.body.response.response_info
    assert info.correlation_id == sent.request.request_info.message_id
    assert info.message_id != info.correlation_id
    uuid.UUID(info.message_id)
    assert info.status == models.StatusInfo(code="SUCCESS", message=SUCCESS_MESSAGE)
    assert info.response_date.offset == 5 * 60  # Asia/Almaty, with its offset
    assert_found(search_payload(envelope.body))


# --- fault paths through the client -------------------------------------------------------------


@MODES
@VERSIONS
@pytest.mark.parametrize(
    ("sender_id", "password"),
    [("e2e-sender", "wrong-password"), ("nobody", PASSWORD), ("e2e-sender", None)],
    ids=["bad-password", "unknown-sender", "no-password"],
)
def test_authentication_failed(
    e2e_url: str, mode: Mode, version: SoapVersion, sender_id: str, password: str | None
) -> None:
    caller = Caller(mode, e2e_url, version, sender_id=sender_id, password=password)

    with pytest.raises(GatewayFault) as raised:
        caller.search(FOUND)

    fault = raised.value
    assert fault.error_code == "AUTHENTICATION_FAILED"
    assert fault.error_message == "sender authentication failed"
    assert fault.fault.code is FaultCode.SENDER
    assert fault.is_sender_fault
    assert fault.status_code == (500 if version is SoapVersion.SOAP11 else 400)
    assert fault.sub_errors == []


@MODES
@VERSIONS
def test_service_exception_is_a_receiver_fault_without_details(
    e2e_url: str, mode: Mode, version: SoapVersion
) -> None:
    caller = Caller(mode, e2e_url, version)

    with pytest.raises(GatewayFault) as raised:
        caller.search(models.MedicalExemptionSearchRequest(number="boom"))

    fault = raised.value
    assert fault.error_code == "INTERNAL_ERROR"
    assert fault.fault.code is FaultCode.RECEIVER
    assert not fault.is_sender_fault
    assert fault.status_code == 500
    assert fault.error_message is not None
    assert INCIDENT.fullmatch(fault.error_message)
    for text in (str(fault), fault.error_message, fault.fault.reason):
        assert "secret detail" not in text
        assert "RuntimeError" not in text


@MODES
@VERSIONS
def test_service_fault_from_the_service(e2e_url: str, mode: Mode, version: SoapVersion) -> None:
    with pytest.raises(GatewayFault) as raised:
        Caller(mode, e2e_url, version).search(models.MedicalExemptionSearchRequest(number="refuse"))

    fault = raised.value
    assert fault.error_code == "REFUSED"
    assert fault.error_message == "refused on purpose"
    assert fault.fault.code is FaultCode.SENDER
    assert fault.is_sender_fault
    assert fault.status_code == (500 if version is SoapVersion.SOAP11 else 400)


@MODES
def test_client_refuses_what_it_cannot_send(e2e_url: str, mode: Mode) -> None:
    caller = Caller(mode, e2e_url)

    with pytest.raises(TypeError, match="takes MedicalExemptionSearchRequest, not Status"):
        caller.call_service(SERVICE_ID, models.Status(code="x", message="y"))
    with pytest.raises(KeyError, match="NO_SUCH_SERVICE"):
        caller.call_service("NO_SUCH_SERVICE", FOUND)

    assert caller.sent == []


@VERSIONS
def test_unknown_service_id(e2e_url: str, version: SoapVersion) -> None:
    response = post(e2e_url, raw_request(version, "NO_SUCH_SERVICE"), version.content_type)

    fault = read_fault(response, version)
    assert fault.code is FaultCode.SENDER
    assert fault.detail is not None
    assert fault.detail.error_code == "UNKNOWN_SERVICE"
    assert "'NO_SUCH_SERVICE'" in fault.reason


@VERSIONS
@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (
            models.MedicalExemptionSearchResponse(
                status=models.Status(code="SUCCESS", message=SUCCESS_MESSAGE)
            ),
            "MedicalExemptionSearchResponse",
        ),
        (models.Dictionary(code="100", name_ru="ru", name_kk="kk"), "Dictionary"),
        (None, "no data"),
    ],
    ids=["response-type", "dictionary", "no-data"],
)
def test_wrong_payload_type(
    e2e_url: str, version: SoapVersion, payload: object, named: str
) -> None:
    response = post(e2e_url, raw_request(version, payload=payload), version.content_type)

    fault = read_fault(response, version)
    assert fault.code is FaultCode.SENDER
    assert fault.detail is not None
    assert fault.detail.error_code == "WRONG_PAYLOAD_TYPE"
    assert f"{{{SYNC_NS}}}MedicalExemptionSearchRequest" in fault.reason
    assert named in fault.reason


def test_unknown_payload_type_is_an_invalid_message(e2e_url: str) -> None:
    body = raw_request(SoapVersion.SOAP11).replace(
        b":MedicalExemptionSearchRequest", b":NoSuchType"
    )

    fault = read_fault(post(e2e_url, body, "text/xml"), SoapVersion.SOAP11)

    assert fault.detail is not None
    assert fault.detail.error_code == "INVALID_MESSAGE"
    assert "NoSuchType" in fault.reason


# --- retries ------------------------------------------------------------------------------------

RETRY = RetryPolicy(attempts=3, backoff=0.01)


@MODES
def test_receiver_fault_is_retried_with_a_new_message_each_time(e2e_url: str, mode: Mode) -> None:
    caller = Caller(mode, e2e_url, retry=RETRY)

    with pytest.raises(GatewayFault) as raised:
        caller.search(models.MedicalExemptionSearchRequest(number="boom"))

    assert raised.value.error_code == "INTERNAL_ERROR"
    assert len(caller.sent) == 3
    ids = {message.request.request_info.message_id for message in caller.messages()}
    assert len(ids) == 3


@MODES
@pytest.mark.parametrize(
    ("number", "password", "error_code"),
    [("refuse", PASSWORD, "REFUSED"), ("01085", "wrong-password", "AUTHENTICATION_FAILED")],
    ids=["service-fault", "bad-password"],
)
def test_sender_fault_is_never_retried(
    e2e_url: str, mode: Mode, number: str, password: str, error_code: str
) -> None:
    caller = Caller(mode, e2e_url, password=password, retry=RETRY)

    with pytest.raises(GatewayFault) as raised:
        caller.search(models.MedicalExemptionSearchRequest(number=number))

    assert raised.value.error_code == error_code
    assert len(caller.sent) == 1


@MODES
def test_no_retries_by_default(e2e_url: str, mode: Mode) -> None:
    caller = Caller(mode, e2e_url)

    with pytest.raises(GatewayFault):
        caller.search(models.MedicalExemptionSearchRequest(number="boom"))

    assert len(caller.sent) == 1


@MODES
@pytest.mark.parametrize(("retry", "attempts"), [(None, 1), (RETRY, 3)], ids=["once", "retried"])
def test_connection_refused_is_a_transport_error(
    mode: Mode, retry: RetryPolicy | None, attempts: int
) -> None:
    caller = Caller(mode, closed_port_url(), retry=retry)

    with pytest.raises(TransportError, match="ConnectError") as raised:
        caller.search(FOUND)

    assert raised.value.status_code is None
    assert len(caller.sent) == attempts


@MODES
def test_http_refusal_of_the_request_is_not_retried(e2e_url: str, mode: Mode) -> None:
    """HTTP 413 from the real server: the request itself is refused, so it is sent once."""
    caller = Caller(mode, e2e_url, retry=RETRY)
    too_big = models.MedicalExemptionSearchRequest(
        passport_number="N" * (MAX_BODY + 1), citizenship_code="398"
    )

    with pytest.raises(TransportError) as raised:
        caller.search(too_big)

    assert raised.value.status_code == 413
    assert len(caller.sent) == 1


@MODES
@pytest.mark.parametrize(
    ("status", "attempts"),
    [(400, 1), (404, 1), (405, 1), (413, 1), (415, 1), (408, 3), (429, 3), (502, 3), (503, 3)],
)
def test_http_errors_without_soap_are_retried_only_when_it_can_help(
    mode: Mode, status: int, attempts: int
) -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, text="no", headers={"Content-Type": "text/plain"})
    )
    caller = Caller(mode, "http://gateway.invalid/sync", retry=RETRY, transport=transport)

    with pytest.raises(TransportError) as raised:
        caller.search(FOUND)

    assert raised.value.status_code == status
    assert len(caller.sent) == attempts


# --- the answer must belong to the request (a fake server) --------------------------------------


def echo_server(
    change: Callable[[models.SendMessageResponse], None] | None = None,
) -> httpx.MockTransport:
    """Answers FOUND to any request in its own version, after `change` has altered the answer."""

    def handle(request: httpx.Request) -> httpx.Response:
        envelope = read_request(request.content)
        answer = response_message(
            envelope.body.request.request_info,
            models.MedicalExemptionSearchResponse(
                status=models.Status(code="NOT_FOUND", message=NOT_FOUND_MESSAGE)
            ),
        )
        if change is not None:
            change(answer)
        body = write_envelope(Envelope(body=answer, version=envelope.version))
        return httpx.Response(
            200, content=body, headers={"Content-Type": envelope.version.content_type}
        )

    return httpx.MockTransport(handle)


def fixed_server(status: int, content_type: str, body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers={"Content-Type": content_type})
    )


FAKE_URL = "http://gateway.invalid/sync"


@MODES
@VERSIONS
def test_fake_server_control(mode: Mode, version: SoapVersion) -> None:
    """The fake server's honest answer is accepted, so the refusals below are the client's doing."""
    answer = Caller(mode, FAKE_URL, version, transport=echo_server()).search(FOUND)

    assert answer.status.code == "NOT_FOUND"


@MODES
@VERSIONS
def test_answer_to_another_request_is_a_protocol_error(mode: Mode, version: SoapVersion) -> None:
    def other(answer: models.SendMessageResponse) -> None:
        answer.response.response_info.correlation_id = str(uuid.uuid4())

    caller = Caller(mode, FAKE_URL, version, transport=echo_server(other))

    with pytest.raises(ProtocolError, match="correlates to"):
        caller.search(FOUND)


@MODES
def test_answer_with_the_wrong_payload_type_is_a_protocol_error(mode: Mode) -> None:
    def dictionary(answer: models.SendMessageResponse) -> None:
        answer.response.response_data.data = models.Dictionary(code="1", name_ru="r", name_kk="k")

    caller = Caller(mode, FAKE_URL, transport=echo_server(dictionary))

    with pytest.raises(ProtocolError, match="not Dictionary"):
        caller.search(FOUND)


@MODES
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", b"<html><body>Welcome</body></html>"),
        ("application/json", b'{"ok": true}'),
        ("text/xml", b"<html><body>not SOAP</body></html>"),
        ("text/xml", b"<soap:Envelope"),
        ("text/xml", b""),
    ],
    ids=["html", "json", "xml-not-soap", "truncated", "empty"],
)
def test_non_soap_success_is_a_protocol_error(mode: Mode, content_type: str, body: bytes) -> None:
    caller = Caller(mode, FAKE_URL, transport=fixed_server(200, content_type, body))

    with pytest.raises(ProtocolError):
        caller.search(FOUND)

    assert len(caller.sent) == 1


@MODES
def test_bad_gateway_html_is_a_transport_error(mode: Mode) -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    caller = Caller(mode, FAKE_URL, transport=fixed_server(502, "text/html", html))

    with pytest.raises(TransportError) as raised:
        caller.search(FOUND)

    assert raised.value.status_code == 502


@MODES
@VERSIONS
def test_gateway_fault_carries_the_sub_error_chain(mode: Mode, version: SoapVersion) -> None:
    fault = gateway_fault(FaultCode.SENDER, "E0401", "Отправитель не зарегистрирован на шлюзе")
    assert fault.detail is not None
    fault.detail.sub_error = replace(
        fault.detail,
        error_code="SENDER_UNKNOWN",
        sub_error=replace(fault.detail, error_code="ROOT_CAUSE"),
    )
    body = write_envelope(Envelope(body=fault, version=version))
    status = expected_fault_status(version, FaultCode.SENDER)
    caller = Caller(
        mode,
        FAKE_URL,
        version,
        retry=RETRY,
        transport=fixed_server(status, version.content_type, body),
    )

    with pytest.raises(GatewayFault) as raised:
        caller.search(FOUND)

    assert raised.value.error_code == "E0401"
    assert raised.value.error_message == "Отправитель не зарегистрирован на шлюзе"
    assert [e.error_code for e in raised.value.sub_errors] == ["SENDER_UNKNOWN", "ROOT_CAUSE"]
    assert raised.value.status_code == status
    assert len(caller.sent) == 1


# --- headers and body on the wire ---------------------------------------------------------------


@MODES
@VERSIONS
def test_request_on_the_wire(e2e_url: str, mode: Mode, version: SoapVersion) -> None:
    caller = Caller(mode, e2e_url, version)

    caller.search(FOUND)

    [request] = caller.sent
    assert request.method == "POST"
    assert str(request.url) == e2e_url
    content_type = request.headers["content-type"]
    if version is SoapVersion.SOAP11:
        assert content_type == "text/xml; charset=utf-8"
        assert request.headers["soapaction"] == '""'
    else:
        assert content_type == 'application/soap+xml; charset=utf-8; action=""'
        assert "soapaction" not in request.headers
    envelope = read_request(request.content)
    assert envelope.version is version
    assert not validate_message(request.content)
    info = envelope.body.request.request_info
    uuid.UUID(info.message_id)
    assert info.service_id == SERVICE_ID
    assert info.sender == models.SenderInfo(sender_id=SENDER_ID, password=PASSWORD)
    assert info.message_date.offset == 5 * 60  # now, in Asia/Almaty, with its offset
    assert envelope.body.request.request_data.data == FOUND


# --- the original's sample, posted verbatim -----------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"SOAPAction": '""'}, {"SOAPAction": "urn:whatever"}],
    ids=["no-soapaction", "empty-soapaction", "odd-soapaction"],
)
def test_original_request_verbatim(e2e_url: str, headers: dict[str, str]) -> None:
    response = post(e2e_url, ORIGINAL, "text/xml", headers=headers)

    assert response.status_code == 200
    assert media_type(response) == "text/xml"
    envelope = read_response(response.content)
    assert envelope.version is SoapVersion.SOAP11
    body = read_answer(response)
    info = body.response.response_info
    assert info.correlation_id == ORIGINAL_ID
    assert info.status == models.StatusInfo(code="SUCCESS", message=SUCCESS_MESSAGE)
    payload = search_payload(body)
    assert payload.status.code == "SUCCESS"
    assert [found.number for found in payload.medical_exemption_list] == ["01085"]
    assert_found(payload)


@pytest.mark.parametrize(
    "content_type",
    ["application/soap+xml", 'application/soap+xml; charset=utf-8; action="urn:whatever"'],
    ids=["plain", "odd-action"],
)
def test_soap12_case_verbatim_is_refused_in_soap12(e2e_url: str, content_type: str) -> None:
    """Its sender `damumed` is not configured: the refusal comes back in SOAP 1.2, HTTP 400.

    The WS-Addressing blocks are marked mustUnderstand: answering AUTHENTICATION_FAILED (checked
    after the headers) rather than MustUnderstand shows they were understood.
    """
    response = post(e2e_url, SOAP12_REQUEST, content_type)

    assert response.status_code == 400
    fault = read_fault(response, SoapVersion.SOAP12)
    assert fault.code is FaultCode.SENDER
    assert fault.detail is not None
    assert fault.detail.error_code == "AUTHENTICATION_FAILED"


@pytest.mark.parametrize(
    "content_type", ["application/soap+xml", "text/xml"], ids=["soap12-type", "soap11-type"]
)
def test_soap12_case_from_a_known_sender_is_answered_in_soap12(
    e2e_url: str, content_type: str
) -> None:
    """The version is the envelope's, whatever the Content-Type claimed."""
    response = post(e2e_url, SOAP12_KNOWN_SENDER, content_type)

    assert response.status_code == 200
    assert media_type(response) == "application/soap+xml"
    assert read_response(response.content).version is SoapVersion.SOAP12
    body = read_answer(response)
    assert body.response.response_info.correlation_id == SOAP12_ID
    payload = search_payload(body)
    assert payload.status == models.Status(code="NOT_FOUND", message=NOT_FOUND_MESSAGE)


@VERSIONS
def test_unknown_must_understand_header_is_refused(e2e_url: str, version: SoapVersion) -> None:
    must = "1" if version is SoapVersion.SOAP11 else "true"
    block = etree.fromstring(
        f'<x:Secret xmlns:x="urn:unknown" xmlns:s="{version.namespace}" s:mustUnderstand="{must}"/>'
    )
    message = request_message(SERVICE_ID, FOUND, sender_id=SENDER_ID, password=PASSWORD)
    body = write_envelope(Envelope(body=message, version=version, header=(block,)))

    fault = read_fault(post(e2e_url, body, version.content_type), version)

    assert fault.code is FaultCode.MUST_UNDERSTAND
    assert fault.detail is not None
    assert fault.detail.error_code == "MUST_UNDERSTAND"
    assert "{urn:unknown}Secret" in fault.reason


def test_unknown_envelope_namespace_is_a_version_mismatch(e2e_url: str) -> None:
    body = ORIGINAL.replace(b"http://schemas.xmlsoap.org/soap/envelope/", b"urn:soap:3.0")

    fault = read_fault(post(e2e_url, body, "text/xml"), SoapVersion.SOAP11)

    assert fault.code is FaultCode.VERSION_MISMATCH
    assert fault.detail is not None
    assert fault.detail.error_code == "VERSION_MISMATCH"


# --- HTTP-level refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_refused(e2e_url: str, method: str) -> None:
    response = httpx.request(method, e2e_url, content=ORIGINAL, timeout=TIMEOUT)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert media_type(response) == "text/plain"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "text/html", "multipart/form-data"]
)
def test_unsupported_content_type(e2e_url: str, content_type: str) -> None:
    response = post(e2e_url, ORIGINAL, content_type)

    assert response.status_code == 415
    assert "text/xml" in response.text


def test_missing_content_type(e2e_url: str) -> None:
    response = httpx.post(e2e_url, content=ORIGINAL, timeout=TIMEOUT)

    assert "content-type" not in response.request.headers
    assert response.status_code == 415


@pytest.mark.parametrize(
    "content_type", ["application/xml", "TEXT/XML; Charset=UTF-8", "text/xml;charset=utf-8"]
)
def test_accepted_content_types(e2e_url: str, content_type: str) -> None:
    assert read_answer(post(e2e_url, ORIGINAL, content_type)).response.response_info.correlation_id


def test_body_over_the_limit_then_normal_service(e2e_url: str) -> None:
    padding = b"<!--" + b"x" * MAX_BODY + b"-->"

    refused = post(e2e_url, ORIGINAL + padding, "text/xml")

    assert refused.status_code == 413
    assert media_type(refused) == "text/plain"
    assert str(MAX_BODY) in refused.text
    # Right after, the server answers normally. On a new connection: gunicorn 27 announces
    # keep-alive on the 413 but then closes, as it drains at most 64 KiB of an unread body, so
    # reusing that connection races its close.
    answered = post(e2e_url, ORIGINAL, "text/xml")
    assert read_answer(answered).response.response_info.correlation_id == ORIGINAL_ID


def test_body_at_the_limit_is_read(e2e_url: str) -> None:
    body = ORIGINAL + b"<!--" + b"x" * (MAX_BODY - len(ORIGINAL) - 7) + b"-->"
    assert len(body) == MAX_BODY

    response = post(e2e_url, body, "text/xml")

    assert read_answer(response).response.response_info.correlation_id == ORIGINAL_ID


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_body(e2e_url: str) -> None:
    response = httpx.post(
        e2e_url, content=chunks(ORIGINAL), headers={"Content-Type": "text/xml"}, timeout=TIMEOUT
    )

    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert read_answer(response).response.response_info.correlation_id == ORIGINAL_ID


def test_chunked_body_over_the_limit(e2e_url: str) -> None:
    body = ORIGINAL + b"<!--" + b"x" * MAX_BODY + b"-->"

    response = httpx.post(
        e2e_url, content=chunks(body, 8192), headers={"Content-Type": "text/xml"}, timeout=TIMEOUT
    )

    assert response.status_code == 413


def raw_http(url: str, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a bare socket (half-closing it after them): status, headers, body."""
    address = httpx.URL(url)
    assert address.port is not None
    with socket.create_connection((address.host, address.port), timeout=10) as s:
        s.sendall(head + b"\r\n" + body)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head_out, _, content = data.partition(b"\r\n\r\n")
    status_line, *lines = head_out.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, content


def raw_head(length: str | None) -> bytes:
    lines = [
        "POST /sync HTTP/1.1",
        "Host: localhost",
        "Content-Type: text/xml",
        "Connection: close",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "".join(line + "\r\n" for line in lines).encode()


def test_content_length_shorter_than_the_body(e2e_url: str) -> None:
    """The server reads what Content-Length says, no more: a cut envelope, a fault saying so."""
    status, headers, content = raw_http(e2e_url, raw_head(str(len(ORIGINAL) // 2)), ORIGINAL)

    assert status == 500
    assert headers["content-type"].startswith("text/xml")
    fault = read_response(content).body
    assert isinstance(fault, SoapFault)
    assert fault.detail is not None
    assert fault.detail.error_code == "INVALID_MESSAGE"
    assert "not well-formed" in fault.reason


def test_content_length_longer_than_the_body(e2e_url: str) -> None:
    """The sender stops early (and says so by closing its side): the server does not hang.

    Whether a whole envelope under a too-long Content-Length is served or refused is not decided;
    it must be one or the other, promptly, and never anything but SOAP or a 4xx.
    """
    status, _, content = raw_http(e2e_url, raw_head(str(len(ORIGINAL) + 100)), ORIGINAL)

    if status == 200:
        answer = read_response(content).body
        assert isinstance(answer, models.SendMessageResponse)
        assert answer.response.response_info.correlation_id == ORIGINAL_ID
    else:
        assert 400 <= status < 500, content


def test_content_length_absent(e2e_url: str) -> None:
    """HTTP/1.1 without Content-Length or chunking has an empty body: a fault that says so."""
    status, _, content = raw_http(e2e_url, raw_head(None), ORIGINAL)

    assert status == 500
    fault = read_response(content).body
    assert isinstance(fault, SoapFault)
    assert fault.detail is not None
    assert fault.detail.error_code == "INVALID_MESSAGE"
    assert "empty" in fault.reason.lower()


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_content_length_garbage_is_a_bad_request(e2e_url: str, length: str) -> None:
    """gunicorn refuses these itself (its own 400 page) before our app sees the request."""
    status, _, _ = raw_http(e2e_url, raw_head(length), ORIGINAL)

    assert status == 400


def wsdl_addresses(document: bytes) -> dict[str, str]:
    root = etree.fromstring(document)
    found: dict[str, str] = {}
    for element in root.iter("{*}address"):
        found[etree.QName(element).namespace or ""] = element.get("location", "")
    return found


SOAP11_WSDL = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_WSDL = "http://schemas.xmlsoap.org/wsdl/soap12/"


@pytest.mark.parametrize("query", ["wsdl", "WSDL", "wsdl=", "x=1&wsdl"])
def test_wsdl_names_the_url_it_was_fetched_by(e2e_url: str, query: str) -> None:
    response = httpx.get(f"{e2e_url}?{query}", timeout=TIMEOUT)

    assert response.status_code == 200
    assert media_type(response) == "text/xml"
    assert etree.QName(etree.fromstring(response.content)).localname == "definitions"
    assert wsdl_addresses(response.content) == {SOAP11_WSDL: e2e_url, SOAP12_WSDL: e2e_url}


def test_wsdl_follows_the_host_and_forwarded_scheme(e2e_url: str) -> None:
    response = httpx.get(
        f"{e2e_url}?wsdl",
        headers={"Host": "shep.example.kz:8443", "X-Forwarded-Proto": "https"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 200
    expected = "https://shep.example.kz:8443/sync"
    assert wsdl_addresses(response.content) == {SOAP11_WSDL: expected, SOAP12_WSDL: expected}


@pytest.mark.parametrize("path", ["/other", "/", "/sync/", "/sync/extra", "/SYNC"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_other_paths_are_not_found(e2e_url: str, path: str, method: str) -> None:
    url = httpx.URL(e2e_url).copy_with(path=path)

    response = httpx.request(
        method, url, content=ORIGINAL, headers={"Content-Type": "text/xml"}, timeout=TIMEOUT
    )

    assert response.status_code == 404


NOT_A_READABLE_ENVELOPE = [
    pytest.param(
        b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>",
        "not well-formed",
        id="cut",
    ),
    pytest.param(b"\x00\x01 not xml at all", "not well-formed", id="binary"),
    pytest.param(
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        "DOCTYPE",
        id="doctype-entity",
    ),
    pytest.param(b"<!DOCTYPE soap:Envelope>" + ORIGINAL, "DOCTYPE", id="doctype"),
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b"<a/>", "not a SOAP envelope", id="not-envelope"),
]
HINTS = pytest.mark.parametrize(
    ("content_type", "version"),
    [("text/xml", SoapVersion.SOAP11), ("application/soap+xml", SoapVersion.SOAP12)],
    ids=["soap11-type", "soap12-type"],
)


def assert_invalid_message(response: httpx.Response, version: SoapVersion, reason: str) -> None:
    """Never a traceback or an HTML page: a Sender fault INVALID_MESSAGE that says why."""
    assert b"Traceback" not in response.content
    assert b"<html" not in response.content.lower()
    fault = read_fault(response, version)
    assert fault.code is FaultCode.SENDER
    assert fault.detail is not None
    assert fault.detail.error_code == "INVALID_MESSAGE"
    assert reason.lower() in fault.reason.lower()


@pytest.mark.parametrize(("body", "reason"), NOT_A_READABLE_ENVELOPE)
@HINTS
def test_unreadable_message_is_a_fault_that_says_why(
    e2e_url: str, body: bytes, reason: str, content_type: str, version: SoapVersion
) -> None:
    """No envelope to take the version from: the fault is in the version the Content-Type hints."""
    assert_invalid_message(post(e2e_url, body, content_type), version, reason)


def broken(version: SoapVersion, defect: str) -> bytes:
    """A readable envelope of `version` whose content breaks the schema."""
    message = ORIGINAL if version is SoapVersion.SOAP11 else SOAP12_KNOWN_SENDER
    if defect == "two-elements":
        return message.replace(b"<soap:Body>", b"<soap:Body><extra/>")
    return message.replace(b"<messageId>", b"<messageID>").replace(b"</messageId>", b"</messageID>")


DEFECTS = pytest.mark.parametrize(
    ("defect", "reason"),
    [("two-elements", "exactly one element"), ("unknown-element", "messageID")],
    ids=["two-elements", "unknown-element"],
)


@DEFECTS
@VERSIONS
def test_invalid_envelope_is_a_fault_in_its_version(
    e2e_url: str, version: SoapVersion, defect: str, reason: str
) -> None:
    response = post(e2e_url, broken(version, defect), version.content_type)

    assert_invalid_message(response, version, reason)


@DEFECTS
@VERSIONS
def test_invalid_envelope_is_a_fault_in_its_version_whatever_the_content_type(
    e2e_url: str, version: SoapVersion, defect: str, reason: str
) -> None:
    other = "application/soap+xml" if version is SoapVersion.SOAP11 else "text/xml"

    response = post(e2e_url, broken(version, defect), other)

    assert_invalid_message(response, version, reason)


# --- the WSGI app in process, without a socket --------------------------------------------------


class Found(Servicer):
    """Answers every search with one record, naming the sender in its status message."""

    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        return models.MedicalExemptionSearchResponse(
            status=models.Status(code="SUCCESS", message=f"sender {context.sender_id}"),
        )


class WrongType(Servicer):
    def medical_exemption_search(  # type: ignore[override]  # the bug under test
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchRequest:
        return models.MedicalExemptionSearchRequest(number="a secret number")


class ReceiverFault(Servicer):
    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        raise ServiceFault("the registry is down", error_code="REGISTRY_DOWN", sender=False)


@VERSIONS
def test_wsgi_default_servicer_is_not_implemented(version: SoapVersion) -> None:
    app = make_app(Servicer(), ServerConfig(max_message_age=None))

    answer = wsgi_call(app, raw_request(version), content_type=version.content_type)

    assert answer.status == 500
    fault = answer.fault()
    assert fault.code is FaultCode.RECEIVER
    assert fault.detail is not None
    assert fault.detail.error_code == "NOT_IMPLEMENTED"
    assert SERVICE_ID in fault.reason


@pytest.mark.parametrize(
    ("sender_id", "password"), [("anyone", None), ("someone-else", "whatever")]
)
def test_wsgi_without_senders_anyone_is_accepted(sender_id: str, password: str | None) -> None:
    app = make_app(Found(), ServerConfig(senders=None, max_message_age=None))

    answer = wsgi_call(app, raw_request(SoapVersion.SOAP11, sender_id=sender_id, password=password))

    assert answer.payload().status.message == f"sender {sender_id}"


def test_wsgi_chunked_body_without_content_length() -> None:
    app = make_app(Found(), ServerConfig(max_body_bytes=len(ORIGINAL), max_message_age=None))

    answer = wsgi_call(app, ORIGINAL, content_length=None, extra={"wsgi.input_terminated": True})

    assert answer.payload().status.message == "sender sender"


def test_wsgi_chunked_body_over_the_limit() -> None:
    app = make_app(Found(), ServerConfig(max_body_bytes=len(ORIGINAL) - 1, max_message_age=None))

    terminated = wsgi_call(
        app, ORIGINAL, content_length=None, extra={"wsgi.input_terminated": True}
    )
    chunked = wsgi_call(
        app, ORIGINAL, content_length=None, extra={"HTTP_TRANSFER_ENCODING": "chunked"}
    )

    assert terminated.status == chunked.status == 413


def test_wsgi_body_over_the_limit_is_refused_before_reading() -> None:
    class Unreadable(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the body was read")

    app = make_app(Found(), ServerConfig(max_body_bytes=100, max_message_age=None))

    answer = wsgi_call(app, b"", content_length="101", extra={"wsgi.input": Unreadable()})

    assert answer.status == 413


def test_wsgi_no_length_and_not_terminated_needs_a_length() -> None:
    app = make_app(Found(), ServerConfig(max_message_age=None))

    answer = wsgi_call(app, ORIGINAL, content_length=None)

    assert answer.status == 411


@pytest.mark.parametrize(
    "length",
    ["abc", "-1", "1.5", " 12", "0x10", "\u00b2", "\u0661\u0662"],
    ids=["letters", "negative", "decimal", "space", "hex", "superscript-two", "arabic-indic"],
)
def test_wsgi_bad_content_length(length: str) -> None:
    app = make_app(Found(), ServerConfig(max_message_age=None))

    answer = wsgi_call(app, ORIGINAL, content_length=length)

    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/plain")


def test_wsgi_service_returning_the_wrong_type(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(WrongType(), ServerConfig(max_message_age=None))

    with caplog.at_level(logging.ERROR, logger="medexempt.generated.server"):
        answer = wsgi_call(app, ORIGINAL)

    assert answer.status == 500
    fault = answer.fault()
    assert fault.code is FaultCode.RECEIVER
    assert fault.detail is not None
    assert fault.detail.error_code == "INTERNAL_ERROR"
    assert INCIDENT.fullmatch(fault.reason)
    assert "secret" not in fault.reason
    assert "MedicalExemptionSearchRequest" not in fault.reason
    # The details go to the server's log, under the incident the sender was given.
    incident = fault.reason.rsplit(" ", 1)[1]
    [record] = [r for r in caplog.records if r.name == "medexempt.generated.server"]
    assert incident in record.getMessage()
    assert ORIGINAL_ID in record.getMessage()
    assert record.exc_info is not None
    assert "returned MedicalExemptionSearchRequest" in str(record.exc_info[1])


@VERSIONS
def test_wsgi_receiver_service_fault(version: SoapVersion) -> None:
    app = make_app(ReceiverFault(), ServerConfig(max_message_age=None))

    answer = wsgi_call(app, raw_request(version), content_type=version.content_type)

    assert answer.status == 500
    fault = answer.fault()
    assert fault.code is FaultCode.RECEIVER
    assert fault.reason == "the registry is down"
    assert fault.detail is not None
    assert fault.detail.error_code == "REGISTRY_DOWN"


def test_wsgi_configured_public_url_is_in_the_wsdl() -> None:
    public = "https://medexempt.example.kz/shep/sync"
    app = make_app(Found(), ServerConfig(public_url=public, max_message_age=None))

    answer = wsgi_call(
        app, b"", method="GET", extra={"QUERY_STRING": "wsdl", "HTTP_HOST": "internal:8080"}
    )

    assert answer.status == 200
    assert wsdl_addresses(answer.body) == {SOAP11_WSDL: public, SOAP12_WSDL: public}
