"""Fold a set of XSD files into one xs:schema per target namespace, for a self-contained WSDL."""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

from .model import Schema
from .xmlfiles import XS

_XS_TAG = f"{{{XS}}}"
_LINKS = {f"{_XS_TAG}include", f"{_XS_TAG}import", f"{_XS_TAG}redefine"}


def inline_schemas(trees: dict[Path, etree._ElementTree]) -> tuple[Schema, ...]:
    """Merge the files of each namespace; includes are folded in, imports lose their location.

    A schema without targetNamespace that is included somewhere (a chameleon include) takes the
    namespace of the schema that includes it.
    """
    namespace_of = _namespaces(trees)
    merged: dict[str, etree._Element] = {}
    imports: dict[str, set[str]] = {}
    for path, tree in trees.items():
        source = tree.getroot()
        ns = namespace_of[path]
        target = merged.get(ns)
        if target is None:
            target = merged[ns] = _empty_schema(source, ns)
            imports[ns] = set()
        for child in source:
            if not isinstance(child.tag, str):
                continue
            if child.tag == f"{_XS_TAG}import":
                imported = child.get("namespace", "")
                if imported != ns:
                    imports[ns].add(imported)
            elif child.tag not in _LINKS:
                target.append(copy.deepcopy(child))
    schemas = []
    for ns in sorted(merged):
        root = merged[ns]
        for position, imported in enumerate(sorted(imports[ns])):
            link = etree.Element(f"{_XS_TAG}import")
            if imported:
                link.set("namespace", imported)
            root.insert(position, link)
        etree.indent(root, space="  ")
        schemas.append(Schema(namespace=ns, text=etree.tostring(root, encoding="unicode")))
    return tuple(schemas)


def _namespaces(trees: dict[Path, etree._ElementTree]) -> dict[Path, str]:
    namespace_of = {path: tree.getroot().get("targetNamespace", "") for path, tree in trees.items()}
    for path, tree in trees.items():
        for child in tree.getroot().iter(f"{_XS_TAG}include"):
            included = (path.parent / child.get("schemaLocation", "")).resolve()
            if included in namespace_of and not namespace_of[included]:
                namespace_of[included] = namespace_of[path]
    return namespace_of


def _empty_schema(source: etree._Element, ns: str) -> etree._Element:
    nsmap = {prefix: uri for prefix, uri in source.nsmap.items()}
    nsmap.setdefault("xs", XS)
    root = etree.Element(f"{_XS_TAG}schema", nsmap=nsmap)
    if ns:
        root.set("targetNamespace", ns)
    for name in ("elementFormDefault", "attributeFormDefault", "version"):
        value = source.get(name)
        if value is not None:
            root.set(name, value)
    return root
