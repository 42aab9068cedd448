"""Load stage: the XSD folder and its manifest -> the frozen Project model."""

from __future__ import annotations

import copy
import functools
import hashlib
import keyword
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import xsdata
from lxml import etree

from . import __version__
from .bindings import Kept, Loss, LossError, describe, imported, render_models
from .errors import GeneratorError, Problem, closest_known
from .model import ComplexType, Gateway, Kind, Project, Service, Source
from .naming import local_name, namespace, service_method
from .wsdl_schemas import inline_schemas
from .xmlfiles import (
    XS,
    Staged,
    chameleons,
    compile_validator,
    linked,
    reachable,
    schema_closure,
    shown_as,
    staged,
)


def load(xsd_dir: Path, manifest_path: Path, package: str) -> Project:
    """Read the manifest, the schemas it names and everything they include or import."""
    manifest = _read_manifest(manifest_path)
    shown = manifest_path.name
    gateway = _entry(manifest, "gateway", shown)
    entries = [manifest_path.parent / gateway]
    raw_services: list[dict[str, Any]] = manifest["services"]
    for raw in raw_services:
        # One file, or a list when the request's and the response's schemas are apart.
        schema = raw.get("schema", "")
        for each in schema if isinstance(schema, list) else [schema]:
            if not isinstance(each, str) or not each:
                problem = f"{raw.get('id')}: schema must be a path or a list of paths"
                raise GeneratorError([Problem(shown, None, problem)])
            entries.append(manifest_path.parent / each)
    trees = schema_closure(entries, xsd_dir)
    _consistent_declarations(trees, xsd_dir)
    included = chameleons(trees)
    with staged(trees) as stage:
        compile_validator(stage, xsd_dir)
        # xsdata starts from the files no other file names, and follows includes and imports
        # itself: fed on its own, a chameleon include would become a type of no namespace, and a
        # schema of no namespace would lose the types its importer refers to.
        roots = [stage.files[path] for path in _roots(trees) if path not in included]
        try:
            models_source, elements, kept = _rendered(stage, roots)
        except LossError as exc:
            raise GeneratorError([_located(loss, trees, xsd_dir) for loss in exc.losses]) from exc
    with imported(models_source) as module:
        gateway_namespaces = _namespaces(trees, reachable(trees, entries[0]))
        try:
            types = describe(module, elements, gateway_namespaces, kept)
        except LossError as exc:
            raise GeneratorError([_located(loss, trees, xsd_dir) for loss in exc.losses]) from exc
    services = _services(
        raw_services, types, shown, lambda qname: _declared_at(trees, qname, xsd_dir)
    )
    wsdl = manifest.get("wsdl", {})
    sources = [(shown_as(p, xsd_dir), p.read_bytes()) for p in trees]
    sources.append((shown_as(manifest_path, xsd_dir), manifest_path.read_bytes()))
    return Project(
        package=package,
        gateway=_gateway(types, gateway_namespaces, shown),
        sources=tuple(Source(name, hashlib.sha256(data).hexdigest()) for name, data in sources),
        models_source=models_source,
        types=types,
        services=services,
        schemas=inline_schemas(trees),
        wsdl_name=str(wsdl.get("name", "SyncChannelService")),
        wsdl_address=str(wsdl.get("address", "http://localhost:8080/sync")),
        xsdata_version=xsdata.__version__,
        generator_version=__version__,
    )


# xsdata's step is most of a generation's time, and depends only on the staged bytes: a process
# that generates the same schemas again (a build tool's watch loop, another package name, a test
# suite, a folder copied elsewhere) reuses its result. Only successes are kept, the last few.
_RENDERED: OrderedDict[str, tuple[str, frozenset[str], Kept]] = OrderedDict()
_RENDERED_KEPT = 8
_RENDERED_LOCK = threading.Lock()


