"""The reference service's costs in one process: certificates, a whole search, the import.

Run from the project root:

    python -m bench.service [--quick] [--out FILE.md] [--postgres URL]

Three parts, each on SQLite (a file in a temporary folder) and on PostgreSQL (--postgres, else env
MEDEXEMPT_TEST_POSTGRES_URL; its `public` schema is emptied and rebuilt, so point it at a database
kept for tests or benchmarks). Without a reachable PostgreSQL its rows are skipped with a note;
under CI=true a --quick run fails instead, so that CI cannot pass without it.

1. Certificates: `render(record, layout, url)` of --first generated records, each the first time
   in the process (what a record's first search adds), and the once-per-process font cut.
2. A search through the whole WSGI site (`build_app`) over --records generated records beside the
   demo data, posted with a minimal environ: --first first searches (a record never searched on
   this site: both certificates rendered) alternating with repeated ones (from the worker's
   memory); the database's growth per first-searched record; the worker's memory.
3. Import: `import_file` of a generated file of valid rows (CSV and JSON Lines), into a freshly
   migrated database each time.

Method: every part's answers are checked once before any timing, and a wrong answer stops the run.
Parts 1 and 2 time one call at a time (the garbage collector off around it), first and repeated
searches alternating so that drifts of the machine hit both alike; rows give p50 and p99 over the
calls. Part 3 runs --import-repeats rounds of every (database, format) pair, in rotating order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bench.stats import Samples
from medexempt import generated as g
from medexempt.exemptions import demo
from medexempt.exemptions.app import Settings, Site, build_app
from medexempt.exemptions.certificates.pdf import FontFile
from medexempt.exemptions.certificates.render import FONT_BOLD, FONT_REGULAR, render
from medexempt.exemptions.certificates.tokens import verification_url
from medexempt.exemptions.records import ZONE, Layout, Record, Status
from medexempt.exemptions.service import SearchService
from medexempt.exemptions.storage import Registry, create_engine, display, upgrade
from medexempt.exemptions.storage.importer import import_file
from medexempt.exemptions.storage.models import ExemptionRow
from medexempt.generated import models
from medexempt.generated.passwords import hash_password
from medexempt.generated.services import MEDICAL_EXEMPTION_SEARCH
from tests.harness import WsgiAnswer, wsgi_call
from tests.samples import generated_records, write_import_file

ROOT = Path(__file__).resolve().parent.parent
REQUEST_FILE = ROOT / "tests" / "cases" / "original-request" / "message.xml"
POSTGRES_ENV = "MEDEXEMPT_TEST_POSTGRES_URL"

NUMBER = "01085"  # the original's request searches this number
PUBLIC_URL = "http://localhost:8080"
SECRET = b"bench-service-verification-secret"
SENDER, PASSWORD = "sender", "password"  # as in the original's request
SOAP_PATH = "/sync"

CACHE_MIB = SearchService.cache_bytes // 2**20
QUICK_IMPORT_ROWS = 2_000
SQLITE, POSTGRES = "SQLite", "PostgreSQL"
FORMATS = ("csv", "jsonl")

DESCRIPTION = "The reference service: certificate rendering, a whole search, the import."


class BenchmarkError(RuntimeError):
    """A wrong answer (or none), so the timings would mean nothing."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise BenchmarkError(what)


# --- databases ----------------------------------------------------------------------------------


def empty_postgres(url: str) -> None:
    """Drop and recreate the `public` schema of the database at `url`."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def postgres_target(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The PostgreSQL URL to use, or None and why its rows are skipped."""
    url: str | None = args.postgres or os.environ.get(POSTGRES_ENV)
    reason: str | None = None
    if not url:
        reason = f"no --postgres given and {POSTGRES_ENV} is not set"
    else:
        try:
            empty_postgres(url)
        except SQLAlchemyError as exc:
            reason = f"cannot use {display(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    if reason is None:
        return url, None
    if args.quick and os.environ.get("CI") == "true":
        raise BenchmarkError(f"CI must benchmark PostgreSQL: {reason}")
    return None, reason


