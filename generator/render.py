"""Render stage: Project -> generated files, in memory and pure (the same model, the same bytes)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from . import naming
from .errors import GeneratorError, Problem
from .formatting import format_python
from .model import Project
from .templating import environment

# Output file -> template. Order is the order files are written and reported.
_PYTHON = (
    ("__init__.py", "__init__.py.jinja"),
    ("client.py", "client.py.jinja"),
    ("codec.py", "codec.py.jinja"),
    ("models.py", "models.py.jinja"),
    ("server.py", "server.py.jinja"),
    ("services.py", "services.py.jinja"),
    ("syncchannel.py", "syncchannel.py.jinja"),
)
# Copied verbatim from generator/runtime/ under the header: they do not vary by schema.
_RUNTIME = (
    "asn1.py",
    "calls.py",
    "certificates.py",
    "envelope.py",
    "gateway.py",
    "gost.py",
    "passwords.py",
    "serving.py",
    "wssecurity.py",
    "xmldsig.py",
    "xmlsafe.py",
    "xmlvalues.py",
)
_RUNTIME_DIR = Path(__file__).resolve().with_name("runtime")
_BINDINGS = (
    {"name": "SyncChannelSoap11", "port": "SyncChannelSoap11Port", "prefix": "soap"},
    {"name": "SyncChannelSoap12", "port": "SyncChannelSoap12Port", "prefix": "soap12"},
)


@dataclass(frozen=True)
class GeneratedFile:
    """One output file, by its path relative to the output folder."""

    path: str
    content: bytes


def render(project: Project) -> list[GeneratedFile]:
    """Every file of the generated package, sorted by path."""
    env = environment()
    context = _context(project)
    files = []
    for path, template in _PYTHON:
        text = env.get_template(template).render(context)
        files.append(GeneratedFile(path, format_python(text, path).encode("utf-8")))
    header = env.get_template("_header.jinja").render(context)
    for path in _RUNTIME:
        text = format_python(header, path) + _runtime_source(path)
        files.append(GeneratedFile(path, text.encode("utf-8")))
    files.append(GeneratedFile("py.typed", b""))
    wsdl = env.get_template("service.wsdl.jinja").render(context)
    _check_xml(wsdl, "service.wsdl")
    files.append(GeneratedFile("service.wsdl", wsdl.encode("utf-8")))
    return sorted(files, key=lambda f: f.path)


@functools.cache
def _runtime_source(path: str) -> str:
    """A runtime module as it is copied: read and checked once per process. It must already be in
    its final layout, so that the header before it is all that varies."""
    text = (_RUNTIME_DIR / path).read_text(encoding="utf-8")
    if format_python(text, path) != text or text.startswith("\n"):
        raise GeneratorError(
            [Problem(f"generator/runtime/{path}", None, "not in its final layout")]
        )
    return text


def _context(project: Project) -> dict[str, Any]:
    payload_namespaces = sorted({naming.namespace(t.qname) for t in project.types if t.qname})
    return {
        "project": project,
        "gateway": project.gateway,
        "bindings": _BINDINGS,
        "payload_namespaces": [ns for ns in payload_namespaces if ns],
        "generic": any(not t.specialised for t in project.types),
    }


def _check_xml(text: str, path: str) -> None:
    try:
        etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise GeneratorError(
            [Problem(path, exc.lineno, f"rendered XML is broken: {exc.msg}")]
        ) from exc