def _rendered(stage: Staged, roots: list[Path]) -> tuple[str, frozenset[str], Kept]:
    key = stage.digest(roots)
    with _RENDERED_LOCK:
        if key in _RENDERED:
            _RENDERED.move_to_end(key)
            source, elements, kept = _RENDERED[key]
            return source, elements, copy.deepcopy(kept)
    source, elements, kept = render_models(roots)
    with _RENDERED_LOCK:
        _RENDERED[key] = (source, elements, copy.deepcopy(kept))
        while len(_RENDERED) > _RENDERED_KEPT:
            _RENDERED.popitem(last=False)
    return source, elements, kept


_REFERENCES = ("type", "base", "ref", "itemType", "memberTypes", "substitutionGroup", "name")


def _located(loss: Loss, trees: dict[Path, etree._ElementTree], xsd_dir: Path) -> Problem:
    """The loss at the first schema line that names it (a reference, else a declaration)."""
    local = loss.name.rpartition("}")[2].rpartition(".")[2]
    for path, tree in trees.items():
        for element in tree.getroot().iter(etree.Element):
            for attribute in _REFERENCES:
                names = element.get(attribute, "").split()
                if any(name.rpartition(":")[2] == local for name in names):
                    return Problem(shown_as(path, xsd_dir), element.sourceline, loss.message)
    return Problem("xsd", None, loss.message)


def _follow(
    by_name: dict[str, ComplexType], start: ComplexType | None, path: tuple[str, ...]
) -> ComplexType | None:
    """The complex type reached from `start` through child elements named `path`."""
    current = start
    for tag in path:
        if current is None:
            return None
        field = next((f for f in current.fields if f.tag == tag and f.kind is Kind.COMPLEX), None)
        current = by_name.get(field.value) if field else None
    return current


def _consistent_declarations(trees: dict[Path, etree._ElementTree], xsd_dir: Path) -> None:
    """XML Schema's Element Declarations Consistent: elements of one name in one content model
    have one type. libxml2 lets some through, and xsdata then merges them into one field of the
    wrong type, so the generator checks it itself."""
    problems = []
    for path, tree in trees.items():
        for complex_type in tree.getroot().iter(f"{{{XS}}}complexType"):
            seen: dict[str, str] = {}
            for element in _content_elements(complex_type):
                name = element.get("name")
                if name is None:
                    continue
                kind = _type_of(element)
                if seen.setdefault(name, kind) != kind:
                    problems.append(
                        Problem(
                            shown_as(path, xsd_dir),
                            element.sourceline,
                            f"two elements named {name} in one content model have different "
                            "types (XML Schema's Element Declarations Consistent): give them "
                            "one type or different names",
                        )
                    )
    if problems:
        raise GeneratorError(problems)


def _content_elements(complex_type: etree._Element) -> Iterator[etree._Element]:
    """The local element declarations of a complex type's own content model."""
    for child in complex_type.iterchildren(etree.Element):
        if child.tag == f"{{{XS}}}element":
            yield child
        elif child.tag not in (f"{{{XS}}}complexType", f"{{{XS}}}simpleType"):
            yield from _content_elements(child)


def _type_of(element: etree._Element) -> str:
    declared = element.get("type")
    if declared is None:
        return f"anonymous at line {element.sourceline}" if len(element) else "xs:anyType"
    prefix, _, local = declared.rpartition(":")
    return f"{{{element.nsmap.get(prefix or None, '')}}}{local}"


def _declared_at(
    trees: dict[Path, etree._ElementTree], qname: str, xsd_dir: Path
) -> tuple[str, int | None]:
    """The file and line of a global element's declaration."""
    for path, tree in trees.items():
        root = tree.getroot()
        if root.get("targetNamespace", "") != namespace(qname):
            continue
        for element in root.iterchildren(f"{{{XS}}}element"):
            if element.get("name") == local_name(qname):
                return shown_as(path, xsd_dir), element.sourceline
    return "xsd", None


def _roots(trees: dict[Path, etree._ElementTree]) -> list[Path]:
    """The files of the set that no other file includes or imports, and of each cycle of files
    that include or import each other (which XML Schema allows) and no file outside names, its
    first in the set's order: together they reach every file."""
    named = {target for path, tree in trees.items() for target in linked(path, tree)}
    roots = [path for path in trees if path not in named]
    reached: set[Path] = set()
    for root in roots:
        reached |= reachable(trees, root)
    for path in trees:
        if path not in reached:
            roots.append(path)
            reached |= reachable(trees, path)
    return roots


