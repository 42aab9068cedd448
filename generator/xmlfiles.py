"""Reading the generator's own XML inputs (XSD files): parsed once, hardened, staged for the
compilers.

Schema files are the developer's input, not messages: a DOCTYPE is accepted (the W3C's own
xmldsig-core-schema.xsd ships one) with its internal subset read, internal entities expanded within
libxml2's limits, nothing fetched. Each file is then staged into a temporary folder, without the
DOCTYPE and with the same line numbers, and libxml2 and xsdata read only those staged copies.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .errors import GeneratorError, Problem

XS = "http://www.w3.org/2001/XMLSchema"
_INCLUDES = frozenset({f"{{{XS}}}include", f"{{{XS}}}redefine", f"{{{XS}}}override"})
# Includes that also change what they include: refused (see schema_closure).
_REWRITING = frozenset({f"{{{XS}}}redefine", f"{{{XS}}}override"})
_LINKS = _INCLUDES | {f"{{{XS}}}import"}

_PARSER = etree.XMLParser(
    resolve_entities="internal",  # the internal subset's entities; an external one is never loaded
    load_dtd=False,
    no_network=True,
    huge_tree=False,  # libxml2's limits on depth, text size and entity amplification stay on
    remove_comments=True,
    remove_pis=True,
)


def parse_xsd(path: Path, shown_as: str) -> etree._ElementTree:
    """Parse one schema file; a broken or non-schema file is a GeneratorError naming it."""
    try:
        tree = etree.parse(str(path), _PARSER)
    except OSError as exc:
        raise GeneratorError([Problem(shown_as, None, f"cannot read: {exc}")]) from exc
    except etree.XMLSyntaxError as exc:
        raise GeneratorError([Problem(shown_as, exc.lineno, _plain(exc.msg))]) from exc
    root = tree.getroot()
    for node in root.iter(etree.Entity):
        raise GeneratorError(
            [Problem(shown_as, node.sourceline, f"external entity {node.text} is not read")]
        )
    if root.tag != f"{{{XS}}}schema":
        raise GeneratorError([Problem(shown_as, root.sourceline, "not an XML Schema (xs:schema)")])
    return tree


def schema_closure(entries: list[Path], xsd_dir: Path) -> dict[Path, etree._ElementTree]:
    """Every schema reachable from `entries` through include/import/redefine, in a stable order.

    A missing file is reported at the line of the include or import that names it.
    """
    found: dict[Path, etree._ElementTree] = {}
    pending: list[tuple[Path, Problem | None]] = [(p.resolve(), None) for p in entries]
    problems: list[Problem] = []
    while pending:
        path, named_at = pending.pop(0)
        if path in found:
            continue
        if not path.is_file():
            where = named_at or Problem(shown_as(path, xsd_dir), None, "")
            what = f"{shown_as(path, xsd_dir)} does not exist"
            message = f"{where.message}: {what}" if where.message else what
            problems.append(Problem(where.file, where.line, message))
            continue
        shown = shown_as(path, xsd_dir)
        tree = parse_xsd(path, shown)
        found[path] = tree
        for ref in tree.getroot():
            if ref.tag in _REWRITING:
                kind = etree.QName(ref).localname
                message = (
                    f"xs:{kind} is not supported: the service's WSDL, which the generated package "
                    f"also validates what it writes against, would carry the types as they were "
                    f"before; write the {kind}d components in the schema itself"
                )
                problems.append(Problem(shown, ref.sourceline, message))
                continue
            location = ref.get("schemaLocation") if ref.tag in _LINKS else None
            if not location:
                continue
            kind = etree.QName(ref).localname
            if "://" in location and not location.startswith("file:"):
                message = f"remote {location} refused: keep a copy beside the schemas and name it"
                problems.append(Problem(shown, ref.sourceline, message))
                continue
            target = (path.parent / location).resolve()
            pending.append((target, Problem(shown, ref.sourceline, f"{kind} {location!r}")))
    if problems:
        raise GeneratorError(problems)
    return dict(sorted(found.items(), key=lambda item: shown_as(item[0], xsd_dir)))


def shown_as(path: Path, xsd_dir: Path) -> str:
    """A path relative to the XSD folder, with forward slashes, however it was given."""
    return Path(os.path.relpath(path.resolve(), xsd_dir.resolve())).as_posix()


def linked(path: Path, tree: etree._ElementTree, kinds: frozenset[str] = _LINKS) -> Iterator[Path]:
    """The files a schema names by include, import, redefine or override (`kinds` of them)."""
    for ref in tree.getroot():
        location = ref.get("schemaLocation") if ref.tag in kinds else None
        if location:
            yield (path.parent / location).resolve()


def reachable(trees: dict[Path, etree._ElementTree], start: Path) -> set[Path]:
    """The files of the set that `start` reaches through its links, itself included."""
    found: set[Path] = set()
    pending = [start.resolve()]
    while pending:
        path = pending.pop()
        if path in found or path not in trees:
            continue
        found.add(path)
        pending.extend(linked(path, trees[path]))
    return found


def chameleons(trees: dict[Path, etree._ElementTree]) -> dict[Path, frozenset[str]]:
    """Files without targetNamespace that are included: they take their includers' namespaces."""
    included_into: dict[Path, set[str]] = {}
    for path, tree in trees.items():
        namespace = tree.getroot().get("targetNamespace", "")
        for target in linked(path, tree, _INCLUDES):
            if target in trees and trees[target].getroot().get("targetNamespace") is None:
                included_into.setdefault(target, set()).add(namespace)
    return {path: frozenset(namespaces) for path, namespaces in included_into.items()}


