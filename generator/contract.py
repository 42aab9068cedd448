"""The wire contract of a schema set, and what changes between two versions of it.

`read_contract` loads an XSD folder as the generator does and describes, for every service of its
manifest and for the gateway envelope, the message types as they are on the wire: each element,
attribute and text with its occurrences, nillability, order, choice, value type and facets, and
where it is declared (file:line). `compare` walks two contracts side by side from each message's
root and classifies every difference:

- breaking for senders: a message an old sender writes is refused by a new receiver;
- breaking for receivers: a message a new sender writes is refused by an old receiver;
- compatible: neither (documentation, a type renamed with the same wire form, a default).

Each change also says what the generated codecs do with the message it breaks: they match
children by name in any order, refuse unknown and missing required elements and unknown
enumeration values, ignore unknown attributes, and check no other facet on reading.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import itertools
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.elements import XmlMeta, XmlVar

from .bindings import imported
from .load import load
from .model import Project
from .naming import local_name, namespace
from .xmlfiles import XS, schema_closure, shown_as

SENDERS, RECEIVERS = "senders", "receivers"
_FACETS = (
    "length",
    "min_length",
    "max_length",
    "pattern",
    "min_inclusive",
    "max_inclusive",
    "min_exclusive",
    "max_exclusive",
    "total_digits",
    "fraction_digits",
)


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Value:
    """A simple value's type: its Python form, enumeration and facets."""

    base: str  # "str", "int", "Decimal", "XmlDate", ..., or the enumeration's value type
    enumeration: tuple[str, ...] | None
    facets: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Part:
    """One child element, attribute, text or wildcard of a complex type."""

    key: str  # the wire name: "{ns}local" or "local", "@name" for attributes, "#text", "*"
    kind: str  # element, attribute, text, wildcard
    min_occurs: int
    max_occurs: int | None  # None: unbounded
    nillable: bool
    default: str | None
    value: Value | None  # a simple value
    complex: type | None  # a complex one: the class
    choice: int | None  # the index of the xs:choice it is in, None outside one
    location: Location
    documentation: str = ""


@dataclass
class Contract:
    """What `read_contract` found: the project, its classes' parts, and the messages' roots."""

    project: Project
    module: types.ModuleType
    messages: dict[str, type]  # "SERVICE_ID request" / "gateway SendMessage" -> root class
    declared: dict[str, Location]  # type qname -> where it is declared
    trees: dict[Path, etree._ElementTree]
    xsd_dir: Path
    _parts: dict[type, tuple[Part, ...]] = field(default_factory=dict)
    _found: dict[tuple[type, str, bool], tuple[Location, etree._Element | None]] = field(
        default_factory=dict
    )

    def parts(self, cls: type) -> tuple[Part, ...]:
        found = self._parts.get(cls)
        if found is None:
            found = self._parts[cls] = tuple(_parts_of(cls, self))
        return found

    @functools.cached_property
    def abstract_types(self) -> set[str]:
        """The qnames of the complex types declared abstract."""
        found = set()
        for tree in self.trees.values():
            root = tree.getroot()
            target = root.get("targetNamespace", "")
            for declared in root.iterchildren(f"{{{XS}}}complexType"):
                if declared.get("abstract") in ("true", "1"):
                    found.add(f"{{{target}}}{declared.get('name')}")
        return found

    @functools.cached_property
    def simple_types(self) -> dict[str, etree._Element]:
        """Named simple types by local name (the first of that name)."""
        found: dict[str, etree._Element] = {}
        for tree in self.trees.values():
            for declared in tree.getroot().iterchildren(f"{{{XS}}}simpleType"):
                found.setdefault(declared.get("name", ""), declared)
        return found

    def declared_type(self, cls: type, local: str, attribute: bool) -> str:
        """The built-in XSD type of the element or attribute `local` of `cls` ("" if unknown)."""
        _, declared = _declaration(self, cls, local, attribute)
        return _builtin(self, declared) if declared is not None else ""

    def declared_required(self, cls: type, local: str, attribute: bool) -> bool:
        """Whether the schema's own declaration requires `local` (minOccurs, use="required")."""
        _, declared = _declaration(self, cls, local, attribute)
        if declared is None:
            return False
        if attribute:
            return declared.get("use") == "required"
        parent = declared.getparent()
        in_optional_group = parent is not None and parent.get("minOccurs") == "0"
        return declared.get("minOccurs", "1") != "0" and not in_optional_group

    def choice_of(self, cls: type, local: str | None, attribute: bool) -> etree._Element | None:
        """The xs:choice (occurring at most once) whose member the element `local` of `cls` is
        (`local` None: its xs:any)."""
        found = self.alternative_of(cls, local, attribute)
        return found[0] if found is not None else None

    def alternative_of(
        self, cls: type, local: str | None, attribute: bool
    ) -> tuple[etree._Element, etree._Element, etree._Element] | None:
        """The xs:choice (occurring at most once) the element `local` of `cls` is in, directly or
        through sequences that occur once; the choice's alternative holding it; its declaration."""
        if attribute:
            return None
        declared = (
            self._wildcard(cls) if local is None else _declaration(self, cls, local, False)[1]
        )
        if declared is None:
            return None
        alternative = declared
        parent = declared.getparent()
        while (
            parent is not None
            and parent.tag == f"{{{XS}}}sequence"
            and parent.get("maxOccurs", "1") == "1"
        ):
            alternative, parent = parent, parent.getparent()
        if parent is None or parent.tag != f"{{{XS}}}choice":
            return None
        return (parent, alternative, declared) if parent.get("maxOccurs", "1") == "1" else None

    def _wildcard(self, cls: type) -> etree._Element | None:
        """The xs:any of the declaration of `cls` (the first)."""
        held = _holder(self, self.type_name(cls))
        return next(held[1].iter(f"{{{XS}}}any"), None) if held is not None else None

    def type_name(self, cls: type) -> str:
        meta = _context.build(cls)
        return meta.target_qname or meta.qname


