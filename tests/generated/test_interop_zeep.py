"""Interoperability with a third-party SOAP stack: zeep reads our WSDL and talks to our codecs.

Everything runs offline. zeep gets a transport of our own (`OfflineTransport`) that reads the
WSDL from a local path, refuses any URL, and answers calls in process, so no HTTP session exists at
all; `forbid_external` also stops zeep's XML resolver from following a reference out.
zeep parses strictly (its default): an element the WSDL types do not declare, a missing required
element or an unknown xsi:type makes it raise, so every reply it accepts here was checked against
the WSDL's schemas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import zeep
import zeep.exceptions
import zeep.xsd
from lxml import etree
from xsdata.models.datatype import XmlDateTime

from medexempt import generated as g
from medexempt.generated import models

INTERFACES_NS = "http://bip.bee.kz/SyncChannel/v10/Interfaces"
TYPES_NS = "http://bip.bee.kz/SyncChannel/v10/Types"
RESPONSE_NS = "http://bip.bee.kz/SyncChannel/v10/Types/Response"
COMMON_NS = "http://bip.bee.kz/common/v10/Types"
SYNC_NS = "http://ehealth.kz/integration/sync"
SOAP_HTTP = "http://schemas.xmlsoap.org/soap/http"

SERVICE = "MedicalExemptionSearchService"
PORTS = {
    g.SoapVersion.SOAP11: "SyncChannelSoap11Port",
    g.SoapVersion.SOAP12: "SyncChannelSoap12Port",
}
BINDINGS = {
    g.SoapVersion.SOAP11: ("SyncChannelSoap11", "Soap11Binding"),
    g.SoapVersion.SOAP12: ("SyncChannelSoap12", "Soap12Binding"),
}
VERSIONS = pytest.mark.parametrize("version", list(g.SoapVersion), ids=lambda v: f"soap{v.value}")

SERVICE_ID = "EHEALTH_MEDICAL_EXEMPTION_SEARCH"
REQUEST_QNAME = f"{{{SYNC_NS}}}MedicalExemptionSearchRequest"
RESPONSE_QNAME = f"{{{SYNC_NS}}}MedicalExemptionSearchResponse"
FAULT_QNAME = f"{{{TYPES_NS}}}SendMessageFault1_SendMessageFault"

ALMATY = dt.timezone(dt.timedelta(hours=5))
MESSAGE_DATE = dt.datetime(2024, 5, 14, 11, 20, 5, 318000, tzinfo=ALMATY)
RESPONSE_DATE = "2024-05-14T11:20:05.902+05:00"
END_DATE = "2030-12-31T00:00:00+05:00"
NAME_RU = "Иммунопрофилактика от коронавирусной инфекции"
NAME_KK = "Коронавирустық инфекцияға қарсы иммунопрофилактика"
# Every byte value, behind a PDF signature: base64 must carry binary, not text.
CERTIFICATE = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
REASON = "Отправитель не зарегистрирован на шлюзе"


@dataclass
class HttpReply:
    """The part of a `requests.Response` that zeep's `process_reply` reads."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    encoding: str | None = "utf-8"


Server = Callable[[bytes, dict[str, str]], HttpReply]


@dataclass
class OfflineTransport:
    """A zeep transport without a network: local files only, and calls answered by `server`."""

    server: Server | None = None
    loaded: list[str] = field(default_factory=list)
    posted: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def load(self, url: str) -> bytes:
        if urlparse(url).scheme:
            raise AssertionError(f"zeep tried to fetch {url}: the WSDL must be self-contained")
        self.loaded.append(url)
        return Path(url).read_bytes()

    def post_xml(
        self, address: str, envelope: etree._Element, headers: dict[str, str]
    ) -> HttpReply:
        if self.server is None:
            raise AssertionError(f"zeep tried to post to {address}")
        message = etree.tostring(envelope, encoding="utf-8")
        self.posted.append((address, message, dict(headers)))
        return self.server(message, dict(headers))

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> HttpReply:
        raise AssertionError(f"zeep tried a plain HTTP POST to {address}")

    def get(self, address: str, params: object, headers: dict[str, str]) -> HttpReply:
        raise AssertionError(f"zeep tried an HTTP GET of {address}")


