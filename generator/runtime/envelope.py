"""SOAP 1.1 and 1.2 envelopes of the SyncChannel `SendMessage` operation: read and write, typed.

`read_request`, `read_response` and `read_message` take the bytes of an envelope (the version is
found from its namespace) and give an `Envelope` whose body is the typed dataclass or a `SoapFault`;
the payload under `data` is the dataclass its xsi:type names. `write_envelope` is the inverse.
Every refusal is a `MessageError` with the element path; nothing is read twice.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from lxml import etree
from lxml.etree import SubElement as _SE
from lxml.etree import _Element

from . import syncchannel as sc
from . import xmlvalues
from .xmlsafe import (
    MessageError,
    SerializationError,
    VersionMismatchError,
    clark,
    compile_wsdl_schemas,
    parse_xml,
    path_of,
    validity_error,
)

__all__ = [
    "Envelope",
    "FaultCode",
    "SoapFault",
    "SoapVersion",
    "read_message",
    "read_request",
    "read_response",
    "write_envelope",
]

SEND_MESSAGE = sc.SEND_MESSAGE
SEND_MESSAGE_RESPONSE = sc.SEND_MESSAGE_RESPONSE
FAULT_DETAIL = sc.FAULT_DETAIL
_SERVICE_ID = "request/requestInfo/serviceId"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Declared once on the Envelope; payload namespaces are declared where xsi:type uses them.
_DECLARED = {"ns2": sc.NAMESPACE}


class SoapVersion(Enum):
    """The SOAP version of an envelope, known by its namespace."""

    SOAP11 = "1.1"
    SOAP12 = "1.2"

    @property
    def namespace(self) -> str:
        return _NAMESPACES[self]

    @property
    def content_type(self) -> str:
        """The HTTP Content-Type of a message in this version (SOAP 1.2 adds `action` itself)."""
        if self is SoapVersion.SOAP11:
            return "text/xml; charset=utf-8"
        return "application/soap+xml; charset=utf-8"


_NAMESPACES = {
    SoapVersion.SOAP11: "http://schemas.xmlsoap.org/soap/envelope/",
    SoapVersion.SOAP12: "http://www.w3.org/2003/05/soap-envelope",
}
_BY_ENVELOPE = {clark(ns, "Envelope"): version for version, ns in _NAMESPACES.items()}


class FaultCode(Enum):
    """Fault classes in SOAP 1.2 terms; SOAP 1.1's Client and Server are Sender and Receiver."""

    SENDER = "Sender"
    RECEIVER = "Receiver"
    VERSION_MISMATCH = "VersionMismatch"
    MUST_UNDERSTAND = "MustUnderstand"
    DATA_ENCODING_UNKNOWN = "DataEncodingUnknown"


_SOAP11_CODES = {
    FaultCode.SENDER: "Client",
    FaultCode.RECEIVER: "Server",
    FaultCode.VERSION_MISMATCH: "VersionMismatch",
    FaultCode.MUST_UNDERSTAND: "MustUnderstand",
    FaultCode.DATA_ENCODING_UNKNOWN: "Client",
}
_FROM_SOAP11 = {"Client": FaultCode.SENDER, "Server": FaultCode.RECEIVER}


@dataclass(kw_only=True, slots=True)
class SoapFault:
    """A SOAP Fault; `detail` is the gateway's ErrorInfo when the fault carries one.

    `subcode` is SOAP 1.1's dotted suffix (`Client.Authentication` -> `Authentication`) or SOAP
    1.2's Subcode value in `{namespace}name` form.
    """

    code: FaultCode
    reason: str
    detail: sc.ErrorInfo | None = None
    subcode: str | None = None
    actor: str | None = None
    lang: str = "en"


_B = TypeVar("_B")


@dataclass(kw_only=True, slots=True)
class Envelope(Generic[_B]):
    """A whole message: its body, SOAP version and header blocks (None: no Header element)."""

    body: _B
    version: SoapVersion = SoapVersion.SOAP11
    header: tuple[_Element, ...] | None = None
    document: _Element | None = field(default=None, repr=False, compare=False)


AnyBody = sc.SendMessage | sc.SendMessageResponse | SoapFault
_AnyBody = TypeVar("_AnyBody", bound=AnyBody)


