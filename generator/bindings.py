"""xsdata in-process: render the dataclass module, then read back how xsdata maps each class to
XML."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import QName

from xsdata.codegen.container import ClassContainer
from xsdata.codegen.exceptions import CodegenError
from xsdata.codegen.handlers import (
    CalculateAttributePaths,
    CreateCompoundFields,
    SanitizeAttributesDefaultValue,
)
from xsdata.codegen.models import Attr, Class, get_restriction_choice
from xsdata.codegen.parsers import SchemaParser
from xsdata.codegen.transformer import ResourceTransformer
from xsdata.exceptions import ConverterError
from xsdata.formats.converter import converter
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.generator import DataclassGenerator
from xsdata.formats.dataclass.models.elements import XmlMeta, XmlVar
from xsdata.models.config import GeneratorConfig, StructureStyle
from xsdata.models.datatype import XmlDate, XmlDateTime, XmlDuration, XmlTime
from xsdata.models.enums import Tag
from xsdata.models.xsd import Schema
from xsdata.utils import package as xsdata_package
from xsdata.utils.collections import group_by
from xsdata.utils.namespaces import build_qname

from . import naming
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


class _OrderKeepingCompounds(CreateCompoundFields):
    """Compound fields (one list of elements in document order) wherever order carries meaning.

    xsdata's own rule is all or nothing over every choice. Here: a choice or substitution group
    whose elements repeat, and the elements under one repeating model group (a sequence, a group
    reference or a choice with maxOccurs > 1, the outermost one) when there are several (xsdata
    would write all keys, then all values), become one ordered compound field; a choice that
    occurs once keeps one typed field per alternative.
    """

    def process(self, target: Class) -> None:
        by_group: dict[int, list[Attr]] = {}
        for attr in target.attrs:
            group = _repeating_group(attr)
            if group is not None:
                by_group.setdefault(group, []).append(attr)
        for group, attrs in by_group.items():
            if len(attrs) > 1:
                for attr in attrs:
                    attr.restrictions.choice = group
        groups = group_by(target.attrs, get_restriction_choice)
        for choice, attrs in groups.items():
            if not choice or len(attrs) < 2:
                continue
            if any((a.restrictions.max_occurs or 1) > 1 for a in attrs):
                self.group_fields(target, attrs)
            else:
                self._remember(target, choice, attrs)
                self.calculate_choice_min_occurs(attrs)

    def _remember(self, target: Class, choice: int, attrs: list[Attr]) -> None:
        """A choice whose alternatives are each one element (not a sequence within it) and none
        nillable (a nilled one reads as None, as an absent one): at most one of them may be
        given, and one must be when the choice, every group around it and each alternative are
        required (an alternative's own minOccurs, from before xsdata made it optional; unknown for
        one inherited, which then counts as optional)."""
        entries = [next((e for e in a.restrictions.path if e[1] == choice), None) for a in attrs]
        if (
            not isinstance(self.container, _Container)
            or any(a.restrictions.nillable for a in attrs)
            or any(
                entry is None or a.restrictions.path[-1] != entry
                for a, entry in zip(attrs, entries, strict=True)
            )
        ):
            return
        minimum = self.container.minimum
        required = all(
            all(low >= 1 for _kind, _index, low, _high in a.restrictions.path)
            and minimum.get(id(a), 0) >= 1
            for a in attrs
        )
        self.container.choices.append((target, tuple(attrs), required))


def _repeating_group(attr: Attr) -> int | None:
    """The outermost model group around an element that may occur more than once (a sequence, a
    group reference or a choice): everything under it repeats together, in the sender's order."""
    if attr.is_attribute:
        return None
    for _kind, index, _low, high in attr.restrictions.path:
        if high > 1:
            return int(index)
    return None


class _ElementOccurs(CalculateAttributePaths):
    """xsdata's step, remembering each element's own minOccurs before it makes every
    alternative of a choice optional."""

    __slots__ = ("alive", "minimum")

    def __init__(self, minimum: dict[int, int], alive: list[Attr]) -> None:
        self.minimum = minimum
        self.alive = alive

    def process(self, target: Class) -> None:  # type: ignore[override]
        for attr in target.attrs:
            self.minimum[id(attr)] = attr.restrictions.min_occurs or 0
            self.alive.append(attr)  # its id stays its own while the container lives
        super().process(target)