_context = XmlContext()
_packages = itertools.count()


class read_contract:  # noqa: N801 - used as a context manager named for what it gives
    """`with read_contract(xsd_dir, manifest) as contract:` (the models stay imported inside)."""

    def __init__(self, xsd_dir: Path, manifest: Path) -> None:
        self.xsd_dir = xsd_dir
        self.manifest = manifest
        # A name of its own each time: the old and the new contract are open side by side, and
        # a caller may render a package from each.
        self.package = f"medexempt_contract_{next(_packages)}"

    def __enter__(self) -> Contract:
        project = load(self.xsd_dir, self.manifest, self.package)
        self._imported = imported(project.models_source)
        module = self._imported.__enter__()
        classes = {cls.__qualname__: cls for cls in _classes(module)}
        messages: dict[str, type] = {}
        gateway = project.gateway
        messages["gateway SendMessage"] = classes[gateway.send_class]
        messages["gateway SendMessageResponse"] = classes[gateway.response_class]
        for service in project.services:
            messages[f"{service.id} request"] = classes[service.request]
            messages[f"{service.id} response"] = classes[service.response]
        trees = _trees(self.xsd_dir, self.manifest)
        return Contract(
            project, module, messages, _declarations(trees, self.xsd_dir), trees, self.xsd_dir
        )

    def __exit__(self, *exc: object) -> None:
        self._imported.__exit__(None, None, None)


def _classes(module: types.ModuleType) -> Iterator[type]:
    for value in vars(module).values():
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            yield value
            yield from (
                inner
                for inner in vars(value).values()
                if isinstance(inner, type) and dataclasses.is_dataclass(inner)
            )


def _trees(xsd_dir: Path, manifest: Path) -> dict[Path, etree._ElementTree]:
    import tomllib

    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    entries = [manifest.parent / data["gateway"]["schema"]]
    for service in data.get("services", []):
        schema = service.get("schema", [])
        entries += [manifest.parent / s for s in (schema if isinstance(schema, list) else [schema])]
    return schema_closure(entries, xsd_dir)


