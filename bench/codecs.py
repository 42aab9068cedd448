"""Envelope codecs side by side in one process: raw lxml, xsdata's generic binding, zeep and ours.

Run from the project root (as a module: run as a script, this file would shadow the standard
library's `codecs`):

    python -m bench.codecs [--quick] [--out FILE.md] [--repeats N] [--min-time SECONDS]

Two messages: (a) the original's request, `tests/cases/original-request/message.xml`; (b) a
SUCCESS response with one UP_TO_DATE exemption carrying a 100 KiB certificate, built with the typed
models and written once with our codec. A round trip is bytes -> objects (or a tree) -> bytes;
rows that time one direction only are marked, for zeep's client-side halves and to compare with
them.

Method: every contender's answer is checked once before any timing, and a wrong answer stops the
run. Each contender is calibrated to a batch of calls lasting at least --min-time; then --repeats
rounds time one batch of every contender, the order rotating from round to round so that drifts
of the machine hit all alike, with the garbage collector off inside a batch (as `timeit` does). A
row gives the median and the best per-call time over the rounds, and the median's ratio to the
raw lxml round trip of the same message.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import importlib.metadata
import os
import platform
import random
import sys
import tempfile
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import zeep
import zeep.loader
import zeep.xsd
from lxml import etree
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.handlers import LxmlEventHandler
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDateTime

from bench.stats import Samples
from medexempt import generated as g
from medexempt.generated import models
from medexempt.generated.xmlsafe import new_parser

ROOT = Path(__file__).resolve().parent.parent
REQUEST_FILE = ROOT / "tests" / "cases" / "original-request" / "message.xml"

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SYNC_NS = "http://ehealth.kz/integration/sync"
CERTIFICATE_SIZE = 100 * 1024
QUICK_REPEATS = 3
QUICK_NUMBER = 2

_T = TypeVar("_T")

# zeep ships py.typed but leaves these unannotated: reached through Any, --strict accepts the calls.
_ZeepClient: Any = zeep.Client
_AnyObject: Any = zeep.xsd.AnyObject
_zeep_parse_xml: Any = zeep.loader.parse_xml

# `Envelope`'s type parameter is invariant, so `write_envelope(read_request(...))` type-checks only
# through this view of the very same function (no wrapper: nothing is added to what is timed).
write_envelope: Callable[[g.Envelope[Any]], bytes] = g.write_envelope

_BODY = "{" + SOAP11 + "}Body"
_ENVELOPE_OPEN = f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body>'.encode()
_ENVELOPE_CLOSE = b"</soap:Body></soap:Envelope>"

DESCRIPTION = "Envelope codecs side by side: raw lxml, xsdata generic, zeep and ours."
ROUND_TRIP = "round trip"
READ = "read only"
REFERENCE = "reference"
WRITE = "write only"


class BenchmarkError(RuntimeError):
    """A contender gave a wrong answer (or none), so its timings would mean nothing."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise BenchmarkError(what)


# --- the messages -------------------------------------------------------------------------------


def original_request() -> models.SendMessage:
    """The original's request as typed values, written out here rather than read by any codec."""
    return models.SendMessage(
        request=models.SyncSendMessageRequest(
            request_info=models.SyncMessageInfo(
                message_id="92769bcb-a615-4fec-ba5a-81c284d49763",
                service_id="EHEALTH_MEDICAL_EXEMPTION_SEARCH",
                message_date=XmlDateTime.from_string("2021-02-17T10:35:59.667+06:00"),
                sender=models.SenderInfo(sender_id="sender", password="password"),
            ),
            request_data=models.MessageData(
                data=models.MedicalExemptionSearchRequest(number="01085"),
            ),
        )
    )


def certificate_bytes() -> bytes:
    """100 KiB of deterministic noise standing in for a PDF (base64 does not care)."""
    return random.Random(0).randbytes(CERTIFICATE_SIZE)