def read_message(data: bytes) -> Envelope[AnyBody]:
    """Read any SendMessage, SendMessageResponse or Fault envelope."""
    version, header, content, root = _open(data)
    with _in_version(version):
        tag = content.tag
        body: AnyBody
        if tag == SEND_MESSAGE:
            body = _read_send_message(content)
        elif tag == SEND_MESSAGE_RESPONSE:
            body = sc.read_send_message_response(content)
        elif tag == clark(version.namespace, "Fault"):
            body = _read_fault(content, version)
        else:
            raise _unexpected_body(content, "SendMessage, SendMessageResponse or Fault")
    return Envelope(body=body, version=version, header=header, document=root)


def read_request(data: bytes) -> Envelope[sc.SendMessage]:
    """Read a request envelope; anything but SendMessage in its Body is a MessageError."""
    version, header, content, root = _open(data)
    with _in_version(version):
        if content.tag != SEND_MESSAGE:
            raise _unexpected_body(content, "SendMessage")
        body = _read_send_message(content)
    return Envelope(body=body, version=version, header=header, document=root)


def read_response(
    data: bytes,
) -> Envelope[sc.SendMessageResponse | SoapFault]:
    """Read a reply envelope: a SendMessageResponse or a Fault."""
    version, header, content, root = _open(data)
    with _in_version(version):
        body: sc.SendMessageResponse | SoapFault
        if content.tag == SEND_MESSAGE_RESPONSE:
            body = sc.read_send_message_response(content)
        elif content.tag == clark(version.namespace, "Fault"):
            body = _read_fault(content, version)
        else:
            raise _unexpected_body(content, "SendMessageResponse or Fault")
    return Envelope(body=body, version=version, header=header, document=root)


def write_envelope(envelope: Envelope[_AnyBody]) -> bytes:
    """The UTF-8 bytes of `envelope`, without an XML declaration."""
    version = envelope.version
    ns = version.namespace
    root = etree.Element(clark(ns, "Envelope"), nsmap={"soap": ns, **_DECLARED})
    if envelope.header is not None:
        header = _SE(root, clark(ns, "Header"))
        for block in envelope.header:
            header.append(copy.deepcopy(block))
    body = _SE(root, clark(ns, "Body"))
    content = envelope.body
    try:
        with xmlvalues.spliced_base64() as pending:
            _write_body(content, version, body)
    except SerializationError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        # Say which field holds a value of the wrong type, when one does.
        found = xmlvalues.mistyped(content)
        raise SerializationError(found or f"cannot serialize: {exc}") from None
    _check_valid(body)
    return xmlvalues.tostring_spliced(root, pending)


# Compiled validators not in use: a thread takes one (or compiles one when none is free) and gives
# it back, so each is used by one thread at a time, and a server that starts a thread for every
# request compiles no more of them than it ever runs at once.
_FREE_SCHEMAS: list[etree.XMLSchema] = []
_FREE_LOCK = threading.Lock()


def _check_valid(body: _Element) -> None:
    """Every gateway element written is valid against the package's schemas (the ones inlined in
    its service.wsdl): what the writers do not check themselves (range, pattern and digit facets,
    the order of an ordered list, groups given in part) is refused here, never sent. A long base64
    value of a type without length facets is spliced in after, and counts as empty."""
    with _FREE_LOCK:
        schema = _FREE_SCHEMAS.pop() if _FREE_SCHEMAS else None
    if schema is None:
        schema = _compiled_schemas()
    try:
        for element in body.iter(SEND_MESSAGE, SEND_MESSAGE_RESPONSE, FAULT_DETAIL):
            if not schema.validate(element):
                errors = list(schema.error_log.filter_from_errors()) or list(schema.error_log)
                reason = validity_error(errors[0]) if errors else "libxml2 gave no reason"
                raise SerializationError(f"the message would be invalid: {reason}")
    finally:
        with _FREE_LOCK:
            _FREE_SCHEMAS.append(schema)


def _compiled_schemas() -> etree.XMLSchema:
    from .services import wsdl_text

    wsdl = wsdl_text().encode("utf-8")
    for _ in range(3):  # a compile that lost an import is made again (it declares SendMessage)
        schema = compile_wsdl_schemas(wsdl)
        schema.validate(etree.Element(SEND_MESSAGE))
        if all(e.type_name != "SCHEMAV_CVC_ELT_1" for e in schema.error_log):
            return schema
    raise SerializationError("the schemas of the package's service.wsdl do not compile whole")


