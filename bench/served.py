"""The served path: one request in-process against spyne, then over HTTP against a floor.

Run from the project root:

    python -m bench.served [--quick] [--out FILE.md] [--postgres URL]

1. In-process, bytes in -> bytes out, no socket: the original's request
   (`tests/cases/original-request/message.xml`) through (a) `generated.server.make_app` with a small
   Servicer answering a fixed found record with the two real ~60 KB certificates, (b) the whole
   reference site (`exemptions.app.build_app`, SQLite, demo data, certificates in the worker's
   memory, no replay window) and (c) the same operation in spyne (`bench.spyne_peer`, Soap11 in
   and out, the same certificates). Every answer is checked before timing.
2. Over HTTP on loopback: `python -m medexempt serve --demo --workers 2` (gunicorn, gthread) on a
   fresh SQLite file, and on PostgreSQL when given (--postgres, else env
   MEDEXEMPT_TEST_POSTGRES_URL; its `public` schema is emptied), loaded by `wrk` in its own process
   with a Lua script posting the body: requests per second and p50/p99 at concurrency 1, 16 and 64,
   for the search that finds 01085 (certificates in the workers' memory after a warm-up search) and
   for NOT_FOUND.
3. The floor: gunicorn with the same settings serving `floor_app`, a WSGI app answering the bytes of
   a real 01085 answer captured once. The served search's throughput is given as a ratio to it.
4. Certificates, a record's first render (`bench.service`'s measurement) and the generator's own run
   time (`medexempt generate` into a fresh folder, checked to equal `generated/`).

Method: the contenders of a part are interleaved, the order rotating from round to round, and rows
give medians over the rounds. Every HTTP cell must end with zero socket errors and zero non-2xx
answers, and a sample of answers is read back and checked after each cell (a wrong one stops the
run). Targets (ratios in the same run): in-process >= 3x faster than spyne; the served found search
within 2x of the floor's throughput.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import importlib.metadata
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from lxml import etree

from bench import service as sb
from bench import spyne_peer
from bench.stats import Samples
from medexempt import generated as g
from medexempt.exemptions.app import Site
from medexempt.exemptions.storage import create_engine, display, upgrade
from medexempt.exemptions.storage.importer import import_file
from medexempt.generated import models
from medexempt.generated.passwords import hash_password
from medexempt.generated.server import RequestContext, ServerConfig, Servicer, make_app
from tests import samples
from tests.harness import WsgiAnswer, free_port, running_server, wsgi_call

ROOT = sb.ROOT
REQUEST_FILE = sb.REQUEST_FILE
NUMBER = sb.NUMBER
MISSING = "99999"  # no demo record has this number
SENDER, PASSWORD = sb.SENDER, sb.PASSWORD
WORKERS = 2
CONCURRENCY = (1, 16, 64)
QUICK_REPEATS = 3
QUICK_SECONDS = 2
FLOOR_ENV = "BENCH_FLOOR_BODY"
FOUND, NOT_FOUND, FLOOR = "found", "NOT_FOUND", "floor"
FIRST = "first searches"  # found searches of distinct records, cycling through RECORDS of them
RECORDS, QUICK_RECORDS = 3_000, 300
_SEPARATOR = b"\n--BODY--\n"
CERTIFICATES_ENV = "BENCH_CERTIFICATES"  # the two PDFs' files, joined by os.pathsep
# The peers over HTTP, under the floor's gunicorn settings: no database, a fixed found answer.
SKELETON = "generated server, fixed Servicer"
SPYNE = "spyne 2.14, fixed answer"

DESCRIPTION = "The served path: in-process vs spyne, over HTTP vs a fixed-answer floor."

BenchmarkError = sb.BenchmarkError
_require = sb._require
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# --- the floor: gunicorn answering fixed bytes ---------------------------------------------------

_floor_body: list[bytes] = []


def floor_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app answering every request with the bytes in the file named by env FLOOR_ENV."""
    if not _floor_body:
        _floor_body.append(Path(os.environ[FLOOR_ENV]).read_bytes())
    wsgi_input = environ.get("wsgi.input")
    if wsgi_input is not None:
        wsgi_input.read()  # as a service does, the request is read whole
    body = _floor_body[0]
    start_response(
        "200 OK",
        [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


_peers: dict[str, WsgiApp] = {}


def _certificate_files() -> tuple[bytes, bytes]:
    first, second = os.environ[CERTIFICATES_ENV].split(os.pathsep)
    return Path(first).read_bytes(), Path(second).read_bytes()


def _healthz(start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]


def skeleton_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """`generated.server.make_app` with `FixedSearch` (certificates from env BENCH_CERTIFICATES)."""
    if environ.get("PATH_INFO") == "/healthz":
        return _healthz(start_response)
    app = _peers.get(SKELETON)
    if app is None:
        config = ServerConfig(senders={SENDER: hash_password(PASSWORD)}, max_message_age=None)
        app = _peers[SKELETON] = cast(WsgiApp, make_app(FixedSearch(*_certificate_files()), config))
    return app(environ, start_response)


def spyne_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """`bench.spyne_peer`'s application (certificates from env BENCH_CERTIFICATES)."""
    if environ.get("PATH_INFO") == "/healthz":
        return _healthz(start_response)
    app = _peers.get(SPYNE)
    if app is None:
        app = _peers[SPYNE] = spyne_peer.make_app(*_certificate_files(), {SENDER: PASSWORD})[0]
    environ.setdefault("HTTP_SOAPACTION", '""')
    return app(environ, start_response)


# --- 1. in-process -------------------------------------------------------------------------------


class FixedSearch(Servicer):
    """01085 is found with the given certificates; anything else is NOT_FOUND."""

    def __init__(self, certificate: bytes, printable: bytes) -> None:
        self.found = models.MedicalExemptionSearchResponse(
            status=models.Status(code="SUCCESS", message="The request has been processed"),
            medical_exemption_list=[
                models.FoundMedicalExemption(
                    number=NUMBER,
                    medical_procedure=models.Dictionary(
                        code="100",
                        name_ru="Иммунопрофилактика от коронавирусной инфекции",
                        name_kk="Коронавирустық инфекцияға қарсы иммунопрофилактика",
                    ),
                    status="UP_TO_DATE",
                    certificate=certificate,
                    printable_certificate=printable,
                )
            ],
        )
        self.missing = models.MedicalExemptionSearchResponse(
            status=models.Status(
                code="NOT_FOUND", message="Медицинский отвод по заданным параметрам не найден"
            )
        )

    def medical_exemption_search(
        self, request: models.MedicalExemptionSearchRequest, context: RequestContext
    ) -> models.MedicalExemptionSearchResponse:
        return self.found if request.number == NUMBER else self.missing


def spyne_post(app: WsgiApp, body: bytes) -> WsgiAnswer:
    """A POST of `body` to spyne's WSGI app, the environ as `bench.service.post` builds it."""
    return wsgi_call(app, body, path="/", extra={"HTTP_SOAPACTION": '""'})


def check_spyne(answer: WsgiAnswer, certificates: tuple[bytes, bytes]) -> None:
    """spyne's answer parses, is a SUCCESS for 01085 and carries both certificates."""
    _require(answer.status == 200, f"spyne: HTTP {answer.status}")
    root = etree.fromstring(answer.body)
    ns = {"t": spyne_peer.TYPES_NS}
    numbers = root.xpath("//t:medicalExemptionList/*/t:number/text()", namespaces=ns)
    _require(numbers == [NUMBER], f"spyne: numbers {numbers}")
    codes = root.xpath("//t:responseData/t:data/t:status/t:code/text()", namespaces=ns)
    _require(codes == ["SUCCESS"], f"spyne: status {codes}")
    pdfs = tuple(
        base64.b64decode("".join(root.xpath(f"//t:{name}/text()", namespaces=ns)))
        for name in ("certificate", "printableCertificate")
    )
    _require(pdfs == certificates, "spyne: the certificates differ")


def part_inprocess(
    site: Site, certificates: tuple[bytes, bytes], args: argparse.Namespace, repeats: int
) -> tuple[str, dict[str, float]]:
    request = REQUEST_FILE.read_bytes()
    skeleton = make_app(
        FixedSearch(*certificates),
        ServerConfig(senders={SENDER: hash_password(PASSWORD)}, max_message_age=None),
    )
    spyne_app, _ = spyne_peer.make_app(*certificates, {SENDER: PASSWORD})
    runs: dict[str, Callable[[], WsgiAnswer]] = {
        "ours: generated server, fixed Servicer": partial(sb.post, cast(Any, skeleton), request),
        "ours: whole reference site, SQLite": partial(sb.post, site, request),
        "spyne 2.14, Soap11, fixed answer": partial(spyne_post, spyne_app, request),
    }
    keys = list(runs)
    sizes: dict[str, int] = {}
    for key, run in runs.items():  # the first call also verifies the scrypt hash (remembered)
        answer = run()
        if key.startswith("spyne"):
            check_spyne(answer, certificates)
            check_spyne(run(), certificates)
        else:
            _require(
                sb.certificates_of(answer, key, NUMBER) == certificates, f"{key}: certificates"
            )
            _require(sb.certificates_of(run(), key, NUMBER) == certificates, f"{key}: certificates")
        sizes[key] = len(answer.body)
    numbers = {k: 1 if args.quick else sb.calibrate(runs[k], args.min_time) for k in keys}
    seconds: dict[str, list[float]] = {k: [] for k in keys}
    for round_ in range(repeats):
        for offset in range(len(keys)):
            key = keys[(round_ + offset) % len(keys)]
            seconds[key].append(sb.batch(runs[key], numbers[key]))
    samples = {k: Samples(numbers[k], tuple(v)) for k, v in seconds.items()}
    spyne_key = keys[2]
    spyne_median = samples[spyne_key].median
    lines = [
        "## 1. One request in-process: ours vs spyne",
        "",
        f"The original's request ({len(request):,} bytes, number 01085) posted to each WSGI app "
        "with a minimal environ, the answer joined; both certificates are the real 01085 PDFs.",
        "",
        "| contender | answer bytes | ms per request (median) | best ms | spread "
        "| requests/s, one core | spyne / this |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    ratios: dict[str, float] = {}
    for key in keys:
        s = samples[key]
        ratio = spyne_median / s.median
        ratios[key] = ratio
        lines.append(
            f"| {key} | {sizes[key]:,} | **{sb.ms(s.median)}** | {sb.ms(s.best)} "
            f"| {s.spread:.0%} | {1 / s.median:,.0f} | **{ratio:,.1f}×** |"
        )
    calls = ", ".join(f"×{numbers[k]}" for k in keys)
    lines += ["", f"Calls per timed batch, in the order of the rows: {calls}."]
    return "\n".join(lines), ratios


# --- 2-3. over HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sync"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start(
    servers: ExitStack, name: str, command: list[str], folder: Path, env: dict[str, str], port: int
) -> Server:
    """`command` started the way the tests start a real server (`tests.harness.running_server`),
    stopped when `servers` closes; once its /healthz answers 200."""
    log = folder / f"{re.sub(r'[^a-z]', '', name.lower())}.log"
    ready = f"http://127.0.0.1:{port}/healthz"
    try:
        process = servers.enter_context(
            running_server(
                command, ready=ready, log=log, cwd=folder, env=env, timeout=60, status=200
            )
        )
    except RuntimeError as exc:
        raise BenchmarkError(f"{name}: {str(exc)[-2000:]}") from exc
    return Server(name, port, process.pid)


def start_service(servers: ExitStack, name: str, db_url: str, folder: Path) -> Server:
    port = free_port()
    sub = folder / name.lower()
    sub.mkdir()
    command = [
        sys.executable, "-m", "medexempt", "serve", "--demo",
        "--workers", str(WORKERS), "--port", str(port), "--db", db_url,
    ]  # fmt: skip
    return start(servers, f"service on {name}", command, sub, _env(), port)


def start_floor(servers: ExitStack, body_file: Path, folder: Path) -> Server:
    return start_gunicorn(
        servers, "floor", "bench.served:floor_app", {FLOOR_ENV: str(body_file)}, folder
    )


def start_peer(
    servers: ExitStack, name: str, app: str, certificates: tuple[bytes, bytes], folder: Path
) -> Server:
    files = [folder / f"{name[:5]}-{i}.pdf" for i in (1, 2)]
    for file, pdf in zip(files, certificates, strict=True):
        file.write_bytes(pdf)
    return start_gunicorn(
        servers, name, app, {CERTIFICATES_ENV: os.pathsep.join(map(str, files))}, folder
    )


def start_gunicorn(
    servers: ExitStack, name: str, app: str, extra_env: dict[str, str], folder: Path
) -> Server:
    """gunicorn serving `app` with the settings `medexempt serve` uses (gthread × 4 threads)."""
    port = free_port()
    sub = folder / re.sub(r"[^a-z0-9]+", "-", name.lower())
    sub.mkdir()
    env = _env() | extra_env
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", "4",
        "--timeout", "60", "--graceful-timeout", "20", "--no-control-socket",
        "--error-logfile", "-", app,
    ]  # fmt: skip
    return start(servers, name, command, sub, env, port)


def http_post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return int(reply.status), bytes(reply.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def check_found(body: bytes, certificates: tuple[bytes, bytes] | None, where: str) -> None:
    answer = WsgiAnswer(200, {"content-length": str(len(body))}, body)
    got = sb.certificates_of(answer, where, NUMBER)
    _require(certificates is None or got == certificates, f"{where}: certificates differ")


def check_not_found(body: bytes, where: str) -> None:
    envelope = g.read_response(body).body
    _require(isinstance(envelope, models.SendMessageResponse), f"{where}: a fault")
    assert isinstance(envelope, models.SendMessageResponse)
    data = envelope.response.response_data.data
    _require(isinstance(data, models.MedicalExemptionSearchResponse), f"{where}: payload type")
    assert isinstance(data, models.MedicalExemptionSearchResponse)
    _require(data.status.code == "NOT_FOUND", f"{where}: status {data.status.code}")


def verify_sample(
    url: str, body: bytes, check: Callable[[bytes, str], None], where: str, count: int = 16
) -> None:
    """`count` concurrent requests, every answer HTTP 200 and passing `check`."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: http_post(url, body), range(count)))
    for i, (status, content) in enumerate(answers):
        _require(status == 200, f"{where}: sample {i}: HTTP {status}")
        check(content, f"{where}: sample {i}")


# What every script prints at the end: the cell's counts, errors and latencies, parsed by parse_wrk.
LUA_DONE = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""
LUA = (
    """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*a")
f:close()
"""
    + LUA_DONE
)


# Many bodies, one after another; each wrk thread starts at its own place in the list, so that the
# two threads do not ask for the same record at the same time.
LUA_MANY = (
    """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
local f = assert(io.open("{bodies}", "rb"))
local all = f:read("*a")
f:close()
bodies = {}
for body in string.gmatch(all, "(.-)\\n%-%-BODY%-%-\\n") do
  table.insert(bodies, body)
end
local threads = 0
setup = function(thread)
  thread:set("offset", threads * 1009)
  threads = threads + 1
end
init = function(args)
  counter = offset or 0
end
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end
"""
    + LUA_DONE
)


def check_first(content: bytes, where: str) -> None:
    """A found answer with both certificates, whichever record it is of."""
    envelope = g.read_response(content).body
    _require(isinstance(envelope, models.SendMessageResponse), f"{where}: a fault")
    assert isinstance(envelope, models.SendMessageResponse)
    data = envelope.response.response_data.data
    assert isinstance(data, models.MedicalExemptionSearchResponse)
    _require(data.status.code == "SUCCESS", f"{where}: status {data.status.code}")
    (item,) = data.medical_exemption_list
    for pdf in (item.certificate, item.printable_certificate):
        _require(pdf is not None and pdf.startswith(b"%PDF-"), f"{where}: a certificate missing")


@dataclass(frozen=True, slots=True)
class Cell:
    requests: int
    seconds: float
    bytes: int
    p50: float  # seconds
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(wrk: str, url: str, script: Path, connections: int, seconds: int, where: str) -> Cell:
    threads = min(connections, 2)
    command = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", "30s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    _require(done.returncode == 0, f"{where}: wrk failed: {done.stdout}")
    return parse_wrk(done.stdout, where)


def parse_wrk(output: str, where: str) -> Cell:
    """The cell `LUA`'s done() printed; any socket error or non-2xx answer stops the run."""
    match = re.search(r"^RESULT ((?:\d+ ?){10})$", output, re.MULTILINE)
    _require(match is not None, f"{where}: wrk printed no result: {output}")
    assert match is not None
    n, duration, size, connect, read, write, status, timeout, p50, p99 = map(
        int, match.group(1).split()
    )
    errors = connect + read + write + timeout
    _require(errors == 0, f"{where}: {errors} socket errors (wrk: {output.strip()})")
    _require(status == 0, f"{where}: {status} answers not 2xx/3xx")
    _require(n > 0, f"{where}: no request completed")
    return Cell(n, duration / 1e6, size, p50 / 1e6, p99 / 1e6)


def part_http(
    services: dict[str, Server],
    floor: Server,
    peers: dict[str, tuple[Server, Callable[[bytes, str], None]]],
    bodies: dict[str, Path],
    certificates: dict[str, tuple[bytes, bytes]],
    floor_bytes: bytes,
    args: argparse.Namespace,
    folder: Path,
) -> tuple[str, dict[tuple[str, str, int], float]]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchmarkError("wrk is not installed (Debian: apt-get install wrk)")
    scripts = {}
    for kind, path in bodies.items():
        scripts[kind] = folder / f"{kind.replace(' ', '-')}.lua"
        lua = LUA_MANY.replace("{bodies}", str(path)) if kind == FIRST else LUA
        scripts[kind].write_text(lua.replace("{body}", str(path)), encoding="utf-8")
    found_body, missing_body = bodies[FOUND].read_bytes(), bodies[NOT_FOUND].read_bytes()
    first_body = bodies[FIRST].read_bytes().split(_SEPARATOR, 1)[0]

    def checker(db: str, kind: str) -> Callable[[bytes, str], None]:
        if kind == FOUND:
            return lambda content, where: check_found(content, certificates[db], where)
        return check_not_found

    def floor_check(content: bytes, where: str) -> None:
        _require(content == floor_bytes, f"{where}: not the floor's bytes")

    # (target, kind, concurrency): the target's URL, body script and sample check
    cells: list[tuple[str, str, int]] = []
    targets: dict[tuple[str, str], tuple[str, Path, bytes, Callable[[bytes, str], None]]] = {}
    for db, server in services.items():
        targets[(db, FOUND)] = (server.url, scripts[FOUND], found_body, checker(db, FOUND))
        targets[(db, NOT_FOUND)] = (
            server.url, scripts[NOT_FOUND], missing_body, checker(db, NOT_FOUND),
        )  # fmt: skip
        targets[(db, FIRST)] = (server.url, scripts[FIRST], first_body, check_first)
    for name, (server, check) in peers.items():
        targets[(name, FOUND)] = (server.url, scripts[FOUND], found_body, check)
    targets[(FLOOR, FOUND)] = (floor.url, scripts[FOUND], found_body, floor_check)
    for pair in targets:
        for c in CONCURRENCY:
            cells.append((*pair, c))
    for pair, (url, _, body, check) in targets.items():
        verify_sample(url, body, check, f"{pair[0]} {pair[1]} before timing")
    repeats = 1 if args.quick else args.http_repeats
    seconds = QUICK_SECONDS if args.quick else args.seconds
    results: dict[tuple[str, str, int], list[Cell]] = {c: [] for c in cells}
    for round_ in range(repeats):
        for offset in range(len(cells)):
            cell = cells[(round_ + offset) % len(cells)]
            target, kind, c = cell
            url, script, body, check = targets[(target, kind)]
            where = f"{target} {kind} c={c} round {round_ + 1}"
            print(f"  wrk {where}", file=sys.stderr, flush=True)
            results[cell].append(run_wrk(wrk, url, script, c, seconds, where))
            verify_sample(url, body, check, where, count=8)
    total = sum(r.requests for rs in results.values() for r in rs)

    def median(cell: tuple[str, str, int], what: Callable[[Cell], float]) -> float:
        return statistics.median(what(r) for r in results[cell])

    lines = [
        "## 2. Over HTTP on loopback: requests per second and latency",
        "",
        f"`python -m medexempt serve --demo --workers {WORKERS}` (gunicorn, gthread × 4 threads, "
        "JSON request logs at info into a file); the floor is the same gunicorn settings serving "
        f"`bench.served:floor_app`, a fixed {len(floor_bytes):,}-byte answer (a real 01085 answer "
        "captured once). With the same settings, and no database, for reference: "
        f"`bench.served:skeleton_app` ({SKELETON}: the in-process row's app) and "
        f"`bench.served:spyne_app` ({SPYNE}: the in-process spyne peer). "
        f"`wrk` in its own process, {seconds} s per cell, {repeats} round(s), "
        "cells interleaved in rotating order; medians over the rounds. Found: the original's "
        "request (01085, certificates in the workers' memory after a warm-up); NOT_FOUND: the "
        f"same with number {MISSING}; first searches: found searches of "
        f"{args.records:,} generated up-to-date records imported beside the demo data, one "
        "after another (each wrk thread from its own place in the list); a worker keeps about "
        "460 records' certificates, so with the full run's 3,000 records most requests are of "
        "a record its worker has not rendered yet (with --quick's 300, most are not). "
        f"{total:,} requests in all: zero socket errors, zero non-2xx "
        "answers, and every sampled answer checked (before timing and after every cell).",
        "",
        "| server (database) | search | concurrency | requests/s (median) | p50 ms | p99 ms "
        "| floor / this (throughput) |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    ratios: dict[tuple[str, str, int], float] = {}
    for target, kind, c in cells:
        rps = median((target, kind, c), lambda r: r.rps)
        floor_rps = median((FLOOR, FOUND, c), lambda r: r.rps)
        ratio = floor_rps / rps
        ratios[(target, kind, c)] = ratio
        shown = "— (floor)" if target == FLOOR else f"**{ratio:,.2f}×**"
        name = "floor: fixed answer" if target == FLOOR else target
        lines.append(
            f"| {name} | {kind if target != FLOOR else 'same bytes as found'} | {c} "
            f"| **{rps:,.0f}** | {sb.ms(median((target, kind, c), lambda r: r.p50))} "
            f"| {sb.ms(median((target, kind, c), lambda r: r.p99))} | {shown} |"
        )
    lines += [
        "",
        "p50/p99 are wrk's latency percentiles (per request, from its own timers; plain wrk does "
        "not correct for coordinated omission, so p99 under saturation is a lower bound). The "
        f"server's {WORKERS} workers and wrk share the machine's CPUs.",
    ]
    return "\n".join(lines), ratios


# --- 4. certificates and the generator -----------------------------------------------------------


def part_generator(args: argparse.Namespace, folder: Path) -> str:
    runs = 1 if args.quick else args.generator_repeats
    seconds = []
    for i in range(runs):
        project = folder / f"gen{i}"  # set up as this repository is, so the bytes must agree
        project.mkdir()
        (project / "pyproject.toml").write_text(
            f'[tool.medexempt]\nxsd-dir = "{os.path.relpath(ROOT / "xsd", project)}"\n'
            'out = "generated"\npackage = "medexempt.generated"\n'
        )
        out = project / "generated"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "medexempt", "generate", "--allow-shadowed-name"],
            cwd=project, env=_env(), check=True, capture_output=True,
        )  # fmt: skip
        seconds.append(time.perf_counter() - started)
        for path in (ROOT / "generated").iterdir():
            if path.is_file():
                _require(
                    (out / path.name).read_bytes() == path.read_bytes(),
                    f"generate: {path.name} differs from generated/",
                )
    s = Samples(1, tuple(seconds))
    files = sum(1 for p in (ROOT / "generated").iterdir() if p.is_file())
    return "\n".join(
        [
            "## 4b. The generator's own run time",
            "",
            f"`python -m medexempt generate --out TMP/generated` into a fresh folder ({files} "
            f"files, each checked equal to `generated/`), the whole process timed: {runs} run(s).",
            "",
            "| median s | best s | spread |",
            "|--:|--:|--:|",
            f"| **{s.median:,.2f}** | {s.best:,.2f} | {s.spread:.0%} |",
        ]
    )


# --- the report ----------------------------------------------------------------------------------


def header(args: argparse.Namespace, postgres: str | None, skipped: str | None) -> str:
    if args.quick:
        method = (
            f"--quick: {QUICK_REPEATS} rounds of one call per in-process contender, one round of "
            f"{QUICK_SECONDS} s per HTTP cell, one generator run (a smoke run; the numbers mean "
            "little)"
        )
    else:
        method = (
            f"in-process: {args.repeats} rounds of calibrated batches (≥ {args.min_time * 1000:g} "
            f"ms), gc off inside a batch; HTTP: {args.http_repeats} rounds of {args.seconds} s "
            f"per cell; generator: {args.generator_repeats} runs; contenders interleaved in "
            "rotating order, medians over the rounds; spread = interquartile range / median"
        )
    packages = ("lxml", "spyne", "gunicorn", "SQLAlchemy", "psycopg", "fonttools", "xsdata")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)
    wrk = shutil.which("wrk")
    wrk_version = "not installed"
    if wrk:
        shown = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (shown.stdout + shown.stderr).splitlines()[0].strip()
    command = " ".join(["python -m bench.served", *args.shown_argv])
    lines = [
        "# The served path: in-process vs spyne, over HTTP vs the floor",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.platform()}; {sb._cpu_model()}; "
        f"{os.cpu_count()} logical CPUs{sb._usable_cpus()}",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- {versions}; load generator: {wrk_version}",
        "- databases: SQLite (a fresh file in a temporary folder)"
        + (f", PostgreSQL at {display(postgres)} (local, over TCP)" if postgres else ""),
        f"- method: {method}",
        f"- command: `{command}`",
    ]
    if skipped:
        lines.append(f"- **PostgreSQL rows skipped**: {skipped}")
    return "\n".join(lines)


