"""xsdata in-process: render the dataclass module, then read back how xsdata maps each class to XML."""

from __future__ import annotations

import dataclasses
import itertools
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from xsdata.codegen.exceptions import CodegenError
from xsdata.codegen.transformer import ResourceTransformer
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.generator import DataclassGenerator
from xsdata.formats.dataclass.models.elements import XmlMeta, XmlVar
from xsdata.models.config import GeneratorConfig, StructureStyle
from xsdata.models.datatype import XmlDate, XmlDateTime, XmlDuration, XmlTime
from xsdata.models.enums import Tag

from .errors import GeneratorError, Problem
from .model import ComplexType, Field, Kind

_SIMPLE: dict[type, str] = {
    str: "str",
    int: "int",
    bool: "bool",
    float: "float",
    Decimal: "decimal",
    XmlDateTime: "datetime",
    XmlDate: "date",
    XmlTime: "time",
    XmlDuration: "duration",
}
_BYTES_FORMATS = {"base64": "base64", "base16": "hex"}
_counter = itertools.count()


class _InMemoryGenerator(DataclassGenerator):
    """xsdata's dataclass generator minus its disk side effects (we format and import ourselves)."""

    def ruff_code(self, file_paths: list[str]) -> None:
        return None

    def validate_imports(self) -> None:
        return None


def render_models(entries: list[Path], package: str) -> tuple[str, frozenset[str]]:
    """The dataclass module xsdata makes from `entries`, and the qnames that are global elements."""
    config = GeneratorConfig()
    config.output.package = f"{package}.models"
    config.output.structure_style = StructureStyle.SINGLE_PACKAGE
    config.output.max_line_length = 100
    transformer = ResourceTransformer(config)
    try:
        transformer.process_sources([p.resolve().as_uri() for p in entries])
        classes = transformer.analyze_classes(transformer.classes)
        generator = _InMemoryGenerator(config)
        generator.normalize_packages(classes)
        sources = [r.source for r in generator.render(classes) if r.title != "init"]
    except CodegenError as exc:
        raise GeneratorError([Problem("xsdata", None, str(exc))]) from exc
    if not sources:
        raise GeneratorError([Problem("xsdata", None, "the schemas define no types")])
    elements = frozenset(c.qname for c in classes if c.tag == Tag.ELEMENT)
    return sources[0], elements


@contextmanager
def imported(source: str) -> Iterator[types.ModuleType]:
    """Import a rendered module under a throwaway name, for introspection only."""
    name = f"_medexempt_models_{next(_counter)}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - our own output
        yield module
    finally:
        del sys.modules[name]


def describe(module: types.ModuleType, elements: frozenset[str]) -> tuple[ComplexType, ...]:
    """How xsdata maps every dataclass of `module` to XML, in the generator's own terms."""
    context = XmlContext()
    described = []
    for cls in sorted(_dataclasses(module), key=lambda c: c.__qualname__):
        meta = context.build(cls)
        described.append(_describe(meta, cls.__qualname__, meta.qname in elements))
    return tuple(described)


def _dataclasses(module: types.ModuleType) -> Iterator[type]:
    pending = [v for v in vars(module).values() if isinstance(v, type)]
    while pending:
        cls = pending.pop()
        if cls.__module__ != module.__name__:
            continue
        if "__dataclass_fields__" in vars(cls):
            yield cls
        pending.extend(v for v in vars(cls).values() if isinstance(v, type))


def _describe(meta: XmlMeta, name: str, is_element: bool) -> ComplexType:
    facets = {f.name: f.metadata for f in dataclasses.fields(meta.clazz)}
    fields: list[Field] = []
    reasons: list[str] = []
    if meta.wildcards or meta.any_attributes or meta.choices:
        reasons.append("wildcards or choices")
    if meta.text is not None:
        fields.append(_field(meta.text, Kind.TEXT, reasons, facets))
    for var in meta.get_attribute_vars():
        fields.append(_field(var, Kind.ATTRIBUTE, reasons, facets))
    element_vars = sorted(itertools.chain(*meta.elements.values()), key=lambda v: v.index)
    for var in element_vars:
        if var.clazz is not None:
            kind = Kind.COMPLEX
        elif var.any_type:
            kind = Kind.ANY
        else:
            kind = Kind.ELEMENT
        fields.append(_field(var, kind, reasons, facets))
    return ComplexType(
        name=name,
        qname=None if is_element else meta.target_qname,
        element=meta.qname if is_element else None,
        fields=tuple(fields),
        specialised=not reasons,
        reason="; ".join(reasons),
    )


def _field(
    var: XmlVar, kind: Kind, reasons: list[str], facets: Mapping[str, Mapping[str, Any]]
) -> Field:
    if var.is_elements or var.is_wildcard or var.tokens or var.mixed or var.wrapper:
        reasons.append(f"{var.name}: compound, wrapped or token content")
    if var.is_clazz_union or len(var.types) != 1:
        reasons.append(f"{var.name}: a union of types")
    metadata = facets.get(var.name, {})
    exact = metadata.get("length")
    return Field(
        name=var.name,
        tag=var.qname,
        kind=kind,
        value=_value(var, kind, reasons),
        required=bool(var.required),
        repeated=var.list_element,
        nillable=var.nillable,
        min_length=int(exact if exact is not None else metadata.get("min_length", 0)),
        max_length=exact if exact is not None else metadata.get("max_length"),
    )


def _value(var: XmlVar, kind: Kind, reasons: list[str]) -> str:
    tp: Any = var.types[0]
    if kind is Kind.COMPLEX:
        return str(tp.__qualname__)
    if kind is Kind.ANY:
        return "any"
    if tp is bytes:
        converter = _BYTES_FORMATS.get(var.format or "")
    elif isinstance(tp, type) and issubclass(tp, Enum):
        values = {type(m.value) for m in tp}
        converter = f"enum:{tp.__qualname__}" if values == {str} else None
    else:
        converter = _SIMPLE.get(tp)
    if converter is None:
        reasons.append(f"{var.name}: value type {getattr(tp, '__name__', tp)}")
        return "unsupported"
    return converter