def _namespaces(trees: dict[Path, etree._ElementTree], paths: set[Path]) -> frozenset[str]:
    return frozenset(trees[p].getroot().get("targetNamespace", "") for p in paths)


def _read_manifest(path: Path) -> dict[str, Any]:
    shown = path.as_posix()
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError([Problem(shown, None, f"cannot read: {exc}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise GeneratorError([Problem(shown, None, str(exc))]) from exc
    problems = [
        Problem(shown, None, f"[{table}] must be a table")
        for table in ("gateway", "wsdl")
        if not isinstance(manifest.get(table, {}), dict)
    ]
    services = manifest.get("services")
    if (
        not isinstance(services, list)
        or not services
        or not all(isinstance(s, dict) for s in services)
    ):
        problems.append(Problem(shown, None, "declare each service as a [[services]] table"))
    if not problems:
        problems = _unknown_keys(manifest, shown)
    if problems:
        raise GeneratorError(problems)
    return manifest


# Every key a manifest may hold; any other is a typo that would otherwise be ignored.
_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"gateway", "wsdl", "services"}),
    "gateway": frozenset({"schema"}),
    "wsdl": frozenset({"name", "address"}),
    "services": frozenset({"id", "schema", "request", "response", "method"}),
}


def _unknown_keys(manifest: dict[str, Any], shown: str) -> list[Problem]:
    tables: list[tuple[str, str, dict[str, Any]]] = [("", "", manifest)]
    tables += [(t, f"[{t}] ", manifest[t]) for t in ("gateway", "wsdl") if t in manifest]
    tables += [
        ("services", f"[[services]] #{n} ", s) for n, s in enumerate(manifest["services"], 1)
    ]
    return [
        Problem(shown, None, f"{where}{key}: unknown key{closest_known(key, sorted(_KEYS[kind]))}")
        for kind, where, table in tables
        for key in table
        if key not in _KEYS[kind]
    ]


def _entry(manifest: dict[str, Any], table: str, shown: str) -> str:
    value = manifest.get(table, {}).get("schema")
    if not isinstance(value, str) or not value:
        raise GeneratorError([Problem(shown, None, f"[{table}] needs schema = '<path>'")])
    return value


def _services(
    raw_services: list[dict[str, Any]],
    types: tuple[ComplexType, ...],
    shown: str,
    declared_at: Callable[[str], tuple[str, int | None]],
) -> tuple[Service, ...]:
    by_qname = {t.qname: t for t in types if t.qname}
    elements = {t.element for t in types if t.element} - set(by_qname)
    problems: list[Problem] = []
    services: list[Service] = []
    seen: set[str] = set()
    for raw in raw_services:
        service_id = str(raw.get("id", ""))
        if not service_id or service_id in seen:
            problems.append(Problem(shown, None, f"service id {service_id!r} missing or repeated"))
            continue
        seen.add(service_id)
        found = {}
        for role in ("request", "response"):
            qname = str(raw.get(role, ""))
            if qname in elements:
                file, line = declared_at(qname)
                name = local_name(qname)
                problems.append(
                    Problem(
                        file,
                        line,
                        f"{service_id}: the {role} {qname} is a global element of an anonymous "
                        "type, but the payload under data is typed by xsi:type, which names a "
                        f'named complex type: declare <xs:complexType name="{name}"> with its '
                        f"content and name that type in {shown}",
                    )
                )
            elif qname not in by_qname:
                problems.append(
                    Problem(
                        shown, None, f"{service_id}: {role} type {qname!r} is not in the schemas"
                    )
                )
            else:
                found[role] = by_qname[qname]
        if len(found) == 2:
            request, response = found["request"], found["response"]
            method = str(raw.get("method") or service_method(service_id, request.qname or ""))
            services.append(
                Service(
                    id=service_id,
                    method=method,
                    request=request.name,
                    response=response.name,
                    request_qname=request.qname or "",
                    response_qname=response.qname or "",
                )
            )
    methods: dict[str, list[str]] = {}
    for service in services:
        methods.setdefault(service.method, []).append(service.id)
    problems += [
        Problem(
            shown,
            None,
            f"services {', '.join(ids)} would all be the method {method}(): give each its own "
            'method = "..." in [[services]]',
        )
        for method, ids in sorted(methods.items())
        if len(ids) > 1
    ]
    problems += [
        Problem(
            shown,
            None,
            f"{service.id}: the method name {service.method!r} {why}: give it "
            'another method = "..." in [[services]]',
        )
        for service in services
        if (why := _unusable_method(service.method))
    ]
    if problems:
        raise GeneratorError(problems)
    return tuple(sorted(services, key=lambda s: s.id))


