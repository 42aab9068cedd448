"""The one XML parser for every input: hardened, and its refusals are typed errors with a path."""

from __future__ import annotations

import copy
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = [
    "MalformedXmlError",
    "MessageError",
    "SerializationError",
    "UnknownPayloadTypeError",
    "UnsafeXmlError",
    "VersionMismatchError",
    "clark",
    "new_parser",
    "parse_xml",
    "path_of",
]


class MessageError(ValueError):
    """An incoming message that cannot be read: `reason` says what is wrong, `path` where."""

    def __init__(self, reason: str, path: str = "/") -> None:
        self.reason = reason
        self.path = path
        # The SOAP version of the envelope, once it was known (set by the envelope readers), so
        # that a fault about the message can answer in the message's own version.
        self.soap_version: object | None = None
        super().__init__(f"{reason} (at {path})")


class MalformedXmlError(MessageError):
    """The bytes are not well-formed XML."""


class UnsafeXmlError(MessageError):
    """The XML uses a construct refused for safety: DOCTYPE, entity or processing instruction."""


class VersionMismatchError(MessageError):
    """The document is an Envelope of a SOAP version this package does not speak."""


class UnknownPayloadTypeError(MessageError):
    """A payload's xsi:type is missing or names no type this package knows."""


class SerializationError(ValueError):
    """An object that cannot be written as a message: a required value missing, a bad value."""


_local = threading.local()
_LOCATION = re.compile(r", line \d+, column \d+$")
_LIMIT = re.compile(r",? (?:use|try) XML_PARSE_HUGE.*$")


class _NothingExternal(etree.Resolver):
    """Every external reference resolves to nothing: with load_dtd off, libxml2 still opens the
    local files a DOCTYPE names in its parameter entities (and /dev/zero never ends)."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> Any:
        return self.resolve_string("", context)


def new_parser() -> etree.XMLParser:
    """A parser with the hardened options. parse_xml() keeps one per thread (lxml's are not shared);
    PIs are kept so that they can be refused, comments are dropped."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        recover=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=False,
        collect_ids=False,
        attribute_defaults=False,
    )
    parser.resolvers.add(_NothingExternal())
    return parser


_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_XS = "http://www.w3.org/2001/XMLSchema"


_COMPILING = threading.Lock()


def compile_wsdl_schemas(wsdl: bytes) -> etree.XMLSchema:
    """The schemas inlined in a WSDL's wsdl:types as one validator: each written to a file of a
    temporary folder for the others' imports to name (libxml2 reads them itself; a resolver of
    lxml's does not hold while threads compile side by side), nothing read from the network."""
    root = etree.fromstring(wsdl, new_parser())
    schemas = root.findall(f"{{{_WSDL}}}types/{{{_XS}}}schema")
    with _COMPILING, tempfile.TemporaryDirectory(prefix="medexempt-wsdl-") as folder:
        location = {
            s.get("targetNamespace", ""): Path(folder, f"schema-{n}.xsd").as_uri()
            for n, s in enumerate(schemas)
        }
        hub = etree.Element(f"{{{_XS}}}schema")
        for n, schema in enumerate(schemas):
            schema = copy.deepcopy(schema)
            for link in schema.iterchildren(f"{{{_XS}}}import"):
                imported = location.get(link.get("namespace", ""))
                if imported is not None:
                    link.set("schemaLocation", imported)
            namespace = schema.get("targetNamespace")
            Path(folder, f"schema-{n}.xsd").write_bytes(etree.tostring(schema))
            kind = "import" if namespace else "include"  # the hub itself has no namespace
            link = etree.SubElement(
                hub, f"{{{_XS}}}{kind}", schemaLocation=location[namespace or ""]
            )
            if namespace:
                link.set("namespace", namespace)
        compiling = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return etree.XMLSchema(etree.fromstring(etree.tostring(hub), compiling))


# libxml2's validity errors quote the value at fault, and a value may hold a quote itself: a
# reason keeps the names libxml2 starts with (NCNames, which hold no quote) and the rest only when
# it quotes nothing; otherwise the rule broken, by its name in XML Schema (reasons are logged, and
# a value may be an IIN, a name or a secret).
_NAMES = re.compile(r"(?:Element '[^']*'(?:, attribute '[^']*')?: )?")


def validity_error(error: Any) -> str:
    """A validator's error as a bounded reason, naming no value."""
    message = str(error.message).strip()
    names = _NAMES.match(message)
    start = names[0] if names is not None else ""
    rest = message[len(start) :]
    if "'" in rest or '"' in rest or "[" in rest:
        rule = str(error.type_name).removeprefix("SCHEMAV_").lower().replace("_", "-")
        rest = f"the value or content breaks {rule}"
    message = f"{start}{rest}"
    message = message if len(message) <= 300 else message[:300] + "…"
    return f"{message} (at {error.path})" if error.path else message


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = new_parser()
    return parser


def parse_xml(data: bytes) -> etree._Element:
    """Parse `data` into a tree, refusing anything that is not plain, well-formed XML."""
    if not isinstance(data, bytes):
        raise TypeError("parse_xml() takes the message bytes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        where = f"line {line}, column {column}" if line else "/"
        message = _LOCATION.sub("", exc.msg or "")
        if _LIMIT.search(message):
            # libxml2's advice ("use XML_PARSE_HUGE") is for us, not for the sender.
            reason = _LIMIT.split(message)[0].rstrip(" ,:")
            raise UnsafeXmlError(f"the document exceeds a parser limit: {reason}", where) from None
        raise MalformedXmlError(f"not well-formed XML: {message}", where) from None
    if root is None:
        raise MalformedXmlError("no document element", "/")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("a DOCTYPE is not allowed", "/")
    if root.getprevious() is not None or root.getnext() is not None:
        # Comments are dropped while parsing, so a sibling of the root is a processing instruction.
        raise UnsafeXmlError("a processing instruction is not allowed", "/")
    for node in root.iter(etree.PI, etree.Entity):
        kind = (
            "an entity reference" if isinstance(node, etree._Entity) else "a processing instruction"
        )
        parent = node.getparent()
        raise UnsafeXmlError(
            f"{kind} is not allowed", path_of(parent if parent is not None else root)
        )
    return root


def path_of(element: etree._Element) -> str:
    """The element's location as an XPath with the document's own prefixes; an element in a
    default namespace by its local name (libxml2 would print `*`), a repeated one with its
    position among the siblings of its name."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        if not isinstance(node.tag, str):
            steps.append("node()")
        else:
            local = etree.QName(node).localname
            step = f"{node.prefix}:{local}" if node.prefix else local
            if parent is not None:
                same = [child for child in parent if child.tag == node.tag]
                if len(same) > 1:
                    step += f"[{same.index(node) + 1}]"
            steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


def clark(namespace: str, local: str) -> str:
    """`{namespace}local`, the form lxml names elements and attributes by."""
    return "{" + namespace + "}" + local
