"""The generator on other services' schemas: every construct read and written exactly, or refused.

For each case of tests/constructs/ the generator runs as a user runs it. A refused case must exit 2
naming what its case.toml says. For the others, every sample message must read to the very object
xsdata's own XmlParser reads from it, write back to XML that validates against the schemas and
equals xsdata's XmlSerializer output under C14N 2.0, and read back to the same object; then the
generated packages must pass `mypy --strict`.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.generics import DerivedElement
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.serializers import XmlSerializer

from tests.constructs import XS, XSI, ConstructCase, Generated, gateway_elements, generate
from tests.constructs import load_construct_cases as _cases
from tests.strategies import Strategies
from tests.support import canonical, examples

# xsdata's subclass for the fault element shares ErrorInfo's type name: not a payload class.
ELEMENTS_OF_TYPES = {"{http://bip.bee.kz/SyncChannel/v10/Types}SendMessageFault1_SendMessageFault"}
# Every construct case is generated, imported and exercised, and mypy runs on the packages: the
# whole corpus is a system run (`pytest tests/generator` after a change to the generator).
pytestmark = pytest.mark.system
CASES = _cases()
ACCEPTED = [c for c in CASES if c.refused is None]
# Known gaps, each naming its issue: the test runs and must fail, so a fix is noticed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}
MESSAGES = [
    pytest.param(
        c,
        m,
        id=f"{c.name}/{m.name}",
        marks=[pytest.mark.xfail(reason=KNOWN_GAPS[c.name, m.name], strict=True)]
        if (c.name, m.name) in KNOWN_GAPS
        else [],
    )
    for c in ACCEPTED
    for m in c.messages
]


def _readable(case: ConstructCase) -> list[Path]:
    """The case's samples but its known gaps (those are tested to fail, above)."""
    return [m for m in case.messages if (case.name, m.name) not in KNOWN_GAPS]


class Corpus(dict[str, Generated]):
    """The generated cases by name (its short repr keeps hypothesis's reports readable)."""

    def __repr__(self) -> str:
        return f"<{len(self)} generated construct cases>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp("constructs")
    results = Corpus({case.name: generate(case, root) for case in CASES})
    yield results
    for result in results.values():
        if str(result.src) in sys.path:
            sys.path.remove(str(result.src))
    for name in [n for n in sys.modules if n.startswith("construct_")]:
        del sys.modules[name]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_generate_succeeds_or_refuses_clearly(case: ConstructCase, built: Corpus) -> None:
    result = built[case.name]
    if case.refused is None:
        assert result.exit_code == 0, result.output
        assert result.package.SERVICES
        return
    assert result.exit_code == 2, result.output
    for expected in case.refused:
        assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert "file:/" not in result.output and "../" not in result.output


def _payload_class(result: Generated, element: etree._Element) -> type[Any]:
    declared = element.get(f"{{{XSI}}}type", "")
    prefix, _, local = declared.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    qname = f"{{{namespace}}}{local}" if namespace else local
    context = result.xsdata_context
    models = result.package.models
    for value in vars(models).values():
        if isinstance(value, type) and hasattr(value, "__dataclass_fields__"):
            meta = context.build(value)
            if meta.target_qname == qname and meta.qname not in ELEMENTS_OF_TYPES:
                return value
    raise AssertionError(f"no class for {qname}")


