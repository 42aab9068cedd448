"""An atheris harness over the whole intake: bytes in, a WSGI response out.

The same property as tests/service/test_fuzz_intake.py, for runs of hours with coverage guidance:
the first bytes of the input choose the Content-Type and the framing, the rest is the body; the app
(`make_app` on the end-to-end tests' small service) must not raise, must answer with a known
status, and a SOAP answer must be a well-formed Envelope with the status its version and fault
code call for. See fuzz/README.md for how to install atheris and run it.

Importable (and type-checked) without atheris: `check_one(data)` is the property, and `main()`
imports atheris only when it runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from medexempt.generated import models  # noqa: E402  (after the path set-up above)
from medexempt.generated.envelope import FaultCode, SoapFault, SoapVersion, read_response  # noqa: E402
from medexempt.generated.passwords import hash_password  # noqa: E402
from medexempt.generated.server import (  # noqa: E402
    RequestContext,
    ServerConfig,
    ServiceFault,
    Servicer,
    SyncChannelApp,
    make_app,
)
from tests.harness import wsgi_call  # noqa: E402

CASES = ROOT / "tests" / "cases"
MAX_BODY = 64 * 1024
STATUSES = frozenset({200, 400, 405, 411, 413, 415, 500})
CONTENT_TYPES = (
    "text/xml; charset=utf-8",
    'application/soap+xml; charset=utf-8; action=""',
    "application/xml",
    "text/plain",
)
SOAP_MEDIA = frozenset({"text/xml", "application/soap+xml", "application/xml"})
LEAKS = (b"Traceback", b"a secret detail", b"lxml", b'File "')


class Search(Servicer):
    """Numbers decide the outcome, as in the end-to-end service: every path of the app."""

    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        if request.number == "boom":
            raise RuntimeError("a secret detail")
        if request.number == "refuse":
            raise ServiceFault("refused on purpose", error_code="REFUSED")
        code = "SUCCESS" if request.number == "01085" else "NOT_FOUND"
        return models.MedicalExemptionSearchResponse(status=models.Status(code=code, message=code))


def build_app() -> SyncChannelApp:
    # scrypt is slow on purpose: a cheap cost for the fuzzer (the samples' sender is "sender").
    senders = {"sender": hash_password("password", n=2, r=1, p=1)}
    return make_app(
        Search(), ServerConfig(senders=senders, max_body_bytes=MAX_BODY, max_message_age=None)
    )


APP = build_app()


def call(data: bytes) -> tuple[int, dict[str, str], bytes, str, bool]:
    """Call the app with an input decoded from `data`; the answer and the request's shape."""
    selector = data[0] if data else 0
    content_type = CONTENT_TYPES[selector % len(CONTENT_TYPES)]
    chunked = bool(selector & 0x80)
    body = data[1:]
    answer = wsgi_call(
        APP, body, content_type=content_type, content_length=None if chunked else "auto",
        terminated=chunked,
    )  # fmt: skip
    status, header_map, content = answer.status, answer.headers, answer.body
    soap_request = content_type.split(";")[0] in SOAP_MEDIA
    return status, header_map, content, content_type, soap_request


def check_one(data: bytes) -> None:
    """The property; raises AssertionError (a finding) when it does not hold."""
    status, headers, body, content_type, soap_request = call(data)
    if status not in STATUSES:
        raise AssertionError(f"status {status}")
    if int(headers["content-length"]) != len(body):
        raise AssertionError("Content-Length does not match the body")
    media = headers["content-type"].split(";")[0].strip()
    if media == "text/plain":
        if status not in {405, 411, 413, 415} or (status == 415) == soap_request:
            raise AssertionError(f"{status} text/plain for {content_type}")
        return
    envelope = read_response(body)  # a MessageError here is a finding
    if media != envelope.version.content_type.split(";")[0]:
        raise AssertionError(f"{media} answer holds SOAP {envelope.version.value}")
    answer = envelope.body
    if isinstance(answer, SoapFault):
        sender = envelope.version is SoapVersion.SOAP12 and answer.code is FaultCode.SENDER
        if status != (400 if sender else 500):
            raise AssertionError(f"HTTP {status} for a {answer.code} fault in {media}")
        if any(leak in body for leak in LEAKS):
            raise AssertionError("internal detail in a fault")
    elif not isinstance(answer, models.SendMessageResponse) or status != 200:
        raise AssertionError(f"HTTP {status} for {type(answer).__name__}")


def seed_corpus(folder: Path) -> int:
    """Write the sample messages, each behind a selector byte per content type, into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(CASES.glob("*/message.xml")):
        for selector in range(2):
            (folder / f"{path.parent.name}-{selector}").write_bytes(
                bytes([selector]) + path.read_bytes()
            )
            count += 1
    return count


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[1] == "--seed":
        print(f"{seed_corpus(Path(argv[2]))} seeds written to {argv[2]}")
        return
    if len(argv) >= 3 and argv[1] == "--check":  # replay inputs (crash files) without atheris
        for name in argv[2:]:
            check_one(Path(name).read_bytes())
            print(f"{name}: ok")
        return
    try:
        import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (see fuzz/README.md)")
    # The project's modules are imported above; instrument them (and everything else in Python)
    # now, so that libFuzzer sees coverage of the codecs and the server.
    atheris.instrument_all()
    atheris.Setup(argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
