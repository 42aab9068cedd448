"""Interoperability over real HTTP with a SOAP stack we did not write: zeep.

Forward: zeep loads the WSDL from our running server (`GET <url>?wsdl`, gunicorn on loopback, the
session fixture `e2e_url`), calls SendMessage through the SOAP 1.1 port and through the SOAP 1.2
port with the payload typed by xsi:type, and hands back typed values that we check; a fault of
ours is a `zeep.exceptions.Fault` carrying our message and our ErrorInfo.

Reverse: zeep's side of the same WSDL builds the SendMessageResponse envelope (its operation's
output message, which a zeep-based server would send), and our generated client reads it from an
`httpx.MockTransport`.

zeep needed nothing beyond what our WSDL provides: no extra schema, import, binding or setting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import zeep
import zeep.exceptions
import zeep.xsd
from lxml import etree

from medexempt.generated import models
from medexempt.generated.client import AsyncClient, Client
from medexempt.generated.envelope import SoapVersion, read_request, read_response
from medexempt.generated.services import MEDICAL_EXEMPTION_SEARCH
from tests.e2e.service import CERTIFICATE, PASSWORD, PROCEDURE, SENDER_ID
from tests.support import validate_message

SERVICE = "MedicalExemptionSearchService"
PORTS = {
    SoapVersion.SOAP11: "SyncChannelSoap11Port",
    SoapVersion.SOAP12: "SyncChannelSoap12Port",
}
VERSIONS = pytest.mark.parametrize("version", list(SoapVersion), ids=lambda v: f"soap{v.value}")
SERVICE_ID = "EHEALTH_MEDICAL_EXEMPTION_SEARCH"
SYNC_NS = "http://ehealth.kz/integration/sync"
REQUEST_TYPE = f"{{{SYNC_NS}}}MedicalExemptionSearchRequest"
RESPONSE_TYPE = f"{{{SYNC_NS}}}MedicalExemptionSearchResponse"
FAULT_ELEMENT = "{http://bip.bee.kz/SyncChannel/v10/Types}SendMessageFault1_SendMessageFault"
SUCCESS_MESSAGE = "The request has been processed"
NOT_FOUND_MESSAGE = "Медицинский отвод по заданным параметрам не найден"
ALMATY = dt.timezone(dt.timedelta(hours=5))

# zeep ships py.typed but leaves these unannotated: reached through Any, --strict accepts the calls.
ZeepClient: Any = zeep.Client
ZeepTransport: Any = zeep.Transport
AnyObject: Any = zeep.xsd.AnyObject


@dataclass
class Posted:
    """What zeep sent over HTTP, recorded by a response hook on its requests session."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Zeep:
    """A zeep client of our server, built from the WSDL the server serves."""

    client: Any
    posted: list[Posted] = field(default_factory=list)

    def port(self, version: SoapVersion) -> Any:
        return self.client.bind(SERVICE, PORTS[version])

    def request(
        self,
        *,
        number: str | None = None,
        iin: str | None = None,
        message_id: str = "4f0d7a4e-5b52-4d36-9c3e-0a7c5f0e6a11",
        password: str = PASSWORD,
    ) -> dict[str, Any]:
        """SendMessage's `request` as a zeep user writes it, `data` typed by xsi:type."""
        payload_type = self.client.get_type(REQUEST_TYPE)
        return {
            "requestInfo": {
                "messageId": message_id,
                "serviceId": SERVICE_ID,
                "messageDate": dt.datetime.now(ALMATY),
                "sender": {"senderId": SENDER_ID, "password": password},
            },
            "requestData": {
                "data": AnyObject(payload_type, payload_type(number=number, iin=iin)),
            },
        }


@pytest.fixture(scope="module")
def zeep_client(e2e_url: str) -> Iterator[Zeep]:
    transport = ZeepTransport(timeout=10, operation_timeout=10)
    posted: list[Posted] = []

    def record(response: Any, *args: object, **kwargs: object) -> None:
        request = response.request
        if request.method == "POST":
            body = request.body if isinstance(request.body, bytes) else b""
            posted.append(Posted(request.method, request.url, dict(request.headers), body))

    transport.session.hooks["response"].append(record)
    # zeep's default settings: strict parsing, so what it accepts matched the WSDL's types.
    with ZeepClient(f"{e2e_url}?wsdl", transport=transport) as client:
        yield Zeep(client, posted)


@pytest.fixture
def zeep_(zeep_client: Zeep) -> Zeep:
    """The module's zeep client, with a fresh record of what it posts."""
    zeep_client.posted.clear()
    return zeep_client


# --- zeep -> our server -------------------------------------------------------------------------