def _data(document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    found = root.find(".//requestData/data")
    if found is None:
        found = root.find(".//responseData/data")
    assert found is not None
    return found


@pytest.mark.parametrize(("case", "message"), MESSAGES)
def test_message_reads_and_writes_as_xsdata_does(
    case: ConstructCase, message: Path, built: Corpus
) -> None:
    result = built[case.name]
    lib = result.package
    payload = message.read_bytes()
    envelope = result.envelope(payload)
    for element in gateway_elements(etree.fromstring(envelope)):
        assert result.validator.validate(element), (
            f"the sample itself: {result.validator.error_log}"
        )

    read = lib.read_message(envelope)
    body = read.body
    ours = (
        body.request.request_data if hasattr(body, "request") else body.response.response_data
    ).data

    data = _data(envelope)
    reference: str | None = None
    if data.get(f"{{{XSI}}}type", "").startswith("xs:"):
        # A built-in type: xsdata reads it as the value of the gateway's own data field.
        holder = type(body.request.request_data)
        field = XmlParser(context=result.xsdata_context).parse(
            copy.deepcopy(data.getparent()), holder
        )
        if message.name in case.better_than_xsdata:
            assert isinstance(ours, DerivedElement) and ours.value == field.data
        else:
            assert ours == field.data, "read differently from xsdata's XmlParser"
    else:
        cls = _payload_class(result, data)
        try:
            theirs = XmlParser(context=result.xsdata_context).parse(copy.deepcopy(data), cls)
        except ParserError:
            assert message.name in case.better_than_xsdata, "xsdata refuses a valid message"
            theirs = None
        if isinstance(theirs, DerivedElement):
            theirs = theirs.value
        if message.name in case.better_than_xsdata:
            # xsdata loses information here: the exact round trip below is the check.
            assert ours != theirs, "xsdata reads this exactly now: drop better_than_xsdata"
        else:
            assert ours == theirs, "read differently from xsdata's XmlParser"
            qname = lib.codec.payload_qname(theirs)
            reference = XmlSerializer().render(
                DerivedElement(qname="data", value=theirs, type=qname)
            )

    written = lib.write_envelope(read)
    for element in gateway_elements(etree.fromstring(written)):
        assert result.validator.validate(element), (
            f"we wrote invalid XML: {result.validator.error_log}"
        )
    if reference is not None:
        assert canonical(etree.tostring(_data(written))) == canonical(reference.encode("utf-8"))

    again = lib.read_message(written).body
    assert again == body, "what we wrote reads back differently"
    if message.name not in case.normalized:
        # Nothing the sender said is lost: order, pairs, lexical forms (white space aside).
        assert canonical(etree.tostring(_data(written))) == canonical(etree.tostring(data))


def test_generated_packages_pass_mypy_strict(built: Corpus) -> None:
    packages = [r for r in built.values() if r.exit_code == 0]
    paths = [str(r.src / r.case.package) for r in packages]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *paths],
        capture_output=True,
        text=True,
        check=False,
        cwd=packages[0].src.parent,
    )
    assert done.returncode == 0, done.stdout[-5000:]


def _payloads(result: Generated) -> dict[str, list[object]]:
    """The typed payloads of a case's samples, by the qname of their type."""
    found: dict[str, list[object]] = {}
    for message in _readable(result.case):
        body = result.package.read_message(result.envelope(message.read_bytes())).body
        part = (
            body.request.request_data if hasattr(body, "request") else body.response.response_data
        )
        qname = result.package.codec.payload_qname(part.data)
        if qname is not None:
            found.setdefault(qname, []).append(part.data)
    return found


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_generated_client_calls_generated_server(case: ConstructCase, built: Corpus) -> None:
    """Each service with a request and a response sample: the typed client against the typed
    server, over HTTP in process, in both SOAP versions; then a service fault reaches the client."""
    result = built[case.name]
    lib = result.package
    server = importlib.import_module(f"{lib.__name__}.server")
    client = importlib.import_module(f"{lib.__name__}.client")
    payloads = _payloads(result)
    called = 0
    for service in case.services:
        requests, responses = payloads.get(service["request"]), payloads.get(service["response"])
        if not requests or not responses:
            continue
        method = lib.SERVICES[service["id"]].method
        answer: dict[str, Any] = {"value": responses[0], "fault": False}

        def handle(
            self: object, request: object, context: object, answer: dict[str, Any] = answer
        ) -> object:
            if answer["fault"]:
                raise server.ServiceFault("refused on purpose", error_code="CASE_FAULT")
            return answer["value"]

        servicer = type("CaseServicer", (server.Servicer,), {method: handle})()
        app = server.make_app(servicer, server.ServerConfig(senders=None))
        for version in (lib.SoapVersion.SOAP11, lib.SoapVersion.SOAP12):
            http = httpx.Client(transport=httpx.WSGITransport(app=app))
            with client.Client(
                "http://case.test/sync", sender_id="s", soap_version=version, http=http
            ) as caller:
                answer["fault"] = False
                assert getattr(caller, method)(requests[0]) == responses[0]
                answer["fault"] = True
                with pytest.raises(client.GatewayFault) as fault:
                    getattr(caller, method)(requests[0])
                assert fault.value.error_code == "CASE_FAULT"
        called += 1
    assert called, "every case has a request and a response sample of one of its services"


