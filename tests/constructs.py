"""The construct corpus of tests/constructs/: one small service per XSD construct.

Each folder holds the service's schemas, a `case.toml` (what it shows, its request and response
types, or `refused` with what the generator's refusal must say; `normalized`: messages written back
in another lexical form) and `messages/*.xml`: payloads, each a `data` element typed by `xsi:type`,
valid against the schemas. The gateway schemas are the bundled ones.
"""

from __future__ import annotations

import copy
import importlib
import shutil
import sys
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from click.testing import CliRunner
from lxml import etree
from xsdata.formats.dataclass.context import XmlContext

from tests.support import ROOT, XSD

CONSTRUCTS = ROOT / "tests" / "constructs"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
GATEWAY_NS = "http://bip.bee.kz/SyncChannel/v10/Types"

_REQUEST = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<ns2:SendMessage xmlns:ns2="{GATEWAY_NS}"><request><requestInfo><messageId>m-1</messageId>
<serviceId>{{service}}</serviceId><messageDate>2024-01-01T10:00:00+05:00</messageDate>
<sender><senderId>s</senderId></sender></requestInfo><requestData>{{payload}}</requestData></request>
</ns2:SendMessage></soap:Body></soap:Envelope>"""
_RESPONSE = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<ns2:SendMessageResponse xmlns:ns2="{GATEWAY_NS}"><response><responseInfo><messageId>m-2</messageId>
<responseDate>2024-01-01T10:00:01+05:00</responseDate><status><code>SUCCESS</code>
<message>ok</message></status></responseInfo><responseData>{{payload}}</responseData></response>
</ns2:SendMessageResponse></soap:Body></soap:Envelope>"""


@dataclass(frozen=True)
class ConstructCase:
    """One folder of tests/constructs."""

    name: str
    folder: Path
    about: str
    services: tuple[dict[str, str], ...]
    refused: tuple[str, ...] | None
    normalized: frozenset[str]  # messages written back in another lexical form (true for 1, ...)
    gateway: str | None = None  # the case's own copy of the gateway schemas, else the bundled one
    better_than_xsdata: frozenset[str] = frozenset()  # read exactly where xsdata loses the value

    @property
    def package(self) -> str:
        return "construct_" + self.name.replace("-", "_")

    @property
    def messages(self) -> list[Path]:
        folder = self.folder / "messages"
        return sorted(folder.glob("*.xml")) if folder.is_dir() else []

    @property
    def gateway_schema(self) -> str:
        return self.gateway or "shep/SyncChannel.xsd"

    def manifest(self) -> str:
        lines = [f'[gateway]\nschema = "{self.gateway_schema}"\n']
        for service in self.services:
            lines.append("[[services]]")
            lines.extend(f"{key} = {value!r}".replace("'", '"') for key, value in service.items())
            lines.append("")
        return "\n".join(lines)


def load_construct_cases() -> list[ConstructCase]:
    cases = []
    for folder in sorted(p for p in CONSTRUCTS.iterdir() if (p / "case.toml").is_file()):
        meta: dict[str, Any] = tomllib.loads((folder / "case.toml").read_text(encoding="utf-8"))
        services = meta.get("services") or [
            {
                "id": "CASE_" + folder.name.upper().replace("-", "_"),
                "schema": meta.get("schema", "payload.xsd"),
                "request": meta["request"],
                "response": meta["response"],
            }
        ]
        refused = meta.get("refused")
        cases.append(
            ConstructCase(
                name=folder.name,
                folder=folder,
                about=meta["about"],
                services=tuple(services),
                refused=tuple(refused) if refused is not None else None,
                normalized=frozenset(meta.get("normalized", [])),
                gateway=meta.get("gateway"),
                better_than_xsdata=frozenset(meta.get("better_than_xsdata", [])),
            )
        )
    return cases


def contract(case: ConstructCase, root: Path) -> Path:
    """The case's schemas, the bundled gateway schemas and a manifest, in a folder of their own."""
    target = root / case.name / "contract"
    shutil.copytree(
        case.folder,
        target,
        ignore=shutil.ignore_patterns("messages", "case.toml"),
        dirs_exist_ok=True,
    )
    if case.gateway is None:
        shutil.copytree(XSD / "shep", target / "shep", dirs_exist_ok=True)
    (target / "services.toml").write_text(case.manifest(), encoding="utf-8")
    return target


@dataclass
class Generated:
    """The outcome of `medexempt generate` on one case."""

    case: ConstructCase
    contract: Path
    src: Path
    exit_code: int
    output: str

    def __repr__(self) -> str:
        return f"Generated({self.case.name!r}, exit {self.exit_code})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @cached_property
    def package(self) -> ModuleType:
        if str(self.src) not in sys.path:
            sys.path.insert(0, str(self.src))
        return importlib.import_module(self.case.package)

    @cached_property
    def xsdata_context(self) -> XmlContext:
        """xsdata's own binding context for this package's classes only: the reference reader
        finds an xsi:type among them, not among other cases' classes of the same name (and indexes
        them once, not on every parse)."""
        return XmlContext(models_package=f"{self.case.package}.")

    @cached_property
    def validator(self) -> etree.XMLSchema:
        """The gateway and the case's schemas as one validator (imports each file's namespace)."""
        from medexempt.generator.xmlfiles import compile_validator, schema_closure, staged

        entries = [self.contract / self.case.gateway_schema]
        entries += [self.contract / s["schema"] for s in self.case.services]
        with staged(schema_closure(entries, self.contract)) as stage:
            return compile_validator(stage, self.contract)

    def sample(self, name: str) -> bytes:
        """The payload of the case's sample message `name`."""
        return (self.case.folder / "messages" / name).read_bytes()

    def envelope(self, payload: bytes) -> bytes:
        """The payload in a SendMessage, or a SendMessageResponse when it is a response type."""
        root = etree.fromstring(payload)
        declared = root.get(f"{{{XSI}}}type", "")
        prefix, _, local = declared.rpartition(":")
        qname = f"{{{root.nsmap.get(prefix or None, '')}}}{local}"
        responses = {s["response"] for s in self.case.services}
        service = next(
            (s["id"] for s in self.case.services if qname in (s["request"], s["response"])),
            self.case.services[0]["id"],
        )
        template = _RESPONSE if qname in responses else _REQUEST
        text = template.replace("{service}", service).replace("{payload}", payload.decode())
        return text.encode("utf-8")


def generate(case: ConstructCase, root: Path) -> Generated:
    from medexempt.cli import main

    folder = contract(case, root)
    src = root / case.name / "src"
    result = CliRunner().invoke(
        main,
        ["generate", "--xsd-dir", str(folder), "--out", str(src / case.package)],
        catch_exceptions=False,
    )
    return Generated(case, folder, src, result.exit_code, result.output)


def gateway_elements(document: etree._Element) -> list[etree._Element]:
    """The SendMessage / SendMessageResponse elements of an envelope, detached for validation."""
    found = document.iter(f"{{{GATEWAY_NS}}}SendMessage", f"{{{GATEWAY_NS}}}SendMessageResponse")
    return [copy.deepcopy(e) for e in found]
