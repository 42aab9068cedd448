"""Fuzzing the whole intake: bytes in, a WSGI response out, whatever the bytes.

Hypothesis draws random bytes and mutated valid envelopes (bytes flipped, cut short, XML
fragments inserted, elements renamed or repeated), a Content-Type among the accepted and the
refused ones, and a way of framing the body; the in-process app (`make_app` on the end-to-end
tests' small service) must never raise, must answer with a known status, and when it answers in
SOAP the answer must be a well-formed SOAP 1.1 or 1.2 Envelope, valid against the XSD set, in the
version its Content-Type says, with the HTTP status the SOAP version and the fault code call for.

Profiles: `intake-fuzz` (default, random, ~300 examples) and `intake-fuzz-ci` (derandomized: the
same examples on every run; chosen when the CI environment variable is set, or with
MEDEXEMPT_FUZZ_PROFILE). MEDEXEMPT_FUZZ_EXAMPLES raises the count for a longer local run; the
atheris harness in fuzz/ is for runs of hours.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from medexempt.generated import models
from medexempt.generated.envelope import FaultCode, SoapFault, SoapVersion, read_response
from medexempt.generated.passwords import hash_password
from medexempt.generated.server import ServerConfig, SyncChannelApp, make_app
from tests.e2e.service import PASSWORD, SENDER_ID, SearchService
from tests.harness import WsgiAnswer, wsgi_call
from tests.support import CASES, ROOT, examples, validate_message

SEEDS = tuple(sorted(path.read_bytes() for path in CASES.glob("*/message.xml")))
MAX_BODY = 16 * 1024
EXAMPLES = int(os.environ.get("MEDEXEMPT_FUZZ_EXAMPLES", str(examples(300))))
_COMMON: dict[str, Any] = {
    "max_examples": EXAMPLES,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("intake-fuzz", **_COMMON)
settings.register_profile("intake-fuzz-ci", derandomize=True, database=None, **_COMMON)
PROFILE = settings.get_profile(
    os.environ.get("MEDEXEMPT_FUZZ_PROFILE")
    or ("intake-fuzz-ci" if os.environ.get("CI") else "intake-fuzz")
)

_SENDERS = {
    SENDER_ID: hash_password(PASSWORD, n=2**10),
    "sender": hash_password("password", n=2**10),
}
APPS: dict[str, SyncChannelApp] = {
    # the service reached: no messageDate window (the samples are dated 2021)
    "open": make_app(
        SearchService(),
        ServerConfig(senders=_SENDERS, max_body_bytes=MAX_BODY, max_message_age=None),
    ),
    # the defaults a deployment has: the window on
    "window": make_app(SearchService(), ServerConfig(senders=_SENDERS, max_body_bytes=MAX_BODY)),
}
ACCEPTED = {"text/xml": SoapVersion.SOAP11, "application/xml": SoapVersion.SOAP11,
            "application/soap+xml": SoapVersion.SOAP12}  # fmt: skip
CONTENT_TYPES = [
    "text/xml",
    "text/xml; charset=utf-8",
    "TEXT/XML;charset=UTF-8",
    "application/xml",
    "application/soap+xml",
    'application/soap+xml; charset=utf-8; action=""',
    "application/soap+xml; action=urn:x",
    # refused
    "",
    "text/plain",
    "application/json",
    "application/soap",
    "text/xml-external-parsed-entity",
    "multipart/related; type=application/xop+xml",
]
STATUSES = {200, 400, 405, 411, 413, 415, 500}
FRAGMENTS = [
    b"<x/>", b"<!DOCTYPE a>", b'<!DOCTYPE a [<!ENTITY e "x">]>', b"&e;", b"&amp;", b"&#0;",
    b"&#x10FFFF;", b"<?pi x?>", b"<![CDATA[<a>]]>", b"<!-- c -->", b"</soap:Body>",
    b"<soap:Body/>", b"<soap:Header/>", b'<h soap:mustUnderstand="1" xmlns:h="urn:h"/>',
    b'xmlns:soap="http://www.w3.org/2003/05/soap-envelope"', b'xsi:type="ns5:Nope"',
    b'xsi:nil="true"', b"<number>boom</number>", b"<number>refuse</number>", b"<iin>1</iin>",
    b"\x00", b"\xff", b"\xd0", "№ Ә ё \u2028".encode(), b"\xef\xbb\xbf", b"]]>", b"<", b">",
    b'"', b"'", b"=",
]  # fmt: skip
_TAG = re.compile(rb"<(/?)([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_ELEMENTS = [b"messageId", b"serviceId", b"messageDate", b"sender", b"senderId", b"password",
             b"number", b"iin", b"requestInfo", b"requestData", b"data", b"request"]  # fmt: skip
NAMES = st.sampled_from([b"x", b"Body", b"Envelope", b"Header", b"Fault", b"nomber", *_ELEMENTS])


# --- mutations ----------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A sample message with a few mutations applied in turn."""
    data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "rename", "duplicate", "delete"]))
        data = MUTATIONS[kind](draw, data)
    return data


