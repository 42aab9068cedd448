"""What the reader refuses, and how: one typed error naming what is wrong and where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from medexempt import generated as g
from tests.support import CASES

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_DECL = 'xmlns:x="http://www.w3.org/2001/XMLSchema-instance"'
ORIGINAL = (CASES / "original-request" / "message.xml").read_bytes()


def envelope(body: str, *, header: str = "", ns: str = SOAP11) -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{ns}">{header}<soap:Body>{body}</soap:Body></soap:Envelope>'
    ).encode()


def request(payload: str, info: str | None = None, data_attrs: str | None = None) -> bytes:
    info = info or (
        "<messageId>m-1</messageId><serviceId>EHEALTH_MEDICAL_EXEMPTION_SEARCH</serviceId>"
        "<messageDate>2024-03-05T09:00:00+05:00</messageDate><sender><senderId>s</senderId></sender>"
    )
    if data_attrs is None:
        data_attrs = (
            'xmlns:x="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:m="http://ehealth.kz/integration/sync" x:type="m:MedicalExemptionSearchRequest"'
        )
    return envelope(
        '<t:SendMessage xmlns:t="http://bip.bee.kz/SyncChannel/v10/Types"><request>'
        f"<requestInfo>{info}</requestInfo>"
        f"<requestData><data {data_attrs}>{payload}</data></requestData>"
        "</request></t:SendMessage>"
    )


REFUSED = [
    pytest.param(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        g.UnsafeXmlError,
        "DOCTYPE",
        "/",
        id="external-entity",
    ),
    pytest.param(
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>',
        g.UnsafeXmlError,
        "DOCTYPE",
        "/",
        id="entity-expansion",
    ),
    pytest.param(
        b'<?pi x?><soap:Envelope xmlns:soap="' + SOAP11.encode() + b'"/>',
        g.UnsafeXmlError,
        "processing instruction",
        "/",
        id="pi-before-root",
    ),
    pytest.param(
        request("<number>1<?php x?></number>"),
        g.UnsafeXmlError,
        "processing instruction",
        "/data/number",
        id="pi-inside",
    ),
    pytest.param(ORIGINAL[:200], g.MalformedXmlError, "not well-formed", "line", id="truncated"),
    pytest.param(
        "<a>é</a>".encode("latin-1"), g.MalformedXmlError, "not well-formed", "line", id="not-utf8"
    ),
    pytest.param(b"<html/>", g.MessageError, "not a SOAP envelope", "/html", id="not-soap"),
    pytest.param(
        envelope("", ns="http://example.com/soap"),
        g.VersionMismatchError,
        "unsupported SOAP envelope namespace",
        "/soap:Envelope",
        id="wrong-soap-namespace",
    ),
    pytest.param(
        envelope(""),
        g.MessageError,
        "Body must hold exactly one element but is empty",
        "/soap:Body",
        id="empty-body",
    ),
    pytest.param(
        envelope("<a/>").replace(
            b"</soap:Envelope>", b"<soap:Body><a/></soap:Body></soap:Envelope>"
        ),
        g.MessageError,
        "at most one Header, then exactly one Body",
        "/soap:Body[2]",
        id="two-bodies",
    ),
    pytest.param(
        envelope("<a/><b/>"),
        g.MessageError,
        "holds 2 elements",
        "/soap:Body",
        id="two-body-children",
    ),
    pytest.param(
        envelope("<other xmlns='urn:x'/>"),
        g.MessageError,
        "expected SendMessage",
        "/soap:Body/",
        id="wrong-operation",
    ),
    pytest.param(
        request(
            "<number>1</number>",
            info="<messageId>m-1</messageId><serviceId>NO_SUCH_SERVICE</serviceId>"
            "<messageDate>2024-03-05T09:00:00+05:00</messageDate>"
            "<sender><senderId>s</senderId></sender>",
            data_attrs="",
        ),
        g.UnknownPayloadTypeError,
        "no xsi:type",
        "/data",
        id="missing-xsi-type-unknown-service",
    ),
    pytest.param(
        request(
            "<number>1</number>",
            data_attrs=f'{XSI_DECL} x:type="m:Nope" xmlns:m="urn:nope"',
        ),
        g.UnknownPayloadTypeError,
        "Nope (namespace urn:nope)",
        "/data",
        id="unknown-xsi-type",
    ),
    pytest.param(
        request(
            "<number>1</number>",
            data_attrs='xmlns:x="http://www.w3.org/2001/XMLSchema-instance" x:type="zz:X"',
        ),
        g.UnknownPayloadTypeError,
        "undeclared prefix",
        "/data",
        id="undeclared-prefix",
    ),
    pytest.param(
        request("<nomber>1</nomber>"),
        g.MessageError,
        "unexpected element nomber (no namespace)",
        "/data/nomber",
        id="unknown-payload-element",
    ),
    pytest.param(
        request("<number>1</number><number>2</number>"),
        g.MessageError,
        "only once",
        "/data/number[2]",
        id="repeated-element",
    ),
    pytest.param(
        request("<number><x/></number>"),
        g.MessageError,
        "a value was expected",
        "/data/number",
        id="element-instead-of-value",
    ),
    pytest.param(
        request("", info="<messageId>m</messageId>"),
        g.MessageError,
        "required element serviceId (no namespace) is missing",
        "/requestInfo",
        id="missing-required",
    ),
    pytest.param(
        request(
            "",
            info="<messageId>m</messageId><serviceId>s</serviceId><messageDate>yesterday</messageDate>"
            "<sender><senderId>s</senderId></sender>",
        ),
        g.MessageError,
        "bad value 'yesterday'",
        "/requestInfo/messageDate",
        id="bad-date",
    ),
    pytest.param(
        request(
            "",
            info="<messageId>m</messageId><serviceId>s</serviceId><messageDate/>"
            "<sender><senderId>s</senderId></sender>",
        ),
        g.MessageError,
        "messageDate (no namespace) is missing or empty",
        "/requestInfo",
        id="empty-required-date",
    ),
]


@pytest.mark.parametrize(("data", "error", "reason", "path"), REFUSED)
def test_refusal_is_one_typed_error_with_a_path(
    data: bytes, error: type[g.MessageError], reason: str, path: str
) -> None:
    with pytest.raises(error) as caught:
        g.read_request(data)
    assert reason in caught.value.reason
    assert path in caught.value.path
    assert caught.value.__cause__ is None or isinstance(caught.value.__cause__, g.MessageError)


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///dev/zero"> %p;]>',
        b'<!DOCTYPE x SYSTEM "file:///dev/zero">',
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>',
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///no/such/file"> %p;]>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]>',
    ],
)
def test_external_references_are_never_opened(doctype: bytes) -> None:
    # Each refusal is immediate and the same whether the file exists or not: nothing is read,
    # so neither file content nor file existence leaks (and /dev/zero cannot hang the parser).
    import time

    started = time.monotonic()
    with pytest.raises(g.UnsafeXmlError) as caught:
        g.read_message(doctype + b"<x>&e;</x>" if b"ENTITY e" in doctype else doctype + b"<x/>")
    assert time.monotonic() - started < 2
    assert (caught.value.reason, caught.value.path) == ("a DOCTYPE is not allowed", "/")


def test_serializing_a_bad_value_is_a_serialization_error() -> None:
    envelope_ = g.read_request(ORIGINAL)
    payload = envelope_.body.request.request_data.data
    assert payload is not None
    payload.number = "bad \x00 value"  # type: ignore[attr-defined]
    with pytest.raises(g.SerializationError):
        g.write_envelope(envelope_)


def test_serializing_a_missing_required_value_names_it() -> None:
    envelope_ = g.read_request(ORIGINAL)
    envelope_.body.request.request_info.service_id = None  # type: ignore[assignment]
    with pytest.raises(g.SerializationError, match=r"SyncMessageInfo\.service_id is required"):
        g.write_envelope(envelope_)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda e: setattr(e.body.request.request_data.data, "number", 5),
            "SendMessage.request.request_data.data.number: expected str or None, got int 5",
        ),
        (
            lambda e: setattr(e.body.request.request_info, "message_date", dt.datetime(2026, 1, 2)),
            "SendMessage.request.request_info.message_date: expected XmlDateTime, got datetime"
            " datetime.datetime(2026, 1, 2, 0, 0) (an aware datetime becomes one with"
            " XmlDateTime.from_datetime(value))",
        ),
        (
            lambda e: setattr(e.body.request.request_info, "sender", "mis"),
            "SendMessage.request.request_info.sender: expected SenderInfo",
        ),
    ],
    ids=["int-for-str", "datetime-for-XmlDateTime", "str-for-a-class"],
)
def test_a_value_of_the_wrong_type_is_named_with_its_field_path(
    change: Callable[[Any], None], said: str
) -> None:
    envelope_ = g.read_request(ORIGINAL)
    change(envelope_)
    with pytest.raises(g.SerializationError) as caught:
        g.write_envelope(envelope_)
    assert said in str(caught.value)


def test_unknown_payload_object_is_refused_on_write() -> None:
    envelope_ = g.read_request(ORIGINAL)
    envelope_.body.request.request_data.data = object()
    with pytest.raises(g.SerializationError, match="not a payload type"):
        g.write_envelope(envelope_)


def _response_with_certificate(text: str) -> bytes:
    case = (CASES / "original-response-repaired" / "message.xml").read_bytes()
    start = case.index(b"<certificate>") + len(b"<certificate>")
    end = case.index(b"</certificate>")
    return case[:start] + text.encode() + case[end:]


def test_wrapped_base64_reads_like_unwrapped() -> None:
    import base64

    pdf = b"%PDF-1.4 " + bytes(range(256)) * 3
    wrapped = base64.encodebytes(pdf).decode()  # 76 columns, line breaks
    assert "\n" in wrapped
    body = g.read_response(_response_with_certificate(wrapped)).body
    assert isinstance(body, g.models.SendMessageResponse)
    payload = body.response.response_data.data
    assert isinstance(payload, g.models.MedicalExemptionSearchResponse)
    assert payload.medical_exemption_list[0].certificate == pdf


def test_bad_base64_names_the_element() -> None:
    with pytest.raises(g.MessageError) as caught:
        g.read_response(_response_with_certificate("QUJDR"))
    assert "not base64" in caught.value.reason
    assert caught.value.path.endswith("/medicalExemptionList/certificate")


@pytest.mark.parametrize("text", ["@@@@", "QUJD@", "QUJ$RA=="])
def test_base64_with_characters_outside_the_alphabet_is_refused(text: str) -> None:
    with pytest.raises(g.MessageError, match="not base64"):
        g.read_response(_response_with_certificate(text))


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05T09:00:00+06:60",
        "2024-03-05T09:00:00.",
        "٢٠٢٤-03-05T09:00:00",
        "2024-3-5T9:00:00",
    ],
)
def test_datetime_outside_the_lexical_space_is_refused(text: str) -> None:
    info = (
        "<messageId>m</messageId><serviceId>s</serviceId>"
        f"<messageDate>{text}</messageDate><sender><senderId>s</senderId></sender>"
    )
    with pytest.raises(g.MessageError, match="not an xs:dateTime") as caught:
        g.read_request(request("<number>1</number>", info=info))
    assert caught.value.path.endswith("/messageDate")


def test_an_offset_beyond_14_hours_is_not_written() -> None:
    from xsdata.models.datatype import XmlDateTime

    envelope_ = g.read_request(ORIGINAL)
    envelope_.body.request.request_info.message_date = XmlDateTime(
        2024, 1, 1, 0, 0, 0, 0, 14 * 60 + 30
    )
    with pytest.raises(g.SerializationError, match="outside"):
        g.write_envelope(envelope_)


def test_unqualified_soap11_fault_codes_keep_their_meaning() -> None:
    data = envelope(
        "<soap:Fault><faultcode>Client</faultcode><faultstring>no</faultstring></soap:Fault>"
    )
    fault = g.read_response(data).body
    assert isinstance(fault, g.SoapFault)
    assert (fault.code, fault.subcode) == (g.FaultCode.SENDER, None)


@pytest.mark.parametrize("subcode", ["{}x", "x:y", "a b", "{urn:x}"])
def test_a_subcode_that_is_no_qname_is_not_written(subcode: str) -> None:
    fault = g.SoapFault(code=g.FaultCode.SENDER, reason="r", subcode=subcode)
    for version in g.SoapVersion:
        with pytest.raises(g.SerializationError, match="QName"):
            g.write_envelope(g.Envelope(body=fault, version=version))


def test_a_value_over_its_max_length_is_not_written() -> None:
    envelope_ = g.read_request(ORIGINAL)
    envelope_.body.request.request_info.properties.append(
        g.models.Property(key="k" * 31, value="v")
    )
    with pytest.raises(g.SerializationError, match=r"key must be 0\.\.30 characters long, not 31"):
        g.write_envelope(envelope_)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<a>" * 300 + b"</a>" * 300, "Excessive depth"),
        (b"<a>" + b"x" * 10_500_000 + b"</a>", "Text node too long"),
    ],
)
def test_parser_limits_are_unsafe_and_say_which(data: bytes, reason: str) -> None:
    with pytest.raises(g.UnsafeXmlError) as caught:
        g.read_message(data)
    assert caught.value.reason.startswith("the document exceeds a parser limit")
    assert reason in caught.value.reason and "XML_PARSE_HUGE" not in caught.value.reason


@pytest.mark.parametrize(
    ("message", "type_name", "shown"),
    [
        (
            "Element 'iin': [facet 'pattern'] The value 'O'Brien 871215301234' is not accepted by "
            "the pattern '\\d{12}'. ",
            "SCHEMAV_CVC_PATTERN_VALID",
            "Element 'iin': the value or content breaks cvc-pattern-valid",
        ),
        (
            "Element 'x', attribute 'y': 'Иван]ов' is not a valid value of the atomic type 'xs:a'.",
            "SCHEMAV_CVC_DATATYPE_VALID_1_2_1",
            "Element 'x', attribute 'y': the value or content breaks cvc-datatype-valid-1-2-1",
        ),
        (
            "Element 'u': Duplicate key-sequence ['871215301234'] in unique identity-constraint "
            "'k'.",
            "SCHEMAV_CVC_IDC",
            "Element 'u': the value or content breaks cvc-idc",
        ),
        (
            "Element 'r': Missing child element(s). Expected is ( to ).",
            "SCHEMAV_ELEMENT_CONTENT",
            "Element 'r': Missing child element(s). Expected is ( to ).",
        ),
    ],
    ids=["pattern-with-a-quote", "atomic-type", "key-sequence", "structure-kept"],
)
def test_a_validity_error_on_writing_names_no_value(
    message: str, type_name: str, shown: str
) -> None:
    """Writing refuses an invalid message with libxml2's reason, which quotes the value at fault
    (an IIN, a name, which may hold a quote itself); reasons are logged, so a reason that quotes
    anything but the names it starts with says the rule broken instead."""
    from medexempt.generated.xmlsafe import validity_error

    class Error:
        path = "/ns2:SendMessage/request"

    Error.message = message  # type: ignore[attr-defined]
    Error.type_name = type_name  # type: ignore[attr-defined]
    assert validity_error(Error()) == f"{shown} (at /ns2:SendMessage/request)"