def _write_body(content: _AnyBody, version: SoapVersion, body: _Element) -> None:
    if isinstance(content, sc.SendMessage):
        sc.write_send_message(content, _SE(body, SEND_MESSAGE))
    elif isinstance(content, sc.SendMessageResponse):
        sc.write_send_message_response(content, _SE(body, SEND_MESSAGE_RESPONSE))
    elif isinstance(content, SoapFault):
        _write_fault(content, version, body)
    else:
        raise SerializationError(f"{type(content).__name__} is not an envelope body")


@contextmanager
def _in_version(version: SoapVersion) -> Iterator[None]:
    try:
        yield
    except MessageError as exc:
        exc.soap_version = version
        raise


def _read_send_message(content: _Element) -> sc.SendMessage:
    try:
        return sc.read_send_message(content)
    except sc.UntypedPayloadError:
        # A payload without xsi:type (suds sends them so): read again, as the request type of
        # the message's serviceId. Only this rare message pays for the second reading.
        with sc.payload_type_of(content.findtext(_SERVICE_ID)):
            return sc.read_send_message(content)


def _open(data: bytes) -> tuple[SoapVersion, tuple[_Element, ...] | None, _Element, _Element]:
    root = parse_xml(data)
    tag = root.tag if isinstance(root.tag, str) else ""
    version = _BY_ENVELOPE.get(tag)
    if version is None:
        if tag.endswith("}Envelope"):
            raise VersionMismatchError("unsupported SOAP envelope namespace", path_of(root))
        raise MessageError("the document is not a SOAP envelope", path_of(root))
    ns = version.namespace
    header_tag, body_tag = clark(ns, "Header"), clark(ns, "Body")
    header: _Element | None = None
    body: _Element | None = None
    for child in root:
        if child.tag == header_tag and header is None and body is None:
            header = child
        elif child.tag == body_tag and body is None:
            body = child
        else:
            error = MessageError(
                "an Envelope holds at most one Header, then exactly one Body", path_of(child)
            )
            raise _known(error, version)
    if body is None:
        raise _known(MessageError("the Envelope has no Body", path_of(root)), version)
    contents = list(body)
    if len(contents) != 1:
        found = "is empty" if not contents else f"holds {len(contents)} elements"
        error = MessageError(f"the Body must hold exactly one element but {found}", path_of(body))
        raise _known(error, version)
    blocks = None if header is None else tuple(header)
    return version, blocks, contents[0], root


def _known(error: MessageError, version: SoapVersion) -> MessageError:
    error.soap_version = version
    return error


def _unexpected_body(content: _Element, expected: str) -> MessageError:
    return MessageError(f"the Body holds {content.tag!s}; expected {expected}", path_of(content))


def _resolve_qname(el: _Element, text: str) -> str:
    prefix, _, local = text.strip().rpartition(":")
    ns = el.nsmap.get(prefix or None)
    if prefix and ns is None:
        raise MessageError(f"prefix of {text.strip()!r} is not declared", path_of(el))
    return clark(ns, local) if ns else local


def _read_fault(fault: _Element, version: SoapVersion) -> SoapFault:
    if version is SoapVersion.SOAP11:
        return _read_fault11(fault)
    return _read_fault12(fault)


def _local(el: _Element) -> str:
    return etree.QName(el).localname


def _read_fault11(fault: _Element) -> SoapFault:
    parts = {_local(child): child for child in fault}
    if "faultcode" not in parts or "faultstring" not in parts:
        raise MessageError("a SOAP 1.1 Fault needs faultcode and faultstring", path_of(fault))
    qname = _resolve_qname(parts["faultcode"], parts["faultcode"].text or "")
    ns, _, local = qname[1:].partition("}") if qname.startswith("{") else ("", "", qname)
    base, _, sub = local.partition(".")
    code = _FROM_SOAP11.get(base) or _by_value(base)
    subcode = sub or None
    # Some stacks write the standard codes unqualified (`Client`); any other namespace is a code
    # of its own, kept whole as the subcode of a Receiver fault.
    if ns not in ("", _NAMESPACES[SoapVersion.SOAP11]) or code is None:
        code, subcode = FaultCode.RECEIVER, qname
    actor = parts.get("faultactor")
    return SoapFault(
        code=code,
        reason=parts["faultstring"].text or "",
        detail=_read_detail(parts.get("detail")),
        subcode=subcode,
        actor=None if actor is None else actor.text or "",
    )