def targets_section(
    inprocess: dict[str, float], http: dict[tuple[str, str, int], float], has_pg: bool
) -> str:
    keys = list(inprocess)
    lines = ["## Targets (ratios measured in this run)", ""]
    for key in keys[:2]:
        ratio = inprocess[key]
        verdict = "met" if ratio >= 3 else "**NOT met**"
        lines.append(f"- in-process ≥ 3× faster than spyne, {key}: {ratio:,.1f}× — {verdict}")
    for (target, kind, c), ratio in http.items():
        if kind not in (FOUND, FIRST) or target in (FLOOR, SKELETON, SPYNE):
            continue
        verdict = "met" if ratio <= 2 else "**NOT met**"
        what = "found search" if kind == FOUND else "first searches"
        lines.append(
            f"- served {what} within 2× of the floor, {target}, concurrency {c}: "
            f"{ratio:,.2f}× — {verdict}"
        )
    for peer in (SKELETON, SPYNE):
        shown = [f"{http[(peer, FOUND, c)]:,.2f}×" for c in CONCURRENCY if (peer, FOUND, c) in http]
        if shown:
            lines.append(
                f"- for reference, no database: {peer}, floor / this at concurrency "
                f"{'/'.join(map(str, CONCURRENCY))}: {' / '.join(shown)}"
            )
    lines.append(
        "- no error and no mismatched response at any concurrency: met (the run stops otherwise)"
    )
    if not has_pg:
        lines.append("- PostgreSQL: not measured in this run (see above)")
    return "\n".join(lines)