def _unusable_method(name: str) -> str:
    """Why `name` cannot be a service's method on the generated Client, AsyncClient and
    Servicer, or "" when it can."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return "is not a Python identifier"
    if name.startswith("_"):
        return "starts with an underscore (the clients' own attributes do)"
    if name in _client_names():
        return "is one of the generated clients' own methods, which it would replace"
    return ""


@functools.cache
def _client_names() -> frozenset[str]:
    """The public names the generated clients' bases define (generator/runtime/calls.py)."""
    import ast

    tree = ast.parse((Path(__file__).with_name("runtime") / "calls.py").read_text("utf-8"))
    return frozenset(
        node.name
        for cls in tree.body
        if isinstance(cls, ast.ClassDef) and cls.name in ("ClientBase", "AsyncClientBase")
        for node in cls.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


# The gateway's parts by role, found from SendMessage and SendMessageResponse down (published
# copies of the gateway name them differently: MessageData, or RequestData and ResponseData).
_ROLES = (
    ("SyncSendMessageRequest", "SendMessage", ("request",)),
    ("SyncMessageInfo", "SendMessage", ("request", "requestInfo")),
    ("SenderInfo", "SendMessage", ("request", "requestInfo", "sender")),
    ("MessageData", "SendMessage", ("request", "requestData")),
    ("SyncSendMessageResponse", "SendMessageResponse", ("response",)),
    ("SyncMessageInfoResponse", "SendMessageResponse", ("response", "responseInfo")),
    ("StatusInfo", "SendMessageResponse", ("response", "responseInfo", "status")),
    ("ResponseData", "SendMessageResponse", ("response", "responseData")),
)


def _gateway(types: tuple[ComplexType, ...], namespaces: frozenset[str], shown: str) -> Gateway:
    """The SyncChannel elements the envelope codec is built around; each must be in the schemas
    of the gateway (a payload type or element of the same name elsewhere is another thing)."""
    by_element = {
        local_name(t.element): t for t in types if t.element and namespace(t.element) in namespaces
    }
    by_type = {
        local_name(t.qname): t for t in types if t.qname and namespace(t.qname) in namespaces
    }
    wanted = {
        "SendMessage": by_element.get("SendMessage"),
        "SendMessageResponse": by_element.get("SendMessageResponse"),
        "SendMessageFault1_SendMessageFault": by_element.get("SendMessageFault1_SendMessageFault"),
        "ErrorInfo": by_type.get("ErrorInfo"),
    }
    missing = [name for name, found in wanted.items() if found is None]
    classes: list[tuple[str, str]] = []
    if not missing:
        by_name = {t.name: t for t in types}
        for role, start, path in _ROLES:
            found = _follow(by_name, wanted[start], path)
            if found is None:
                missing.append(f"{start}/{'/'.join(path)} (a complex type, {role} in ours)")
            else:
                classes.append((role, found.name))
    if missing:
        problem = (
            f"the gateway schema must define {', '.join(missing)} (SyncChannel v10); "
            "compare with the copy in medexempt's source, xsd/shep/SyncChannel.xsd"
        )
        raise GeneratorError([Problem(shown, None, problem)])
    send, response, fault, error = wanted.values()
    assert send and response and fault and error and send.element and response.element
    assert fault.element
    return Gateway(
        send_element=send.element,
        send_class=send.name,
        response_element=response.element,
        response_class=response.name,
        fault_element=fault.element,
        error_class=error.name,
        classes=tuple(classes),
    )
