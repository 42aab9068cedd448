"""A flood of wrong passwords against `medexempt serve --demo` (2 workers), and a legitimate client.

Run from the project root:

    python -m bench.flood [--seconds 30] [--rate 55] [--out FILE.md]

The legitimate client searches 01085 with the right password, one request after another, over one
kept-alive connection, first alone and then while 55 requests a second (from a pool of connections,
each a fresh senderId and password: no check can be skipped by remembering the pair) keep coming
for the given seconds. Reported: the legitimate client's p50/p99 alone and under the flood, how
the flood was answered (AUTHENTICATION_FAILED / AUTHENTICATION_THROTTLED), and the server's CPU
time over the flood. Target (issue 12): p99 under the flood < 100 ms. Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.served import _env, start
from medexempt import generated as g
from medexempt.generated import models
from medexempt.generated.gateway import request_message
from tests.harness import free_port

SERVICE = "EHEALTH_MEDICAL_EXEMPTION_SEARCH"


def _body(sender: str, password: str) -> bytes:
    message = request_message(
        SERVICE, models.MedicalExemptionSearchRequest(number="01085"),
        sender_id=sender, password=password,
    )  # fmt: skip
    return g.write_envelope(g.Envelope(body=message))


def _legitimate(url: str, seconds: float) -> list[float]:
    times = []
    with httpx.Client(timeout=10) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            answer = http.post(url, content=_body("sender", "password"),
                               headers={"Content-Type": "text/xml"})  # fmt: skip
            times.append(time.perf_counter() - started)
            envelope = g.read_response(answer.content)
            assert not isinstance(envelope.body, g.SoapFault), envelope.body
    return times


def _flood(
    url: str, seconds: float, rate: float, outcomes: Counter[str], addresses: int, connections: int
) -> None:
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def one(http: httpx.Client) -> None:
        body = _body(f"guess-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
        answer = http.post(url, content=body, headers={"Content-Type": "text/xml"})
        envelope = g.read_response(answer.content)
        code = envelope.body.detail.error_code if isinstance(envelope.body, g.SoapFault) and \
            envelope.body.detail else "answered"  # fmt: skip
        with lock:
            outcomes[code or "?"] += 1

    sent = itertools.count()

    def worker(offset: float) -> None:
        next_at = time.monotonic() + offset
        while next_at < stop:
            time.sleep(max(0.0, next_at - time.monotonic()))
            # Each request from the next loopback address (127.0.0.2 ...), so that the throttle
            # per address does not stop a flood from many: the cap on concurrent checks must.
            index = next(sent) % addresses
            address = f"127.0.{index // 250}.{2 + index % 250}"
            # No certificate store to load per request: the flood is plain HTTP.
            transport = httpx.HTTPTransport(local_address=address, verify=False)
            with httpx.Client(timeout=10, transport=transport) as http:
                one(http)
            next_at += connections / rate  # the workers share the rate

    threads = [threading.Thread(target=worker, args=(n / rate,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _flood_process(
    url: str, seconds: float, rate: float, addresses: int, connections: int, results: Any
) -> None:
    outcomes: Counter[str] = Counter()
    _flood(url, seconds, rate, outcomes, addresses, connections)
    results.put(outcomes)


def _cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in stat[11:13])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _children_cpu(pid: int) -> float:
    total = _cpu(pid)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += _cpu(int(child))
    return total


def _quantiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=55.0)
    parser.add_argument("--addresses", type=int, default=1000, help="client addresses of the flood")
    parser.add_argument(
        "--connections", type=int, default=8, help="the flood's concurrent requests"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        command = [sys.executable, "-m", "medexempt", "serve", "--demo", "--workers", "2",
                   "--port", str(port), "--db", f"sqlite:///{tmp}/flood.db"]  # fmt: skip
        with ExitStack() as running:
            server = start(running, "service", command, Path(tmp), _env(), port)
            _legitimate(server.url, 2.0)  # warm: the sender's check is remembered per worker
            alone = _legitimate(server.url, min(10.0, args.seconds))
            outcomes: Counter[str] = Counter()
            cpu_before = _children_cpu(server.pid)
            wall_before = time.monotonic()
            flood = threading.Thread(
                target=_flood,
                args=(
                    server.url,
                    args.seconds,
                    args.rate,
                    outcomes,
                    args.addresses,
                    args.connections,
                ),
            )
            flood.start()
            during = _legitimate(server.url, args.seconds)
            flood.join()
            cpu = _children_cpu(server.pid) - cpu_before
            wall = time.monotonic() - wall_before
    a50, a99 = _quantiles(alone)
    d50, d99 = _quantiles(during)
    sent = sum(outcomes.values())
    if not outcomes:
        raise SystemExit("the flood sent nothing: see the errors above")
    lines = [
        "# Wrong-password flood",
        "",
        f"{args.rate:g} wrong passwords/s for {args.seconds:g} s from {args.addresses} loopback "
        f"addresses over {args.connections} concurrent connections (fresh senderId and password "
        "each) against "
        "`medexempt serve --demo --workers 2`; a legitimate client searching "
        "01085 one request after another.",
        "",
        "| legitimate client | requests | p50 ms | p99 ms |",
        "|---|--:|--:|--:|",
        f"| alone | {len(alone)} | {a50:.1f} | {a99:.1f} |",
        f"| under the flood | {len(during)} | {d50:.1f} | {d99:.1f} |",
        "",
        f"The flood: {sent} requests, "
        + ", ".join(f"{k} {v}" for k, v in outcomes.most_common())
        + f"; server CPU {cpu:.1f} s over the {wall:.1f} s until the flood's last answer "
        f"({cpu / wall:.2f} cores).",
        "",
        f"Target: p99 under the flood < 100 ms: {'met' if d99 < 100 else 'NOT met'}.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