def make_client(wsdl_path: Path, transport: OfflineTransport) -> Any:
    settings = zeep.Settings(strict=True, forbid_external=True, forbid_dtd=True)
    # zeep ships py.typed but leaves most of its functions unannotated.
    return zeep.Client(str(wsdl_path), transport=transport, settings=settings)  # type: ignore[no-untyped-call]


@pytest.fixture
def wsdl_path(tmp_path: Path) -> Path:
    path = tmp_path / "service.wsdl"
    path.write_text(g.wsdl_text(), encoding="utf-8")
    return path


@pytest.fixture
def transport() -> OfflineTransport:
    return OfflineTransport()


@pytest.fixture
def client(wsdl_path: Path, transport: OfflineTransport) -> Any:
    return make_client(wsdl_path, transport)


def zeep_request(client: Any, message_date: dt.datetime = MESSAGE_DATE) -> dict[str, Any]:
    """The `request` argument of SendMessage as a zeep user writes it, payload typed by xsi:type."""
    request_type = client.get_type(REQUEST_QNAME)
    data = zeep.xsd.AnyObject(request_type, request_type(number="01085"))  # type: ignore[no-untyped-call]
    return {
        "requestInfo": {
            "messageId": "c784f38c-186c-4399-bab9-ec6b84e94212",
            "correlationId": "0b1c2d3e-0000-4000-8000-000000000001",
            "serviceId": SERVICE_ID,
            "messageDate": message_date,
            "sender": {"senderId": "clinic-42", "password": "s3cr3t-Pa55"},
            "properties": [{"key": "region", "value": "Алматы"}],
        },
        "requestData": {"data": data},
    }


def our_response(correlation_id: str | None = None) -> models.SendMessageResponse:
    found = models.FoundMedicalExemption(
        number="01085",
        medical_procedure=models.Dictionary(code="100", name_ru=NAME_RU, name_kk=NAME_KK),
        status="UP_TO_DATE",
        temporary_contraindication_end_date=XmlDateTime.from_string(END_DATE),
        certificate=CERTIFICATE,
    )
    return models.SendMessageResponse(
        response=models.SyncSendMessageResponse(
            response_info=models.SyncMessageInfoResponse(
                message_id="19eeab78-d606-4230-883f-ba7f46b1f597",
                correlation_id=correlation_id,
                response_date=XmlDateTime.from_string(RESPONSE_DATE),
                status=models.StatusInfo(code="SUCCESS", message="The request has been processed"),
            ),
            response_data=models.MessageData(
                data=models.MedicalExemptionSearchResponse(
                    status=models.Status(code="SUCCESS", message="The request has been processed"),
                    medical_exemption_list=[found],
                )
            ),
        )
    )


def our_fault(subcode: str | None = None) -> g.SoapFault:
    cause = models.ErrorInfo(
        error_code="SENDER_UNKNOWN",
        error_message="Система-отправитель не найдена",
        error_date=XmlDateTime.from_string("2024-05-14T06:21:40Z"),
    )
    return g.SoapFault(
        code=g.FaultCode.SENDER,
        reason=REASON,
        subcode=subcode,
        detail=models.ErrorInfo(
            error_code="E0401",
            error_message=REASON,
            error_data="senderId=clinic-42",
            error_date=XmlDateTime.from_string("2024-05-14T11:21:40.006+05:00"),
            sub_error=cause,
            session_id="{e0c34aab-dea9-410f-a521-b1750454a250}",
        ),
    )


def reply_of(version: g.SoapVersion, body: bytes, status_code: int = 200) -> HttpReply:
    return HttpReply(
        status_code=status_code, headers={"Content-Type": version.content_type}, content=body
    )


def process_reply(client: Any, version: g.SoapVersion, reply: HttpReply) -> Any:
    """Have zeep take `reply` as the answer to SendMessage on the binding of `version`."""
    binding = client.wsdl.services[SERVICE].ports[PORTS[version]].binding
    return binding.process_reply(client, binding.get("SendMessage"), reply)


