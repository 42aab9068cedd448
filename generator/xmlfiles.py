"""Reading the generator's own XML inputs (XSD files) with a hardened parser."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from .errors import GeneratorError, Problem

XS = "http://www.w3.org/2001/XMLSchema"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
)


def parse_xsd(path: Path, shown_as: str) -> etree._ElementTree:
    """Parse one schema file; a broken or non-schema file is a GeneratorError naming it."""
    try:
        tree = etree.parse(str(path), _PARSER)
    except OSError as exc:
        raise GeneratorError([Problem(shown_as, None, f"cannot read: {exc}")]) from exc
    except etree.XMLSyntaxError as exc:
        raise GeneratorError([Problem(shown_as, exc.lineno, exc.msg)]) from exc
    if tree.docinfo.doctype:
        raise GeneratorError([Problem(shown_as, 1, "a DOCTYPE is not allowed in a schema")])
    root = tree.getroot()
    if root.tag != f"{{{XS}}}schema":
        raise GeneratorError([Problem(shown_as, root.sourceline, "not an XML Schema (xs:schema)")])
    return tree


def schema_closure(entries: list[Path], xsd_dir: Path) -> dict[Path, etree._ElementTree]:
    """Every schema reachable from `entries` through include/import/redefine, in a stable order."""
    found: dict[Path, etree._ElementTree] = {}
    pending = [p.resolve() for p in entries]
    problems: list[Problem] = []
    while pending:
        path = pending.pop(0)
        if path in found:
            continue
        tree = parse_xsd(path, shown_as(path, xsd_dir))
        found[path] = tree
        for ref in tree.getroot():
            location = ref.get("schemaLocation") if isinstance(ref.tag, str) else None
            if not location:
                continue
            if "://" in location:
                problems.append(
                    Problem(shown_as(path, xsd_dir), ref.sourceline, f"remote {location} refused")
                )
                continue
            pending.append((path.parent / location).resolve())
    if problems:
        raise GeneratorError(problems)
    return dict(sorted(found.items(), key=lambda item: shown_as(item[0], xsd_dir)))


def shown_as(path: Path, xsd_dir: Path) -> str:
    """A path relative to the XSD folder, with forward slashes, however it was given."""
    return Path(os.path.relpath(path.resolve(), xsd_dir.resolve())).as_posix()


def compile_schemas(trees: dict[Path, etree._ElementTree], xsd_dir: Path) -> None:
    """Compile the set with libxml2's XML Schema, so that a typo in a type name is an error here
    rather than a silently generic field."""
    wrapper = etree.Element(f"{{{XS}}}schema")
    namespaces: set[str] = set()
    for path, tree in trees.items():
        namespace = tree.getroot().get("targetNamespace")
        if namespace is None or namespace in namespaces:
            continue  # included schemas come in through their includer
        namespaces.add(namespace)
        link = etree.SubElement(wrapper, f"{{{XS}}}import")
        link.set("namespace", namespace)
        link.set("schemaLocation", path.as_uri())
    try:
        etree.XMLSchema(wrapper)
    except etree.XMLSchemaParseError as exc:
        problems = [
            Problem(shown_as(Path(e.filename), xsd_dir) if e.filename else "xsd", e.line, e.message)
            for e in exc.error_log
        ]
        raise GeneratorError(problems or [Problem("xsd", None, str(exc))]) from exc