class _DroppedDefaults(SanitizeAttributesDefaultValue):
    """xsdata's step, remembering the default or fixed value it drops from an optional or
    repeated element: in the dataclass an absent element must be None, but to XSD the value is
    the one of the element present and empty, which the codecs then give it."""

    def process_attribute(self, target: Class, attr: Attr) -> None:
        if (
            isinstance(self.container, _Container)
            and attr.is_element
            and not attr.is_xsi_type
            and isinstance(attr.default, str)
            and self.should_reset_default(attr)
        ):
            self.container.dropped.append((target, attr, attr.default, attr.fixed))
        super().process_attribute(target, attr)


class _Container(ClassContainer):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__(config)
        self.dropped: list[tuple[Class, Attr, str, bool]] = []
        self.choices: list[tuple[Class, tuple[Attr, ...], bool]] = []
        self.minimum: dict[int, int] = {}  # an element's own minOccurs, by id(attr)
        self.alive: list[Attr] = []  # the attrs of `minimum`, kept so that no id is reused
        for step in self.processors.values():
            for position, handler in enumerate(step):
                if type(handler) is CalculateAttributePaths:
                    step[position] = _ElementOccurs(self.minimum, self.alive)
                elif type(handler) is CreateCompoundFields:
                    step[position] = _OrderKeepingCompounds(self)
                elif type(handler) is SanitizeAttributesDefaultValue:
                    step[position] = _DroppedDefaults(self)


# How xsdata's own XSD model classes map to XML: the same for every schema file, so built once per
# process rather than once per file (xsdata makes a new context for each parser it creates).
_SCHEMA_CONTEXT = XmlContext()


class _Transformer(ResourceTransformer):
    def parse_schema(self, uri: str, namespace: str | None) -> Schema | None:
        input_stream = self.load_resource(uri)
        if input_stream is None:
            return None
        parser = SchemaParser(target_namespace=namespace, location=uri, context=_SCHEMA_CONTEXT)
        return parser.from_bytes(input_stream, Schema)

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__(config)
        self.dropped: list[tuple[Class, Attr, str, bool]] = []
        self.choices: list[tuple[Class, tuple[Attr, ...], bool]] = []

    def analyze_classes(self, classes: list[Class]) -> list[Class]:
        container = _Container(config=self.config)
        container.extend(classes)
        container.process()
        self.dropped = container.dropped
        self.choices = container.choices
        return list(container)


class _InMemoryGenerator(DataclassGenerator):
    """xsdata's dataclass generator minus its disk side effects (we format and import ourselves)."""

    def ruff_code(self, file_paths: list[str]) -> None:
        return None

    def validate_imports(self) -> None:
        return None


# xsdata's warnings that mean a binding would silently differ from the schema: each is an error.
_LOSSES = (
    (re.compile(r"Reset absent (?:simple )?type: (?P<name>.+)"),
     "type {name} is not found as xsdata resolves it (an unprefixed name in a schema without a "
     "default namespace means no namespace to XML Schema, but the target namespace to xsdata): "
     "use a prefix, or give that schema a namespace"),
    (re.compile(r"Missing extension type: (?P<name>.+)"), "base type {name} is not found"),
    (re.compile(r"Duplicate type (?P<name>.+), will keep the last defined"),
     "type {name} is defined more than once"),
    (re.compile(
        r"Failed to match (?P<name>[^.\s]+)\.(?P<member>\S+) default value `(?P<value>.*)`"),
     "the default, fixed or enumeration value {value!r} of {name}.{member} is not one xsdata can "
     "read as its type (write it in its canonical form)"),
    (re.compile(r"Resource not found (?P<name>.+)"), "schema {name} cannot be read"),
)  # fmt: skip


@dataclass(frozen=True)
class Loss:
    """An xsdata warning that the generator refuses: what, and the schema name it is about."""

    name: str
    message: str


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.losses: list[Loss] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for pattern, message in _LOSSES:
            found = pattern.match(text)
            if found:
                self.losses.append(Loss(found["name"], message.format(**found.groupdict())))


# The package xsdata is told it writes: its one module imports nothing of its own package, so the
# same schemas give the same source for every package they are generated into.
_RENDERED_AS = "_medexempt_rendered"