def _wsdl_validator(result: Generated) -> etree.XMLSchema:
    """The WSDL's inline schemas compiled as one set, as the package compiles them to validate
    what it writes."""
    xmlsafe = importlib.import_module(f"{result.package.__name__}.xmlsafe")
    validator: etree.XMLSchema = xmlsafe.compile_wsdl_schemas(
        result.package.wsdl_text().encode("utf-8")
    )
    return validator


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_wsdl_schemas_are_the_contract(case: ConstructCase, built: Corpus) -> None:
    """The schemas inlined in the WSDL compile on their own and accept exactly what the XSD
    files accept: every sample, and what we write from it."""
    result = built[case.name]
    validator = _wsdl_validator(result)
    for message in _readable(case):
        envelope = result.envelope(message.read_bytes())
        written = result.package.write_envelope(result.package.read_message(envelope))
        for document in (envelope, written):
            for element in gateway_elements(etree.fromstring(document)):
                assert validator.validate(element), f"{message.name}: {validator.error_log}"


def _service_types(result: Generated) -> list[tuple[str, type[Any], bool]]:
    """(serviceId, payload class, is a request) for every service of a case."""
    found = []
    for service in result.case.services:
        for role in ("request", "response"):
            namespace, _, local = service[role][1:].partition("}")
            data = etree.Element("data", nsmap={"xsi": XSI, "p": namespace})
            data.set(f"{{{XSI}}}type", f"p:{local}")
            found.append((service["id"], _payload_class(result, data), role == "request"))
    return found


# The cases whose payload types are all of shapes the strategies cannot build (see strategies.py).
UNBUILT = ("abstract-xsi-type", "defaults", "groups-all-recursion", "nested-any-type", "nillable",
           "optional-element-defaults", "repeated-sequence", "simple-types", "union-member-order",
           "wildcards")  # fmt: skip
STRATEGY_CASES = [c for c in ACCEPTED if c.name not in UNBUILT]


