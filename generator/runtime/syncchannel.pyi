"""What the runtime needs of a schema's SyncChannel types: the contract `syncchannel.py` meets.

Each generated package binds these names to its own classes in `syncchannel.py` (rendered from
templates/syncchannel.py.jinja); this stub lets the runtime be type-checked here, as source. A
gateway schema whose types lack a field named here is refused by the generator (load._gateway)
or by mypy on the generated package; fields a copy may lack (routeId, sessionId, properties) are
reached by name at run time.
"""

from contextlib import AbstractContextManager

from lxml.etree import _Element
from xsdata.models.datatype import XmlDateTime

from .xmlsafe import UnknownPayloadTypeError

NAMESPACE: str
SEND_MESSAGE: str
SEND_MESSAGE_RESPONSE: str
FAULT_DETAIL: str

class SenderInfo:
    sender_id: str
    password: str | None
    def __init__(self, *, sender_id: str, password: str | None = ...) -> None: ...

class SyncMessageInfo:
    message_id: str
    service_id: str
    message_date: XmlDateTime
    sender: SenderInfo
    session_id: str | None
    def __init__(
        self, *, message_id: str, service_id: str, message_date: XmlDateTime, sender: SenderInfo
    ) -> None: ...

class MessageData:
    data: object | None
    def __init__(self, *, data: object | None = ...) -> None: ...

ResponseData = MessageData

class SyncSendMessageRequest:
    request_info: SyncMessageInfo
    request_data: MessageData
    def __init__(self, *, request_info: SyncMessageInfo, request_data: MessageData) -> None: ...

class SendMessage:
    request: SyncSendMessageRequest | None
    def __init__(self, *, request: SyncSendMessageRequest | None = ...) -> None: ...

class StatusInfo:
    code: str
    message: str
    def __init__(self, *, code: str, message: str) -> None: ...

class SyncMessageInfoResponse:
    message_id: str
    correlation_id: str | None
    response_date: XmlDateTime
    status: StatusInfo
    session_id: str | None
    def __init__(
        self,
        *,
        message_id: str,
        correlation_id: str | None,
        response_date: XmlDateTime,
        status: StatusInfo,
        session_id: str | None = ...,
    ) -> None: ...

class SyncSendMessageResponse:
    response_info: SyncMessageInfoResponse
    response_data: ResponseData
    def __init__(
        self, *, response_info: SyncMessageInfoResponse, response_data: ResponseData
    ) -> None: ...

class SendMessageResponse:
    response: SyncSendMessageResponse | None
    def __init__(self, *, response: SyncSendMessageResponse | None = ...) -> None: ...

class ErrorInfo:
    error_code: str
    error_message: str
    error_date: XmlDateTime
    sub_error: ErrorInfo | None
    session_id: str | None
    def __init__(
        self,
        *,
        error_code: str,
        error_message: str,
        error_date: XmlDateTime,
        session_id: str | None = ...,
    ) -> None: ...

def read_send_message(el: _Element) -> SendMessage: ...
def write_send_message(obj: SendMessage, el: _Element) -> None: ...
def read_send_message_response(el: _Element) -> SendMessageResponse: ...
def write_send_message_response(obj: SendMessageResponse, el: _Element) -> None: ...
def read_error_info(el: _Element) -> ErrorInfo: ...
def write_error_info(obj: ErrorInfo, el: _Element) -> None: ...

class UntypedPayloadError(UnknownPayloadTypeError): ...

def payload_type_of(service_id: str | None) -> AbstractContextManager[None]: ...