def _position(draw: st.DrawFn, data: bytes) -> int:
    return draw(st.integers(0, len(data)))


def _flip(draw: st.DrawFn, data: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]


def _cut(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: _position(draw, data)]


def _insert(draw: st.DrawFn, data: bytes) -> bytes:
    at = _position(draw, data)
    fragment = draw(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=16)))
    return data[:at] + fragment + data[at:]


def _rename(draw: st.DrawFn, data: bytes) -> bytes:
    """Rename one element: its start tag, and its end tag when it has one."""
    tags = [m for m in _TAG.finditer(data) if not m.group(1)]
    if not tags:
        return data
    tag = draw(st.sampled_from(tags))
    prefix, old = tag.group(2) or b"", tag.group(3)
    new = draw(NAMES)
    end = b"</" + prefix + old + b">"
    close = data.find(end, tag.end())
    if close >= 0:
        data = data[:close] + b"</" + prefix + new + b">" + data[close + len(end) :]
    return data[: tag.start(3)] + new + data[tag.end(3) :]


def _duplicate(draw: st.DrawFn, data: bytes) -> bytes:
    """Repeat one element (start tag to end tag) right after itself."""
    name = draw(st.sampled_from([b"Body", b"Header", *_ELEMENTS]))
    found = re.search(
        rb"<([\w.-]+:)?" + name + rb"[\s>].*?</([\w.-]+:)?" + name + rb">", data, re.S
    )
    if found is None:
        return data
    return data[: found.end()] + found.group(0) + data[found.end() :]


def _delete(draw: st.DrawFn, data: bytes) -> bytes:
    """Remove one element, start tag to end tag."""
    name = draw(st.sampled_from([b"Body", b"Header", *_ELEMENTS]))
    found = re.search(
        rb"<([\w.-]+:)?" + name + rb"[\s>].*?</([\w.-]+:)?" + name + rb">", data, re.S
    )
    return data if found is None else data[: found.start()] + data[found.end() :]


MUTATIONS = {
    "flip": _flip,
    "cut": _cut,
    "insert": _insert,
    "rename": _rename,
    "duplicate": _duplicate,
    "delete": _delete,
}
BODIES = st.one_of(
    mutated(),
    mutated(),  # twice as likely as the rest: most interesting inputs are nearly right
    st.sampled_from(SEEDS),
    st.binary(max_size=2048),
    st.builds(lambda head, tail: head + tail, st.sampled_from(SEEDS), st.binary(max_size=64)),
)


# --- the call -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Framing:
    method: str = "POST"
    length: str = "auto"  # auto: the body's; none: chunked; anything else is sent as is


FRAMINGS = st.one_of(
    st.just(Framing()),
    st.just(Framing()),
    st.just(Framing()),
    st.builds(Framing, method=st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "post"])),
    st.builds(
        Framing,
        length=st.sampled_from(["none", "none-no-end", "abc", "-1", "1e3", "+5", "99999999", "0"]),
    ),
)


