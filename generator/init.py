"""`medexempt init`: a new service project from a service's XSD or WSDL.

It writes `xsd/` (the bundled SyncChannel gateway schemas under `xsd/shep/`, and the service's
schemas: the XSD with every file it includes or imports by a relative location, or the schemas of
a WSDL's `wsdl:types`, gateway schemas left out), `xsd/services.toml` for the one service, and a
`[tool.medexempt]` table in `pyproject.toml` (the file is created when missing). It never
overwrites: a non-empty `xsd/` or an existing `[tool.medexempt]` stops it.
"""

from __future__ import annotations

import copy
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlparse

from lxml import etree

from .errors import GeneratorError, Problem
from .xmlfiles import XS

WSDL = "http://schemas.xmlsoap.org/wsdl/"
GATEWAY_PREFIX = "http://bip.bee.kz/SyncChannel/v10"
MAX_DOCUMENTS = 200
MAX_BYTES = 16 * 1024 * 1024
_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, remove_comments=False
)


@dataclass(frozen=True)
class Plan:
    """What `init` writes: files under xsd/ (relative paths), and the service it describes."""

    files: dict[str, bytes]
    service_id: str
    schemas: tuple[str, ...]  # the files (under xsd/) declaring the request and response types
    request: str  # {namespace}Name
    response: str
    name: str  # the stem of the request and response names


def gateway_files() -> dict[str, bytes]:
    """The bundled SyncChannel schemas: `xsd/shep/` in a checkout, `generator/gateway` installed."""
    here = Path(__file__).resolve().parent
    for folder in (here / "gateway", here.parent / "xsd" / "shep"):
        if folder.is_dir():
            return {f"shep/{path.name}": path.read_bytes() for path in sorted(folder.glob("*.xsd"))}
    raise FileNotFoundError("the bundled gateway schemas (xsd/shep) are missing")


def plan(
    sources: list[str], service_id: str, request: str | None = None, response: str | None = None
) -> Plan:
    """Read `sources` (paths or http(s)/file URLs, XSD or WSDL: the request's and the response's
    when they are apart) and decide what to write."""
    gateway = gateway_files()
    gateway_ns = {_namespace(content): name for name, content in gateway.items()}
    reader = _Reader()
    files: dict[str, bytes] = {}
    for source in sources:
        root = reader.parse(source)
        if root.tag == f"{{{WSDL}}}definitions":
            more = _from_wsdl(root, source, reader, gateway_ns)
        elif root.tag == f"{{{XS}}}schema":
            more = _closure(source, root, reader, gateway_ns)
        else:
            raise _refused(source, root.sourceline, "neither an XML Schema nor a WSDL 1.1 document")
        for name, content in more.items():
            if files.get(name, content) != content:
                raise _refused(source, None, f"two different schemas would both be xsd/{name}")
            files[name] = content
    source = " + ".join(sources)
    found = _complex_types(files)
    request, response, name = _pair(found, request, response, source, files)
    files.update(gateway)
    # Types named just Request/Response: the service is named after its file.
    name = name or re.sub(r"\W", "_", PurePosixPath(found[request]).stem)
    schemas = tuple(dict.fromkeys((found[request], found[response])))
    return Plan(files, service_id, schemas, request, response, name)


def manifest(plan: Plan) -> str:
    """services.toml for the planned service."""
    return (
        "# The services carried by the gateway envelope (written by `medexempt init`).\n"
        "# Paths are relative to this file's folder. Types are {namespace}LocalName.\n\n"
        '[gateway]\nschema = "shep/SyncChannel.xsd"\n\n'
        f'[wsdl]\nname = "{plan.name}Service"\n'
        '# The address the WSDL announces: set your service\'s.\naddress = "http://localhost:8080/sync"\n\n'
        f'[[services]]\nid = "{plan.service_id}"\nschema = {_toml(plan.schemas)}\n'
        f'request = "{plan.request}"\nresponse = "{plan.response}"\n'
    )


def _toml(schemas: tuple[str, ...]) -> str:
    quoted = [f'"{schema}"' for schema in schemas]
    return quoted[0] if len(quoted) == 1 else "[" + ", ".join(quoted) + "]"