def render_models(entries: list[Path]) -> tuple[str, frozenset[str], Kept]:
    """The dataclass module xsdata makes from `entries`, the qnames that are global elements, and
    the element defaults xsdata dropped.

    Raises LossError when xsdata warns that it changed a binding from what the schemas say.
    """
    config = GeneratorConfig()
    config.output.package = f"{_RENDERED_AS}.models"
    config.output.structure_style = StructureStyle.SINGLE_PACKAGE
    config.output.max_line_length = 100
    config.output.compound_fields.enabled = True  # applied only where order matters, see above
    config.output.compound_fields.use_substitution_groups = True
    transformer = _Transformer(config)
    warnings = _Warnings()
    xsdata_logger = logging.getLogger("xsdata")
    xsdata_logger.addHandler(warnings)
    try:
        transformer.process_sources([p.resolve().as_uri() for p in entries])
        classes = transformer.analyze_classes(transformer.classes)
        generator = _InMemoryGenerator(config)
        # xsdata remembers each module's path under the working directory of its first use and
        # compares it with the current one: a process that generates in two folders (a build
        # tool, the hatch hook after a chdir) would fail on the second with a ValueError.
        xsdata_package.package_path.cache_clear()
        xsdata_package.module_path.cache_clear()
        generator.normalize_packages(classes)
        _refuse_same_class_names(generator, classes)
        kept = _kept(generator, classes, transformer)
        sources = [r.source for r in generator.render(classes) if r.title != "init"]
    except CodegenError as exc:
        raise GeneratorError([Problem("xsdata", None, str(exc))]) from exc
    finally:
        xsdata_logger.removeHandler(warnings)
    if warnings.losses:
        raise LossError(warnings.losses)
    if not sources:
        raise GeneratorError([Problem("xsdata", None, "the schemas define no types")])
    if _RENDERED_AS in sources[0]:  # xsdata would bind it to the package it was told
        raise GeneratorError([Problem("xsdata", None, "the models module names its own package")])
    # By XML name: a class xsdata renamed (a payload element named like the gateway's) keeps it.
    elements = frozenset(
        build_qname(c.target_namespace, c.meta_name or c.name)
        for c in classes
        if c.tag == Tag.ELEMENT
    )
    return sources[0], elements, kept


@dataclass(frozen=True)
class Kept:
    """What xsdata's steps drop from the dataclasses and the codecs keep, by Python names."""

    # (class, field) -> (the lexical default or fixed value, fixed) of an optional element
    defaults: dict[tuple[str, str], tuple[str, bool]]
    # class -> its single choices: the fields of each, and whether one is required
    choices: dict[str, tuple[tuple[tuple[str, ...], bool], ...]]


def _kept(generator: DataclassGenerator, classes: list[Class], transformer: _Transformer) -> Kept:
    names: dict[int, str] = {}
    pending = [(cls, "") for cls in classes]
    while pending:
        cls, outer = pending.pop()
        name = generator.filters.class_name(cls.name)
        names[id(cls)] = f"{outer}.{name}" if outer else name
        pending.extend((inner, names[id(cls)]) for inner in cls.inner)

    def kept(target: Class, attr: Attr) -> bool:
        return id(target) in names and any(each is attr for each in target.attrs)

    def field(target: Class, attr: Attr) -> str:
        return generator.filters.field_name(attr.name, target.name)

    choices: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
    for target, attrs, required in transformer.choices:
        if all(kept(target, attr) for attr in attrs):
            group = tuple(field(target, attr) for attr in attrs)
            choices.setdefault(names[id(target)], []).append((group, required))
    return Kept(
        defaults={
            (names[id(target)], field(target, attr)): (default, fixed)
            for target, attr, default, fixed in transformer.dropped
            if kept(target, attr)
        },
        choices={name: tuple(groups) for name, groups in choices.items()},
    )


def _refuse_same_class_names(generator: DataclassGenerator, classes: list[Class]) -> None:
    """Two types whose Python class names coincide (`type` and `Тип` are both `Type`): the second
    would silently replace the first in the module."""
    by_name: dict[str, list[Class]] = {}
    for cls in classes:
        by_name.setdefault(generator.filters.class_name(cls.name), []).append(cls)
    losses = [
        Loss(
            same[0].name,
            f"the types {', '.join(c.qname for c in same)} would all be the Python class {name}: "
            "rename one of them",
        )
        for name, same in sorted(by_name.items())
        if len(same) > 1
    ]
    if losses:
        raise LossError(losses)


class LossError(Exception):
    """xsdata would generate bindings that differ from the schemas; the losses say where."""

    def __init__(self, losses: list[Loss]) -> None:
        self.losses = losses
        super().__init__("; ".join(loss.message for loss in losses))


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


