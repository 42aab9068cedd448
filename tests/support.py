"""Helpers shared by the tests: the XSD set as one validator, canonical XML, case folders."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
# The quick run, `pytest -m "not system"` (a run that leaves the system tests out, never under CI),
# gives each Hypothesis property a fifth of its examples (at least 10): depth traded for time while
# editing. A run with the system tests (`make test`, CI) runs the counts the tests write.
# tests/conftest.py sets this before the test modules are collected.
QUICK = False


def examples(full: int) -> int:
    """How many examples a property runs: `full`, or a fifth of it in the quick run."""
    return max(10, full // 5) if QUICK else full


XSD = ROOT / "xsd"
CASES = ROOT / "tests" / "cases"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SOAP_NAMESPACES = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
GATEWAY_ELEMENTS = {
    "{http://bip.bee.kz/SyncChannel/v10/Types}SendMessage",
    "{http://bip.bee.kz/SyncChannel/v10/Types}SendMessageResponse",
    "{http://bip.bee.kz/SyncChannel/v10/Types}SendMessageFault1_SendMessageFault",
}


@cache
def schema_set() -> etree.XMLSchema:
    """One validator for the whole XSD set: a wrapper importing every namespace by location."""
    imports = {
        "http://bip.bee.kz/SyncChannel/v10/Types": XSD / "shep" / "SyncChannel.xsd",
        "http://ehealth.kz/integration/sync": XSD / "MedicalExemptionSearch.xsd",
    }
    wrapper = etree.Element("{http://www.w3.org/2001/XMLSchema}schema")
    for namespace, path in imports.items():
        link = etree.SubElement(wrapper, "{http://www.w3.org/2001/XMLSchema}import")
        link.set("namespace", namespace)
        link.set("schemaLocation", path.as_uri())
    return etree.XMLSchema(wrapper)


def validate_message(data: bytes) -> list[str]:
    """Errors of the gateway elements of an envelope against the XSD set; empty when valid."""
    root = etree.fromstring(data)
    errors: list[str] = []
    checked = 0
    for element in root.iter(*GATEWAY_ELEMENTS):
        checked += 1
        detached = copy.deepcopy(element)
        validator = schema_set()
        if not validator.validate(detached):
            errors.extend(str(e) for e in validator.error_log)
    if not checked:
        errors.append("no gateway element found to validate")
    return errors


def canonical(data: bytes) -> str:
    """C14N 2.0, white space and prefixes normalised; QName content follows the prefixes."""
    text = data.decode("utf-8-sig")
    result: str = etree.canonicalize(
        text,
        strip_text=True,
        rewrite_prefixes=True,
        qname_aware_attrs=[XSI_TYPE],
        qname_aware_tags=["faultcode", f"{{{SOAP_NAMESPACES[1]}}}Value"],
    )
    return result


@dataclass(frozen=True)
class Case:
    """One folder of tests/cases: a message and what it must read as."""

    name: str
    message: bytes
    kind: str
    soap: str
    canonical_roundtrip: bool
    payload_type: str | None
    expect: dict[str, str]


def load_cases() -> list[Case]:
    cases = []
    for folder in sorted(CASES.iterdir()):
        meta: dict[str, Any] = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        cases.append(
            Case(
                name=folder.name,
                message=(folder / "message.xml").read_bytes(),
                kind=meta["kind"],
                soap=meta["soap"],
                canonical_roundtrip=meta["canonical_roundtrip"],
                payload_type=meta.get("payload_type"),
                expect=meta["expect"],
            )
        )
    return cases