def _declarations(trees: dict[Path, etree._ElementTree], xsd_dir: Path) -> dict[str, Location]:
    found: dict[str, Location] = {}
    for path, tree in trees.items():
        root = tree.getroot()
        target = root.get("targetNamespace", "")
        for child in root.iterchildren(f"{{{XS}}}complexType", f"{{{XS}}}element"):
            name = child.get("name")
            if name:
                found.setdefault(
                    f"{{{target}}}{name}", Location(shown_as(path, xsd_dir), child.sourceline)
                )
    return found


def _holder(contract: Contract, qname: str) -> tuple[Path, etree._Element] | None:
    """The declaration that holds the content of the type or element `qname`: a complex type,
    or an element (an element of a named type gives that type's declaration)."""
    for _ in range(8):
        found = None
        for path, tree in contract.trees.items():
            root = tree.getroot()
            if root.get("targetNamespace", "") != namespace(qname) and namespace(qname):
                continue
            for declared in root.iterchildren(f"{{{XS}}}complexType", f"{{{XS}}}element"):
                if declared.get("name") == local_name(qname):
                    found = (path, declared)
                    break
            if found:
                break
        if found is None:
            return None
        path, declared = found
        reference = declared.get("type") if declared.tag == f"{{{XS}}}element" else None
        if reference is None or len(declared):
            return found
        prefix, _, local = reference.rpartition(":")
        qname = f"{{{declared.nsmap.get(prefix or None, '')}}}{local}"
    return None


def _declaration(
    contract: Contract, cls: type, local: str, attribute: bool
) -> tuple[Location, etree._Element | None]:
    """Where the element or attribute `local` is declared inside the declaration of `cls`
    (found once per contract: the example and the comparison ask for it field by field)."""
    key = (cls, local, attribute)
    found = contract._found.get(key)
    if found is None:
        found = contract._found[key] = _find_declaration(contract, cls, local, attribute)
    return found


def _find_declaration(
    contract: Contract, cls: type, local: str, attribute: bool
) -> tuple[Location, etree._Element | None]:
    type_qname = contract.type_name(cls)
    tag = f"{{{XS}}}attribute" if attribute else f"{{{XS}}}element"
    held = _holder(contract, type_qname)
    if held is None:
        return contract.declared.get(type_qname, Location("xsd", None)), None
    path, holder = held
    # The declaration's own content, then the named groups it references (xs:group ref=).
    scopes = [(path, holder)]
    for scope_path, scope in scopes:
        for declared in scope.iter(tag):
            if declared is scope:
                continue
            named = declared.get("name") or (declared.get("ref") or "").rpartition(":")[2]
            if named == local:
                return Location(
                    shown_as(scope_path, contract.xsd_dir), declared.sourceline
                ), declared
        for reference in scope.iter(f"{{{XS}}}group"):
            group = reference.get("ref", "").rpartition(":")[2]
            for tree_path, tree in contract.trees.items():
                for defined in tree.getroot().iterchildren(f"{{{XS}}}group"):
                    known = any(defined is seen for _, seen in scopes)
                    if defined.get("name") == group and not known and len(scopes) < 32:
                        scopes.append((tree_path, defined))
    return Location(shown_as(path, contract.xsd_dir), holder.sourceline), None


def _builtin(contract: Contract, declared: etree._Element) -> str:
    """The XML Schema built-in type a declaration's value is (through named simple types)."""
    current: etree._Element | None = declared
    for _ in range(16):
        if current is None:
            return ""
        reference = current.get("type") or current.get("base")
        if reference is None:
            restriction = current.find(f".//{{{XS}}}restriction")
            if restriction is None or restriction is current:
                return ""
            current = restriction
            continue
        prefix, _, local = reference.rpartition(":")
        if current.nsmap.get(prefix or None) == XS:
            return local
        current = contract.simple_types.get(local)
    return ""


def _documentation(declared: etree._Element) -> str:
    texts = declared.xpath("xs:annotation/xs:documentation//text()", namespaces={"xs": XS})
    return " ".join(" ".join(str(t) for t in texts).split()) if isinstance(texts, list) else ""