def call(app: SyncChannelApp, body: bytes, content_type: str, framing: Framing) -> WsgiAnswer:
    length: str | None = framing.length
    if framing.length in ("none", "none-no-end"):
        length = None
    return wsgi_call(
        app,
        body,
        content_type=content_type,
        method=framing.method,
        content_length=length,
        terminated=framing.length == "none",
    )


def check(answer: WsgiAnswer, content_type: str, framing: Framing) -> None:
    """The property: a known status, and a SOAP answer that is what its status says."""
    assert answer.status in STATUSES, answer
    media = answer.headers["content-type"].split(";")[0].strip()
    soap_request = content_type.split(";")[0].strip().lower() in ACCEPTED
    if media == "text/plain":
        assert answer.status in {400, 405, 411, 413, 415}, answer
        if answer.status == 415:
            assert not soap_request
        if answer.status == 400:
            assert framing.length not in {"auto", "none"}, answer  # only a bad Content-Length
        return
    assert framing.method == "POST" and soap_request, answer
    envelope = read_response(answer.body)
    assert media == envelope.version.content_type.split(";")[0]
    assert not validate_message(answer.body), answer.body
    body = envelope.body
    if isinstance(body, SoapFault):
        sender = envelope.version is SoapVersion.SOAP12 and body.code is FaultCode.SENDER
        assert answer.status == (400 if sender else 500), answer
        assert body.detail is not None and body.detail.error_code
        for leak in (b"Traceback", b"a bug with a secret detail", b"lxml", b'File "'):
            assert leak not in answer.body
    else:
        assert isinstance(body, models.SendMessageResponse)
        assert answer.status == 200, answer


# --- the property -------------------------------------------------------------------------------


@PROFILE
@given(
    body=BODIES,
    content_type=st.one_of(  # mostly accepted: the refused ones stop before the parser
        st.sampled_from(CONTENT_TYPES[:7]),
        st.sampled_from(CONTENT_TYPES[:7]),
        st.sampled_from(CONTENT_TYPES),
    ),
    framing=FRAMINGS,
    app_name=st.sampled_from(sorted(APPS)),
)
@example(body=SEEDS[0], content_type="text/xml", framing=Framing(), app_name="open")
@example(body=b"", content_type="application/soap+xml", framing=Framing(), app_name="open")
@example(body=b"\xef\xbb\xbf", content_type="text/xml", framing=Framing("POST", "none"),
         app_name="open")  # fmt: skip
def test_intake_answers_every_input(
    body: bytes, content_type: str, framing: Framing, app_name: str
) -> None:
    answer = call(APPS[app_name], body, content_type, framing)  # never raises

    event(f"HTTP {answer.status}")
    check(answer, content_type, framing)


def test_every_sample_gets_a_soap_answer() -> None:
    """The seeds themselves, unmutated, in both versions: requests answered, the rest faulted."""
    for seed in SEEDS:
        for content_type in ("text/xml", "application/soap+xml"):
            answer = call(APPS["open"], seed, content_type, Framing())
            check(answer, content_type, Framing())
            assert answer.headers["content-type"].split(";")[0] in {
                "text/xml",
                "application/soap+xml",
            }


def test_the_atheris_harness_holds_on_the_samples(tmp_path: Any) -> None:
    """fuzz/intake.py imports without atheris, seeds its corpus, and its property holds there."""
    spec = importlib.util.spec_from_file_location("fuzz_intake", ROOT / "fuzz" / "intake.py")
    assert spec is not None and spec.loader is not None
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)

    assert harness.seed_corpus(tmp_path) == 2 * len(SEEDS)
    for path in sorted(tmp_path.iterdir()):
        harness.check_one(path.read_bytes())
        harness.check_one(b"\x80" + path.read_bytes()[1:])  # chunked
    for selector in range(8):
        harness.check_one(bytes([selector]))