def describe(
    module: types.ModuleType,
    elements: frozenset[str],
    gateway_namespaces: frozenset[str],
    kept: Kept | None = None,
) -> tuple[ComplexType, ...]:
    """How xsdata maps every dataclass of `module` to XML, in the generator's own terms."""
    context = XmlContext()
    classes = sorted(_dataclasses(module), key=lambda c: c.__qualname__)
    metas = {cls: context.build(cls) for cls in classes}
    # Bases that xsi:type can replace: a class of a global element (xsdata's subclass for an
    # element of a named type) names no type.
    derived = {
        base
        for cls in classes
        if metas[cls].qname not in elements
        for base in cls.__mro__[1:]
        if base in metas
    }
    described = []
    unions: dict[str, list[tuple[str, str, str]]] = {}  # a type's reordered union fields
    for cls in classes:
        meta = metas[cls]
        is_element = meta.qname in elements
        gateway = naming.namespace(meta.target_qname or meta.qname) in gateway_namespaces
        described.append(
            _describe(
                meta, cls.__qualname__, is_element, derived, gateway, kept or Kept({}, {}), unions
            )
        )
    _refuse_unions_read_by_xsdata(described, classes, unions)
    return tuple(described)


def _refuse_unions_read_by_xsdata(
    described: list[ComplexType], classes: list[type], unions: dict[str, list[tuple[str, str, str]]]
) -> None:
    """xsdata's generic parser tries a union's members in an order of its own (strings last),
    not the schema's: "007" of a union of xs:string and xs:int would read as 7. A type it may read
    (a generic one, any type under one, a type derived from one of those, and every type when one
    has xs:anyType or wildcard content, which xsi:type may name) cannot have such a union."""
    if not unions:
        return
    by_name = {t.name: t for t in described}
    pending = [t.name for t in described if not t.specialised]
    if any(f.kind is Kind.ANY for t in described if not t.specialised for f in t.fields) or any(
        "wildcards" in t.reason for t in described if not t.specialised
    ):
        pending = list(by_name)
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name in reached or name not in by_name:
            continue
        reached.add(name)
        pending.extend(f.value for f in by_name[name].fields if f.kind is Kind.COMPLEX)
        base = next((c for c in classes if c.__qualname__ == name), None)
        pending.extend(c.__qualname__ for c in classes if base and issubclass(c, base))
    losses = [
        Loss(
            f"{name}.{field}",
            f"the union of {field} of {name} lists its members as {schema}, which xsdata's parser "
            f"tries as {theirs}: {name} is read through xsdata's generic parser ("
            f"{by_name[name].reason or 'it is under a type that is'}), where a value would be "
            "read as the wrong member",
        )
        for name, reordered in sorted(unions.items())
        if name in reached
        for field, schema, theirs in reordered
    ]
    if losses:
        raise LossError(losses)


def _dataclasses(module: types.ModuleType) -> Iterator[type]:
    pending = [v for v in vars(module).values() if isinstance(v, type)]
    while pending:
        cls = pending.pop()
        if cls.__module__ != module.__name__:
            continue
        if "__dataclass_fields__" in vars(cls):
            yield cls
        pending.extend(v for v in vars(cls).values() if isinstance(v, type))


def _describe(
    meta: XmlMeta,
    name: str,
    is_element: bool,
    derived: set[type],
    gateway: bool,
    kept: Kept,
    unions: dict[str, list[tuple[str, str, str]]],
) -> ComplexType:
    facets = {f.name: f.metadata for f in dataclasses.fields(meta.clazz)}
    hints = typing.get_type_hints(meta.clazz)
    fields: list[Field] = []
    reasons: list[str] = []
    # Union fields whose members xsdata tries in another order: (field, the schema's, xsdata's).
    reordered: list[tuple[str, str, str]] = []
    if meta.wildcards or meta.any_attributes or meta.choices:
        reasons.append("wildcards or choices")
    if meta.text is not None:
        fields.append(_field(meta.text, Kind.TEXT, reasons, facets, hints, reordered))
    for var in meta.get_attribute_vars():
        fields.append(_field(var, Kind.ATTRIBUTE, reasons, facets, hints, reordered))
    element_vars = sorted(itertools.chain(*meta.elements.values()), key=lambda v: v.index)
    for var in element_vars:
        if var.clazz is not None:
            kind = Kind.COMPLEX
            if var.clazz in derived:
                reasons.append(f"{var.name}: a type with derived types (xsi:type)")
        elif var.any_type:
            kind = Kind.ANY
            if not gateway:
                reasons.append(f"{var.name}: xs:anyType content")
        else:
            kind = Kind.ELEMENT
        field = _field(var, kind, reasons, facets, hints, reordered)
        value_constraint = kept.defaults.get((name, var.name))
        if value_constraint is not None and not _converts(value_constraint[0], var):
            # A value the codecs could not read without the schema's own context (a QName's
            # prefix): such an element present but empty stays refused as "" of the wrong type.
            value_constraint = None
        if value_constraint is not None:
            reasons.append(f"{var.name}: the default or fixed value of an optional element")
            text, fixed = value_constraint
            field = dataclasses.replace(field, empty_default=text, fixed=fixed)
        fields.append(field)
    tags = {f.name: f.tag for f in fields}
    if reordered:
        unions[name] = reordered
    return ComplexType(
        name=name,
        qname=None if is_element else meta.target_qname,
        element=meta.qname if is_element else None,
        fields=tuple(fields),
        specialised=not reasons,
        reason="; ".join(dict.fromkeys(reasons)),
        choices=tuple(
            (names, tuple(tags[n] for n in names), required)
            for names, required in kept.choices.get(name, ())
            if all(n in tags for n in names)
        ),
    )