@dataclass(frozen=True, slots=True)
class Database:
    """One database of the benchmark, migrated, with the demo data and the whole site on it."""

    name: str
    url: str
    engine: Engine
    registry: Registry
    site: Site

    @property
    def servicer(self) -> SearchService:
        servicer = getattr(self.site.soap, "servicer", None)
        assert isinstance(servicer, SearchService)
        return servicer

    def forget_certificates(self) -> None:
        """No certificate in the worker's memory: the next search of any record renders."""
        self.servicer.forget_certificates()

    def cached_bytes(self) -> int:
        return self.servicer._cached_bytes


def fresh_url(name: str, folder: Path, postgres: str | None, label: str) -> str:
    """An empty database: a new SQLite file in `folder`, or PostgreSQL's schema emptied."""
    if name == SQLITE:
        path = folder / f"{label}.sqlite3"
        for leftover in folder.glob(f"{label}.sqlite3*"):
            leftover.unlink()
        return f"sqlite:///{path}"
    assert postgres is not None
    empty_postgres(postgres)
    return postgres


def open_database(name: str, url: str, senders: dict[str, str], records: Path | None) -> Database:
    upgrade(url)
    engine = create_engine(url)
    loaded = demo.load(engine)
    _require(loaded == len(demo.RECORDS), f"{name}: demo.load imported {loaded} records")
    if records is not None:
        import_file(engine, records)
    # The original's request is posted verbatim again and again (dated 2021): as in the demo, no
    # replay window; what it would cost is one INSERT per request.
    settings = Settings(
        db_url=url, public_url=PUBLIC_URL, secret=SECRET, senders=senders, replay_protection=False
    )
    site = build_app(settings)
    return Database(name, url, engine, Registry(engine), site)


# --- the WSGI call ------------------------------------------------------------------------------


def post(site: Site, body: bytes) -> WsgiAnswer:
    """A POST of `body` to the SOAP endpoint, as a WSGI server makes it."""
    return wsgi_call(site, body, path=SOAP_PATH)


def certificates_of(answer: WsgiAnswer, where: str, number: str) -> tuple[bytes, bytes]:
    """The answer's two certificates, after checking it is a SUCCESS with exactly those."""
    _require(answer.status == 200, f"{where}: HTTP {answer.status}")
    _require(
        int(answer.headers.get("content-length", "-1")) == len(answer.body),
        f"{where}: Content-Length differs from the body",
    )
    body = g.read_response(answer.body).body
    _require(isinstance(body, models.SendMessageResponse), f"{where}: a fault, not an answer")
    assert isinstance(body, models.SendMessageResponse)
    response = body.response
    _require(response.response_info.status.code == "SUCCESS", f"{where}: gateway status")
    data = response.response_data.data
    _require(isinstance(data, models.MedicalExemptionSearchResponse), f"{where}: payload type")
    assert isinstance(data, models.MedicalExemptionSearchResponse)
    _require(data.status.code == "SUCCESS", f"{where}: status {data.status.code}")
    _require(len(data.medical_exemption_list) == 1, f"{where}: not exactly one exemption")
    (found,) = data.medical_exemption_list
    _require(found.number == number and found.status == "UP_TO_DATE", f"{where}: wrong exemption")
    electronic, printable = found.certificate, found.printable_certificate
    _require(electronic is not None and printable is not None, f"{where}: a certificate is missing")
    assert electronic is not None and printable is not None
    for pdf in (electronic, printable):
        _require(pdf.startswith(b"%PDF-"), f"{where}: a certificate is not a PDF")
    return electronic, printable


# --- timing -------------------------------------------------------------------------------------


@contextmanager
def gc_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def batch(run: Callable[[], object], number: int) -> float:
    """Seconds per call over a batch of `number` calls, the garbage collector off (as timeit)."""
    with gc_off():
        started = time.perf_counter()
        for _ in range(number):
            run()
        return (time.perf_counter() - started) / number


