"""Generality: another SyncChannel service, generated as a build step into a folder of its own."""

from __future__ import annotations

import copy
import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lxml import etree
from xsdata.models.datatype import XmlDate, XmlDateTime

from tests.harness import run_medexempt
from tests.support import XSD

LIBRARY_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:example:library"
           xmlns:tns="urn:example:library">
  <xs:simpleType name="Format">
    <xs:restriction base="xs:string">
      <xs:enumeration value="PAPER"/>
      <xs:enumeration value="EBOOK"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="BookSearchRequest">
    <xs:sequence>
      <xs:element name="isbn" type="xs:string" minOccurs="0"/>
      <xs:element name="year" type="xs:int" minOccurs="0"/>
      <xs:element name="tag" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="format" type="tns:Format" minOccurs="0"/>
    </xs:sequence>
    <xs:attribute name="lang" type="xs:string"/>
  </xs:complexType>
  <xs:complexType name="Price">
    <xs:simpleContent>
      <xs:extension base="xs:decimal">
        <xs:attribute name="currency" type="xs:string" use="required"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="Book">
    <xs:sequence>
      <xs:element name="title" type="xs:string"/>
      <xs:element name="published" type="xs:date"/>
      <xs:element name="available" type="xs:boolean"/>
      <xs:element name="price" type="tns:Price" minOccurs="0"/>
      <xs:element name="cover" type="xs:base64Binary" minOccurs="0"/>
    </xs:sequence>
    <xs:attribute name="id" type="xs:int" use="required"/>
  </xs:complexType>
  <xs:complexType name="Note">
    <xs:sequence>
      <xs:element name="text" type="xs:string"/>
      <xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="BookSearchResponse">
    <xs:sequence>
      <xs:element name="book" type="tns:Book" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="note" type="tns:Note" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
</xs:schema>
"""

MANIFEST = """
[gateway]
schema = "shep/SyncChannel.xsd"

[wsdl]
name = "LibraryService"
address = "https://library.example/sync"

[[services]]
id = "LIBRARY_BOOK_SEARCH"
schema = "library.xsd"
request = "{urn:example:library}BookSearchRequest"
response = "{urn:example:library}BookSearchResponse"
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, Path]]:
    root = tmp_path_factory.mktemp("library")
    schemas = root / "contract"
    shutil.copytree(XSD / "shep", schemas / "shep")
    (schemas / "library.xsd").write_text(LIBRARY_XSD, encoding="utf-8")
    (schemas / "library.toml").write_text(MANIFEST, encoding="utf-8")
    done = run_medexempt(
        "generate", "--xsd-dir", str(schemas), "--manifest", str(schemas / "library.toml"),
        "--out", str(root / "src" / "libsoap"), cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(root / "src"))
    try:
        yield importlib.import_module("libsoap"), root
    finally:
        sys.path.remove(str(root / "src"))
        for name in [n for n in sys.modules if n == "libsoap" or n.startswith("libsoap.")]:
            del sys.modules[name]


def test_it_is_a_separate_typed_package(library: tuple[ModuleType, Path]) -> None:
    lib, root = library
    assert set(lib.SERVICES) == {"LIBRARY_BOOK_SEARCH"}
    assert lib.SERVICES["LIBRARY_BOOK_SEARCH"].method == "book_search"
    assert "https://library.example/sync" in lib.wsdl_text()
    assert (root / "src" / "libsoap" / "py.typed").exists()


def test_request_round_trips(library: tuple[ModuleType, Path]) -> None:
    lib, root = library
    models: Any = lib.models
    payload = models.BookSearchRequest(
        isbn="978-601-7", year=2024, tag=["әліпби", "ғылым"], format=models.Format.EBOOK, lang="kk"
    )
    message = models.SendMessage(
        request=models.SyncSendMessageRequest(
            request_info=models.SyncMessageInfo(
                message_id="m-1",
                service_id="LIBRARY_BOOK_SEARCH",
                message_date=XmlDateTime.from_string("2024-03-05T09:00:00+05:00"),
                sender=models.SenderInfo(sender_id="lib"),
            ),
            request_data=models.MessageData(data=payload),
        )
    )
    for version in lib.SoapVersion:
        data = lib.write_envelope(lib.Envelope(body=message, version=version))
        back = lib.read_request(data)
        assert back.body == message and back.version is version
        assert b':BookSearchRequest"' in data
        assert_valid(data, root)


def test_response_round_trips_including_the_generic_path(library: tuple[ModuleType, Path]) -> None:
    lib, root = library
    models: Any = lib.models
    codec: Any = importlib.import_module("libsoap.codec")
    assert "xsdata's generic" in (codec.read_Note.__doc__ or "")  # the wildcard type
    assert "xsdata's generic" not in (codec.read_Book.__doc__ or "")
    payload = models.BookSearchResponse(
        book=[
            models.Book(
                id=7,
                title="Абай жолы",
                published=XmlDate(1942, 1, 1),
                available=True,
                price=models.Price(value=Decimal("1500.50"), currency="KZT"),
                cover=b"\x00\xff" * 10,
            )
        ],
        note=models.Note(text="see also"),
    )
    message = models.SendMessageResponse(
        response=models.SyncSendMessageResponse(
            response_info=models.SyncMessageInfoResponse(
                message_id="r-1",
                correlation_id="m-1",
                response_date=XmlDateTime.from_string("2024-03-05T09:00:01+05:00"),
                status=models.StatusInfo(code="SUCCESS", message="The request has been processed"),
            ),
            response_data=models.MessageData(data=payload),
        )
    )
    data = lib.write_envelope(lib.Envelope(body=message))
    assert lib.read_response(data).body == message
    assert_valid(data, root)


def test_unknown_element_in_the_second_service_names_its_path(
    library: tuple[ModuleType, Path],
) -> None:
    lib, _ = library
    data = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        b'<t:SendMessage xmlns:t="http://bip.bee.kz/SyncChannel/v10/Types"><request><requestInfo>'
        b"<messageId>m</messageId><serviceId>LIBRARY_BOOK_SEARCH</serviceId>"
        b"<messageDate>2024-03-05T09:00:00Z</messageDate><sender><senderId>s</senderId></sender>"
        b'</requestInfo><requestData><data xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
        b'xmlns:l="urn:example:library" i:type="l:BookSearchRequest"><year>soon</year></data>'
        b"</requestData></request></t:SendMessage></e:Body></e:Envelope>"
    )
    with pytest.raises(lib.MessageError) as caught:
        lib.read_request(data)
    assert caught.value.path.endswith("/data/year")


@pytest.mark.system  # runs mypy
def test_generated_code_passes_mypy_strict(library: tuple[ModuleType, Path]) -> None:
    _, root = library
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "libsoap"],
        cwd=root / "src",
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout


def assert_valid(data: bytes, root: Path) -> None:
    wrapper = etree.Element("{http://www.w3.org/2001/XMLSchema}schema")
    for namespace, name in [
        ("http://bip.bee.kz/SyncChannel/v10/Types", "shep/SyncChannel.xsd"),
        ("urn:example:library", "library.xsd"),
    ]:
        link = etree.SubElement(wrapper, "{http://www.w3.org/2001/XMLSchema}import")
        link.set("namespace", namespace)
        link.set("schemaLocation", (root / "contract" / name).as_uri())
    schema = etree.XMLSchema(wrapper)
    body_child = copy.deepcopy(etree.fromstring(data)[-1][0])
    assert schema.validate(body_child), schema.error_log
