"""Fold a set of XSD files into one xs:schema per target namespace, for a self-contained WSDL.

Every inlined schema is rebuilt with one prefix per namespace across the whole WSDL (no `tns`
bound to a different namespace in each), schemas come after the ones they import (JAX-WS wsimport
resolves in document order), and a local declaration whose file's elementFormDefault or
attributeFormDefault differs from its namespace's first file says its `form` itself.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from .model import Schema
from .xmlfiles import XS, chameleons

_XS_TAG = f"{{{XS}}}"
_XML = "http://www.w3.org/XML/1998/namespace"
_LINKS = {f"{_XS_TAG}include", f"{_XS_TAG}import", f"{_XS_TAG}redefine", f"{_XS_TAG}override"}
_QNAME_ATTRIBUTES = ("type", "base", "ref", "itemType", "memberTypes", "substitutionGroup", "refer")
_MAYBE_QNAME_VALUES = ("value", "default", "fixed")
_XPATHS = {f"{_XS_TAG}selector", f"{_XS_TAG}field"}
_FORMS = (
    ("elementFormDefault", f"{_XS_TAG}element"),
    ("attributeFormDefault", f"{_XS_TAG}attribute"),
)


def inline_schemas(trees: dict[Path, etree._ElementTree]) -> tuple[Schema, ...]:
    """Merge the files of each namespace; includes are folded in, imports lose their location.

    A schema without targetNamespace that is included somewhere (a chameleon include) takes the
    namespace of each schema that includes it: its declarations are in every one of them.
    """
    included = chameleons(trees)
    files: dict[str, list[Path]] = {}
    imports: dict[str, set[str]] = {}
    for path, tree in trees.items():
        for ns in sorted(included.get(path, {tree.getroot().get("targetNamespace", "")})):
            files.setdefault(ns, []).append(path)
            for link in tree.getroot().iterchildren(f"{_XS_TAG}import"):
                if link.get("namespace", "") != ns:
                    imports.setdefault(ns, set()).add(link.get("namespace", ""))
    prefixes = _prefixes(set(files) | _referenced(trees))
    schemas = []
    for ns in _imported_first(files, imports):
        root = _root(ns, trees[files[ns][0]].getroot(), imports.get(ns, set()), prefixes)
        for path in files[ns]:
            source = trees[path].getroot()
            forms = _forms(source, root)
            # A chameleon's unprefixed references are to the namespace that includes it.
            chameleon = ns if source.get("targetNamespace") is None else ""
            first = len(root)
            for child in source:
                if isinstance(child.tag, str) and child.tag not in _LINKS:
                    _rebuilt(child, _Names(prefixes, chameleon), forms, root)
            _derivation_defaults(source, root, root[first:])
        etree.indent(root, space="  ")
        schemas.append(Schema(namespace=ns, text=etree.tostring(root, encoding="unicode")))
    return tuple(schemas)


def _referenced(trees: dict[Path, etree._ElementTree]) -> set[str]:
    """Every namespace an import or a QName value of the set names."""
    found = set()
    for tree in trees.values():
        for element in tree.getroot().iter(f"{_XS_TAG}*"):
            if element.tag == f"{_XS_TAG}import":
                found.add(element.get("namespace", ""))
            for name in _QNAME_ATTRIBUTES:
                for part in element.get(name, "").split():
                    found.add(_namespace(part.rpartition(":")[0], element))
    return found


def _namespace(prefix: str, element: etree._Element) -> str:
    """The namespace of a QName's prefix at `element`; `xml` is bound without a declaration."""
    return _XML if prefix == "xml" else element.nsmap.get(prefix or None, "")


def _prefixes(namespaces: set[str]) -> dict[str, str]:
    """One prefix per namespace, the same in every inlined schema (`xs` for XML Schema)."""
    named = sorted(n for n in namespaces if n and n not in (XS, _XML))
    prefixes = {ns: f"s{index}" for index, ns in enumerate(named, start=1)}
    prefixes[XS] = "xs"
    prefixes[_XML] = "xml"  # bound in every document, never declared
    return prefixes