NOTES = """\
## What each row does

- **ours: generated server, fixed Servicer**: `generated.server.make_app` with a `Servicer` that
  returns a prebuilt found answer (01085 UP_TO_DATE, the two real certificate PDFs): read and check
  the envelope, authenticate the sender (scrypt hash, verified once and remembered), dispatch,
  write the answer with both PDFs in base64.
- **ours: whole reference site**: `exemptions.app.build_app` on SQLite with the demo data, 01085
  searched once before (replay window off, as in the demo): the same plus the search query, the
  rules and statuses, the certificates (rendered by the first search, kept in the worker's memory
  by record version), the request log line.
- **spyne**: `bench/spyne_peer.py`, a spyne `Application` with one wrapped `SendMessage` operation
  of the same shape (request number in; response status and one exemption with its procedure and
  both certificates as `ByteArray` out), `Soap11(validator=None)` in, `Soap11()` out, served by
  `spyne.server.wsgi.WsgiApplication`; the original's request is read verbatim (its `xsi:type`
  resolves to the payload class). Its sender check is a constant-time compare of plain text, and
  it has no database: it does less than the site, about what the fixed Servicer does.
- Checked before timing: our answers read back with `generated.read_response` as SUCCESS with
  01085 and the very certificates; spyne's answer parses, holds 01085, SUCCESS and both
  certificates (decoded and compared).
- **HTTP**: each cell is one `wrk -t min(c,2) -c c -d S --timeout 30s -s body.lua` run; its Lua
  script posts the body and prints the request count, duration, bytes, socket errors, non-2xx
  count and latency percentiles. A cell with any error or non-2xx answer stops the run; after every
  cell 8 answers are fetched concurrently and read back (found: SUCCESS with 01085 and the same
  certificates; NOT_FOUND: that status; floor: the same bytes).
- **floor / this**: the floor's requests per second at the same concurrency over this row's; the
  target is ≤ 2 for the found search.
- **certificates**: as `bench.service` part 1: `render` of records never rendered before in the
  process, in each layout and both.
"""