def snake(name: str) -> str:
    """MedicalExemptionSearch -> medical_exemption_search."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class _Reader:
    """Documents by path or URL, bounded in number and size, parsed without entities or DTDs."""

    def __init__(self) -> None:
        self.count = 0

    def parse(self, where: str) -> etree._Element:
        self.count += 1
        if self.count > MAX_DOCUMENTS:
            raise _refused(where, None, f"more than {MAX_DOCUMENTS} schema documents")
        data = self._read(where)
        try:
            root = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise _refused(where, exc.lineno, exc.msg) from None
        if any(isinstance(node, etree._Entity) for node in root.iter()):
            raise _refused(where, None, "entities are not read")
        return root

    @staticmethod
    def _read(where: str) -> bytes:
        scheme = urlparse(where).scheme
        if scheme in ("http", "https"):
            import httpx

            try:
                with httpx.stream("GET", where, timeout=30, follow_redirects=True) as answer:
                    answer.raise_for_status()
                    data = bytearray()
                    for chunk in answer.iter_bytes():
                        data += chunk
                        if len(data) > MAX_BYTES:
                            raise _refused(where, None, f"larger than {MAX_BYTES} bytes")
                    return bytes(data)
            except httpx.HTTPError as exc:
                raise _refused(where, None, f"cannot fetch: {exc}") from None
        path = Path(urlparse(where).path) if scheme == "file" else Path(where)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise _refused(where, None, f"larger than {MAX_BYTES} bytes")
            return path.read_bytes()
        except OSError as exc:
            raise _refused(where, None, f"cannot read: {exc.strerror or exc}") from None


def _refused(where: str, line: int | None, message: str) -> GeneratorError:
    return GeneratorError([Problem(where, line, message)])


def _namespace(content: bytes) -> str:
    return str(etree.fromstring(content, _PARSER).get("targetNamespace") or "")


def _is_url(where: str) -> bool:
    return urlparse(where).scheme in ("http", "https", "file")


def _resolve(base: str, location: str) -> str:
    if _is_url(base) or _is_url(location):
        return urljoin(base, location)
    return str(Path(base).parent / location)


def _closure(
    source: str, root: etree._Element, reader: _Reader, gateway_ns: dict[str, str]
) -> dict[str, bytes]:
    """The XSD and every schema it reaches by a relative location, at the same relative paths."""
    files: dict[str, bytes] = {}
    pending = [(source, root, PurePosixPath(_basename(source)))]
    seen = {str(pending[0][2])}
    while pending:
        where, schema, name = pending.pop()
        for link in schema.iter(f"{{{XS}}}include", f"{{{XS}}}import", f"{{{XS}}}redefine"):
            namespace = link.get("namespace")
            if namespace in gateway_ns:  # the bundled copy instead
                link.set("schemaLocation", _relative(name, PurePosixPath(gateway_ns[namespace])))
                continue
            location = link.get("schemaLocation")
            if location is None:
                continue
            target = PurePosixPath(posixpath.normpath(PurePosixPath(name.parent, location)))
            if _is_url(location) or target.is_absolute() or ".." in target.parts:
                raise _refused(
                    where, link.sourceline,
                    f"{location}: only schemas beside or below the first one are copied",
                )  # fmt: skip
            if str(target) not in seen:
                seen.add(str(target))
                linked = _resolve(where, location)
                pending.append((linked, reader.parse(linked), target))
        files[str(name)] = etree.tostring(schema, xml_declaration=True, encoding="UTF-8")
    return files


def _from_wsdl(
    root: etree._Element, source: str, reader: _Reader, gateway_ns: dict[str, str]
) -> dict[str, bytes]:
    """Each schema of wsdl:types as a file of its own (gateway schemas left out), imports by
    namespace pointed at those files or at the bundled gateway schemas."""
    schemas = root.findall(f"{{{WSDL}}}types/{{{XS}}}schema")
    if not schemas:
        raise _refused(source, root.sourceline, "the WSDL has no xs:schema in wsdl:types")
    # The gateway's own: every namespace of the bundled gateway schemas (SyncChannel's and the
    # common types' http://bip.bee.kz/common/v10/Types), and any other SyncChannel v10 one.
    own = [
        s
        for s in schemas
        if (s.get("targetNamespace") or "") not in gateway_ns
        and not (s.get("targetNamespace") or "").startswith(GATEWAY_PREFIX)
    ]
    names: dict[str, str] = {}  # targetNamespace -> the file written for it
    for schema in own:
        namespace = schema.get("targetNamespace") or ""
        if namespace in names:
            raise _refused(
                source, schema.sourceline,
                f"two inline schemas of namespace {namespace or '(none)'}: init cannot join them; "
                "start from the service's XSD instead",
            )  # fmt: skip
        last = (namespace or "schema").rstrip("/").rsplit("/", 1)[-1]
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", last) or "schema"
        name, n = f"{stem}.xsd", 1
        while name in names.values():
            n += 1
            name = f"{stem}{n}.xsd"
        names[namespace] = name
    files: dict[str, bytes] = {}
    for schema in own:
        standalone = etree.Element(schema.tag, nsmap={**root.nsmap, **schema.nsmap})
        for key, value in schema.attrib.items():
            standalone.set(key, value)
        standalone.text = schema.text
        for child in schema:
            standalone.append(copy.deepcopy(child))
        for link in standalone.iter(f"{{{XS}}}import", f"{{{XS}}}include"):
            namespace = link.get("namespace") or ""
            if namespace in gateway_ns:
                link.set("schemaLocation", gateway_ns[namespace])
            elif link.get("schemaLocation") is None and namespace in names:
                link.set("schemaLocation", names[namespace])
            elif link.get("schemaLocation") is not None:
                raise _refused(
                    source, link.sourceline,
                    f"an inline schema names {link.get('schemaLocation')}: not supported by init; "
                    "start from the service's XSD instead",
                )  # fmt: skip
        files[names[schema.get("targetNamespace") or ""]] = etree.tostring(
            standalone, xml_declaration=True, encoding="UTF-8"
        )
    if not files:
        raise _refused(source, root.sourceline, "the WSDL holds only the gateway's schemas")
    return files


def _complex_types(files: dict[str, bytes]) -> dict[str, str]:
    """{namespace}Name of every named global complex type (payloads are typed by xsi:type, so
    the manifest names those) -> the file declaring it."""
    found: dict[str, str] = {}
    for name, content in files.items():
        schema = etree.fromstring(content, _PARSER)
        namespace = schema.get("targetNamespace") or ""
        for declared in schema.findall(f"{{{XS}}}complexType[@name]"):
            found.setdefault(f"{{{namespace}}}{declared.get('name')}", name)
    return found


def _pair(
    found: dict[str, str],
    request: str | None,
    response: str | None,
    source: str,
    files: dict[str, bytes],
) -> tuple[str, str, str]:
    if (request is None) != (response is None):
        raise _refused(source, None, "give both --request and --response, or neither")
    if request is not None and response is not None:
        chosen = tuple(_known(found, given, source, files) for given in (request, response))
        local = chosen[0].rsplit("}", 1)[1]
        return chosen[0], chosen[1], re.sub(r"Request$", "", local) or local
    pairs = []
    for qname in sorted(found):
        if qname.endswith("Request") and qname[: -len("Request")] + "Response" in found:
            pairs.append((qname, qname[: -len("Request")] + "Response"))
    if len(pairs) != 1:
        names = ", ".join(sorted(q.rsplit("}", 1)[1] for q in found)) or "none"
        why = "no" if not pairs else "more than one"
        raise _refused(
            source, None,
            f"{why} evident …Request/…Response pair of types; pass --request and --response "
            f"(named complex types: {names})",
        )  # fmt: skip
    request, response = pairs[0]
    return request, response, request.rsplit("}", 1)[1][: -len("Request")]


def _known(found: dict[str, str], given: str, source: str, files: dict[str, bytes]) -> str:
    if given in found:
        return given
    matches = [qname for qname in found if qname.rsplit("}", 1)[1] == given]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise _refused(
            source, None, f"{given} is in more than one namespace; write it as {{namespace}}Name"
        )
    for name, content in files.items():  # a global element of an anonymous type, by that name
        schema = etree.fromstring(content, _PARSER)
        namespace = schema.get("targetNamespace") or ""
        for element in schema.findall(f"{{{XS}}}element[@name]"):
            qname = f"{{{namespace}}}{element.get('name')}"
            if (
                given in (qname, element.get("name"))
                and element.find(f"{{{XS}}}complexType") is not None
            ):
                declare = f'<xs:complexType name="{element.get("name")}">'
                raise _refused(  # no line: the file as written here, not as it was read
                    name, None,
                    f"{given} is a global element of an anonymous type, but the payload under "
                    "data is typed by xsi:type, which names a named complex type: declare "
                    f"{declare} with its content and name that type",
                )  # fmt: skip
    hint = "" if given.startswith("{") else "; write it as {namespace}Name"
    raise _refused(source, None, f"{given} is not a named complex type there{hint}")


def _basename(where: str) -> str:
    name = PurePosixPath(urlparse(where).path if _is_url(where) else Path(where).name).name
    return name if name.endswith(".xsd") else f"{name or 'service'}.xsd"


def _relative(start: PurePosixPath, target: PurePosixPath) -> str:
    ups = [".."] * len(start.parent.parts)
    return str(PurePosixPath(*ups, target))
