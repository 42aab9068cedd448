"""Differential test: our specialised codecs and xsdata's generic parser/serializer agree.

Hypothesis builds random valid messages from the typed models; for each, our bytes and xsdata's must
be the same canonical XML, and each side must read the other's bytes back to the same objects.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.handlers import LxmlEventHandler
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.models.datatype import XmlDateTime

from medexempt import generated as g
from medexempt.generated import models
from tests.strategies import xml_datetimes
from tests.support import canonical, examples

# Every character XML 1.0 allows, surrogates and non-characters excepted. Left out by name rather
# than by a filter, which Hypothesis would run on every character it draws.
_NOT_IN_XML = "".join(chr(n) for n in range(0x20) if chr(n) not in "\t\n\r") + "\ufffe\uffff"
xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cn"), blacklist_characters=_NOT_IN_XML),
    max_size=20,
)
optional_text = st.none() | xml_text


dictionaries = st.builds(models.Dictionary, code=xml_text, name_ru=xml_text, name_kk=xml_text)
exemptions = st.builds(
    models.FoundMedicalExemption,
    number=xml_text,
    medical_procedure=dictionaries,
    status=st.sampled_from(["UP_TO_DATE", "NOT_UP_TO_DATE", "REVOKED"]),
    temporary_contraindication_end_date=st.none() | xml_datetimes(),
    revocation_reason=optional_text,
    certificate=st.none() | st.binary(max_size=64),
    printable_certificate=st.none() | st.binary(max_size=64),
)
search_requests = st.builds(
    models.MedicalExemptionSearchRequest,
    number=optional_text,
    iin=optional_text,
    passport_number=optional_text,
    citizenship_code=optional_text,
)
search_responses = st.builds(
    models.MedicalExemptionSearchResponse,
    status=st.builds(models.Status, code=xml_text, message=xml_text),
    medical_exemption_list=st.lists(exemptions, max_size=3),
)
send_messages = st.builds(
    models.SendMessage,
    request=st.builds(
        models.SyncSendMessageRequest,
        request_info=st.builds(
            models.SyncMessageInfo,
            message_id=xml_text,
            correlation_id=optional_text,
            service_id=xml_text,
            message_date=xml_datetimes(),
            route_id=optional_text,
            sender=st.builds(models.SenderInfo, sender_id=xml_text, password=optional_text),
            properties=st.lists(
                st.builds(models.Property, key=xml_text, value=xml_text), max_size=2
            ),
            session_id=optional_text,
        ),
        request_data=st.builds(models.MessageData, data=st.none() | search_requests),
    ),
)
send_message_responses = st.builds(
    models.SendMessageResponse,
    response=st.builds(
        models.SyncSendMessageResponse,
        response_info=st.builds(
            models.SyncMessageInfoResponse,
            message_id=xml_text,
            correlation_id=optional_text,
            response_date=xml_datetimes(),
            status=st.builds(models.StatusInfo, code=xml_text, message=xml_text),
            session_id=optional_text,
        ),
        response_data=st.builds(models.MessageData, data=st.none() | search_responses),
    ),
)

# One xsdata context for the whole run: building it scans every imported module for types.
CONTEXT = XmlContext()
SETTINGS = settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def body_child(envelope: bytes) -> etree._Element:
    body = etree.fromstring(envelope)[-1]
    return copy.deepcopy(body[0])


def agree(message: models.SendMessage | models.SendMessageResponse) -> None:
    ours = body_child(g.write_envelope(g.Envelope(body=message)))
    ours_bytes = etree.tostring(ours)
    theirs_bytes = XmlSerializer(context=CONTEXT).render(message).encode("utf-8")
    assert canonical(ours_bytes) == canonical(theirs_bytes)

    read_by_xsdata = XmlParser(context=CONTEXT, handler=LxmlEventHandler).parse(
        copy.deepcopy(ours), type(message)
    )
    assert read_by_xsdata == message

    wrapped = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        + theirs_bytes.split(b"?>", 1)[1]
        + b"</s:Body></s:Envelope>"
    )
    assert g.read_message(wrapped).body == message


@SETTINGS
@given(send_messages)
def test_requests_agree_with_xsdata(message: models.SendMessage) -> None:
    agree(message)


@SETTINGS
@given(send_message_responses)
def test_responses_agree_with_xsdata(message: models.SendMessageResponse) -> None:
    agree(message)


@settings(max_examples=examples(500), deadline=None)
@given(xml_datetimes())
def test_datetime_text_agrees_with_xsdata(value: XmlDateTime) -> None:
    from medexempt.generated import xmlvalues

    text = str(value)
    assert xmlvalues.format_datetime(value) == text
    assert xmlvalues.parse_datetime(text) == XmlDateTime.from_string(text)


def test_unusual_datetimes_are_xsdatas_to_judge() -> None:
    import pytest

    from medexempt.generated import xmlvalues

    for text in [
        "2024-02-29T00:00:00",
        "2024-01-01T24:00:00Z",
        " 2024-01-01T10:00:00.123456789+14:00 ",
    ]:
        assert xmlvalues.parse_datetime(text) == XmlDateTime.from_string(text.strip())
    for bad in ["2023-02-29T00:00:00", "2024-13-01T00:00:00", "2024-01-01T10:61:00", "yesterday"]:
        with pytest.raises(ValueError):
            xmlvalues.parse_datetime(bad)
