"""What both ends of the gateway fill in the same way: ids, dates in Asia/Almaty, info blocks,
faults, and the binding of a service to its payload types."""

from __future__ import annotations

import dataclasses
import typing
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from xsdata.models.datatype import XmlDateTime

from . import syncchannel as sc
from .envelope import FaultCode, SoapFault
from .xmlsafe import MessageError

Req = TypeVar("Req")
Resp = TypeVar("Resp")
ZONE = ZoneInfo("Asia/Almaty")  # UTC+05:00 since 1 March 2024; tzdata ships with the package
SUCCESS = sc.StatusInfo(code="SUCCESS", message="The request has been processed")


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceBinding(Generic[Req, Resp]):
    """One service reached through the gateway's SendMessage: its id and payload types."""

    service_id: str
    method: str
    request: type[Req]
    response: type[Resp]
    request_qname: str
    response_qname: str


def now() -> XmlDateTime:
    """The current time in Asia/Almaty, with its offset, to the millisecond."""
    moment = datetime.now(ZONE)
    return XmlDateTime.from_datetime(moment.replace(microsecond=moment.microsecond // 1000 * 1000))


def request_of(message: sc.SendMessage) -> sc.SyncSendMessageRequest:
    """The request of a SendMessage; some published gateway schemas make it nillable: nil is refused."""
    request: sc.SyncSendMessageRequest | None = message.request
    if request is None:
        raise MessageError("SendMessage/request is nil", "/SendMessage/request")
    return request


def response_of(
    message: sc.SendMessageResponse,
) -> sc.SyncSendMessageResponse:
    """The response of a SendMessageResponse; nil (which some gateway copies allow) is refused."""
    response: sc.SyncSendMessageResponse | None = message.response
    if response is None:
        raise MessageError("SendMessageResponse/response is nil", "/SendMessageResponse/response")
    return response


def new_message_id() -> str:
    """A fresh message id: a random UUID."""
    return str(uuid.uuid4())


def request_message(
    service_id: str,
    payload: object,
    *,
    sender_id: str,
    password: str | None = None,
    message_id: str | None = None,
    route_id: str | None = None,
    session_id: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> sc.SendMessage:
    """A SendMessage for `payload`, with a fresh messageId (unless given) and the current
    messageDate; `route_id`, `session_id` and `properties` (key -> value) go into requestInfo,
    a TypeError when this gateway's schema has no such field."""
    info = sc.SyncMessageInfo(
        message_id=message_id or new_message_id(),
        service_id=service_id,
        message_date=now(),
        sender=sc.SenderInfo(sender_id=sender_id, password=password),
    )
    for name, wire, value in (
        ("route_id", "routeId", route_id),
        ("session_id", "sessionId", session_id),
    ):
        if value is not None:
            if name not in _field_names(type(info)):
                raise TypeError(f"this gateway's requestInfo has no {wire}")
            setattr(info, name, value)
    if properties:
        field_type = typing.get_type_hints(type(info)).get("properties")
        item = (typing.get_args(field_type) or (None,))[0]
        if not isinstance(item, type) or {"key", "value"} - _field_names(item):
            raise TypeError("this gateway's requestInfo has no properties of key and value")
        make: Any = item
        given = [make(key=key, value=value) for key, value in properties.items()]
        setattr(info, "properties", given)  # noqa: B010 - not every gateway copy declares the field
    return sc.SendMessage(
        request=sc.SyncSendMessageRequest(
            request_info=info,
            request_data=sc.MessageData(data=payload),
        )
    )


def _field_names(cls: type) -> set[str]:
    return {each.name for each in dataclasses.fields(cls)}


def response_message(request_info: sc.SyncMessageInfo, payload: object) -> sc.SendMessageResponse:
    """The SendMessageResponse answering a request: fresh id, correlationId, date, SUCCESS."""
    return sc.SendMessageResponse(
        response=sc.SyncSendMessageResponse(
            response_info=sc.SyncMessageInfoResponse(
                message_id=new_message_id(),
                correlation_id=request_info.message_id,
                response_date=now(),
                status=SUCCESS,
                session_id=request_info.session_id,
            ),
            response_data=sc.ResponseData(data=payload),
        )
    )


def gateway_fault(
    code: FaultCode,
    error_code: str,
    message: str,
    *,
    session_id: str | None = None,
) -> SoapFault:
    """A SOAP fault carrying the gateway's ErrorInfo."""
    return SoapFault(
        code=code,
        reason=message,
        detail=sc.ErrorInfo(
            error_code=error_code,
            error_message=message,
            error_date=now(),
            session_id=session_id,
        ),
    )
