"""Load stage: the XSD folder and its manifest -> the frozen Project model."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import xsdata

from . import __version__
from .bindings import describe, imported, render_models
from .errors import GeneratorError, Problem
from .model import ComplexType, Gateway, Project, Service, Source
from .naming import local_name, service_method
from .wsdl_schemas import inline_schemas
from .xmlfiles import compile_schemas, schema_closure, shown_as


def load(xsd_dir: Path, manifest_path: Path, package: str) -> Project:
    """Read the manifest, the schemas it names and everything they include or import."""
    manifest = _read_manifest(manifest_path)
    shown = manifest_path.name
    gateway = _entry(manifest, "gateway", shown)
    entries = [manifest_path.parent / gateway]
    raw_services: list[dict[str, Any]] = manifest["services"]
    for raw in raw_services:
        entries.append(manifest_path.parent / str(raw.get("schema", "")))
    trees = schema_closure(entries, xsd_dir)
    compile_schemas(trees, xsd_dir)
    models_source, elements = render_models(sorted(trees), package)
    with imported(models_source) as module:
        types = describe(module, elements)
    services = _services(raw_services, types, shown)
    wsdl = manifest.get("wsdl", {})
    sources = [(shown_as(p, xsd_dir), p.read_bytes()) for p in trees]
    sources.append((shown_as(manifest_path, xsd_dir), manifest_path.read_bytes()))
    return Project(
        package=package,
        gateway=_gateway(types, shown),
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
    if problems:
        raise GeneratorError(problems)
    return manifest


def _entry(manifest: dict[str, Any], table: str, shown: str) -> str:
    value = manifest.get(table, {}).get("schema")
    if not isinstance(value, str) or not value:
        raise GeneratorError([Problem(shown, None, f"[{table}] needs schema = '<path>'")])
    return value


def _services(
    raw_services: list[dict[str, Any]], types: tuple[ComplexType, ...], shown: str
) -> tuple[Service, ...]:
    by_qname = {t.qname: t for t in types if t.qname}
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
            if qname not in by_qname:
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
    if problems:
        raise GeneratorError(problems)
    return tuple(sorted(services, key=lambda s: s.id))


def _gateway(types: tuple[ComplexType, ...], shown: str) -> Gateway:
    """The SyncChannel elements the envelope codec is built around; each must be in the schemas."""
    by_element = {local_name(t.element): t for t in types if t.element}
    by_type = {local_name(t.qname): t for t in types if t.qname}
    wanted = {
        "SendMessage": by_element.get("SendMessage"),
        "SendMessageResponse": by_element.get("SendMessageResponse"),
        "SendMessageFault1_SendMessageFault": by_element.get("SendMessageFault1_SendMessageFault"),
        "ErrorInfo": by_type.get("ErrorInfo"),
    }
    missing = [name for name, found in wanted.items() if found is None]
    if missing:
        problem = f"the gateway schema must define {', '.join(missing)} (SyncChannel v10)"
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
    )
