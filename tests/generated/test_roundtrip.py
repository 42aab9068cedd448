"""Every case of tests/cases: read to typed objects, check the values, write, compare, validate."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from medexempt import generated as g
from medexempt.generated import models
from tests.support import ROOT, Case, canonical, load_cases, validate_message

CASES = load_cases()
KINDS = {
    "request": models.SendMessage,
    "response": models.SendMessageResponse,
    "fault": g.SoapFault,
}


def resolve(body: object, path: str) -> Any:
    """Follow a dotted path; `payload.` is the data of the request or response."""
    node: Any = body
    parts = path.split(".")
    if parts[0] == "payload":
        data = body.request.request_data if isinstance(body, models.SendMessage) else None
        if isinstance(body, models.SendMessageResponse):
            data = body.response.response_data
        assert data is not None, "payload path on a message without one"
        node, parts = data.data, parts[1:]
    for part in parts:
        if part == "__len__":
            return len(node)
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    return node


def shown(value: Any) -> str:
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, g.FaultCode):
        return value.value
    return str(value)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reads_typed_values(case: Case) -> None:
    envelope = g.read_message(case.message)
    assert envelope.version.value == case.soap
    assert isinstance(envelope.body, KINDS[case.kind])
    if case.payload_type:
        assert type(resolve(envelope.body, "payload")).__name__ == case.payload_type
    for path, expected in case.expect.items():
        assert shown(resolve(envelope.body, path)) == expected, path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_writes_what_it_read(case: Case) -> None:
    envelope = g.read_message(case.message)
    written = g.write_envelope(envelope)
    again = g.read_message(written)
    assert again.body == envelope.body
    assert again.version is envelope.version
    if case.canonical_roundtrip:
        assert canonical(written) == canonical(case.message)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_written_message_is_valid(case: Case) -> None:
    written = g.write_envelope(g.read_message(case.message))
    assert validate_message(written) == []


def test_original_request_keeps_number_and_offset() -> None:
    (case,) = [c for c in CASES if c.name == "original-request"]
    body = g.read_request(case.message).body
    payload = body.request.request_data.data
    assert isinstance(payload, models.MedicalExemptionSearchRequest)
    assert payload.number == "01085"
    date = body.request.request_info.message_date
    assert (date.offset, date.hour, date.fractional_second) == (360, 10, 667_000_000)


def test_the_original_request_is_in_the_cases_verbatim() -> None:
    original = (ROOT / "docs" / "reference" / "medical-exemption-search.ru.txt").read_text(
        encoding="utf-8"
    )
    (case,) = [c for c in CASES if c.name == "original-request"]
    assert case.message.decode("utf-8").strip() in original


def test_threads_writing_at_once_each_validate_what_they_write() -> None:
    """Each thread compiles the package's schemas for the validation of what it writes, the first
    time it writes: side by side with other threads compiling, validating and reading (a server's
    first requests), every one compiles them whole."""
    from concurrent.futures import ThreadPoolExecutor

    sample = ROOT / "tests" / "cases" / "original-response-repaired" / "message.xml"
    message = g.read_message(sample.read_bytes())
    expected = g.write_envelope(message)

    def write(n: int) -> bytes | Exception:
        try:
            if n % 3 == 0:
                return g.write_envelope(g.read_message(expected))
            return g.write_envelope(message)
        except Exception as exc:  # kept, to be shown by the assertion below
            return exc

    for _ in range(30):  # new threads each round, each compiling
        with ThreadPoolExecutor(max_workers=8) as pool:
            written = list(pool.map(write, range(24)))
        assert written == [expected] * 24