def test_zeep_reads_our_served_wsdl(zeep_: Zeep, e2e_url: str) -> None:
    service = zeep_.client.wsdl.services[SERVICE]
    assert sorted(service.ports) == sorted(PORTS.values())
    for name in PORTS.values():
        # The address is the URL zeep fetched the WSDL by: it will post where it loaded from.
        assert service.ports[name].binding_options["address"] == e2e_url
    kinds = {type(port.binding).__name__ for port in service.ports.values()}
    assert kinds == {"Soap11Binding", "Soap12Binding"}
    operation = service.ports[PORTS[SoapVersion.SOAP11]].binding.get("SendMessage")
    assert operation.soapaction == ""
    # Every payload type is a named global type, so zeep can type `data` by xsi:type.
    for name in ("MedicalExemptionSearchRequest", "MedicalExemptionSearchResponse"):
        assert zeep_.client.get_type(f"{{{SYNC_NS}}}{name}").qname == etree.QName(SYNC_NS, name)


@VERSIONS
def test_zeep_search_found(zeep_: Zeep, e2e_url: str, version: SoapVersion) -> None:
    result = zeep_.port(version).SendMessage(request=zeep_.request(number="01085"))

    info = result.responseInfo
    assert info.correlationId == "4f0d7a4e-5b52-4d36-9c3e-0a7c5f0e6a11"
    assert info.messageId != info.correlationId
    assert (info.status.code, info.status.message) == ("SUCCESS", SUCCESS_MESSAGE)
    assert isinstance(info.responseDate, dt.datetime)
    assert info.responseDate.utcoffset() == dt.timedelta(hours=5)

    data = result.responseData.data
    assert data._xsd_type.qname == etree.QName(RESPONSE_TYPE)  # typed from xsi:type
    assert (data.status.code, data.status.message) == ("SUCCESS", SUCCESS_MESSAGE)
    [found] = data.medicalExemptionList
    assert found.number == "01085"
    assert found.status == "UP_TO_DATE"
    procedure = found.medicalProcedure
    assert (procedure.code, procedure.nameRu, procedure.nameKk) == (
        PROCEDURE.code,
        PROCEDURE.name_ru,
        PROCEDURE.name_kk,
    )
    assert procedure.nameKk == "Коронавирустық инфекцияға қарсы иммунопрофилактика"
    assert found.certificate == CERTIFICATE  # base64Binary: bytes
    assert found.printableCertificate == CERTIFICATE + b"print"
    assert found.temporaryContraindicationEndDate is None
    assert found.revocationReason is None

    # What zeep put on the wire, to the address from the WSDL, in the port's SOAP version.
    [posted] = zeep_.posted
    assert posted.url == e2e_url
    sent = read_request(posted.body)
    assert sent.version is version
    assert sent.body.request.request_data.data == models.MedicalExemptionSearchRequest(
        number="01085"
    )
    assert posted.headers["SOAPAction"] == '""'  # zeep sends it even in SOAP 1.2: ignored
    if version is SoapVersion.SOAP12:
        assert posted.headers["Content-Type"].startswith("application/soap+xml")


@VERSIONS
def test_zeep_search_not_found_and_invalid(zeep_: Zeep, version: SoapVersion) -> None:
    port = zeep_.port(version)

    not_found = port.SendMessage(request=zeep_.request(number="00000")).responseData.data
    invalid = port.SendMessage(request=zeep_.request(iin="123")).responseData.data

    assert (not_found.status.code, not_found.status.message) == ("NOT_FOUND", NOT_FOUND_MESSAGE)
    assert not_found.medicalExemptionList == []
    assert invalid.status.code == "INVALID_REQUEST"
    assert invalid.medicalExemptionList == []


@VERSIONS
@pytest.mark.parametrize(
    ("number", "password", "error_code", "message", "sender"),
    [
        ("refuse", PASSWORD, "REFUSED", "refused on purpose", True),
        ("01085", "wrong-password", "AUTHENTICATION_FAILED", "sender authentication failed", True),
        ("boom", PASSWORD, "INTERNAL_ERROR", "internal error, incident ", False),
    ],
    ids=["service-fault", "bad-password", "service-exception"],
)
def test_zeep_gets_our_faults(
    zeep_: Zeep,
    version: SoapVersion,
    number: str,
    password: str,
    error_code: str,
    message: str,
    sender: bool,
) -> None:
    with pytest.raises(zeep.exceptions.Fault) as raised:
        zeep_.port(version).SendMessage(request=zeep_.request(number=number, password=password))

    fault = raised.value
    assert fault.message.startswith(message)
    assert "secret" not in fault.message
    codes = {
        (SoapVersion.SOAP11, True): "soap:Client",
        (SoapVersion.SOAP11, False): "soap:Server",
        (SoapVersion.SOAP12, True): "soap:Sender",
        (SoapVersion.SOAP12, False): "soap:Receiver",
    }
    assert fault.code == codes[version, sender]
    assert fault.detail is not None
    [entry] = list(fault.detail)
    assert entry.tag == FAULT_ELEMENT
    # The WSDL's fault element types the detail: zeep reads it as our ErrorInfo.
    info = zeep_.client.get_element(FAULT_ELEMENT).parse(entry, zeep_.client.wsdl.types)
    assert info.errorCode == error_code
    assert info.errorMessage == fault.message
    assert info.errorDate.utcoffset() == dt.timedelta(hours=5)