@dataclass(frozen=True)
class Staged:
    """The schema set copied into a temporary folder; `original` maps a staged path back."""

    files: dict[Path, Path]  # original -> staged
    hub: Path  # one document importing every namespace of the set
    copies: dict[Path, Path]  # staged per-namespace copy of a chameleon -> original
    root: Path  # the temporary folder

    def digest(self, entries: list[Path]) -> str:
        """A SHA-256 of every staged file and of `entries`, with the temporary folder's name taken
        out: equal for the same schemas staged again, whichever folder they came from."""
        names = sorted({self.root, self.root.resolve()}, key=lambda p: -len(str(p)))
        prefixes = [f(p).encode() for p in names for f in (Path.as_uri, str)]
        digest = hashlib.sha256()

        def add(data: bytes) -> None:
            for prefix in prefixes:
                data = data.replace(prefix, b"\0")
            digest.update(len(data).to_bytes(8, "big") + data)

        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            add(str(path).encode())
            add(path.read_bytes())
        for entry in entries:
            add(str(entry).encode())
        return digest.hexdigest()

    def original(self, staged: str) -> Path | None:
        wanted = Path(staged.removeprefix("file://")).resolve()
        for original, staged_copy in self.files.items():
            if staged_copy == wanted:
                return original
        return self.copies.get(wanted)


@contextmanager
def staged(trees: dict[Path, etree._ElementTree]) -> Iterator[Staged]:
    """The set in a temporary folder of the same layout, plus a hub schema importing all of it.

    libxml2 reads one location per namespace. A namespace spread over several files (or two
    services sharing one) is therefore staged as one more document that includes all of them, and
    every import of that namespace in the staged copies points at it, so it compiles as a whole
    whichever file imports it first. A chameleon included into several namespaces is staged once
    per namespace, each includer naming its own copy: xsdata reads a file once, into one of them.
    """
    common = Path(os.path.commonpath([p.parent for p in trees]))
    included = chameleons(trees)
    by_namespace: dict[str | None, list[Path]] = {}
    for path, tree in trees.items():
        if path not in included:
            by_namespace.setdefault(tree.getroot().get("targetNamespace"), []).append(path)
    with tempfile.TemporaryDirectory(prefix="medexempt-xsd-") as tmp:
        files = {path: (Path(tmp) / "set" / path.relative_to(common)).resolve() for path in trees}
        parts: dict[str, Path] = {}
        for index, namespace in enumerate(sorted(n for n in by_namespace if n is not None)):
            if len(by_namespace[namespace]) > 1:
                parts[namespace] = Path(tmp) / f"namespace-{index}.xsd"
                members = [files[p] for p in by_namespace[namespace]]
                parts[namespace].write_bytes(_schema_of(namespace, members, "include"))
        per_namespace: dict[tuple[Path, str], Path] = {}  # (chameleon, includer's namespace)
        for path, namespaces in included.items():
            if len(namespaces) > 1:
                for index, namespace in enumerate(sorted(namespaces)):
                    name = f"{files[path].stem}.in-{index}{files[path].suffix}"
                    per_namespace[path, namespace] = files[path].with_name(name)
        for path, tree in trees.items():
            own = tree.getroot().get("targetNamespace", "")
            targets = {
                target: per_namespace[target, own]
                for target in linked(path, tree, _INCLUDES)
                if (target, own) in per_namespace
            }
            files[path].parent.mkdir(parents=True, exist_ok=True)
            files[path].write_bytes(_flat(path, tree, parts, targets))
        for (path, _), copy_path in per_namespace.items():
            copy_path.write_bytes(_flat(path, trees[path], parts, {}))
        hub = Path(tmp) / "hub.xsd"
        imports = [
            (n, parts.get(n) or files[ps[0]])
            for n, ps in sorted(by_namespace.items(), key=_key)
            if n is not None
        ]
        plain = [files[p] for p in by_namespace.get(None, [])]
        hub.write_bytes(_schema_of(None, plain, "include", imports))
        copies = {copy_path: path for (path, _), copy_path in per_namespace.items()}
        yield Staged(files=files, hub=hub, copies=copies, root=Path(tmp))