def _parts_of(cls: type, contract: Contract) -> Iterator[Part]:
    meta: XmlMeta = _context.build(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    choice = 0
    for var in meta.get_all_vars():
        metadata = dict(fields[var.name].metadata) if var.name in fields else {}
        declared_default = fields[var.name].default if var.name in fields else None
        if declared_default is not dataclasses.MISSING and declared_default is not None:
            metadata["default"] = declared_default
        if var.elements:  # a compound field: an xs:choice
            choice += 1
            for member in var.elements.values():
                yield _part(member, metadata, contract, cls, choice, compound=var)
            continue
        yield _part(var, metadata, contract, cls, None)


def _part(
    var: XmlVar,
    metadata: dict[str, Any],
    contract: Contract,
    cls: type,
    choice: int | None,
    compound: XmlVar | None = None,
) -> Part:
    if var.is_attribute:
        kind, key = "attribute", "@" + var.qname
    elif var.is_text:
        kind, key = "text", "#text"
    elif var.is_wildcard:
        kind, key = "wildcard", "*"
    else:
        kind, key = "element", var.qname
    holder = compound or var
    if compound is not None:
        minimum = 0
        maximum = None if holder.list_element else 1
    else:
        minimum = int(metadata.get("min_occurs", 1 if var.required else 0))
        maximum = metadata.get("max_occurs", None if var.list_element else 1)
        maximum = None if maximum is None or maximum >= 2**31 - 1 else int(maximum)
    complex_type = (
        var.clazz if var.clazz is not None and dataclasses.is_dataclass(var.clazz) else None
    )
    value = None if complex_type is not None or kind == "wildcard" else _value(var, metadata)
    location, declared = _declaration(contract, cls, local_name(var.qname), kind == "attribute")
    documentation = _documentation(declared) if declared is not None else ""
    field_default = declared.get("default") if declared is not None else None
    if field_default is None:
        field_default = metadata.get("default")
    return Part(
        key=key,
        kind=kind,
        min_occurs=minimum,
        max_occurs=maximum,
        nillable=bool(var.nillable),
        default=None if field_default is None else str(field_default),
        value=value,
        complex=complex_type,
        choice=choice,
        location=location,
        documentation=documentation,
    )


def _value(var: XmlVar, metadata: dict[str, Any]) -> Value:
    types_ = [t for t in var.types if t is not type(None)]
    enumeration = None
    names = []
    for t in types_:
        if isinstance(t, type) and issubclass(t, enum.Enum):
            enumeration = tuple(str(member.value) for member in t)
            names.append("enum of " + type(next(iter(t)).value).__name__ if len(t) else "enum")
        else:
            names.append(getattr(t, "__name__", str(t)))
    facets = tuple(
        (name, str(metadata[name])) for name in _FACETS if metadata.get(name) is not None
    )
    if metadata.get("tokens"):
        facets += (("list", "true"),)
    return Value(" | ".join(names) or "object", enumeration, facets)


# --- Comparing two contracts -----------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between the old and the new contract."""

    message: str  # "SERVICE_ID request", "gateway SendMessage"
    path: str  # the element path from the message's root
    what: str
    breaks: frozenset[str]  # SENDERS, RECEIVERS, both, or none (compatible)
    codecs: str  # what the generated codecs do with the message it breaks
    old: Location | None
    new: Location | None

    @property
    def refused_by_codecs(self) -> bool:
        """Whether the generated codecs refuse the message this change breaks."""
        return bool(self.breaks) and self.codecs.startswith("our codecs refuse")

    @property
    def classification(self) -> str:
        if self.breaks == {SENDERS, RECEIVERS}:
            return "breaking for senders and receivers"
        if self.breaks == {SENDERS}:
            return "breaking for senders"
        if self.breaks == {RECEIVERS}:
            return "breaking for receivers"
        return "compatible"

    def as_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "path": self.path,
            "change": self.what,
            "class": self.classification,
            "breaks": sorted(self.breaks),
            "codecs": self.codecs,
            "old": str(self.old) if self.old else None,
            "new": str(self.new) if self.new else None,
        }


