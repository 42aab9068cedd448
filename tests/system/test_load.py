"""Load without loss: a fixed number of requests from concurrent clients against `medexempt serve`.

`python -m medexempt serve --demo --workers 3` runs on a fresh SQLite database on loopback; 16
threads, each with its own generated `Client` (SOAP 1.1 and 1.2 alternating), send a fixed mix of
found / not-found / invalid searches over the demo data, plus malformed envelopes posted raw. Every
answer is checked against what its own request must get: the HTTP status, the outcome, the records
found, and the correlationId equal to the request's messageId. Zero errors are allowed. The p50 and
p99 latency and the request rate are printed (`pytest -s`) and written to build/load.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from medexempt.generated import models
from medexempt.generated.client import Client
from medexempt.generated.envelope import (
    FaultCode,
    SoapFault,
    SoapVersion,
    read_request,
    read_response,
)
from medexempt.generated.services import MEDICAL_EXEMPTION_SEARCH
from tests.harness import free_port, running_server
from tests.support import ROOT

REQUESTS = 600
CLIENTS = 16
WORKERS = 3
SENDER = ("sender", "password")  # the demo's sender
TIMEOUT = httpx.Timeout(60.0)
REPORT = ROOT / "build" / "load.json"


@dataclass(frozen=True)
class Expected:
    outcome: str  # SUCCESS / NOT_FOUND / INVALID_REQUEST, or a fault's errorCode
    numbers: tuple[str, ...] = ()  # the records found, in the service's order


@dataclass(frozen=True)
class Search:
    name: str
    request: models.MedicalExemptionSearchRequest
    expected: Expected


@dataclass(frozen=True)
class Raw:
    """A malformed envelope, posted as is: a Sender fault comes back."""

    name: str
    body: bytes
    expected: Expected


def found(*numbers: str) -> Expected:
    return Expected("SUCCESS", numbers)


Req = models.MedicalExemptionSearchRequest
SEARCHES = [
    Search("number-found", Req(number="01085"), found("01085")),
    Search("number-found-temporary", Req(number="01091"), found("01091")),
    Search("iin-two-records", Req(iin="900101300017"), found("01090", "01085")),
    Search("iin-expired-and-revoked", Req(iin="850812400027"), found("01087", "01088")),
    Search("passport", Req(passport_number="N12345678", citizenship_code="643"), found("01089")),
    Search("number-not-found", Req(number="99999"), Expected("NOT_FOUND")),
    Search("iin-not-found", Req(iin="900101300027"), Expected("NOT_FOUND")),
    Search("number-and-other-iin", Req(number="01085", iin="850812400027"), Expected("NOT_FOUND")),
    Search("iin-bad-check-digit", Req(iin="900101300018"), Expected("INVALID_REQUEST")),
    Search(
        "passport-without-citizenship",
        Req(passport_number="N12345678"),
        Expected("INVALID_REQUEST"),
    ),
    Search("no-criteria", Req(), Expected("INVALID_REQUEST")),
]
RAW = [
    Raw("truncated", b"<soap:Envelope xmlns:soap=", Expected("INVALID_MESSAGE")),
    Raw(
        "doctype",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        Expected("INVALID_MESSAGE"),
    ),
]
MIX: list[Search | Raw] = [*SEARCHES, *RAW]


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    error: str | None  # None: the answer was right


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("load")
    port = free_port()
    command = [
        sys.executable, "-m", "medexempt", "serve", "--demo", "--port", str(port),
        "--workers", str(WORKERS), "--log-level", "warning",
    ]  # fmt: skip
    env = {
        **os.environ,
        "MEDEXEMPT_DB": f"sqlite:///{folder / 'medexempt.db'}",
        "PYTHONPATH": str(ROOT),
    }
    log = folder / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with running_server(command, ready=f"{base}/healthz", log=log, cwd=folder, env=env):
        yield f"{base}/sync"


class Worker:
    """One concurrent client: its own connection pool, the generated client, what it sent."""

    def __init__(self, url: str, version: SoapVersion) -> None:
        self.url = url
        self.version = version
        self.sent: list[httpx.Request] = []
        self.received: list[httpx.Response] = []
        self.http = httpx.Client(
            timeout=TIMEOUT,
            event_hooks={"request": [self.sent.append], "response": [self.received.append]},
        )
        self.client = Client(
            url, sender_id=SENDER[0], password=SENDER[1], soap_version=version, http=self.http
        )

    def close(self) -> None:
        self.http.close()

    def run(self, item: Search | Raw) -> str | None:
        """None if the answer is right for `item`; otherwise what is wrong."""
        self.sent.clear()
        self.received.clear()
        if isinstance(item, Raw):
            return self._raw(item)
        envelope = self.client.send(
            MEDICAL_EXEMPTION_SEARCH, item.request
        )  # raises on a mismatched answer
        [request], [response] = self.sent, self.received
        message_id = read_request(request.content).body.request.request_info.message_id
        info = envelope.body.response.response_info
        payload = envelope.body.response.response_data.data
        problems = []
        if response.status_code != 200:
            problems.append(f"HTTP {response.status_code}")
        if info.correlation_id != message_id:
            problems.append(f"correlationId {info.correlation_id} for {message_id}")
        if not isinstance(payload, models.MedicalExemptionSearchResponse):
            return f"payload {type(payload).__name__}"
        numbers = tuple(record.number for record in payload.medical_exemption_list)
        if (payload.status.code, numbers) != (item.expected.outcome, item.expected.numbers):
            problems.append(f"got {payload.status.code} {numbers}, expected {item.expected}")
        for record in payload.medical_exemption_list:
            if record.status == "UP_TO_DATE" and not (record.certificate or b"").startswith(
                b"%PDF"
            ):
                problems.append(f"{record.number} without its certificate")
        return "; ".join(problems) or None

    def _raw(self, item: Raw) -> str | None:
        version = self.version
        response = self.http.post(
            self.url, content=item.body, headers={"Content-Type": version.content_type}
        )
        envelope = read_response(response.content)
        fault = envelope.body
        if not isinstance(fault, SoapFault) or fault.detail is None:
            return f"not a fault: HTTP {response.status_code}"
        expected_status = 400 if version is SoapVersion.SOAP12 else 500
        problems = []
        if response.status_code != expected_status or envelope.version is not version:
            problems.append(f"HTTP {response.status_code} in SOAP {envelope.version.value}")
        if fault.code is not FaultCode.SENDER or fault.detail.error_code != item.expected.outcome:
            problems.append(f"fault {fault.code} {fault.detail.error_code}")
        return "; ".join(problems) or None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def test_load_without_loss(service_url: str) -> None:
    plan = [MIX[index % len(MIX)] for index in range(REQUESTS)]
    local = threading.local()
    workers: list[Worker] = []
    lock = threading.Lock()

    def worker() -> Worker:
        current: Worker | None = getattr(local, "worker", None)
        if current is None:
            with lock:
                version = list(SoapVersion)[len(workers) % 2]
                current = local.worker = Worker(service_url, version)
                workers.append(current)
        return current

    def one(item: Search | Raw) -> Outcome:
        started = time.perf_counter()
        try:
            error = worker().run(item)
        except Exception as exc:  # every failure is counted, none stops the run
            error = f"{type(exc).__name__}: {exc}"
        return Outcome(item.name, time.perf_counter() - started, error)

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            outcomes = list(pool.map(one, plan))
    finally:
        for each in workers:
            each.close()
    elapsed = time.perf_counter() - started

    latencies = [outcome.seconds for outcome in outcomes]
    figures = {
        "requests": len(outcomes),
        "clients": CLIENTS,
        "workers": WORKERS,
        "errors": sum(outcome.error is not None for outcome in outcomes),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(outcomes) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"\nload: {json.dumps(figures)}")

    errors = [f"{outcome.name}: {outcome.error}" for outcome in outcomes if outcome.error]
    assert not errors, "\n".join(errors[:20])
    assert len(outcomes) == REQUESTS
    assert {outcome.name for outcome in outcomes} == {item.name for item in MIX}