def _imported_first(files: dict[str, list[Path]], imports: dict[str, set[str]]) -> list[str]:
    """The namespaces in an order where each comes after those it imports (cycles: by name)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(ns: str) -> None:
        if ns in ordered or ns in visiting or ns not in files:
            return
        visiting.add(ns)
        for imported in sorted(imports.get(ns, set())):
            visit(imported)
        ordered.append(ns)

    for ns in sorted(files):
        visit(ns)
    return ordered


def _root(
    ns: str, source: etree._Element, imported: set[str], prefixes: dict[str, str]
) -> etree._Element:
    nsmap = {prefix: uri for uri, prefix in prefixes.items() if uri != _XML}
    root = etree.Element(f"{_XS_TAG}schema", nsmap=nsmap)
    if ns:
        root.set("targetNamespace", ns)
    for name in (
        "elementFormDefault",
        "attributeFormDefault",
        "blockDefault",
        "finalDefault",
        "version",
    ):
        value = source.get(name)
        if value is not None:
            root.set(name, value)
    for namespace in sorted(imported):
        link = etree.SubElement(root, f"{_XS_TAG}import")
        if namespace:
            link.set("namespace", namespace)
    return root


# What blockDefault and finalDefault give each kind of declaration that does not say its own.
_DERIVATIONS = {
    ("blockDefault", "block"): {
        f"{_XS_TAG}element": {"extension", "restriction", "substitution"},
        f"{_XS_TAG}complexType": {"extension", "restriction"},
    },
    ("finalDefault", "final"): {
        f"{_XS_TAG}element": {"extension", "restriction"},
        f"{_XS_TAG}complexType": {"extension", "restriction"},
        f"{_XS_TAG}simpleType": {"list", "union", "restriction", "extension"},
    },
}


def _derivation_defaults(
    source: etree._Element, merged: etree._Element, copies: list[etree._Element]
) -> None:
    """A file whose blockDefault or finalDefault is not the merged schema's: each declaration
    copied from it that states no block or final of its own is given the one its file's default
    gives it (an empty one too, which the merged default would otherwise fill)."""
    for (default, attribute), allowed in _DERIVATIONS.items():
        own = " ".join(source.get(default, "").split())
        if own == " ".join(merged.get(default, "").split()):
            continue
        for copy in copies:
            for declaration in copy.iter(*allowed):
                if declaration.get(attribute) is None and declaration.get("ref") is None:
                    kinds = allowed[str(declaration.tag)]
                    value = (
                        "#all" if own == "#all" else " ".join(t for t in own.split() if t in kinds)
                    )
                    declaration.set(attribute, value)


def _forms(source: etree._Element, merged: etree._Element) -> dict[str, str]:
    """The `form` that local declarations from `source` must state, by declaration tag."""
    forms = {}
    for default, tag in _FORMS:
        own = source.get(default, "unqualified")
        if own != merged.get(default, "unqualified"):
            forms[tag] = own
    return forms


class _Names:
    """The shared prefixes, and the namespace an unprefixed name of a chameleon include takes."""

    def __init__(self, prefixes: dict[str, str], chameleon: str) -> None:
        self.prefixes = prefixes
        self.chameleon = chameleon


def _rebuilt(
    source: etree._Element,
    names: _Names,
    forms: dict[str, str],
    parent: etree._Element,
    top: bool = True,
) -> None:
    """A copy of `source` under `parent` whose QName values use the shared prefixes (made in
    place: lxml would drop a prefix declared again on an element moved into the tree)."""
    nsmap = None
    keeps_prefixes = source.tag in _XPATHS or any(
        ":" in source.get(name, "") for name in _MAYBE_QNAME_VALUES
    )
    if keeps_prefixes:
        # XPaths, and values that may be QNames (an enumeration of an xs:QName type, a default):
        # their prefixes cannot be told apart from text, so the source's stay declared here.
        nsmap = {p: uri for p, uri in source.nsmap.items() if p is not None}
    tag = str(source.tag)
    in_xs = tag.startswith(_XS_TAG)
    copy = etree.SubElement(parent, tag, nsmap=nsmap)
    for name, value in source.attrib.items():
        if name in _QNAME_ATTRIBUTES and in_xs:
            value = " ".join(_qname(part, source, names) for part in value.split())
        copy.set(name, value)
    form = forms.get(tag)
    if form and not top and source.get("name") is not None and source.get("form") is None:
        copy.set("form", form)
    copy.text = source.text
    copy.tail = source.tail
    for child in source:
        if isinstance(child.tag, str):
            if child.tag.startswith(_XS_TAG) or in_xs:
                _rebuilt(child, names, forms, copy, top=False)
            else:
                _rebuilt(child, names, {}, copy, top=False)


def _qname(value: str, context: etree._Element, names: _Names) -> str:
    prefix, _, local = value.rpartition(":")
    ns = _namespace(prefix, context)
    if not prefix and None not in context.nsmap:
        ns = names.chameleon
    if not ns:
        return local
    return f"{names.prefixes[ns]}:{local}"