def assert_zeep_result(result: Any) -> None:
    """zeep unwrapped SendMessageResponse to its one child and typed the payload by xsi:type."""
    info = result.responseInfo
    assert info.messageId == "19eeab78-d606-4230-883f-ba7f46b1f597"
    assert info.responseDate == dt.datetime(2024, 5, 14, 11, 20, 5, 902000, tzinfo=ALMATY)
    assert info.responseDate.utcoffset() == dt.timedelta(hours=5)
    assert (info.status.code, info.status.message) == ("SUCCESS", "The request has been processed")
    assert info.sessionId is None

    data = result.responseData.data
    assert data._xsd_type.qname == etree.QName(RESPONSE_QNAME)
    assert (data.status.code, data.status.message) == ("SUCCESS", "The request has been processed")
    assert len(data.medicalExemptionList) == 1
    found = data.medicalExemptionList[0]
    assert found.number == "01085"
    procedure = found.medicalProcedure
    assert (procedure.code, procedure.nameRu, procedure.nameKk) == ("100", NAME_RU, NAME_KK)
    assert found.status == "UP_TO_DATE"
    assert found.temporaryContraindicationEndDate == dt.datetime(2030, 12, 31, tzinfo=ALMATY)
    assert found.revocationReason is None
    assert found.certificate == CERTIFICATE
    assert found.printableCertificate is None


def assert_zeep_fault(client: Any, version: g.SoapVersion, fault: zeep.exceptions.Fault) -> None:
    assert fault.message == REASON
    assert fault.code == ("soap:Client" if version is g.SoapVersion.SOAP11 else "soap:Sender")
    detail = fault.detail
    assert detail is not None
    assert etree.QName(detail).localname == (
        "detail" if version is g.SoapVersion.SOAP11 else "Detail"
    )
    entries = list(detail)
    assert [entry.tag for entry in entries] == [FAULT_QNAME]
    assert entries[0].findtext("errorCode") == "E0401"
    # The WSDL's fault element types the detail: zeep reads it as ErrorInfo.
    info = client.get_element(FAULT_QNAME).parse(entries[0], client.wsdl.types)
    assert (info.errorCode, info.errorMessage, info.errorData) == (
        "E0401",
        REASON,
        "senderId=clinic-42",
    )
    assert info.errorDate == dt.datetime(2024, 5, 14, 11, 21, 40, 6000, tzinfo=ALMATY)
    assert info.sessionId == "{e0c34aab-dea9-410f-a521-b1750454a250}"
    assert info.subError.errorCode == "SENDER_UNKNOWN"
    assert info.subError.errorDate == dt.datetime(2024, 5, 14, 6, 21, 40, tzinfo=dt.UTC)
    assert info.subError.subError is None


# 1. The WSDL


def test_zeep_loads_the_wsdl_offline_with_both_bindings(
    client: Any, transport: OfflineTransport, wsdl_path: Path
) -> None:
    # One document read, from the local path: nothing imported, nothing fetched.
    assert transport.loaded == [str(wsdl_path)]
    assert transport.posted == []
    # zeep drops a binding it cannot read without a word: both must be there.
    assert set(client.wsdl.bindings) == {
        f"{{{INTERFACES_NS}}}SyncChannelSoap11",
        f"{{{INTERFACES_NS}}}SyncChannelSoap12",
    }
    assert list(client.wsdl.services) == [SERVICE]
    assert set(client.wsdl.services[SERVICE].ports) == set(PORTS.values())


@VERSIONS
def test_each_binding_has_send_message_with_empty_soap_action(
    client: Any, version: g.SoapVersion
) -> None:
    port = client.wsdl.services[SERVICE].ports[PORTS[version]]
    binding = port.binding
    name, kind = BINDINGS[version]
    assert type(binding).__name__ == kind
    assert binding.name == etree.QName(INTERFACES_NS, name)
    assert binding.transport == SOAP_HTTP
    assert port.binding_options["address"] == "http://localhost:8080/sync"
    assert set(binding.all()) == {"SendMessage"}
    operation = binding.get("SendMessage")
    assert operation.soapaction == ""
    assert operation.style == "document"
    assert operation.input.body.qname == etree.QName(TYPES_NS, "SendMessage")
    assert operation.output.body.qname == etree.QName(TYPES_NS, "SendMessageResponse")
    # Wrapped style: zeep's caller passes `request` and gets `response` back, unwrapped.
    assert operation.input.signature() == "request: ns1:SyncSendMessageRequest"
    assert operation.output.signature() == "response: ns2:SyncSendMessageResponse"
    # The payload types are named global types a client can put under xsi:type.
    for qname in (REQUEST_QNAME, RESPONSE_QNAME):
        assert client.get_type(qname).qname == etree.QName(qname)


