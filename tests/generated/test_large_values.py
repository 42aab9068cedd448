"""Long base64 values (certificates) are spliced into the written bytes, not put through lxml.

The splice must be invisible: the same bytes as writing the text into the tree, valid against
the schemas, read back to the same values, safe against text that looks like its placeholder,
and confined to the document being written (threads, the public per-type writers).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from lxml import etree

from medexempt import generated as g
from medexempt.generated import codec, models, xmlvalues
from tests.support import canonical, load_cases, validate_message

_RESPONSE = next(c for c in load_cases() if c.name == "original-response-repaired")


def found(certificate: bytes, printable: bytes, reason: str | None = None) -> bytes:
    """The repaired original response with these certificates (and revocationReason)."""
    envelope = g.read_response(_RESPONSE.message)
    body = envelope.body
    assert isinstance(body, models.SendMessageResponse)
    payload = body.response.response_data.data
    assert isinstance(payload, models.MedicalExemptionSearchResponse)
    exemption = payload.medical_exemption_list[0]
    exemption.certificate = certificate
    exemption.printable_certificate = printable
    exemption.revocation_reason = reason
    return g.write_envelope(envelope)


def certificates_in(data: bytes) -> tuple[bytes | None, bytes | None, str | None]:
    body = g.read_response(data).body
    assert isinstance(body, models.SendMessageResponse)
    payload = body.response.response_data.data
    assert isinstance(payload, models.MedicalExemptionSearchResponse)
    item = payload.medical_exemption_list[0]
    return item.certificate, item.printable_certificate, item.revocation_reason


def test_long_values_read_back_validate_and_leave_no_placeholder() -> None:
    certificate, printable = os.urandom(100_000), os.urandom(70_001)
    data = found(certificate, printable)
    assert certificates_in(data) == (certificate, printable, None)
    assert validate_message(data) == []
    assert b"<?" not in data
    # The bytes are exactly what lxml writes for the same tree with the text in place.
    assert data == etree.tostring(etree.fromstring(data), encoding="utf-8")


def test_spliced_and_in_tree_writing_give_the_same_bytes() -> None:
    value = models.FoundMedicalExemption(
        number="01085",
        medical_procedure=models.Dictionary(code="100", name_ru="р", name_kk="қ"),
        status="UP_TO_DATE",
        certificate=os.urandom(5000),
        printable_certificate=b"short",
    )
    plain = etree.Element("item")
    codec.write_FoundMedicalExemption(value, plain)  # outside a document: text in the tree
    assert len(plain.xpath("//processing-instruction()")) == 0
    with xmlvalues.spliced_base64() as pending:
        deferred = etree.Element("item")
        codec.write_FoundMedicalExemption(value, deferred)
    assert len(pending) == 1  # only the long one waits; the short one is text at once
    assert xmlvalues.tostring_spliced(deferred, pending) == etree.tostring(plain, encoding="utf-8")


def test_text_that_looks_like_a_placeholder_is_text() -> None:
    target = xmlvalues._SPLICE_TARGET
    lookalike = f"<?{target} 0?> and <?{target} 1?>"
    certificate, printable = os.urandom(3000), os.urandom(4000)
    data = found(certificate, printable, reason=lookalike)
    assert certificates_in(data) == (certificate, printable, lookalike)
    assert validate_message(data) == []


def test_empty_and_short_values_round_trip() -> None:
    for certificate in (b"", b"\x00", os.urandom(xmlvalues.SPLICE_MIN_BYTES)):
        data = found(certificate, certificate)
        assert certificates_in(data) == (certificate, certificate, None)
        assert canonical(data) == canonical(etree.tostring(etree.fromstring(data)))


def test_threads_writing_at_once_each_get_their_own_values() -> None:
    values = [(os.urandom(9000 + n), os.urandom(7000 + n)) for n in range(16)]

    def write_and_read(pair: tuple[bytes, bytes]) -> tuple[bytes | None, bytes | None]:
        certificate, printable = pair
        results = set()
        for _ in range(20):
            got = certificates_in(found(certificate, printable))[:2]
            results.add(got)
        assert len(results) == 1
        return results.pop()

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(write_and_read, values)) == values


def test_a_header_block_mimicking_a_placeholder_is_refused_not_spliced() -> None:
    envelope = g.read_response(found(os.urandom(5000), os.urandom(5000)))
    block = etree.Element("{urn:example:trace}Trace")
    block.append(etree.PI(xmlvalues._SPLICE_TARGET, "0"))
    envelope.header = (block,)
    with pytest.raises(g.SerializationError, match="placeholder"):
        g.write_envelope(envelope)