_REFUSE = "our codecs refuse it too"
_TOLERATE_ORDER = "our codecs read it anyway: they match children by name, in any order"
_TOLERATE_FACETS = "our codecs read it anyway: they check no facet on reading"
_TOLERATE_ATTRIBUTES = "our codecs read it anyway: they ignore unknown attributes and require none"
_TOLERATE_COUNTS = "our codecs read it anyway: they do not count repeated elements"


def compare(old: Contract, new: Contract) -> list[Change]:
    """Every difference of the wire contracts, message by message."""
    changes: list[Change] = []
    for message in sorted(set(old.messages) | set(new.messages)):
        before, after = old.messages.get(message), new.messages.get(message)
        if before is None:
            changes.append(
                Change(message, "/", "message added (a new service)", frozenset(), "", None, None)
            )
        elif after is None:
            changes.append(
                Change(
                    message,
                    "/",
                    "message removed (the service is gone)",
                    frozenset({SENDERS, RECEIVERS}),
                    _REFUSE,
                    None,
                    None,
                )
            )
        else:
            root = "/" + local_name(old.type_name(before))
            _compare_types(old, new, before, after, message, root, changes, set())
    return changes


def _compare_types(
    old: Contract,
    new: Contract,
    before: type,
    after: type,
    message: str,
    path: str,
    changes: list[Change],
    seen: set[tuple[type, type]],
) -> None:
    if (before, after) in seen:
        return
    seen.add((before, after))
    old_name, new_name = old.type_name(before), new.type_name(after)
    if local_name(old_name) != local_name(new_name) or namespace(old_name) != namespace(new_name):
        changes.append(
            Change(
                message,
                path,
                f"type renamed {local_name(old_name)} -> {local_name(new_name)} (same element)",
                frozenset(),
                "",
                old.declared.get(old_name),
                new.declared.get(new_name),
            )
        )
    olds = {part.key: part for part in old.parts(before)}
    news = {part.key: part for part in new.parts(after)}

    def add(what: str, breaks: set[str], codecs: str, key: str) -> None:
        o, n = olds.get(key), news.get(key)
        where = path + "/" + _shown(key)
        changes.append(
            Change(
                message,
                where,
                what,
                frozenset(breaks),
                codecs,
                o.location if o else None,
                n.location if n else None,
            )
        )

    for key, part in olds.items():
        if key not in news:
            breaks = {SENDERS}
            if part.min_occurs > 0 and part.choice is None:
                breaks.add(RECEIVERS)
            codecs = _TOLERATE_ATTRIBUTES if part.kind == "attribute" else _REFUSE
            required = "required " if part.min_occurs > 0 else ""
            add(f"{required}{part.kind} removed", breaks, codecs, key)
    for key, part in news.items():
        if key not in olds:
            breaks = {RECEIVERS}
            if part.min_occurs > 0 and part.choice is None:
                breaks.add(SENDERS)
            codecs = _TOLERATE_ATTRIBUTES if part.kind == "attribute" else _REFUSE
            required = "required " if part.min_occurs > 0 else "optional "
            add(f"{required}{part.kind} added", breaks, codecs, key)
    common = [key for key in olds if key in news]
    _compare_order(olds, news, common, path, message, changes)
    for key in common:
        o, n = olds[key], news[key]
        _compare_parts(old, new, o, n, message, path, key, add, changes, seen)


def _shown(key: str) -> str:
    if key.startswith("@"):
        return "@" + local_name(key[1:])
    return local_name(key) if key not in ("#text", "*") else key