# 2. Request: zeep -> us


@VERSIONS
def test_zeep_request_reads_as_our_typed_request(client: Any, version: g.SoapVersion) -> None:
    proxy = client.bind(SERVICE, PORTS[version])
    envelope = client.create_message(proxy, "SendMessage", request=zeep_request(client))
    assert envelope.tag == f"{{{version.namespace}}}Envelope"
    wire = etree.tostring(envelope, encoding="utf-8")

    message = g.read_request(wire)

    assert message.version is version
    request = message.body.request
    info = request.request_info
    assert info.message_id == "c784f38c-186c-4399-bab9-ec6b84e94212"
    assert info.correlation_id == "0b1c2d3e-0000-4000-8000-000000000001"
    assert info.service_id == SERVICE_ID
    assert info.message_date == XmlDateTime.from_string("2024-05-14T11:20:05.318+05:00")
    assert info.message_date.offset == 5 * 60
    assert info.message_date.to_datetime() == MESSAGE_DATE
    assert info.sender == models.SenderInfo(sender_id="clinic-42", password="s3cr3t-Pa55")
    assert info.properties == [models.Property(key="region", value="Алматы")]
    assert info.route_id is None
    assert info.session_id is None
    payload = request.request_data.data
    assert isinstance(payload, models.MedicalExemptionSearchRequest)
    assert payload == models.MedicalExemptionSearchRequest(number="01085")
    assert payload.number == "01085"  # the leading zero is kept: a string, not a number


@pytest.mark.parametrize(
    ("sent", "wire_text"),
    [
        (MESSAGE_DATE, "2024-05-14T11:20:05.318000+05:00"),
        (dt.datetime(2021, 2, 17, 10, 35, tzinfo=dt.timezone(dt.timedelta(hours=6))), None),
        (dt.datetime(2024, 5, 14, 6, 20, 5, tzinfo=dt.UTC), "2024-05-14T06:20:05Z"),
    ],
    ids=["almaty-micro", "plus6-whole", "utc-z"],
)
def test_zeep_message_dates_keep_their_offset(
    client: Any, sent: dt.datetime, wire_text: str | None
) -> None:
    envelope = client.create_message(
        client.service, "SendMessage", request=zeep_request(client, sent)
    )
    if wire_text is not None:
        assert envelope.findtext(".//requestInfo/messageDate") == wire_text

    date = g.read_request(etree.tostring(envelope)).body.request.request_info.message_date

    assert date.to_datetime() == sent
    assert date.to_datetime().utcoffset() == sent.utcoffset()


# 3. Response: us -> zeep (zeep's strict parse checks it against the WSDL's types)


@VERSIONS
def test_our_response_is_zeeps_reply(client: Any, version: g.SoapVersion) -> None:
    body = g.write_envelope(g.Envelope(body=our_response(), version=version))

    result = process_reply(client, version, reply_of(version, body))

    assert_zeep_result(result)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ((b"<status>UP_TO_DATE</status>", b"<status>UP_TO_DATE</status><extra/>"), "extra"),
        ((b"<number>01085</number>", b""), "expected 'number'"),
        ((b"ns7:MedicalExemptionSearchResponse", b"ns7:Unknown"), "No type 'Unknown'"),
    ],
    ids=["undeclared-element", "missing-required", "unknown-xsi-type"],
)
def test_zeep_checks_replies_against_the_wsdl(
    client: Any, change: tuple[bytes, bytes], error: str
) -> None:
    """A control: zeep's acceptance above means something, as it rejects what breaks the types."""
    body = g.write_envelope(g.Envelope(body=our_response()))
    old, new = change
    assert body.count(old) == 1
    reply = reply_of(g.SoapVersion.SOAP11, body.replace(old, new))

    with pytest.raises((zeep.exceptions.XMLParseError, zeep.exceptions.LookupError), match=error):
        process_reply(client, g.SoapVersion.SOAP11, reply)


