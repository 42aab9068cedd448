"""The generator's frozen middle: what load() extracts from the schemas and render() turns into
files."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a field sits in XML."""

    ELEMENT = "element"  # a child element holding a simple value
    COMPLEX = "complex"  # a child element holding a complex type
    ANY = "any"  # an xs:anyType child, typed on the wire by xsi:type
    ATTRIBUTE = "attribute"
    TEXT = "text"  # the element's own text (simple content)


@dataclass(frozen=True)
class Field:
    """One dataclass field and its XML mapping."""

    name: str  # the Python attribute
    tag: str  # Clark notation: "{ns}local" or "local"
    kind: Kind
    value: str  # a converter name of generated/xmlvalues.py, or the class name for COMPLEX
    required: bool
    repeated: bool
    nillable: bool = False
    min_length: int = 0  # the XSD length facets of a string value, checked when writing
    max_length: int | None = None
    # The default or fixed value of an optional or repeated element, which xsdata drops from the
    # dataclass (there an absent element is None): the value of the element present but empty.
    empty_default: str | None = None
    fixed: bool = False  # empty_default is a fixed value: any other is refused, read or written
    # How many items a repeated element takes (its minOccurs and maxOccurs), checked when writing.
    min_occurs: int = 0
    max_occurs: int | None = None


@dataclass(frozen=True)
class ComplexType:
    """A generated dataclass and how its content maps to XML."""

    name: str  # the Python class
    qname: str | None  # "{ns}Name" of the named XSD type (what xsi:type names), None if anonymous
    element: str | None  # "{ns}Name" of the global element it is, None for a type
    fields: tuple[Field, ...]
    specialised: (
        bool  # False: a shape the fast codec does not cover; xsdata's generic path handles it
    )
    reason: str = ""  # why it is not specialised
    # Each xs:choice of single elements that occurs once: its fields, their tags, and whether one
    # is required. The dataclass has an optional field per alternative; at most one may be given.
    choices: tuple[tuple[tuple[str, ...], tuple[str, ...], bool], ...] = ()


@dataclass(frozen=True)
class Service:
    """One serviceId of the manifest and its payload types."""

    id: str
    method: str  # Python method name on clients and servers
    request: str  # class name
    response: str  # class name
    request_qname: str
    response_qname: str


@dataclass(frozen=True)
class Schema:
    """One inlined xs:schema per target namespace, for the self-contained WSDL."""

    namespace: str
    text: str


@dataclass(frozen=True)
class Source:
    """An input file, by path relative to the XSD folder, with its digest."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Gateway:
    """The SyncChannel envelope elements, by qname and generated class name."""

    send_element: str
    send_class: str
    response_element: str
    response_class: str
    fault_element: str
    error_class: str  # the type of the fault detail element (ErrorInfo)
    classes: tuple[tuple[str, str], ...] = ()  # the gateway's XSD type names -> generated classes

    def cls(self, type_name: str) -> str:
        """The generated class of a gateway type (a payload type of the same name is renamed)."""
        return dict(self.classes)[type_name]


@dataclass(frozen=True)
class Project:
    """Everything render() needs; nothing in it depends on the machine it was made on."""

    package: str
    gateway: Gateway
    sources: tuple[Source, ...]
    models_source: str  # xsdata's rendered dataclass module
    types: tuple[ComplexType, ...]
    services: tuple[Service, ...]
    schemas: tuple[Schema, ...]
    wsdl_name: str
    wsdl_address: str
    xsdata_version: str
    generator_version: str
    # How to write these files again, for the headers: the command and the folder to run it in.
    command: str = "`medexempt generate` in the folder of pyproject.toml"