def _compare_order(
    olds: dict[str, Part],
    news: dict[str, Part],
    common: list[str],
    path: str,
    message: str,
    changes: list[Change],
) -> None:
    elements = [
        key for key in common if olds[key].kind == "element" and news[key].kind == "element"
    ]
    old_order = sorted(elements, key=list(olds).index)
    new_order = sorted(elements, key=list(news).index)
    if old_order != new_order:
        moved = next(a for a, b in zip(old_order, new_order, strict=True) if a != b)
        changes.append(
            Change(
                message,
                f"{path}/{_shown(moved)}",
                "order of the sequence changed: " + ", ".join(_shown(k) for k in new_order),
                frozenset({SENDERS, RECEIVERS}),
                _TOLERATE_ORDER,
                olds[moved].location,
                news[moved].location,
            )
        )
    old_choices = {k: olds[k].choice for k in common}
    new_choices = {k: news[k].choice for k in common}
    for key in common:
        if (old_choices[key] is None) != (new_choices[key] is None):
            into = "into" if new_choices[key] is not None else "out of"
            changes.append(
                Change(
                    message,
                    f"{path}/{_shown(key)}",
                    f"moved {into} an xs:choice",
                    frozenset({SENDERS, RECEIVERS}),
                    _REFUSE,
                    olds[key].location,
                    news[key].location,
                )
            )


def _compare_parts(
    old: Contract,
    new: Contract,
    o: Part,
    n: Part,
    message: str,
    path: str,
    key: str,
    add: Any,
    changes: list[Change],
    seen: set[tuple[type, type]],
) -> None:
    repeated_old, repeated_new = o.max_occurs != 1, n.max_occurs != 1
    if o.min_occurs == 0 and n.min_occurs > 0:
        codecs = (
            _TOLERATE_ATTRIBUTES
            if o.kind == "attribute"
            else (_TOLERATE_COUNTS if repeated_new else _REFUSE)
        )
        add(f"made required (minOccurs {o.min_occurs} -> {n.min_occurs})", {SENDERS}, codecs, key)
    elif o.min_occurs > 0 and n.min_occurs == 0:
        codecs = (
            _TOLERATE_ATTRIBUTES
            if o.kind == "attribute"
            else (_TOLERATE_COUNTS if repeated_old else _REFUSE)
        )
        add(f"made optional (minOccurs {o.min_occurs} -> {n.min_occurs})", {RECEIVERS}, codecs, key)
    elif o.min_occurs != n.min_occurs:
        breaks = {SENDERS} if n.min_occurs > o.min_occurs else {RECEIVERS}
        add(f"minOccurs {o.min_occurs} -> {n.min_occurs}", breaks, _TOLERATE_COUNTS, key)
    if o.max_occurs != n.max_occurs:
        narrower = n.max_occurs is not None and (
            o.max_occurs is None or n.max_occurs < o.max_occurs
        )
        codecs = _TOLERATE_COUNTS if repeated_old and repeated_new else _REFUSE
        shown = f"maxOccurs {o.max_occurs or 'unbounded'} -> {n.max_occurs or 'unbounded'}"
        add(shown, {SENDERS} if narrower else {RECEIVERS}, codecs, key)
    if o.nillable != n.nillable:
        add(
            "nillable " + ("removed" if o.nillable else "added"),
            {SENDERS} if o.nillable else {RECEIVERS},
            _REFUSE,
            key,
        )
    if o.default != n.default:
        add(f"default {o.default!r} -> {n.default!r}", set(), "", key)
    if o.documentation != n.documentation:
        add("documentation changed", set(), "", key)
    if (o.complex is None) != (n.complex is None):
        add("type changed between a simple and a complex one", {SENDERS, RECEIVERS}, _REFUSE, key)
        return
    if o.complex is not None and n.complex is not None:
        where = path + "/" + _shown(key)
        _compare_types(old, new, o.complex, n.complex, message, where, changes, seen)
        return
    if o.value is not None and n.value is not None:
        _compare_values(o.value, n.value, key, add)


