"""The contract in xsd/ compiles, and the generated WSDL says what SOAP stacks need (SPEC §4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from medexempt import generated
from tests.support import XSD, schema_set

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XS = "http://www.w3.org/2001/XMLSchema"
NS = {"wsdl": WSDL, "soap": SOAP11, "soap12": SOAP12, "xs": XS}
ALL_XSD = sorted(XSD.rglob("*.xsd"))


@pytest.mark.parametrize("path", ALL_XSD, ids=[p.relative_to(XSD).as_posix() for p in ALL_XSD])
def test_every_schema_compiles(path: Path) -> None:
    etree.XMLSchema(etree.parse(str(path)))


def test_the_whole_set_validates_the_originals_sample_and_refuses_a_broken_copy() -> None:
    """The set compiled together is the contract: it takes the original's request and refuses
    the same request with an element the service XSD does not declare."""
    sample = etree.parse(str(XSD.parent / "tests" / "cases" / "original-request" / "message.xml"))
    send = next(sample.getroot().iter("{http://bip.bee.kz/SyncChannel/v10/Types}SendMessage"))
    validator = schema_set()
    assert validator.validate(etree.ElementTree(send)), validator.error_log
    data = next(send.iter("data"))
    etree.SubElement(data, "nomber").text = "01085"
    assert not validator.validate(etree.ElementTree(send))
    assert "nomber" in str(validator.error_log.last_error)


def test_service_xsd_is_the_original_appendix_verbatim() -> None:
    original = (XSD.parent / "docs" / "reference" / "medical-exemption-search.ru.txt").read_text(
        encoding="utf-8"
    )
    ours = (XSD / "MedicalExemptionSearch.xsd").read_text(encoding="utf-8").rstrip("\n")
    assert ours in original


def test_no_schema_qualifies_local_elements() -> None:
    for path in ALL_XSD:
        assert etree.parse(str(path)).getroot().get("elementFormDefault") in (None, "unqualified")


@pytest.fixture(scope="module")
def wsdl() -> etree._Element:
    return etree.fromstring(generated.wsdl_text().encode("utf-8"))


def test_wsdl_inlines_one_schema_per_namespace(wsdl: etree._Element) -> None:
    schemas = wsdl.findall("wsdl:types/xs:schema", NS)
    namespaces = [s.get("targetNamespace") for s in schemas]
    assert len(namespaces) == len(set(namespaces)) == 5
    for schema in schemas:
        for link in schema.iter(f"{{{XS}}}import", f"{{{XS}}}include"):
            assert link.get("schemaLocation") is None, "the WSDL must be self-contained"


def test_wsdl_schemas_compile_together(wsdl: etree._Element, tmp_path: Path) -> None:
    # Each inlined schema becomes a file; a wrapper imports them all by namespace.
    wrapper = etree.Element(f"{{{XS}}}schema")
    for index, schema in enumerate(wsdl.findall("wsdl:types/xs:schema", NS)):
        path = tmp_path / f"schema{index}.xsd"
        path.write_bytes(etree.tostring(schema))
        link = etree.SubElement(wrapper, f"{{{XS}}}import")
        link.set("namespace", schema.get("targetNamespace", ""))
        link.set("schemaLocation", path.as_uri())
    etree.XMLSchema(wrapper)


def test_wsdl_bindings_as_stacks_need_them(wsdl: etree._Element) -> None:
    bindings = wsdl.findall("wsdl:binding", NS)
    assert {b.get("name") for b in bindings} == {"SyncChannelSoap11", "SyncChannelSoap12"}
    for prefix in ("soap", "soap12"):
        binding = wsdl.find(f"wsdl:binding/{prefix}:binding", NS)
        assert binding is not None
        assert binding.get("transport") == "http://schemas.xmlsoap.org/soap/http"
        assert binding.get("style") == "document"
        operation = wsdl.find(f"wsdl:binding/wsdl:operation/{prefix}:operation", NS)
        assert operation is not None and operation.get("soapAction") == ""
        fault = wsdl.find(f"wsdl:binding/wsdl:operation/wsdl:fault/{prefix}:fault", NS)
        assert fault is not None
    assert wsdl.find("wsdl:portType/wsdl:operation[@name='SendMessage']/wsdl:fault", NS) is not None


def test_send_message_response_unwraps(wsdl: etree._Element) -> None:
    element = wsdl.find(
        "wsdl:types/xs:schema/xs:element[@name='SendMessageResponse']/xs:complexType", NS
    )
    assert element is not None
    assert element.findall(f"{{{XS}}}attribute") == []
    assert len(element.findall("xs:sequence/xs:element", NS)) == 1


def test_payload_types_are_named_global_types(wsdl: etree._Element) -> None:
    names = {
        t.get("name")
        for s in wsdl.findall("wsdl:types/xs:schema", NS)
        if s.get("targetNamespace") == "http://ehealth.kz/integration/sync"
        for t in s.findall("xs:complexType", NS)
    }
    assert {"MedicalExemptionSearchRequest", "MedicalExemptionSearchResponse"} <= names