@pytest.mark.parametrize("case", STRATEGY_CASES, ids=lambda c: c.name)
@settings(max_examples=examples(12), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_payloads_from_the_dataclasses(
    case: ConstructCase, built: Corpus, data: st.DataObject
) -> None:
    """Payloads hypothesis builds from the generated dataclasses: written as xsdata's serializer
    writes them, valid whenever the object is (xsdata writing the same), read back the same."""
    result = built[case.name]
    lib = result.package
    gateway = importlib.import_module(f"{lib.__name__}.gateway")
    strategies = Strategies(lib.models)
    built_types = [(s, c, r, strategies.of(c)) for s, c, r in _service_types(result)]
    assert any(strategy is not None for *_, strategy in built_types), "no payload type is built"
    for service_id, cls, is_request, strategy in built_types:
        if strategy is None:
            continue
        payload = data.draw(strategy, label=cls.__name__)
        if is_request:
            message = gateway.request_message(service_id, payload, sender_id="s")
        else:
            request = gateway.request_message(service_id, None, sender_id="s")
            message = gateway.response_message(request.request.request_info, payload)
        qname = lib.codec.payload_qname(payload)
        reference = XmlSerializer().render(DerivedElement(qname="data", value=payload, type=qname))
        try:
            written = lib.write_envelope(lib.Envelope(body=message))
        except lib.SerializationError as refused:
            # An object no valid message can carry (a required single choice with no
            # alternative, or two; a sequence of a choice given in part): refused, where xsdata
            # writes invalid XML.
            said = str(refused)
            assert "(an xs:choice)" in said or "would be invalid" in said, said
            empty = gateway.request_message(service_id, None, sender_id="s")
            if not is_request:
                empty = gateway.response_message(empty.request.request_info, None)
            wrapped = etree.fromstring(lib.write_envelope(lib.Envelope(body=empty)))
            holder = wrapped.find(".//requestData")
            holder = wrapped.find(".//responseData") if holder is None else holder
            assert holder is not None
            holder.append(etree.fromstring(reference.encode("utf-8")))
            assert not any(result.validator.validate(e) for e in gateway_elements(wrapped)), said
            continue
        assert canonical(etree.tostring(_data(written))) == canonical(reference.encode("utf-8"))
        assert lib.read_message(written).body == message
        valid = all(
            result.validator.validate(e) for e in gateway_elements(etree.fromstring(written))
        )
        assert valid, str(result.validator.error_log)


def test_a_type_named_by_xsi_type_is_this_packages_own(
    built: Corpus, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two packages of one schema in a process (two versions of a service, say): an xs:anyType
    field typed by xsi:type reads to the reading package's class, never to the other's — xsdata's
    own lookup would take the class imported last."""
    case = next(c for c in ACCEPTED if c.name == "nested-any-type")
    first = built[case.name]
    second = generate(
        dataclasses.replace(case, name="nested-any-type-again"), tmp_path_factory.mktemp("again")
    )
    assert second.exit_code == 0, second.output
    typed = case.folder / "messages" / "typed.xml"
    for reader, other in ((first, second), (second, first)):
        envelope = reader.envelope(typed.read_bytes())
        data = reader.package.read_message(envelope).body.request.request_data.data
        assert type(data.extra) is reader.package.models.Attachment, type(data.extra).__module__
        assert all(type(item) is not other.package.models.Attachment for item in data.items), (
            data.items
        )
        assert (
            reader.package.read_message(
                reader.package.write_envelope(reader.package.read_message(envelope))
            ).body.request.request_data.data
            == data
        )


def _walks(lib: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[type]:
    """The classes whose subclasses the package's xsdata contexts walk from now on."""
    walked: list[type] = []
    context_class = type(lib.xmlvalues.package_context(lib.models))
    walk = context_class.get_subclasses

    def spy(clazz: type) -> Iterator[type]:
        walked.append(clazz)
        yield from walk(clazz)

    monkeypatch.setattr(context_class, "get_subclasses", staticmethod(spy))
    return walked


def test_the_xsi_type_index_is_xsdatas_own_for_the_schema_classes(
    built: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each package's xsi:type index holds what xsdata's context finds among the classes of the
    package's models module, in xsdata's order (the last class of a name is the one taken), and is
    built without a walk over every class of the process."""
    libraries = {case.package: built[case.name].package for case in ACCEPTED}
    for lib in libraries.values():  # what a server imports lazily, before the index is built
        importlib.import_module(f"{lib.__name__}.serving")
    everything = XmlContext()  # one walk over every class of the process, for all the cases
    everything.build_xsi_cache()
    for package, lib in libraries.items():
        monkeypatch.delitem(lib.xmlvalues._XSI_INDEXES, f"{package}.models", raising=False)
        walked = _walks(lib, monkeypatch)
        ours = lib.xmlvalues.package_context(lib.models)
        ours.build_xsi_cache()
        assert object not in walked, package
        theirs = {
            qname: mine
            for qname, found in everything.xsi_cache.items()
            if (mine := [c for c in found if c.__module__ == f"{package}.models"])
        }
        assert dict(ours.xsi_cache) == theirs, package
        assert theirs, package
        assert "RequestContext" not in ours.xsi_cache and "RequestContext" in everything.xsi_cache


def test_the_xsi_type_index_is_not_rebuilt_after_an_import(
    built: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xsdata's own context walks every class of the process again once any module has been
    imported since; a package's index is built once, whatever is imported after."""
    result = built["nested-any-type"]
    lib = result.package
    envelope = result.envelope(result.sample("typed.xml"))
    first = lib.read_message(envelope)
    walked = _walks(lib, monkeypatch)
    monkeypatch.setitem(sys.modules, "imported_after_the_first_message", ModuleType("later"))
    assert lib.read_message(envelope) == first
    fresh = lib.xmlvalues.package_context(lib.models)
    assert fresh.find_type("{urn:case:anytype}Attachment") is lib.models.Attachment
    assert walked == []


@pytest.mark.parametrize("imported_first", [False, True], ids=["client", "server"])
def test_an_xsi_type_naming_a_runtime_class_reads_as_an_unknown_type(
    built: Corpus, tmp_path_factory: pytest.TempPathFactory, imported_first: bool
) -> None:
    """An xsi:type may name only a schema class: one naming a dataclass of the runtime (the
    server's RequestContext) is an unknown type to the package, as in any other process, whether
    the server's modules were imported before the first message or not (xsdata's own context
    found it once imported, and then could not bind it: an internal error)."""
    case = next(c for c in ACCEPTED if c.name == "nested-any-type")
    fresh = generate(
        dataclasses.replace(case, name=f"nested-any-type-{imported_first}"),
        tmp_path_factory.mktemp("runtime-class"),
    )
    lib = fresh.package
    if imported_first:
        importlib.import_module(f"{lib.__name__}.serving")
    sample = fresh.sample("typed.xml")
    named = sample.replace(b'<extra xsi:type="c:Attachment">', b'<extra xsi:type="RequestContext">')
    assert named != sample
    extra = lib.read_message(fresh.envelope(named)).body.request.request_data.data.extra
    assert type(extra).__name__ == "AnyElement", type(extra)
    if not imported_first:
        importlib.import_module(f"{lib.__name__}.serving")
    again = lib.read_message(fresh.envelope(named)).body.request.request_data.data.extra
    assert again == extra


def _refusal(result: Generated, message: str, original: bytes, replacement: bytes) -> Any:
    """The MessageError reading the sample `message` with `original` (which it holds) replaced."""
    sample = result.sample(message)
    assert original in sample, original
    with pytest.raises(result.package.MessageError) as refused:
        result.package.read_message(result.envelope(sample.replace(original, replacement, 1)))
    return refused.value


def _write_refusal(result: Generated, message: str, changes: dict[str, object]) -> str:
    """The SerializationError writing the sample `message` back with fields (each the first of
    its name in the tree) set to other values."""
    read = result.package.read_message(result.envelope(result.sample(message)))
    for field, value in changes.items():
        holder = _holder(read.body, field)
        assert holder is not None, field
        setattr(holder, field, value)
    with pytest.raises(result.package.SerializationError) as refused:
        result.package.write_envelope(read)
    return str(refused.value)


@pytest.mark.parametrize(
    ("original", "bad", "field"),
    [
        (b"<count>9</count>", b"<count>abc</count>", "DefaultsRequest.count"),
        (b'limit="3"', b'limit="3x"', "DefaultsRequest.limit"),
        (b"<mode>slow</mode>", b"<mode>medium</mode>", "DefaultsRequest.mode"),
        (b"<count>9</count>", b"<count>" + b"7" * 5000 + b"x</count>", "DefaultsRequest.count"),
    ],
    ids=["element", "attribute", "enumeration", "long"],
)
def test_a_value_xsdata_cannot_convert_is_refused(
    built: Corpus, original: bytes, bad: bytes, field: str
) -> None:
    """Through xsdata's generic parser: xsdata itself only warns and keeps the text (a str in an
    int or enum field); the codec refuses the message, naming the field, in a bounded reason."""
    refused = _refusal(built["defaults"], "given.xml", original, bad)
    assert field in refused.reason, refused.reason
    assert len(refused.reason) < 300, len(refused.reason)


def test_a_no_break_space_is_text_to_the_codecs(built: Corpus) -> None:
    """XML's white space is four characters; Python's str.split() and strip() take U+00A0 and
    others too. An enumeration value keeps them (the specialised reader)."""
    result = built["unicode-spaces"]
    read = result.package.read_message(result.envelope(result.sample("request.xml")))
    names = [n.value for n in read.body.request.request_data.data.name]
    assert names == ["a\u00a0b", "a b"]
    # Through xsdata's generic parser: a string keeps it, though a list elsewhere has its tag.
    read = result.package.read_message(result.envelope(result.sample("response.xml")))
    assert read.body.response.response_data.data.person.name == "Иван\u00a0Петров"


@pytest.mark.parametrize(
    ("original", "spaced"),
    [
        (b"<words>one two</words>", "<words>one\u00a0two</words>".encode()),
        (b"<name>a b</name>", "<name>a\u3000b</name>".encode()),
        (b'tags="x y"', 'tags="x\u2009y"'.encode()),
    ],
    ids=["element", "same-tag-as-a-string", "attribute"],
)
def test_a_list_xsdata_would_split_at_a_unicode_space_is_refused(
    built: Corpus, original: bytes, spaced: bytes
) -> None:
    """Through xsdata's generic parser, which splits a list at Python's white space: "one\u00a0two"
    is one item to XML, two to xsdata. The message is refused at the element, not misread."""
    refused = _refusal(built["unicode-spaces"], "response.xml", original, spaced)
    where = "/data" if b"tags" in original else "/" + original.decode()[1:].split(">")[0]
    assert "no-break" in refused.reason and refused.path.endswith(where), refused


def _holder(value: object, name: str) -> object | None:
    """The first dataclass in `value`'s tree with a field `name`."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return None
    if any(f.name == name for f in dataclasses.fields(value)):
        return value
    for each in dataclasses.fields(value):
        child = getattr(value, each.name)
        for item in child if isinstance(child, list) else [child]:
            found = _holder(item, name)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize(
    ("case_name", "message", "field", "wrong"),
    [
        ("doctype-schema", "response.xml", "ok", "false"),  # once written as "true"
        ("gateway-copy", "request.xml", "n", "5"),
        ("qualified", "request.xml", "from_value", "2024-01-01"),
        ("abstract-xsi-type", "derived.xml", "chip", 0),
        ("defaults", "given.xml", "count", "abc"),  # xsdata's generic serializer
        ("defaults", "given.xml", "limit", "3"),
        ("defaults", "given.xml", "mode", "medium"),
    ],
    ids=["str-for-bool", "str-for-int", "str-for-date", "int-for-bool", "generic-element",
         "generic-attribute", "generic-enum"],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_not_written(
    built: Corpus, case_name: str, message: str, field: str, wrong: object
) -> None:
    """A field holding a value of another type is a SerializationError naming the field, never
    its str() on the wire."""
    said = _write_refusal(built[case_name], message, {field: wrong})
    assert f".{field}: expected " in said, said


@pytest.mark.parametrize(
    ("message", "field", "items", "allowed"),
    [
        ("request.xml", "side", ["left"], "2 to 3"),
        ("request.xml", "side", ["a", "b", "c", "d"], "2 to 3"),
        ("request.xml", "note", ["x", "y", "z"], "0 to 2"),
        ("response.xml", "count", [], "at least 1"),
    ],
    ids=["too-few", "too-many", "optional-too-many", "none-of-at-least-one"],
)
def test_a_repeated_element_is_written_as_often_as_the_schema_allows(
    built: Corpus, message: str, field: str, items: list[object], allowed: str
) -> None:
    """minOccurs and maxOccurs of a repeated element: any other count would be an invalid
    message, so it is a SerializationError naming the field and the bounds."""
    said = _write_refusal(built["repeated-bounds"], message, {field: items})
    assert f".{field} has {len(items)} item(s); the schema allows {allowed}" in said, said


def test_an_object_of_an_elements_class_is_written_as_its_type(built: Corpus) -> None:
    """`models.LookupRequest` is xsdata's class of the element lookupRequest, a subclass of the
    type's class `LookupRequest1` with the same fields: the typed client and server accept it
    (mypy does), so it is written as the type, the same bytes."""
    result = built["element-named-like-its-type"]
    lib = result.package
    read = lib.read_message(result.envelope(result.sample("request.xml")))
    holder = read.body.request.request_data
    assert type(holder.data) is lib.models.LookupRequest1
    expected = lib.write_envelope(read)
    holder.data = lib.models.LookupRequest(key=holder.data.key)
    assert lib.codec.payload_qname(holder.data) == "{urn:case:element-type}LookupRequest"
    assert lib.write_envelope(read) == expected


@pytest.mark.parametrize(
    ("message", "changes", "said"),
    [
        (
            "request.xml",
            {"code": "O'SECRET-IIN-871215301234"},
            "Element 'code': the value or content breaks cvc-pattern-valid",
        ),
        ("request.xml", {"level": 300}, "Element 'level': the value or content breaks cvc-"),
        ("request.xml", {"to": None}, "Missing child element(s). Expected is ( to )"),
        ("request.xml", {"file": bytes(9000)}, "Element 'file': the value or content breaks cvc-"),
        ("response.xml", {"single": "S"}, "Element 'single': This element is not expected"),
        ("response.xml", {"last": None}, "Missing child element(s). Expected is ( last )"),
    ],
    ids=[
        "pattern",
        "range",
        "group-in-part",
        "long-base64",
        "choice-of-a-sequence-and-more",
        "sequence-in-part",
    ],
)
def test_what_the_writers_cannot_check_is_refused_by_the_schemas(
    built: Corpus, message: str, changes: dict[str, object], said: str
) -> None:
    """A message is validated against the package's schemas as it is written: an object that
    breaks a rule the dataclass cannot say is a SerializationError naming the element, never an
    invalid message. The value at fault is not in the reason (reasons are logged)."""
    reason = _write_refusal(built["written-valid"], message, changes)
    assert reason.startswith("the message would be invalid: ") and said in reason, reason
    assert "SECRET" not in reason and "300" not in reason and "/data" in reason, reason


def test_reading_does_not_check_facets_and_the_packages_schemas_do(built: Corpus) -> None:
    """As wire.md says: a value that breaks its pattern is read, as xsdata reads it, and the
    validator `xmlsafe.compile_wsdl_schemas` makes of the package's own WSDL refuses it."""
    result = built["written-valid"]
    lib = result.package
    envelope = result.envelope(
        result.sample("request.xml").replace(b"<code>ABC</code>", b"<code>abcd</code>")
    )
    assert lib.read_message(envelope).body.request.request_data.data.code == "abcd"
    validator = lib.xmlsafe.compile_wsdl_schemas(lib.services.wsdl_text().encode())
    [send_message] = gateway_elements(etree.fromstring(envelope))
    assert not validator.validate(send_message)
    assert "pattern" in str(validator.error_log), validator.error_log


def test_a_long_base64_value_within_its_length_facets_is_written(built: Corpus) -> None:
    """A base64 value of a type with length facets is validated as written: 3,000 bytes (more
    than a value spliced in after validation) within minLength 1 and maxLength 4000."""
    result = built["written-valid"]
    read = result.package.read_message(result.envelope(result.sample("request.xml")))
    read.body.request.request_data.data.file = bytes(range(256)) * 12
    again = result.package.read_message(result.package.write_envelope(read))
    assert again.body.request.request_data.data.file == bytes(range(256)) * 12


def test_a_derived_type_its_bases_block_default_forbids_is_not_written(built: Corpus) -> None:
    """address.xsd's blockDefault="#all" (not payload.xsd's, the same namespace): a PostalAddress
    where an Address is declared is refused on writing; OpenMore for Open, which payload.xsd does
    not block, is written (and read back)."""
    result = built["block-default"]
    lib = result.package
    read = lib.read_message(result.envelope(result.sample("request.xml")))
    data = read.body.request.request_data.data
    assert type(data.open).__name__ == "OpenMore"
    data.address = lib.models.PostalAddress(city="Almaty", index="050000")
    with pytest.raises(lib.SerializationError, match=r"Element 'address'"):
        lib.write_envelope(read)


@pytest.mark.parametrize("text", ["1e3", "NaN", "1E9999999", "١٢٣", "1_000.5", "+-1"])
def test_a_decimal_is_read_by_its_own_lexical_space(built: Corpus, text: str) -> None:
    """xs:decimal has no exponent, NaN or other digits: xsdata's converter takes them all, and
    1E9999999 (nine characters) would be written back as ten million digits."""
    result = built["typing-lists"]
    amount = f"<amounts>{text}</amounts>".encode()
    refused = _refusal(result, "request.xml", b"<amounts>1.50</amounts>", amount)
    assert "amounts" in refused.path, refused.path


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (Decimal("NaN"), "NaN is not an xs:decimal value"),
        (Decimal("-Infinity"), "-Infinity is not an xs:decimal value"),
        (Decimal("1E+9999999"), "a decimal of 10000000 digits written out (at most 10000)"),
        (Decimal("1E-20000"), "a decimal of 20001 digits written out"),
    ],
)
def test_a_decimal_that_cannot_be_written_is_refused(
    built: Corpus, value: Decimal, said: str
) -> None:
    result = built["typing-lists"]
    read = result.package.read_message(result.envelope(result.sample("request.xml")))
    read.body.request.request_data.data.amounts[0] = value
    with pytest.raises(result.package.SerializationError) as refused:
        result.package.write_envelope(read)
    assert ".amounts[0]: expected Decimal" in str(refused.value), str(refused.value)
    assert said in str(refused.value), str(refused.value)


@pytest.mark.parametrize(
    ("original", "nilled", "said"),
    [
        (b"<count>7</count>", b'<count xsi:nil="true">5</count>', "may have no content"),
        (b"<inner><code>b</code></inner>", b'<inner xsi:nil="true"><code>b</code></inner>',
         "may have no content"),
        (b"<inner><code>b</code></inner>", b'<inner xsi:nil="true" at="3"/>',
         "attributes of a nilled element"),
    ],
    ids=["text", "children", "attributes"],
)  # fmt: skip
def test_a_nilled_element_with_content_or_attributes_is_refused(
    built: Corpus, original: bytes, nilled: bytes, said: str
) -> None:
    """xsdata reads a nilled element as None, dropping its content (which XSD forbids) and its
    attributes (which it allows, and None cannot hold)."""
    refused = _refusal(built["nillable"], "values.xml", original, nilled)
    assert said in refused.reason, refused.reason
    tag = original[1 : original.index(b">")].decode()
    assert refused.path.endswith("/" + tag), refused.path


def test_an_empty_optional_element_reads_as_its_default(built: Corpus) -> None:
    """XSD gives an element present but empty its default or fixed value; xsdata drops those of
    optional and repeated elements from the dataclass (absent is None) and reads "" instead."""
    result = built["optional-element-defaults"]
    models = result.package.models

    def data(message: str) -> Any:
        sample = result.sample(message)
        return result.package.read_message(result.envelope(sample)).body.request.request_data.data

    empty = data("empty.xml")
    assert (empty.label, empty.weight) == ("unnamed", [Decimal(2), Decimal("1.5")])
    assert (empty.settings.retries, empty.settings.level) == (3, models.Level.HIGH)
    absent = data("absent.xml")
    assert (absent.label, absent.weight, absent.settings.retries) == (None, [], None)
    defaults = built["defaults"].package.read_message(
        built["defaults"].envelope(built["defaults"].sample("empty-elements.xml"))
    )
    given = defaults.body.request.request_data.data
    assert (given.mode, given.count, given.note, given.flag) == (
        built["defaults"].package.models.Mode.FAST,
        5,
        "none",
        True,
    )


def test_a_fixed_value_of_an_optional_element_is_kept(built: Corpus) -> None:
    """The fixed value xsdata drops from an optional element: another one is refused, read or
    written, where xsdata takes it."""
    result = built["optional-element-defaults"]
    refused = _refusal(result, "empty.xml", b"<level/>", b"<level>low</level>")
    assert "Settings.level is fixed to 'high' by the schema" in refused.reason
    read = result.package.read_message(result.envelope(result.sample("empty.xml")))
    read.body.request.request_data.data.settings.level = result.package.models.Level.LOW
    with pytest.raises(result.package.SerializationError, match="fixed to 'high'"):
        result.package.write_envelope(read)


def test_a_double_in_an_any_type_field_is_written_as_a_double(built: Corpus) -> None:
    """xsdata types a Python float of an xs:anyType field xs:float (a float32): another value to
    the receiver than the xs:double that was read."""
    result = built["nested-any-type"]
    sample = result.sample("typed.xml")
    typed = b'<extra xsi:type="c:Attachment"><name>a.pdf</name></extra>'
    assert typed in sample
    double = b'<extra xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:double">0.1</extra>'
    read = result.package.read_message(result.envelope(sample.replace(typed, double, 1)))
    assert read.body.request.request_data.data.extra == 0.1
    written = etree.fromstring(result.package.write_envelope(read))
    (extra,) = written.iter("extra")
    declared = extra.get(f"{{{XSI}}}type", "")
    assert extra.nsmap.get(declared.partition(":")[0]) == XS and declared.endswith(":double")
    assert extra.text == "0.1"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"<found><iin>1</iin></found><error>no</error>", "only one of found, error may be given"),
        (b"", "one of found, error is required"),
    ],
    ids=["both", "neither"],
)
def test_a_single_choice_takes_exactly_one_alternative(
    built: Corpus, content: bytes, said: str
) -> None:
    """The dataclass has an optional field per alternative of an xs:choice that occurs once;
    xsdata reads and writes any number of them."""
    result = built["repeated-choice"]
    refused = _refusal(result, "response-error.xml", b"<error>no</error>", content)
    assert said in refused.reason, refused.reason
    read = result.package.read_message(result.envelope(result.sample("response-error.xml")))
    data = read.body.response.response_data.data
    data.found = result.package.models.Person(iin="1") if content else None
    data.error = "no" if content else None
    with pytest.raises(result.package.SerializationError, match=r"PartiesResponse\.found"):
        result.package.write_envelope(read)