def _compare_values(o: Value, n: Value, key: str, add: Any) -> None:
    if o.base != n.base:
        # Every value of another type is a string; a string need not be a value of another type.
        if n.base == "str":
            breaks = {RECEIVERS}
        elif o.base == "str":
            breaks = {SENDERS}
        else:
            breaks = {SENDERS, RECEIVERS}
        refusal = "our codecs refuse a value the receiving side's type cannot parse"
        add(f"value type changed: {o.base} -> {n.base}", breaks, refusal, key)
    if o.enumeration is not None or n.enumeration is not None:
        before, after = set(o.enumeration or ()), set(n.enumeration or ())
        if o.enumeration is None or n.enumeration is None:
            narrowed = n.enumeration is not None
            add(
                "enumeration " + ("added" if narrowed else "removed"),
                {SENDERS} if narrowed else {RECEIVERS},
                _REFUSE,
                key,
            )
        else:
            if before - after:
                add(
                    "enumeration values removed: " + ", ".join(sorted(before - after)),
                    {SENDERS},
                    _REFUSE,
                    key,
                )
            if after - before:
                add(
                    "enumeration values added: " + ", ".join(sorted(after - before)),
                    {RECEIVERS},
                    _REFUSE,
                    key,
                )
    old_facets, new_facets = dict(o.facets), dict(n.facets)
    for name in _FACETS:
        a, b = old_facets.get(name), new_facets.get(name)
        if a == b:
            continue
        verdict = _facet_change(name, a, b)
        add(f"{name} {a or '(none)'} -> {b or '(none)'}", verdict, _TOLERATE_FACETS, key)
    if old_facets.get("list") != new_facets.get("list"):
        add("value changed between a list and a single value", {SENDERS, RECEIVERS}, _REFUSE, key)


def _facet_change(name: str, a: str | None, b: str | None) -> set[str]:
    """Which side a facet change breaks: narrowing breaks senders, widening receivers."""
    if name == "pattern":
        if a is None:
            return {SENDERS}
        if b is None:
            return {RECEIVERS}
        return {
            SENDERS,
            RECEIVERS,
        }  # one pattern for another: neither contains the other, as far as known
    if name == "length":
        return {SENDERS, RECEIVERS}
    bound = _number(b) if b is not None else None
    before = _number(a) if a is not None else None
    upper = name in (
        "max_length",
        "max_inclusive",
        "max_exclusive",
        "total_digits",
        "fraction_digits",
    )
    if before is None:
        return {SENDERS}  # a bound added: narrower
    if bound is None:
        return {RECEIVERS}  # a bound removed: wider
    narrower = bound < before if upper else bound > before
    return {SENDERS} if narrower else {RECEIVERS}


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


# --- Reporting, and the contract of a git revision ----------------------------------------------


def table(changes: list[Change]) -> str:
    """The changes as a human table, breaking ones first."""
    if not changes:
        return "no change to the wire contract"
    order = sorted(changes, key=lambda c: (not c.breaks, c.message, c.path))
    lines = []
    for change in order:
        lines.append(f"{change.classification}: {change.message} {change.path}: {change.what}")
        sides = [
            f"old {change.old}" if change.old else "",
            f"new {change.new}" if change.new else "",
        ]
        shown = ", ".join(side for side in sides if side)
        if shown:
            lines.append(f"    at {shown}")
        if change.codecs and change.breaks:
            lines.append(f"    {change.codecs}")
    breaking = sum(1 for c in changes if c.breaks)
    lines.append(f"{breaking} breaking, {len(changes) - breaking} compatible")
    return "\n".join(lines)


def export_revision(xsd_dir: Path, manifest: Path, revision: str, into: Path) -> tuple[Path, Path]:
    """The XSD folder and manifest as they are at `revision` of their git repository, written
    under `into`; ValueError when git or the revision cannot give them."""
    import io
    import subprocess
    import tarfile

    folder = xsd_dir.resolve()
    try:
        top = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],  # noqa: S607 - git on PATH
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ValueError(f"{xsd_dir} is not in a git repository ({exc})") from None
    root = Path(top)
    wanted = [folder.relative_to(root).as_posix()]
    manifest_path = manifest.resolve().relative_to(root).as_posix()
    if not manifest_path.startswith(wanted[0] + "/"):
        wanted.append(manifest_path)
    result = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision, "--", *wanted],  # noqa: S607
        capture_output=True,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise ValueError(f"git cannot give {', '.join(wanted)} at {revision}: {message}")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into / wanted[0], into / manifest_path