# --- zeep's side of the WSDL -> our client ------------------------------------------------------


def zeep_response(zeep_: Zeep, version: SoapVersion, correlation_id: str) -> bytes:
    """A SendMessageResponse envelope built by zeep from plain values, as a zeep server would."""
    binding = zeep_.client.wsdl.services[SERVICE].ports[PORTS[version]].binding
    operation = binding.get("SendMessage")
    response_type = zeep_.client.get_type(RESPONSE_TYPE)
    found_type = zeep_.client.get_type(f"{{{SYNC_NS}}}FoundMedicalExemption")
    found = found_type(
        number="01085",
        medicalProcedure={
            "code": PROCEDURE.code,
            "nameRu": PROCEDURE.name_ru,
            "nameKk": PROCEDURE.name_kk,
        },
        status="UP_TO_DATE",
        temporaryContraindicationEndDate=dt.datetime(2030, 12, 31, tzinfo=ALMATY),
        certificate=CERTIFICATE,
        printableCertificate=CERTIFICATE + b"print",
    )
    payload = response_type(
        status={"code": "SUCCESS", "message": SUCCESS_MESSAGE}, medicalExemptionList=[found]
    )
    serialized = operation.output.serialize(
        response={
            "responseInfo": {
                "messageId": "1d1c8a0e-0d0c-4f43-9a53-3c3e9e3a0b7f",
                "correlationId": correlation_id,
                "responseDate": dt.datetime(2024, 5, 14, 11, 20, 5, 902000, tzinfo=ALMATY),
                "status": {"code": "SUCCESS", "message": SUCCESS_MESSAGE},
            },
            "responseData": {"data": AnyObject(response_type, payload)},
        }
    )
    data: bytes = etree.tostring(serialized.content, xml_declaration=True, encoding="utf-8")
    return data


def zeep_server(zeep_: Zeep, built: list[bytes]) -> httpx.MockTransport:
    """Answers each request with zeep's envelope, in its version, echoing its messageId."""

    def handle(request: httpx.Request) -> httpx.Response:
        envelope = read_request(request.content)
        body = zeep_response(zeep_, envelope.version, envelope.body.request.request_info.message_id)
        built.append(body)
        return httpx.Response(
            200, content=body, headers={"Content-Type": envelope.version.content_type}
        )

    return httpx.MockTransport(handle)


def assert_read_from_zeep(answer: models.MedicalExemptionSearchResponse) -> None:
    assert answer.status == models.Status(code="SUCCESS", message=SUCCESS_MESSAGE)
    [found] = answer.medical_exemption_list
    assert found.number == "01085"
    assert found.medical_procedure == PROCEDURE
    assert found.status == "UP_TO_DATE"
    assert found.certificate == CERTIFICATE
    assert found.printable_certificate == CERTIFICATE + b"print"
    assert found.revocation_reason is None
    end = found.temporary_contraindication_end_date
    assert end is not None
    assert end.to_datetime() == dt.datetime(2030, 12, 31, tzinfo=ALMATY)


@VERSIONS
def test_our_client_reads_zeeps_response(zeep_: Zeep, version: SoapVersion) -> None:
    built: list[bytes] = []
    url = "http://zeep-server.invalid/sync"
    with (
        httpx.Client(transport=zeep_server(zeep_, built)) as http,
        Client(url, sender_id=SENDER_ID, password=PASSWORD, soap_version=version, http=http) as c,
    ):
        envelope = c.send(
            MEDICAL_EXEMPTION_SEARCH, models.MedicalExemptionSearchRequest(number="01085")
        )

    [body] = built
    assert not validate_message(body)  # zeep's envelope is valid against our XSD set
    assert read_response(body).version is version
    assert envelope.version is version
    info = envelope.body.response.response_info
    assert info.message_id == "1d1c8a0e-0d0c-4f43-9a53-3c3e9e3a0b7f"
    assert info.response_date.to_datetime() == dt.datetime(
        2024, 5, 14, 11, 20, 5, 902000, tzinfo=ALMATY
    )
    assert info.status == models.StatusInfo(code="SUCCESS", message=SUCCESS_MESSAGE)
    payload = envelope.body.response.response_data.data
    assert isinstance(payload, models.MedicalExemptionSearchResponse)
    assert_read_from_zeep(payload)


@VERSIONS
def test_our_async_client_reads_zeeps_response(zeep_: Zeep, version: SoapVersion) -> None:
    built: list[bytes] = []

    async def search() -> models.MedicalExemptionSearchResponse:
        async with (
            httpx.AsyncClient(transport=zeep_server(zeep_, built)) as http,
            AsyncClient(
                "http://zeep-server.invalid/sync",
                sender_id=SENDER_ID,
                password=PASSWORD,
                soap_version=version,
                http=http,
            ) as client,
        ):
            return await client.medical_exemption_search(
                models.MedicalExemptionSearchRequest(number="01085")
            )

    answer = asyncio.run(search())

    assert len(built) == 1
    assert_read_from_zeep(answer)