def _key(item: tuple[str | None, list[Path]]) -> str:
    return item[0] or ""


def _flat(
    path: Path, tree: etree._ElementTree, parts: dict[str, Path], includes: dict[Path, Path]
) -> bytes:
    """The document without its DOCTYPE, its root on the same line as before, each import of a
    namespace of several files pointing at the document that includes them all, and each include
    of a chameleon staged per namespace (`includes`: original -> copy) at this namespace's copy."""
    root = copy.deepcopy(tree.getroot())
    for link in root.iter(f"{{{XS}}}import"):
        part = parts.get(link.get("namespace", ""))
        if part is not None:
            link.set("schemaLocation", part.as_uri())
    for link in root.iterchildren(*_INCLUDES):
        target = (path.parent / link.get("schemaLocation", "")).resolve()
        if target in includes:
            link.set("schemaLocation", includes[target].as_uri())
    body = etree.tostring(root, encoding="unicode")
    if None not in root.nsmap and root.get("targetNamespace"):
        # An unprefixed QName here means no namespace (XML Schema 3.15.3); xsdata would read it as
        # the target namespace unless the empty default namespace is spelled out.
        name_end = body.index(" ")  # the root has attributes: targetNamespace at least
        body = body[:name_end] + ' xmlns=""' + body[name_end:]
    line = tree.getroot().sourceline or 1
    if line == 1:
        return body.encode("utf-8")
    return ('<?xml version="1.0" encoding="UTF-8"?>' + "\n" * (line - 1) + body).encode("utf-8")


def _schema_of(
    namespace: str | None,
    members: list[Path],
    link: str,
    imports: list[tuple[str, Path]] | None = None,
) -> bytes:
    schema = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS})
    if namespace is not None:
        schema.set("targetNamespace", namespace)
    for imported, location in imports or []:
        etree.SubElement(
            schema, f"{{{XS}}}import", namespace=imported, schemaLocation=location.as_uri()
        )
    for member in members:
        etree.SubElement(schema, f"{{{XS}}}{link}", schemaLocation=member.as_uri())
    return etree.tostring(schema)


def compile_validator(stage: Staged, xsd_dir: Path) -> etree.XMLSchema:
    """The whole set compiled with libxml2's XML Schema (so that a typo in a type name is an error
    here rather than a silently generic field); errors name the original files."""
    try:
        return etree.XMLSchema(etree.parse(str(stage.hub)))
    except etree.XMLSchemaParseError as exc:
        problems = []
        for error in exc.error_log:
            if error.level < etree.ErrorLevels.ERROR:
                continue  # "skipping import ... already imported" and the like
            original = stage.original(error.filename) if error.filename else None
            shown = shown_as(original, xsd_dir) if original else "xsd"
            problems.append(Problem(shown, error.line or None, _plain(error.message)))
        raise GeneratorError(problems or [Problem("xsd", None, str(exc))]) from exc


_XS_CLARK = re.escape(f"{{{XS}}}")
_REWRITES = (
    (re.compile(r"^Element '" + _XS_CLARK + r"(\w+)'(, attribute '(\w+)')?: "), r"xs:\1 \3: "),
    (
        re.compile(
            r"The QName value '\{([^}]*)\}(\w+)' does not resolve to a\(n\) (.+?) definition"
        ),
        r"\3 {\1}\2 is not defined in these schemas",
    ),
    (
        re.compile(r"The QName value '(\w+)' does not resolve to a\(n\) (.+?) definition"),
        r"\2 \1 (no namespace) is not defined in these schemas",
    ),
    (
        re.compile(
            r"References from this schema to components in no namespace are not allowed, since "
            r"not indicated by an import statement\."
        ),
        "an unprefixed name here means no namespace (this schema declares no default "
        "namespace), and no schema of no namespace is imported: write the name with the prefix "
        "of its namespace",
    ),
    (re.compile(r"\s*\(line \d+\)"), ""),
)


def _plain(message: str) -> str:
    """libxml2's message in the terms of a schema author: xs: prefixes, no Clark notation."""
    text = message.strip()
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text.replace(" :", ":")).strip()