def large_response() -> models.SendMessageResponse:
    """A SUCCESS reply with one UP_TO_DATE exemption whose certificate is 100 KiB."""
    success = "The request has been processed"
    procedure = "Иммунопрофилактика от коронавирусной инфекции"
    return models.SendMessageResponse(
        response=models.SyncSendMessageResponse(
            response_info=models.SyncMessageInfoResponse(
                message_id="1710849d-cbf3-4bb9-b972-484d1785e1c3",
                correlation_id="92769bcb-a615-4fec-ba5a-81c284d49763",
                response_date=XmlDateTime.from_string("2021-11-11T16:25:39.071+06:00"),
                status=models.StatusInfo(code="SUCCESS", message=success),
            ),
            response_data=models.MessageData(
                data=models.MedicalExemptionSearchResponse(
                    status=models.Status(code="SUCCESS", message=success),
                    medical_exemption_list=[
                        models.FoundMedicalExemption(
                            number="01085",
                            medical_procedure=models.Dictionary(
                                code="100", name_ru=procedure, name_kk=procedure
                            ),
                            status="UP_TO_DATE",
                            certificate=certificate_bytes(),
                        )
                    ],
                )
            ),
        )
    )


def request_payload(body: models.SendMessage) -> models.MedicalExemptionSearchRequest:
    payload = body.request.request_data.data
    _require(
        isinstance(payload, models.MedicalExemptionSearchRequest),
        f"request payload is {type(payload).__name__}, not MedicalExemptionSearchRequest",
    )
    assert isinstance(payload, models.MedicalExemptionSearchRequest)  # for the type checker
    return payload


def response_payload(body: models.SendMessageResponse) -> models.MedicalExemptionSearchResponse:
    payload = body.response.response_data.data
    _require(
        isinstance(payload, models.MedicalExemptionSearchResponse),
        f"response payload is {type(payload).__name__}, not MedicalExemptionSearchResponse",
    )
    assert isinstance(payload, models.MedicalExemptionSearchResponse)  # for the type checker
    return payload


# --- the contenders -----------------------------------------------------------------------------


def hardened_parser() -> etree.XMLParser:
    """The options of generated.xmlsafe's parser, so the floor and xsdata parse as ours does."""
    return new_parser()


class LxmlFloor:
    """Parse and serialize, nothing else: no types, no checks."""

    def __init__(self) -> None:
        self.parser = hardened_parser()

    def round_trip(self, data: bytes) -> bytes:
        return etree.tostring(etree.fromstring(data, self.parser), encoding="utf-8")


class XsdataGeneric:
    """xsdata's own parser and serializer over the generated dataclasses, the envelope by hand."""

    def __init__(self) -> None:
        self.parser = hardened_parser()
        context = XmlContext()
        self.binder = XmlParser(context=context, handler=LxmlEventHandler)
        self.serializer = XmlSerializer(
            context=context, config=SerializerConfig(xml_declaration=False)
        )

    def read(self, data: bytes, clazz: type[_T]) -> _T:
        # The lxml handler clears elements as it walks them, so every call parses afresh.
        root = etree.fromstring(data, self.parser)
        body = root.find(_BODY)
        if body is None or len(body) != 1:
            raise BenchmarkError("xsdata: no single element in a SOAP 1.1 Body")
        return self.binder.parse(body[0], clazz)

    def write(self, body: object) -> bytes:
        # xsdata's generic API has no SOAP envelope: wrap the rendered Body child in constant bytes.
        return _ENVELOPE_OPEN + self.serializer.render(body).encode("utf-8") + _ENVELOPE_CLOSE


@dataclass(frozen=True, slots=True)
class _Reply:
    """What zeep's `SoapBinding.process_reply` reads of a `requests.Response`."""

    content: bytes
    status_code: int = 200
    encoding: str = "utf-8"
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "text/xml; charset=utf-8"}
    )


def _zeep_bytes(envelope: Any) -> bytes:
    # The arguments of zeep.wsdl.utils.etree_to_string, which zeep's transport posts.
    return etree.tostring(envelope, pretty_print=False, xml_declaration=True, encoding="utf-8")


