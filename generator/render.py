"""Render stage: Project -> generated files, in memory and pure (the same model, the same bytes)."""

from __future__ import annotations

import dataclasses
import functools
import unicodedata
from dataclasses import dataclass
from enum import Enum
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
    _refuse_unwritable(project)
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
    _check_schemas(wsdl)
    files.append(GeneratedFile("service.wsdl", wsdl.encode("utf-8")))
    return sorted(files, key=lambda f: f.path)


# Names, namespaces, paths and settings go into generated comments and docstrings as they are: a
# line break would end the comment (what follows would be code), a format character (a bidi
# override, a zero-width space) would make the code read otherwise than it runs, a quote or
# backslash could end or change a docstring, and `--` would end the WSDL's XML comment.
# Documentation and schema text go through escaping filters instead.
_BREAKING = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})  # control, format, separators, surrogates
_NOT_IN_CODE = frozenset('"\\')


def _unwritable(value: str, comment_only: bool, xml_comment: bool) -> list[str]:
    """What of `value` generated code cannot carry as it is, each named once."""
    found = sorted(
        {
            f"U+{ord(c):04X}"
            for c in value
            if unicodedata.category(c) in _BREAKING or (c in _NOT_IN_CODE and not comment_only)
        }
    )
    ends_xml_comment = xml_comment and ("--" in value or value.endswith("-"))
    return [*found, *(["'--'"] if ends_xml_comment else [])]


def _refuse_unwritable(project: Project) -> None:
    """A GeneratorError naming each string of the model that cannot be written into the
    generated code as it is (see `_BREAKING`); a value of a kind it does not know is a bug."""
    problems = []
    seen: set[int] = set()

    def visit(value: object, where: str, comment_only: bool, xml_comment: bool = False) -> None:
        if isinstance(value, str):
            bad = _unwritable(value, comment_only, xml_comment)
            if bad:
                said = f"{value[:200]!r} holds {', '.join(bad)}, which generated code cannot carry"
                problems.append(Problem(where, None, said))
        elif isinstance(value, tuple):
            for item in value:
                label = next(
                    (getattr(item, k) for k in ("id", "name", "path") if hasattr(item, k)), ""
                )
                visit(
                    item,
                    f"{where}[{label[:80]!r}]" if isinstance(label, str) and label else where,
                    comment_only,
                    xml_comment,
                )
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            if id(value) in seen:
                return
            seen.add(id(value))
            for f in dataclasses.fields(value):
                field = (type(value).__name__, f.name)
                if field in _VERBATIM:
                    continue
                visit(
                    getattr(value, f.name),
                    f"{where}.{f.name}" if where else f.name,
                    comment_only or field in _COMMENTS,
                    xml_comment or field in _XML_COMMENT,
                )
        elif not isinstance(value, int | float | Enum | None):
            raise TypeError(
                f"{where}: a {type(value).__name__} the writability check does not know"
            )

    visit(project, "", False)
    if problems:
        raise GeneratorError(problems)


# Text that is code or XML already (escaped where it is written), and fields that only ever go
# into comments (quotes and backslashes are harmless there; line breaks and `--` are not).
_VERBATIM = frozenset({("Project", "models_source"), ("Schema", "text")})
_COMMENTS = frozenset({("Project", "command"), ("Project", "sources")})
_XML_COMMENT = frozenset({("Source", "path")})  # also in the WSDL's header comment


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
        "nillable_tags": sorted({f.tag for t in project.types for f in t.fields if f.nillable}),
        "choices": any(t.choices for t in project.types),
    }


def _check_schemas(wsdl: str) -> None:
    """The WSDL's inlined schemas compile as the generated package compiles them, to validate what
    it writes: a set that would not is refused here, not at the package's first message."""
    from .runtime.xmlsafe import compile_wsdl_schemas

    try:
        compile_wsdl_schemas(wsdl.encode("utf-8"))
    except etree.XMLSchemaParseError as exc:
        problem = f"the schemas inlined here do not compile: {exc}"
        raise GeneratorError([Problem("service.wsdl", None, problem)]) from exc


def _check_xml(text: str, path: str) -> None:
    try:
        etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise GeneratorError(
            [Problem(path, exc.lineno, f"rendered XML is broken: {exc.msg}")]
        ) from exc