# 4. Fault: us -> zeep


@VERSIONS
def test_our_fault_raises_zeep_fault(client: Any, version: g.SoapVersion) -> None:
    body = g.write_envelope(g.Envelope(body=our_fault(), version=version))

    with pytest.raises(zeep.exceptions.Fault) as raised:
        process_reply(client, version, reply_of(version, body, status_code=500))

    assert_zeep_fault(client, version, raised.value)


def test_soap11_fault_subcode_reaches_zeep(client: Any) -> None:
    body = g.write_envelope(g.Envelope(body=our_fault(subcode="Authentication")))

    with pytest.raises(zeep.exceptions.Fault) as raised:
        process_reply(client, g.SoapVersion.SOAP11, reply_of(g.SoapVersion.SOAP11, body, 500))

    assert raised.value.code == "soap:Client.Authentication"


def test_soap12_fault_subcode_reaches_zeep(client: Any) -> None:
    fault = our_fault(subcode=f"{{{TYPES_NS}}}Authentication")
    body = g.write_envelope(g.Envelope(body=fault, version=g.SoapVersion.SOAP12))

    with pytest.raises(zeep.exceptions.Fault) as raised:
        process_reply(client, g.SoapVersion.SOAP12, reply_of(g.SoapVersion.SOAP12, body, 500))

    assert raised.value.code == "soap:Sender"
    assert raised.value.subcodes == [etree.QName(TYPES_NS, "Authentication")]


# A whole call: zeep's client -> our codecs as the server -> zeep's client


def serve(answer: Callable[[g.Envelope[models.SendMessage]], g.SoapFault | None]) -> Server:
    """An in-process server: reads the request with our codec, answers in the request's version."""

    def server(message: bytes, headers: dict[str, str]) -> HttpReply:
        request = g.read_request(message)
        fault = answer(request)
        if fault is not None:
            body = g.write_envelope(g.Envelope(body=fault, version=request.version))
            return reply_of(request.version, body, status_code=500)
        response = our_response(correlation_id=request.body.request.request_info.message_id)
        body = g.write_envelope(g.Envelope(body=response, version=request.version))
        return reply_of(request.version, body)

    return server


def expected_headers(version: g.SoapVersion) -> dict[str, str]:
    """zeep's HTTP headers: the empty soapAction; in SOAP 1.2 it sends SOAPAction too (ignored)."""
    if version is g.SoapVersion.SOAP11:
        return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    return {"Content-Type": 'application/soap+xml; charset=utf-8; action=""', "SOAPAction": '""'}


@VERSIONS
def test_zeep_calls_send_message_on_our_server(wsdl_path: Path, version: g.SoapVersion) -> None:
    payloads: list[object] = []

    def answer(request: g.Envelope[models.SendMessage]) -> None:
        assert request.version is version
        payloads.append(request.body.request.request_data.data)

    transport = OfflineTransport(server=serve(answer))
    client = make_client(wsdl_path, transport)
    proxy = client.bind(SERVICE, PORTS[version])

    result = proxy.SendMessage(request=zeep_request(client))

    assert payloads == [models.MedicalExemptionSearchRequest(number="01085")]
    [(address, _, headers)] = transport.posted
    assert address == "http://localhost:8080/sync"
    assert headers == expected_headers(version)
    assert_zeep_result(result)
    assert result.responseInfo.correlationId == "c784f38c-186c-4399-bab9-ec6b84e94212"


@VERSIONS
def test_zeep_call_gets_our_fault(wsdl_path: Path, version: g.SoapVersion) -> None:
    transport = OfflineTransport(server=serve(lambda request: our_fault()))
    client = make_client(wsdl_path, transport)
    proxy = client.bind(SERVICE, PORTS[version])

    with pytest.raises(zeep.exceptions.Fault) as raised:
        proxy.SendMessage(request=zeep_request(client))

    assert len(transport.posted) == 1
    assert_zeep_fault(client, version, raised.value)