def _converts(text: str, var: XmlVar) -> bool:
    try:
        converter.deserialize(text, var.types, format=var.format)
    except ConverterError:
        return False
    return not any(tp is QName for tp in var.types)


def _field(
    var: XmlVar,
    kind: Kind,
    reasons: list[str],
    facets: Mapping[str, Mapping[str, Any]],
    hints: Mapping[str, Any],
    reordered: list[tuple[str, str, str]],
) -> Field:
    if var.is_elements or var.is_wildcard or var.tokens or var.mixed or var.wrapper:
        reasons.append(f"{var.name}: compound, wrapped or token content")
    if var.is_clazz_union or (len(var.types) != 1 and kind not in (Kind.ELEMENT, Kind.ATTRIBUTE)):
        reasons.append(f"{var.name}: a union of types")
    if var.nillable:
        reasons.append(f"{var.name}: nillable")
    if var.sequence is not None:
        reasons.append(f"{var.name}: in a repeated sequence")
    plain_text = var.is_text and var.default == ""  # simple content: "" when the element is empty
    if (
        not var.init
        or (var.default not in (None, "") and not callable(var.default))
        or (var.default == "" and not plain_text)
    ):
        reasons.append(f"{var.name}: a default or fixed value")
    metadata = facets.get(var.name, {})
    exact = metadata.get("length")
    return Field(
        name=var.name,
        tag=var.qname,
        kind=kind,
        value=_value(var, kind, reasons, _schema_order(var, hints, reordered)),
        required=bool(var.required),
        repeated=var.list_element,
        nillable=var.nillable,
        min_length=int(exact if exact is not None else metadata.get("min_length", 0)),
        max_length=exact if exact is not None else metadata.get("max_length"),
        min_occurs=int(metadata.get("min_occurs", 0)) if var.list_element else 0,
        max_occurs=_bounded(metadata.get("max_occurs")) if var.list_element else None,
    )


def _bounded(max_occurs: object) -> int | None:
    """xsdata's max_occurs of a repeated field: a number, or absent (or sys.maxsize) unbounded."""
    if not isinstance(max_occurs, int) or max_occurs >= sys.maxsize:
        return None
    return max_occurs


def _schema_order(
    var: XmlVar, hints: Mapping[str, Any], reordered: list[tuple[str, str, str]]
) -> tuple[Any, ...]:
    """A union's member types in the schema's memberTypes order, which the dataclass annotation
    keeps (xsdata's own list is sorted: numbers first, strings last); otherwise xsdata's types."""
    if len(var.types) < 2:
        return tuple(var.types)
    hint = hints.get(var.name)
    if typing.get_origin(hint) is list:
        hint = typing.get_args(hint)[0]
    members = tuple(t for t in typing.get_args(hint) if t is not type(None))
    if set(members) != set(var.types) or len(members) != len(var.types):
        return tuple(var.types)
    if members != tuple(var.types):
        reordered.append((var.name, _names(members), _names(var.types)))
    return members


def _names(members: typing.Iterable[Any]) -> str:
    return ", ".join(getattr(t, "__name__", str(t)) for t in members)


def _value(var: XmlVar, kind: Kind, reasons: list[str], order: tuple[Any, ...]) -> str:
    if len(var.types) > 1 and kind in (Kind.ELEMENT, Kind.ATTRIBUTE):
        # xs:union: its members in the schema's order (the first whose lexical space holds the
        # text is the value's type), each read by its strict lexical rule, so a string member is
        # never taken for a number it merely resembles ("1e3" is no xs:decimal).
        members = [_converter(var, tp, reasons) for tp in order]
        return "union:" + "|".join(members) if "unsupported" not in members else "unsupported"
    if kind is Kind.COMPLEX:
        return str(var.types[0].__qualname__)
    if kind is Kind.ANY:
        return "any"
    return _converter(var, var.types[0], reasons)


def _converter(var: XmlVar, tp: Any, reasons: list[str]) -> str:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        reasons.append(f"{var.name}: a union of types")
        return "unsupported"
    if tp is object:
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