class Zeep:
    """A zeep client built from our WSDL; reading requests and writing replies use its internals."""

    def __init__(self, wsdl: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "service.wsdl"
            path.write_text(wsdl, encoding="utf-8")
            self.client: Any = _ZeepClient(str(path))
        self.binding: Any = self.client.service._binding
        self.operation: Any = self.binding.get("SendMessage")
        self.search_request: Any = self.client.get_type(
            "{" + SYNC_NS + "}MedicalExemptionSearchRequest"
        )

    def create_request(self, body: models.SendMessage) -> bytes:
        """What a client application does: plain values in, the request's bytes out."""
        info = body.request.request_info
        payload = request_payload(body)
        request = {
            "requestInfo": {
                "messageId": info.message_id,
                "serviceId": info.service_id,
                "messageDate": info.message_date.to_datetime(),
                "sender": {"senderId": info.sender.sender_id, "password": info.sender.password},
            },
            "requestData": {
                "data": _AnyObject(self.search_request, self.search_request(number=payload.number)),
            },
        }
        envelope = self.client.create_message(self.client.service, "SendMessage", request=request)
        return _zeep_bytes(envelope)

    def read_request(self, data: bytes) -> Any:
        """Server side, which zeep does not offer: its own parse, then the input message."""
        doc = _zeep_parse_xml(data, self.client.transport, settings=self.client.settings)
        return self.operation.input.deserialize(doc)

    def write_request(self, request: Any) -> bytes:
        envelope = self.client.create_message(self.client.service, "SendMessage", request=request)
        return _zeep_bytes(envelope)

    def read_reply(self, data: bytes) -> Any:
        """Client side: the binding's own processing of an HTTP 200 reply."""
        return self.binding.process_reply(self.client, self.operation, _Reply(data))

    def write_reply(self, response: Any) -> bytes:
        """Server side, which zeep does not offer: the operation's output message."""
        return _zeep_bytes(self.operation.output.serialize(response=response).content)


@dataclass(frozen=True, slots=True)
class Contender:
    name: str
    direction: str
    run: Callable[[], object]
    check: Callable[[object], None]


def _writes(expected: object, what: str) -> Callable[[object], None]:
    """Check of a contender that gives bytes: our reader must find exactly `expected` in them."""

    def check(out: object) -> None:
        _require(isinstance(out, bytes), f"{what} gave {type(out).__name__}, not bytes")
        assert isinstance(out, bytes)
        _require(b"01085" in out, f"{what}: the number 01085 is not in the output")
        body = g.read_message(out).body
        _require(body == expected, f"{what}: the output does not read back as the input")

    return check


def _canonical(data: bytes) -> bytes:
    return etree.tostring(etree.fromstring(data), method="c14n2")


def _floor_check(data: bytes, expected: object) -> Callable[[object], None]:
    typed = _writes(expected, "raw lxml")

    def check(out: object) -> None:
        typed(out)
        assert isinstance(out, bytes)
        _require(_canonical(out) == _canonical(data), "raw lxml: output is not the input")

    return check


def _is(expected: object, what: str) -> Callable[[object], None]:
    def check(got: object) -> None:
        _require(got == expected, f"{what}: the objects differ from the expected ones")

    return check


def _envelope_is(expected: object, what: str) -> Callable[[object], None]:
    def check(got: object) -> None:
        _require(isinstance(got, g.Envelope), f"{what} gave {type(got).__name__}")
        assert isinstance(got, g.Envelope)
        _require(got.body == expected, f"{what}: the body differs from the expected one")

    return check


def _zeep_request_check(expected: models.SendMessage) -> Callable[[object], None]:
    info = expected.request.request_info

    def check(got: Any) -> None:
        data = got.requestData.data
        _require(data is not None, "zeep read request: no payload")
        _require(
            getattr(data, "_xsd_type", None) is not None
            and data._xsd_type.qname == etree.QName(SYNC_NS, "MedicalExemptionSearchRequest"),
            "zeep read request: the payload was not typed by its xsi:type",
        )
        _require(data.number == "01085", f"zeep read request: number is {data.number!r}")
        _require(
            got.requestInfo.messageDate == info.message_date.to_datetime()
            and got.requestInfo.messageId == info.message_id,
            "zeep read request: requestInfo differs",
        )

    return check


def _zeep_reply_check(expected: models.SendMessageResponse) -> Callable[[object], None]:
    found = response_payload(expected).medical_exemption_list[0]

    def check(got: Any) -> None:
        data = got.responseData.data
        _require(data is not None, "zeep read reply: no payload")
        _require(
            getattr(data, "_xsd_type", None) is not None
            and data._xsd_type.qname == etree.QName(SYNC_NS, "MedicalExemptionSearchResponse"),
            "zeep read reply: the payload was not typed by its xsi:type",
        )
        (item,) = data.medicalExemptionList
        _require(item.number == "01085", f"zeep read reply: number is {item.number!r}")
        _require(item.status == "UP_TO_DATE", "zeep read reply: wrong status")
        _require(item.certificate == found.certificate, "zeep read reply: certificate differs")

    return check


@dataclass(frozen=True, slots=True)
class Message:
    key: str
    title: str
    data: bytes
    contenders: tuple[Contender, ...]
    notes: tuple[str, ...]


def request_message(floor: LxmlFloor, xs: XsdataGeneric, zp: Zeep) -> Message:
    data = REQUEST_FILE.read_bytes()
    expected = original_request()
    ours_env = g.read_request(data)
    xs_obj = xs.read(data, models.SendMessage)
    zp_obj = zp.read_request(data)
    contenders = (
        Contender(
            "raw lxml", ROUND_TRIP, lambda: floor.round_trip(data), _floor_check(data, expected)
        ),
        Contender(
            "xsdata generic",
            ROUND_TRIP,
            lambda: xs.write(xs.read(data, models.SendMessage)),
            _writes(expected, "xsdata round trip"),
        ),
        Contender(
            "xsdata generic: parse",
            READ,
            lambda: xs.read(data, models.SendMessage),
            _is(expected, "xsdata parse"),
        ),
        Contender(
            "xsdata generic: render",
            WRITE,
            lambda: xs.write(xs_obj),
            _writes(expected, "xsdata render"),
        ),
        Contender(
            "zeep: read request + create_message",
            ROUND_TRIP,
            lambda: zp.write_request(zp.read_request(data)),
            _writes(expected, "zeep round trip"),
        ),
        Contender(
            "zeep: create_message from values",
            WRITE,
            lambda: zp.create_request(expected),
            _writes(expected, "zeep create_message"),
        ),
        Contender(
            "zeep: read request (input.deserialize)",
            READ,
            lambda: zp.read_request(data),
            _zeep_request_check(expected),
        ),
        Contender(
            "zeep: create_message from what it read",
            WRITE,
            lambda: zp.write_request(zp_obj),
            _writes(expected, "zeep create_message from objects"),
        ),
        Contender(
            "ours",
            ROUND_TRIP,
            lambda: write_envelope(g.read_request(data)),
            _writes(expected, "ours round trip"),
        ),
        Contender(
            "ours: read_request",
            READ,
            lambda: g.read_request(data),
            _envelope_is(expected, "ours read"),
        ),
        Contender(
            "ours: write_envelope",
            WRITE,
            lambda: write_envelope(ours_env),
            _writes(expected, "ours write"),
        ),
    )
    payload = xs_obj.request.request_data.data
    notes = (
        "xsdata's generic parser bound the xsi:typed payload to "
        f"`{type(payload).__module__}.{type(payload).__qualname__}`"
        f" (number {getattr(payload, 'number', None)!r}).",
        "zeep bound it to a `CompoundValue` of its own type "
        f"`{zp_obj.requestData.data._xsd_type.qname}`.",
    )
    return Message("a", "(a) the original's request", data, contenders, notes)


def response_message(floor: LxmlFloor, xs: XsdataGeneric, zp: Zeep) -> Message:
    expected = large_response()
    data = g.write_envelope(g.Envelope(body=expected, version=g.SoapVersion.SOAP11))
    ours_env = g.read_response(data)
    xs_obj = xs.read(data, models.SendMessageResponse)
    zp_obj = zp.read_reply(data)
    certificate = response_payload(expected).medical_exemption_list[0].certificate or b""
    encoded = base64.b64encode(certificate).decode("ascii")
    contenders = (
        Contender(
            "raw lxml", ROUND_TRIP, lambda: floor.round_trip(data), _floor_check(data, expected)
        ),
        Contender(
            "stdlib base64 of the certificate: decode + encode",
            REFERENCE,
            lambda: base64.b64encode(base64.b64decode(encoded)),
            _is(encoded.encode("ascii"), "base64 reference"),
        ),
        Contender(
            "xsdata generic",
            ROUND_TRIP,
            lambda: xs.write(xs.read(data, models.SendMessageResponse)),
            _writes(expected, "xsdata round trip"),
        ),
        Contender(
            "xsdata generic: parse",
            READ,
            lambda: xs.read(data, models.SendMessageResponse),
            _is(expected, "xsdata parse"),
        ),
        Contender(
            "xsdata generic: render",
            WRITE,
            lambda: xs.write(xs_obj),
            _writes(expected, "xsdata render"),
        ),
        Contender(
            "zeep: process_reply + output.serialize",
            ROUND_TRIP,
            lambda: zp.write_reply(zp.read_reply(data)),
            _writes(expected, "zeep round trip"),
        ),
        Contender(
            "zeep: read reply (process_reply)",
            READ,
            lambda: zp.read_reply(data),
            _zeep_reply_check(expected),
        ),
        Contender(
            "zeep: write reply (output.serialize)",
            WRITE,
            lambda: zp.write_reply(zp_obj),
            _writes(expected, "zeep output.serialize"),
        ),
        Contender(
            "ours",
            ROUND_TRIP,
            lambda: write_envelope(g.read_response(data)),
            _writes(expected, "ours round trip"),
        ),
        Contender(
            "ours: read_response",
            READ,
            lambda: g.read_response(data),
            _envelope_is(expected, "ours read"),
        ),
        Contender(
            "ours: write_envelope",
            WRITE,
            lambda: write_envelope(ours_env),
            _writes(expected, "ours write"),
        ),
    )
    payload = xs_obj.response.response_data.data
    notes = (
        "xsdata's generic parser bound the xsi:typed payload to "
        f"`{type(payload).__module__}.{type(payload).__qualname__}`.",
        f"The certificate's {CERTIFICATE_SIZE:,} bytes are {4 * -(-CERTIFICATE_SIZE // 3):,} "
        f"characters of base64, most of the message's {len(data):,} bytes.",
    )
    return Message("b", "(b) a response with one 100 KiB certificate", data, contenders, notes)


# --- timing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing(Samples):
    contender: Contender


def verify(contender: Contender) -> None:
    try:
        contender.check(contender.run())
    except BenchmarkError as exc:
        raise BenchmarkError(f"{contender.name} ({contender.direction}): {exc}") from None
    except Exception as exc:
        raise BenchmarkError(f"{contender.name} ({contender.direction}) raised {exc!r}") from exc


def calibrate(run: Callable[[], object], min_time: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... calls whose batch lasts `min_time` (as timeit)."""
    timer = timeit.Timer(run)
    base = 1
    while True:
        for factor in (1, 2, 5):
            number = base * factor
            if timer.timeit(number) >= min_time:
                return number
        base *= 10


def measure(
    contenders: Sequence[Contender], *, repeats: int, min_time: float, number: int | None
) -> list[Timing]:
    numbers = [number or calibrate(c.run, min_time) for c in contenders]
    timers = [timeit.Timer(c.run) for c in contenders]
    samples: list[list[float]] = [[] for _ in contenders]
    count = len(contenders)
    for round_ in range(repeats):
        for offset in range(count):
            i = (round_ + offset) % count
            samples[i].append(timers[i].timeit(numbers[i]) / numbers[i])
    return [
        Timing(number=n, seconds=tuple(s), contender=c)
        for c, n, s in zip(contenders, numbers, samples, strict=True)
    ]


# --- the report ---------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _usable_cpus() -> str:
    affinity = getattr(os, "sched_getaffinity", None)
    return "" if affinity is None else f", {len(affinity(0))} usable by this process"


def header(args: argparse.Namespace) -> str:
    lxml_v = ".".join(map(str, etree.LXML_VERSION[:3]))
    libxml_v = ".".join(map(str, etree.LIBXML_VERSION))
    libxml_c = ".".join(map(str, etree.LIBXML_COMPILED_VERSION))
    if args.quick:
        method = (
            f"--quick: {QUICK_REPEATS} rounds of {QUICK_NUMBER} calls per contender "
            "(a smoke run; the numbers mean little)"
        )
    else:
        method = (
            f"{args.repeats} rounds; per contender a batch of calls lasting ≥ "
            f"{args.min_time * 1000:g} ms (calibrated), the order rotating each round, gc off "
            "inside a batch; median and best of the per-call times over the rounds; spread = "
            "interquartile range / median"
        )
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            "# Envelope codecs: bytes → objects → bytes",
            "",
            f"- date: {date}",
            f"- machine: {platform.platform()}; {_cpu_model()}; "
            f"{os.cpu_count()} logical CPUs{_usable_cpus()}",
            f"- python: {platform.python_implementation()} {platform.python_version()} "
            f"({platform.python_compiler()})",
            f"- lxml {lxml_v} (libxml2 {libxml_v}, compiled against {libxml_c}), "
            f"xsdata {importlib.metadata.version('xsdata')}, "
            f"zeep {importlib.metadata.version('zeep')}",
            f"- method: {method}",
            f"- command: `{' '.join(['python -m bench.codecs', *args.argv])}`",
        ]
    )


def table(message: Message, timings: Sequence[Timing]) -> str:
    floors = [t for t in timings if t.contender.name == "raw lxml"]
    _require(len(floors) == 1, "no raw lxml row to compare with")
    floor = floors[0].median
    lines = [
        f"## {message.title}",
        "",
        f"{len(message.data):,} bytes on the wire.",
        "",
        "| contender | timed | µs per op (median) | best µs | spread | × raw lxml round trip |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for t in timings:
        name = t.contender.name
        shown = f"**{name}**" if t.contender.direction == ROUND_TRIP else name
        lines.append(
            f"| {shown} | {t.contender.direction} | {t.median * 1e6:,.1f} | {t.best * 1e6:,.1f} "
            f"| {t.spread:.0%} | {t.median / floor:.1f} |"
        )
    lines.append("")
    lines.extend(f"- {note}" for note in message.notes)
    return "\n".join(lines)


NOTES = """\
## What each row does

- **raw lxml** (the floor): `etree.fromstring(data, parser)` with the options of our hardened
  parser, then `etree.tostring(root, encoding="utf-8")`; no types, no checks.
- **xsdata generic**: lxml parses the envelope, `XmlParser(handler=LxmlEventHandler)` binds the
  Body's child to `models.SendMessage` / `models.SendMessageResponse` (the handler clears
  elements as it walks them, so every call parses the bytes afresh); `XmlSerializer.render` writes
  the element back and the result is encoded to UTF-8. xsdata's generic API has no SOAP envelope,
  so the envelope around the rendered element is two constant byte strings, and the Header is
  neither read nor written.
- **zeep** (a client): built from `generated/service.wsdl`. `create_message` builds the request
  from plain values, the payload as `AnyObject(MedicalExemptionSearchRequest, ...)`; reading a
  reply is `binding.process_reply(client, operation, response)` on an HTTP-200 stand-in (zeep's
  own parse with a new parser per call, fault check, `operation.process_reply`). zeep has no
  server side: reading a request (`operation.input.deserialize` after `zeep.loader.parse_xml`) and
  writing a reply (`operation.output.serialize`) use its internal message objects. Its round trips
  are measured, not summed: read, then write what was read. Bytes come out as zeep's transport
  makes them (`etree.tostring(..., xml_declaration=True, encoding="utf-8")`).
- **ours**: `g.read_request` / `g.read_response` (hardened parse, DOCTYPE/PI refusal, every element
  checked, typed dataclasses) and `g.write_envelope`.
- **stdlib base64** (message b only, a reference, not a contender): `b64decode` then `b64encode`
  of the certificate's text, the work every typed reader and writer of this message must do.
- Every contender's output was checked once before timing: bytes must read back (with our reader)
  as exactly the expected message; objects must equal the expected dataclasses, or for zeep carry
  number 01085 (and, for the reply, the same certificate bytes) under the xsi:type-named type.
"""


def run(args: argparse.Namespace) -> str:
    floor, xs, zp = LxmlFloor(), XsdataGeneric(), Zeep(g.wsdl_text())
    messages = [request_message(floor, xs, zp), response_message(floor, xs, zp)]
    for message in messages:
        for contender in message.contenders:
            verify(contender)
    sections = [header(args)]
    for message in messages:
        print(f"timing {message.title} ...", file=sys.stderr, flush=True)
        timings = measure(
            message.contenders,
            repeats=QUICK_REPEATS if args.quick else args.repeats,
            min_time=args.min_time,
            number=QUICK_NUMBER if args.quick else None,
        )
        sections.append(table(message, timings))
    sections.append(NOTES)
    return "\n\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.codecs", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="a few calls per contender (CI smoke)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--repeats", type=int, default=25, help="timed rounds (default 25)")
    parser.add_argument(
        "--min-time",
        type=float,
        default=0.05,
        help="seconds a calibrated batch lasts at least (default 0.05)",
    )
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.repeats < 1 or args.min_time <= 0:
        parser.error("--repeats must be ≥ 1 and --min-time > 0")
    try:
        report = run(args)
    except BenchmarkError as exc:
        print(f"benchmark FAILED, a contender is wrong: {exc}", file=sys.stderr)
        return 1
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