def _read_fault12(fault: _Element) -> SoapFault:
    ns = _NAMESPACES[SoapVersion.SOAP12]
    value = fault.find(clark(ns, "Code") + "/" + clark(ns, "Value"))
    texts = fault.findall(clark(ns, "Reason") + "/" + clark(ns, "Text"))
    if value is None or not texts:
        raise MessageError("a SOAP 1.2 Fault needs Code/Value and Reason/Text", path_of(fault))
    qname = _resolve_qname(value, value.text or "")
    code = _by_value(qname.rpartition("}")[2]) if qname.startswith(clark(ns, "")) else None
    if code is None:
        raise MessageError(f"unknown SOAP 1.2 fault code {qname}", path_of(value))
    sub = fault.find(clark(ns, "Code") + "/" + clark(ns, "Subcode") + "/" + clark(ns, "Value"))
    role = fault.find(clark(ns, "Role"))
    return SoapFault(
        code=code,
        reason=texts[0].text or "",
        lang=texts[0].get(_XML_LANG, "en"),
        detail=_read_detail(fault.find(clark(ns, "Detail"))),
        subcode=None if sub is None else _resolve_qname(sub, sub.text or ""),
        actor=None if role is None else role.text or "",
    )


def _by_value(name: str) -> FaultCode | None:
    try:
        return FaultCode(name)
    except ValueError:
        return None


def _read_detail(detail: _Element | None) -> sc.ErrorInfo | None:
    if detail is None:
        return None
    for entry in detail:
        if entry.tag == FAULT_DETAIL:
            return sc.read_error_info(entry)
    return None


def _write_fault(fault: SoapFault, version: SoapVersion, body: _Element) -> None:
    ns = version.namespace
    if fault.subcode:
        _check_subcode(fault.subcode)
    el = _SE(body, clark(ns, "Fault"))
    if version is SoapVersion.SOAP11:
        code = f"soap:{_SOAP11_CODES[fault.code]}"
        if fault.subcode and fault.subcode.startswith("{"):
            # A fault code outside the SOAP namespace, kept whole when it was read.
            code_ns, _, code_local = fault.subcode[1:].partition("}")
            _SE(el, "faultcode", nsmap={"fc": code_ns}).text = f"fc:{code_local}"
        else:
            _SE(el, "faultcode").text = f"{code}.{fault.subcode}" if fault.subcode else code
        _SE(el, "faultstring").text = fault.reason
        if fault.actor is not None:
            _SE(el, "faultactor").text = fault.actor
        detail_tag = "detail"
    else:
        code_el = _SE(el, clark(ns, "Code"))
        _SE(code_el, clark(ns, "Value")).text = f"soap:{fault.code.value}"
        if fault.subcode:
            _write_subcode(code_el, ns, fault.subcode)
        reason = _SE(el, clark(ns, "Reason"))
        _SE(reason, clark(ns, "Text"), {_XML_LANG: fault.lang}).text = fault.reason
        if fault.actor is not None:
            _SE(el, clark(ns, "Role")).text = fault.actor
        detail_tag = clark(ns, "Detail")
    if fault.detail is not None:
        detail = _SE(el, detail_tag)
        sc.write_error_info(fault.detail, _SE(detail, FAULT_DETAIL))


def _check_subcode(subcode: str) -> None:
    # A SOAP 1.1 dotted suffix or a {namespace}name, whichever the subcode is, must write a QName.
    namespace, _, local = (
        subcode[1:].partition("}") if subcode.startswith("{") else ("-", "", subcode)
    )
    if not namespace or not all(part.isidentifier() for part in local.replace("-", "_").split(".")):
        raise SerializationError(f"fault subcode {subcode!r} cannot be written as a QName")


def _write_subcode(code_el: _Element, ns: str, subcode: str) -> None:
    sub = _SE(code_el, clark(ns, "Subcode"))
    if subcode.startswith("{"):
        sub_ns, _, local = subcode[1:].partition("}")
        _SE(sub, clark(ns, "Value"), nsmap={"sc": sub_ns}).text = f"sc:{local}"
    else:
        _SE(sub, clark(ns, "Value")).text = subcode