def run(args: argparse.Namespace) -> str:
    postgres, skipped = sb.postgres_target(args)
    repeats = QUICK_REPEATS if args.quick else args.repeats
    request = REQUEST_FILE.read_bytes()
    missing_request = request.replace(f"<number>{NUMBER}<".encode(), f"<number>{MISSING}<".encode())
    _require(missing_request != request, "cannot make the NOT_FOUND request")
    sections = [header(args, postgres, skipped)]
    with tempfile.TemporaryDirectory(prefix="bench-served-") as tmp:
        folder = Path(tmp)
        senders = {SENDER: hash_password(PASSWORD)}
        db = sb.open_database(
            sb.SQLITE, sb.fresh_url(sb.SQLITE, folder, None, "inproc"), senders, None
        )
        try:
            print("checking and timing in-process ...", file=sys.stderr, flush=True)
            certificates = sb.certificates_of(sb.post(db.site, request), "site warm-up", NUMBER)
            text, inprocess = part_inprocess(db.site, certificates, args, repeats)
            sections.append(text)
            print("timing certificates ...", file=sys.stderr, flush=True)
            args.first = 10 if args.quick else 150
            certs = sb.part_certificates(args, samples.generated_records(4 * args.first))
            certs = certs.replace("## 1. Certificates", "## 4a. Certificates", 1)
        finally:
            db.registry.close()
            del db
            gc.collect()

        print("starting servers ...", file=sys.stderr, flush=True)
        bodies = {
            FOUND: folder / "found.xml",
            NOT_FOUND: folder / "not-found.xml",
            FIRST: folder / "first.bodies",
        }
        bodies[FOUND].write_bytes(request)
        bodies[NOT_FOUND].write_bytes(missing_request)
        args.records = QUICK_RECORDS if args.quick else RECORDS
        generated = samples.generated_records(args.records)
        records_file = folder / "records.jsonl"
        samples.write_import_file(generated, records_file)
        bodies[FIRST].write_bytes(
            b"".join(sb.search_request(r.number) + _SEPARATOR for r in sb.up_to_date(generated))
        )
        urls = {sb.SQLITE: f"sqlite:///{folder / 'served.sqlite3'}"}
        if postgres:
            sb.empty_postgres(postgres)
            urls[sb.POSTGRES] = postgres
        for url in urls.values():  # the generated records, before the server adds the demo's
            upgrade(url)
            engine = create_engine(url)
            try:
                import_file(engine, records_file)
            finally:
                engine.dispose()
        servers: dict[str, Server] = {}
        peers: dict[str, tuple[Server, Callable[[bytes, str], None]]] = {}
        with ExitStack() as running:
            served_certificates: dict[str, tuple[bytes, bytes]] = {}
            captured = b""
            for name, url in urls.items():
                servers[name] = start_service(running, name, url, folder)
                status, body = http_post(servers[name].url, request)  # renders and stores
                _require(status == 200, f"{name} warm-up: HTTP {status}")
                check_found(body, None, f"{name} warm-up")
                status, body = http_post(servers[name].url, request)  # from the worker's memory
                _require(status == 200, f"{name} repeated: HTTP {status}")
                served_certificates[name] = sb.certificates_of(
                    WsgiAnswer(200, {"content-length": str(len(body))}, body), name, NUMBER
                )
                captured = captured or body
            floor_file = folder / "floor-answer.xml"
            floor_file.write_bytes(captured)
            floor = start_floor(running, floor_file, folder)
            fixed = served_certificates[sb.SQLITE]
            peers[SKELETON] = (
                start_peer(running, SKELETON, "bench.served:skeleton_app", fixed, folder),
                lambda content, where: check_found(content, fixed, where),
            )
            peers[SPYNE] = (
                start_peer(running, SPYNE, "bench.served:spyne_app", fixed, folder),
                lambda content, where: check_spyne(WsgiAnswer(200, {}, content), fixed),
            )
            text, http = part_http(
                servers, floor, peers, bodies, served_certificates, captured, args, folder
            )
            sections.append(text)
        sections.append(certs)
        print("timing the generator ...", file=sys.stderr, flush=True)
        sections.append(part_generator(args, folder))
    sections.insert(1, targets_section(inprocess, http, postgres is not None))
    sections.append(NOTES)
    return "\n\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.served", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (CI)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help=f"PostgreSQL to use, its public schema emptied (default: env {sb.POSTGRES_ENV})",
    )
    parser.add_argument("--repeats", type=int, default=25, help="in-process rounds (default 25)")
    parser.add_argument(
        "--min-time", type=float, default=0.05, help="seconds per calibrated batch (default 0.05)"
    )
    parser.add_argument("--seconds", type=int, default=5, help="seconds per HTTP cell (default 5)")
    parser.add_argument("--http-repeats", type=int, default=3, help="HTTP rounds (default 3)")
    parser.add_argument(
        "--generator-repeats", type=int, default=5, help="generator runs (default 5)"
    )
    args = parser.parse_args(argv)
    raw = list(sys.argv[1:] if argv is None else argv)
    args.shown_argv = [
        display(a) if i > 0 and raw[i - 1] == "--postgres" else a for i, a in enumerate(raw)
    ]
    args.shown_argv = [
        "--postgres=" + display(a.partition("=")[2]) if a.startswith("--postgres=") else a
        for a in args.shown_argv
    ]
    if min(args.repeats, args.seconds, args.http_repeats, args.generator_repeats) < 1:
        parser.error("--repeats, --seconds, --http-repeats and --generator-repeats must be ≥ 1")
    if args.min_time <= 0:
        parser.error("--min-time must be > 0")
    try:
        report = run(args)
    except BenchmarkError as exc:
        print(f"benchmark FAILED: {exc}", file=sys.stderr)
        return 1
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
