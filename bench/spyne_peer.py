"""The same operation as ours in spyne, for the in-process comparison of `bench.served`.

A minimal spyne Application with one SOAP 1.1 operation shaped as the gateway's `SendMessage`:
`request` (requestInfo: messageId, serviceId, messageDate, sender; requestData/data: the number)
in, `response` (responseInfo with its status; responseData/data: the search's status and a list of
found exemptions, each with its procedure and two base64 certificates) out, served by spyne's
`WsgiApplication` with `Soap11` in and out. It answers the original's request verbatim: spyne reads
the unqualified child elements and resolves the `xsi:type` on `data` to the payload's class.

The service does what a search needs besides the database: check the service id and the sender
(constant-time compare), then answer a fixed found record (the given certificate bytes) or
NOT_FOUND. No validation beyond spyne's own soft parsing (`validator=None`), as is usual.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from spyne import Application, ComplexModel, Fault, Unicode, rpc
from spyne.model.binary import ByteArray
from spyne.model.complex import Array
from spyne.model.primitive import DateTime
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from spyne.service import Service

TYPES_NS = "http://bip.bee.kz/SyncChannel/v10/Types"
PAYLOAD_NS = "http://ehealth.kz/integration/sync"
SERVICE_ID = "EHEALTH_MEDICAL_EXEMPTION_SEARCH"
FOUND_NUMBER = "01085"

_Base: Any = ComplexModel  # spyne has no type hints: its classes are reached through Any
_Svc: Any = Service
_rpc: Any = rpc


class Sender(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    senderId = Unicode  # noqa: N815 - the wire's names
    password = Unicode


class RequestInfo(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    messageId = Unicode  # noqa: N815
    serviceId = Unicode  # noqa: N815
    messageDate = DateTime  # noqa: N815
    sender = Sender


class SearchRequest(_Base):  # type: ignore[misc]
    # The request's `xsi:type` names this type: spyne resolves it among the application's classes.
    __namespace__ = PAYLOAD_NS
    __type_name__ = "MedicalExemptionSearchRequest"
    number = Unicode
    iin = Unicode


class RequestData(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    data = SearchRequest


class SyncRequest(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    requestInfo = RequestInfo  # noqa: N815
    requestData = RequestData  # noqa: N815


class Status(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    code = Unicode
    message = Unicode


class Dictionary(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    code = Unicode
    nameRu = Unicode  # noqa: N815
    nameKk = Unicode  # noqa: N815


class FoundExemption(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    number = Unicode
    medicalProcedure = Dictionary  # noqa: N815
    status = Unicode
    certificate = ByteArray
    printableCertificate = ByteArray  # noqa: N815


class SearchResponse(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    status = Status
    medicalExemptionList = Array(FoundExemption)  # noqa: N815


class ResponseInfo(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    messageId = Unicode  # noqa: N815
    correlationId = Unicode  # noqa: N815
    responseDate = DateTime  # noqa: N815
    status = Status


class ResponseData(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    data = SearchResponse


class SyncResponse(_Base):  # type: ignore[misc]
    __namespace__ = TYPES_NS
    responseInfo = ResponseInfo  # noqa: N815
    responseData = ResponseData  # noqa: N815


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_app(certificate: bytes, printable: bytes, senders: dict[str, str]) -> tuple[WsgiApp, Any]:
    """The spyne WSGI application answering 01085 with the given certificates."""
    procedure = Dictionary(
        code="100",
        nameRu="Иммунопрофилактика от коронавирусной инфекции",
        nameKk="Коронавирустық инфекцияға қарсы иммунопрофилактика",
    )

    class SyncChannel(_Svc):  # type: ignore[misc]
        @_rpc(  # type: ignore[untyped-decorator]
            SyncRequest.customize(min_occurs=1),
            _returns=SyncResponse,
            _in_variable_names={"request": "request"},
            _out_variable_name="response",
            _body_style="wrapped",
        )
        def SendMessage(ctx: Any, request: Any) -> Any:  # noqa: N805
            info = request.requestInfo
            if info is None or info.serviceId != SERVICE_ID or info.sender is None:
                raise Fault("Client", "unknown service or no sender")
            expected = senders.get(info.sender.senderId or "", "")
            given = info.sender.password or ""
            if not hmac.compare_digest(expected.encode(), given.encode()) or not expected:
                raise Fault("Client", "authentication failed")
            data = request.requestData.data if request.requestData else None
            if data is not None and data.number == FOUND_NUMBER:
                payload = SearchResponse(
                    status=Status(code="SUCCESS", message="The request has been processed"),
                    medicalExemptionList=[
                        FoundExemption(
                            number=FOUND_NUMBER,
                            medicalProcedure=procedure,
                            status="UP_TO_DATE",
                            certificate=[certificate],
                            printableCertificate=[printable],
                        )
                    ],
                )
            else:
                payload = SearchResponse(
                    status=Status(
                        code="NOT_FOUND",
                        message="Медицинский отвод по заданным параметрам не найден",
                    )
                )
            return SyncResponse(
                responseInfo=ResponseInfo(
                    messageId=str(uuid.uuid4()),
                    correlationId=info.messageId,
                    responseDate=datetime.now(UTC),
                    status=Status(code="SUCCESS", message="The request has been processed"),
                ),
                responseData=ResponseData(data=payload),
            )

    application = Application(
        [SyncChannel],
        tns=TYPES_NS,
        name="SyncChannel",
        in_protocol=Soap11(validator=None),
        out_protocol=Soap11(),
    )
    wsgi: WsgiApp = WsgiApplication(application)
    return wsgi, application