def test_a_decimal_payload_is_read_by_its_own_lexical_space(built: Corpus) -> None:
    """A payload typed xs:decimal by xsi:type: 1E9999999 would be ten million digits written."""
    decimal = b'"xs:decimal">1E9999999'
    refused = _refusal(built["builtin-payload"], "builtin-double.xml", b'"xs:double">0.1', decimal)
    assert "xs:decimal" in refused.reason, refused.reason


def test_a_nilled_element_of_wildcard_content_is_kept(built: Corpus) -> None:
    """Only an element of a nillable field reads as None; in wildcard content xsi:nil is one
    more attribute, and the element is kept whole."""
    result = built["wildcards"]
    sample = result.sample("foreign.xml")
    nilled = sample.replace(b"<f:empty/>", b'<f:empty xsi:nil="true" f:a="1"/>', 1)
    data = result.package.read_message(result.envelope(nilled)).body.request.request_data.data
    kept = [e for e in data.other_element if getattr(e, "qname", "") == "{urn:foreign}empty"]
    assert kept and kept[0].attributes.get("{urn:foreign}a") == "1", data.other_element


def test_reading_leaves_the_document_as_it_came(built: Corpus) -> None:
    """xsdata's parser empties the elements it reads: the codecs give it a copy, so the document
    (what a signature covers) is whole after reading."""
    result = built["nested-any-type"]
    envelope = result.envelope(result.sample("typed.xml"))
    read = result.package.read_message(envelope)
    assert read.document is not None
    assert canonical(etree.tostring(read.document)) == canonical(envelope)


def test_a_required_field_left_none_is_not_written_through_xsdata(built: Corpus) -> None:
    result = built["defaults"]
    read = result.package.read_message(result.envelope(result.sample("given.xml")))
    read.body.request.request_data.data.count = None
    with pytest.raises(
        result.package.SerializationError, match=r"data\.count: expected int, got NoneType"
    ):
        result.package.write_envelope(read)