def calibrate(run: Callable[[], object], min_time: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... calls whose batch lasts `min_time` (as timeit)."""
    base = 1
    while True:
        for factor in (1, 2, 5):
            number = base * factor
            if batch(run, number) * number >= min_time:
                return number
        base *= 10


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}" if seconds < 0.01 else f"{seconds * 1000:,.1f}"


# --- 1. certificates ----------------------------------------------------------------------------


def record_of(number: str) -> Record:
    (record,) = (r for r in demo.RECORDS if r.number == number)
    return record


def up_to_date(records: Sequence[Record]) -> list[Record]:
    """The records a search answers with both certificates today."""
    day = dt.datetime.now(ZONE).date()
    return [r for r in records if r.status(day) is Status.UP_TO_DATE]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def part_certificates(args: argparse.Namespace, records: Sequence[Record]) -> str:
    """Both layouts of records never rendered before in this process (their QR codes made)."""
    count = 10 if args.quick else args.first
    fresh = up_to_date(records)[:count]
    _require(len(fresh) == count, f"only {len(fresh)} up-to-date generated records")
    cut = []
    for _ in range(1 if args.quick else 5):
        started = time.perf_counter()
        for path in (FONT_REGULAR, FONT_BOLD):
            FontFile(path).standard  # noqa: B018 - the property does the work timed here
        cut.append(time.perf_counter() - started)
    seconds: dict[str, list[float]] = {"electronic": [], "printable": [], "both": []}
    sizes: dict[str, int] = {}
    for record in fresh:
        url = verification_url(PUBLIC_URL, record.number, SECRET)
        both = 0.0
        for layout in Layout:
            with gc_off():
                started = time.perf_counter()
                pdf = render(record, layout, url)
                took = time.perf_counter() - started
            _require(pdf.startswith(b"%PDF-"), f"render {record.number} {layout.value}")
            seconds[layout.value].append(took)
            sizes[layout.value] = max(sizes.get(layout.value, 0), len(pdf))
            both += took
        seconds["both"].append(both)
    again = render(
        fresh[0], Layout.PRINTABLE, verification_url(PUBLIC_URL, fresh[0].number, SECRET)
    )
    _require(
        again
        == render(
            fresh[0], Layout.PRINTABLE, verification_url(PUBLIC_URL, fresh[0].number, SECRET)
        ),
        "render is not reproducible",
    )
    lines = [
        "## 1. Certificates: a record's first render",
        "",
        f"{count} generated up-to-date records, each rendered for the first time in this process "
        "(its QR code made, then reused by its second layout), one call timed at a time. The "
        f"fonts are cut once per process: {ms(statistics.median(cut))} ms for both (median of "
        f"{len(cut)}), before any of these.",
        "",
        "| layout | PDF bytes (largest) | p50 ms | p99 ms | best ms | spread |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, values in seconds.items():
        sample = Samples(1, tuple(values))
        size = f"{sizes[name]:,}" if name in sizes else "—"
        shown = "both layouts of a record" if name == "both" else name
        lines.append(
            f"| {shown} | {size} | **{ms(sample.median)}** | {ms(percentile(values, 0.99))} "
            f"| {ms(sample.best)} | {sample.spread:.0%} |"
        )
    return "\n".join(lines)


# --- 2. a whole search --------------------------------------------------------------------------


def search_request(number: str) -> bytes:
    """A SendMessage searching `number`, as the generated client writes it."""
    return criteria_request({"number": number})


def criteria_request(criteria: dict[str, str]) -> bytes:
    """A SendMessage searching by `criteria` (request field names), as the client writes it."""
    message = g.gateway.request_message(
        MEDICAL_EXEMPTION_SEARCH.service_id,
        models.MedicalExemptionSearchRequest(**criteria),
        sender_id=SENDER,
        password=PASSWORD,
    )
    return g.write_envelope(g.Envelope(body=message))


def database_bytes(engine: Engine, name: str) -> int:
    """What the database takes: SQLite's pages, or the relations of PostgreSQL's current schema."""
    with engine.connect() as connection:
        if name == SQLITE:
            pages = connection.execute(text("PRAGMA page_count")).scalar_one()
            size = connection.execute(text("PRAGMA page_size")).scalar_one()
            return int(pages) * int(size)
        total = connection.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).scalar_one()
        return int(total)


def part_search(
    databases: Sequence[Database], args: argparse.Namespace, records: Sequence[Record]
) -> str:
    count = 10 if args.quick else args.first
    fresh = up_to_date(records)
    repeat_request = search_request(NUMBER)
    expected_repeat = (
        render(record_of(NUMBER), Layout.ELECTRONIC, verification_url(PUBLIC_URL, NUMBER, SECRET)),
        render(record_of(NUMBER), Layout.PRINTABLE, verification_url(PUBLIC_URL, NUMBER, SECRET)),
    )
    rows = []
    for db in databases:
        # Warm-up: the first request of a site also verifies the sender's scrypt hash (it is then
        # remembered), which is not what a search costs; then the checks, on fresh answers.
        warm = certificates_of(post(db.site, repeat_request), f"{db.name} warm-up", NUMBER)
        _require(warm == expected_repeat, f"{db.name}: the certificates differ from render's")
        probe = fresh[-1]
        url = verification_url(PUBLIC_URL, probe.number, SECRET)
        first_pdfs = certificates_of(
            post(db.site, search_request(probe.number)), db.name, probe.number
        )
        rendered = tuple(render(probe, layout, url) for layout in Layout)
        _require(first_pdfs == rendered, f"{db.name}: a first search's PDFs differ from render's")
        db.forget_certificates()
        again = certificates_of(post(db.site, search_request(probe.number)), db.name, probe.number)
        _require(again == first_pdfs, f"{db.name}: a second render gave other bytes")
        chosen = fresh[db_index(databases, db) * count : (db_index(databases, db) + 1) * count]
        _require(len(chosen) == count, f"only {len(chosen)} fresh records for {db.name}")
        requests = [search_request(r.number) for r in chosen]
        size_before = database_bytes(db.engine, db.name)
        first_s: list[float] = []
        again_s: list[float] = []
        for request in requests:  # alternating, so that the machine's drifts hit both alike
            with gc_off():
                started = time.perf_counter()
                answer = post(db.site, request)
                first_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                post(db.site, repeat_request)
                again_s.append(time.perf_counter() - started)
            _require(answer.status == 200, f"{db.name}: HTTP {answer.status}")
        growth = database_bytes(db.engine, db.name) - size_before
        cached = db.cached_bytes()
        rows.append((db.name, first_s, again_s, growth, cached))
    lines = [
        "## 2. A search through the whole WSGI site: first searches and repeated ones",
        "",
        f"{args.records:,} generated records imported beside the demo data; {count} first "
        "searches, each of a record never searched on this site (both certificates rendered), "
        f"alternating with a repeated search of {NUMBER} (served from the worker's memory); one "
        "call timed at a time. **growth** is the database's size after the first searches minus "
        "before (SQLite: page_count × page_size; PostgreSQL: the public tables' total relation "
        "size), per first-searched record.",
        "",
        "| database | first p50 ms | first p99 ms | repeated p50 ms | repeated p99 ms "
        "| first / repeated (p50) | spread (first, repeated) | growth per record | worker's "
        "certificates in memory |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, first_s, again_s, growth, cached in rows:
        f, a = Samples(1, tuple(first_s)), Samples(1, tuple(again_s))
        lines.append(
            f"| {name} | **{ms(f.median)}** | {ms(percentile(first_s, 0.99))} "
            f"| **{ms(a.median)}** | {ms(percentile(again_s, 0.99))} "
            f"| **{f.median / a.median:,.1f}×** | {f.spread:.0%}, {a.spread:.0%} "
            f"| {growth / count:,.0f} B | {cached / 2**20:,.1f} MiB (bound {CACHE_MIB} MiB) |"
        )
    return "\n".join(lines)


def db_index(databases: Sequence[Database], db: Database) -> int:
    return [d.name for d in databases].index(db.name)


# --- 3. import ----------------------------------------------------------------------------------


def import_once(url: str, path: Path, records: Sequence[Record], check: bool) -> float:
    """Seconds to import `path` into the freshly migrated database at `url`; checks the result."""
    upgrade(url)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        summary = import_file(engine, path)
        seconds = time.perf_counter() - started
        where = f"import {path.name} into {display(url)}"
        _require(summary.inserted == len(records) and summary.updated == 0, f"{where}: summary")
        with engine.connect() as connection:
            count = connection.scalar(select(func.count()).select_from(ExemptionRow))
        _require(count == len(records), f"{where}: {count} rows in the table")
        if check:  # a few rows read back as the records they were made from
            registry = Registry(engine)
            for record in (records[0], records[len(records) // 2], records[-1]):
                got = registry.by_number(record.number)
                _require(got == record, f"{where}: {record.number} reads back differently")
        return seconds
    finally:
        engine.dispose()


def part_import(
    names: Sequence[str], postgres: str | None, folder: Path, args: argparse.Namespace
) -> str:
    count = QUICK_IMPORT_ROWS if args.quick else args.rows
    repeats = 1 if args.quick else args.import_repeats
    records = generated_records(count)
    files = {fmt: folder / f"import.{fmt}" for fmt in FORMATS}
    for path in files.values():
        write_import_file(records, path)
    pairs = [(name, fmt) for name in names for fmt in FORMATS]
    seconds: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for round_ in range(repeats):
        for offset in range(len(pairs)):
            name, fmt = pairs[(round_ + offset) % len(pairs)]
            print(f"  import {name} {fmt}, round {round_ + 1}", file=sys.stderr, flush=True)
            url = fresh_url(name, folder, postgres, "import")
            seconds[(name, fmt)].append(import_once(url, files[fmt], records, round_ == 0))
    sizes = ", ".join(f"{fmt.upper()} {files[fmt].stat().st_size / 1e6:,.1f} MB" for fmt in FORMATS)
    lines = [
        "## 3. Import",
        "",
        f"{count:,} generated valid rows ({sizes}); each import into a freshly migrated, "
        f"empty database; {repeats} round(s).",
        "",
        "| database | file | rows/s (median) | best rows/s | seconds (median) | spread |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for name, fmt in pairs:
        s = Samples(1, tuple(seconds[(name, fmt)]))
        lines.append(
            f"| {name} | {fmt.upper()} | **{count / s.median:,.0f}** | {count / s.best:,.0f} "
            f"| {s.median:,.2f} | {s.spread:.0%} |"
        )
    return "\n".join(lines)


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


def _server_version(databases: Sequence[Database]) -> str:
    parts = []
    for db in databases:
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "sqlite":
                version = connection.scalar(text("select sqlite_version()"))
            else:
                version = connection.scalar(text("show server_version"))
        parts.append(f"{db.name} {version}")
    return ", ".join(parts)


def header(args: argparse.Namespace, databases: Sequence[Database], skipped: str | None) -> str:
    if args.quick:
        method = (
            f"--quick: 10 renders and first searches over {args.records:,} records, "
            f"{QUICK_IMPORT_ROWS:,} import rows, one import round (a smoke run; the numbers "
            "mean little)"
        )
    else:
        method = (
            f"parts 1-2: {args.first} calls each, one timed at a time, gc off around it, first "
            f"and repeated searches alternating, over {args.records:,} generated records; "
            f"{args.import_repeats} import rounds of {args.rows:,} rows; p50/p99 over the calls, "
            "medians and bests over the rounds; spread = interquartile range / median"
        )
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}"
        for p in ("fonttools", "zxing-cpp", "SQLAlchemy", "psycopg", "lxml")
    )
    date_ = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# The reference service: certificates, a whole search, the import",
        "",
        f"- date: {date_}",
        f"- machine: {platform.platform()}; {_cpu_model()}; "
        f"{os.cpu_count()} logical CPUs{_usable_cpus()}",
        f"- python: {platform.python_implementation()} {platform.python_version()} "
        f"({platform.python_compiler()})",
        f"- {versions}",
        f"- databases: {_server_version(databases)} (SQLite: a file in {tempfile.gettempdir()}, "
        "write-ahead log; PostgreSQL: local, over TCP)",
        f"- method: {method}",
        f"- command: `{' '.join(['python -m bench.service', *args.shown_argv])}`",
    ]
    if skipped:
        lines.append(f"- **PostgreSQL rows skipped**: {skipped}")
    return "\n".join(lines)


NOTES = """\
## What each row does

- **a record's first render**: `exemptions.certificates.render.render(record, layout, url)` of a
  generated up-to-date record with its verification URL, never rendered before in this process: a
  fresh document, the QR code made (then reused by the record's second layout), the text laid out
  in PT Sans, the PDF written. The fonts are cut before (`pdf.FontFile(path).standard`, timed on
  its own: what a worker's first certificate adds once). Checked: a PDF, the same bytes twice.
- **first search**: `build_app(Settings(...))` over a migrated database holding the demo data and
  the generated records (imported with `import_file`), the sender's password stored as a scrypt
  hash; a SendMessage for one number, written as the generated client writes it, POSTed to
  `/sync` through the whole WSGI site with a minimal environ, the body joined: read and check the
  envelope, authenticate, look the number up, render both layouts, write the answer (both PDFs in
  base64). Each timed first search is of a record never searched on that site. The sender's
  scrypt check runs once per site (then it is remembered) and falls in an untimed warm-up.
- **repeated search**: a search of 01085, searched before: both certificates from the worker's
  memory (`SearchService.cache_bytes` bounds it).
- Checked before timing, on each database: HTTP 200, a SUCCESS answer with the exemption UP_TO_DATE
  and both certificates equal to `render`'s, for 01085 and for a generated record, and the same
  bytes again after the worker forgot them.
- **growth**: nothing is stored by a search (certificates are rendered, not kept in the database;
  the replay seen-set, off here, adds one row per message until it expires).
- **import**: `exemptions.storage.importer.import_file(engine, path)` (read, check every row against
  the dictionaries, then insert in one transaction: executemany batches on SQLite, COPY on
  PostgreSQL), timed around the call, into a database emptied and migrated (not timed) before
  each round. Rows are generated with `random.Random(0)`: valid IINs built with
  `exemptions.iin.check_digit` (birth date, century and sex digit, serial), 10 % foreign citizens
  by passport and citizenship code, half temporary with an end date, 5 % revoked, the procedure and
  citizenship codes from the shipped dictionaries, written with `exemptions.demo.import_row`'s
  field names. Checked: every row inserted, the table's count, and three rows read back through
  `Registry.by_number` equal to the records they were generated from.
"""


def run(args: argparse.Namespace) -> str:
    postgres, skipped = postgres_target(args)
    senders = {SENDER: hash_password(PASSWORD)}
    names = [SQLITE] + ([POSTGRES] if postgres else [])
    if args.quick:
        args.records = min(args.records, 300)
    records = generated_records(args.records)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        folder = Path(tmp)
        records_file = folder / "records.jsonl"
        write_import_file(records, records_file)
        print("checking and timing certificates ...", file=sys.stderr, flush=True)
        sections = [part_certificates(args, records)]
        databases = [
            open_database(name, fresh_url(name, folder, postgres, "service"), senders, records_file)
            for name in names
        ]
        try:
            sections.insert(0, header(args, databases, skipped))
            print("checking and timing searches ...", file=sys.stderr, flush=True)
            sections.append(part_search(databases, args, records))
        finally:
            for db in databases:
                db.registry.close()  # the site's own engine goes with the site
            del databases
            gc.collect()
        print("checking and timing imports ...", file=sys.stderr, flush=True)
        sections.append(part_import(names, postgres, folder, args))
    sections.append(NOTES)
    return "\n\n".join(sections)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="a few calls per contender (CI smoke)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help=f"PostgreSQL to use, its public schema emptied (default: env {POSTGRES_ENV})",
    )
    parser.add_argument(
        "--first", type=int, default=150, help="first searches (and renders) timed (default 150)"
    )
    parser.add_argument(
        "--records", type=int, default=3_000, help="records the searches run over (default 3000)"
    )
    parser.add_argument(
        "--rows", type=int, default=100_000, help="rows in the import file (default 100000)"
    )
    parser.add_argument("--import-repeats", type=int, default=3, help="import rounds (default 3)")
    args = parser.parse_args(argv)
    raw = list(sys.argv[1:] if argv is None else argv)
    # The command as run, PostgreSQL's URL without its password.
    args.shown_argv = [
        display(a) if i > 0 and raw[i - 1] == "--postgres" else a for i, a in enumerate(raw)
    ]
    args.shown_argv = [
        "--postgres=" + display(a.partition("=")[2]) if a.startswith("--postgres=") else a
        for a in args.shown_argv
    ]
    if args.first < 1 or args.rows < 3 or args.import_repeats < 1:
        parser.error("--first and --import-repeats must be ≥ 1, --rows ≥ 3")
    if args.records < 2 * args.first * 2:  # up-to-date ones for each database, with room
        parser.error("--records must be at least four times --first")
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
