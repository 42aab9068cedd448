"""The reference service at registry scale: 10³, 10⁵ and 10⁶ records on SQLite and PostgreSQL.

Run from the project root:

    python -m bench.scale [--quick] [--sizes 1000,100000,1000000] [--out FILE.md] [--postgres URL]

For each size and database: generated records (`tests.samples.generated_records`: valid IINs,
temporary and permanent contraindications, 5 % revoked, 10 % foreign citizens by passport) are
written to a CSV file and imported with `import_file` into a freshly migrated database (timed);
the database's size per record is measured; every search statement's query plan is read with
EXPLAIN and must use an index; then a worker of the site (`build_app`, in a child process of its
own, so that its memory is a worker's and not this process's) answers a shuffled mix of searches
posted through the whole WSGI site: found and not found, by number, by IIN and by passport with
citizenship, found ones mostly of records never searched before. Each search is timed alone; the
report gives p50/p99 per kind, the worker's resident memory after the searches, and the ratio of
each size's p50 to the smallest size's.

Every answer is checked (its status, and the number found), and a wrong one stops the run. Without
a reachable PostgreSQL its rows are skipped with a note; under CI=true a --quick run fails instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import service as sb
from bench.stats import Samples
from medexempt import generated as g
from medexempt.exemptions.records import ZONE, Record, Status
from medexempt.exemptions.storage import create_engine, display, upgrade
from medexempt.exemptions.storage.importer import import_file
from medexempt.exemptions.storage.registry import _CRITERIA, _search_statement
from medexempt.generated import models
from medexempt.generated.passwords import hash_password
from tests import samples
from tests.harness import WsgiAnswer

DESCRIPTION = "The reference service at 10³-10⁶ records: import, size, searches, plans, memory."
KINDS = (
    "number, found",
    "IIN, found",
    "passport, found",
    "number, not found",
    "IIN, not found",
    "passport, not found",
)
PER_KIND = 100
QUICK_PER_KIND = 10
ROUNDS = 5  # slices of each worker's searches, the workers taking turns


@dataclass(frozen=True, slots=True)
class Search:
    kind: str
    criteria: dict[str, str]
    expected: str | None  # the number the answer must hold first, or None: NOT_FOUND


def searches(records: Sequence[Record], per_kind: int, seed: int) -> list[Search]:
    """`per_kind` searches of each kind, shuffled; found ones of distinct records."""
    rng = random.Random(seed)
    day = dt.datetime.now(ZONE).date()
    pool = [r for r in records if r.status(day) is Status.UP_TO_DATE]
    rng.shuffle(pool)
    by_iin = [r for r in pool if r.iin][: per_kind * 2]
    by_passport = [r for r in pool if r.passport_number][:per_kind]
    found_numbers = pool[-per_kind:]
    known_iins = {r.iin for r in records}
    known_numbers = {r.number for r in records}
    chosen = [Search("number, found", {"number": r.number}, r.number) for r in found_numbers]
    chosen += [Search("IIN, found", {"iin": r.iin or ""}, None) for r in by_iin[:per_kind]]
    chosen += [
        Search(
            "passport, found",
            {
                "passport_number": r.passport_number or "",
                "citizenship_code": r.citizenship_code or "",
            },
            None,
        )
        for r in by_passport
    ]
    missing_iins: list[str] = []
    while len(missing_iins) < per_kind:
        iin = samples.make_iin(rng, dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20_000)))
        if iin not in known_iins:
            missing_iins.append(iin)
    chosen += [Search("IIN, not found", {"iin": iin}, None) for iin in missing_iins]
    chosen += [
        Search("number, not found", {"number": f"Z{n:07d}"}, None)
        for n in range(per_kind)
        if f"Z{n:07d}" not in known_numbers
    ]
    chosen += [
        Search(
            "passport, not found",
            {"passport_number": f"X{rng.randrange(10**8):08d}", "citizenship_code": "643"},
            None,
        )
        for _ in range(per_kind)
    ]
    rng.shuffle(chosen)
    return chosen


# --- the worker (a child process) ---------------------------------------------------------------


def worker(url: str, plan: Path) -> None:
    """Build the site over `url`, then answer the searches of `plan` a slice at a time, as the
    driver asks on standard input (`run I J`; `end`), printing each slice's times (and, at
    the end, the resident memory) as a JSON line."""
    from medexempt.exemptions.app import Settings, build_app

    wanted = json.loads(plan.read_text(encoding="utf-8"))
    settings = Settings(
        db_url=url,
        public_url=sb.PUBLIC_URL,
        secret=sb.SECRET,
        senders={sb.SENDER: wanted["hash"]},
        replay_protection=False,
    )
    site = build_app(settings)
    warm = sb.post(site, sb.criteria_request({"number": "Z-warm-up"}))  # the scrypt check, once
    sb._require(warm.status == 200, f"warm-up: HTTP {warm.status}")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, *bounds = line.split()
        if command == "end":
            print(json.dumps({"rss": _rss_bytes()}), flush=True)
            return
        first, last = map(int, bounds)
        seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for item in wanted["searches"][first:last]:
            body = sb.criteria_request(item["criteria"])
            started = time.perf_counter()
            answer = sb.post(site, body)
            seconds[item["kind"]].append(time.perf_counter() - started)
            _check(answer, item)
        print(json.dumps({"seconds": seconds}), flush=True)


def _check(answer: WsgiAnswer, item: dict[str, Any]) -> None:
    where = f"{item['kind']} {item['criteria']}"
    sb._require(answer.status == 200, f"{where}: HTTP {answer.status}")
    body = g.read_response(answer.body).body
    sb._require(isinstance(body, models.SendMessageResponse), f"{where}: a fault")
    assert isinstance(body, models.SendMessageResponse)
    data = body.response.response_data.data
    assert isinstance(data, models.MedicalExemptionSearchResponse)
    found = item["kind"].endswith(", found")
    code = "SUCCESS" if found else "NOT_FOUND"
    sb._require(data.status.code == code, f"{where}: {data.status.code}, not {code}")
    if item["expected"] is not None:
        numbers = [e.number for e in data.medical_exemption_list]
        sb._require(item["expected"] in numbers, f"{where}: {item['expected']} not in {numbers}")


def _rss_bytes() -> int:
    """The resident memory of this process now (Linux /proc), else its peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- query plans --------------------------------------------------------------------------------


def plans(url: str, name: str) -> dict[str, str]:
    """Every search statement's plan, checked to use an index; a short form of each."""
    engine = create_engine(url)
    shown: dict[str, str] = {}
    try:
        with engine.connect() as connection:
            for given in (("number",), ("iin",), ("passport_number", "citizenship_code")):
                ordered = tuple(c for c in _CRITERIA if c in given)
                statement = _search_statement(ordered)
                compiled = statement.compile(dialect=engine.dialect)
                params: Any = (
                    tuple("x" for _ in compiled.positiontup or ())
                    if compiled.positional
                    else dict.fromkeys(compiled.params, "x")
                )
                prefix = "EXPLAIN QUERY PLAN " if name == sb.SQLITE else "EXPLAIN "
                rows = connection.exec_driver_sql(prefix + str(compiled), params).all()
                plan = " | ".join(str(row[-1]) for row in rows)
                uses_index = (
                    ("USING INDEX" in plan or "USING COVERING INDEX" in plan)
                    if (name == sb.SQLITE)
                    else ("Index" in plan and "Seq Scan on exemptions" not in plan)
                )
                sb._require(uses_index, f"{name}: the search by {given} uses no index: {plan}")
                shown[" + ".join(given)] = plan
    finally:
        engine.dispose()
    return shown


def size_bytes(url: str, name: str) -> int:
    engine = create_engine(url)
    try:
        return sb.database_bytes(engine, name)
    finally:
        engine.dispose()


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Cell:
    name: str
    size: int
    import_seconds: float
    bytes_per_record: float
    seconds: dict[str, list[float]]
    rss: int
    plans: dict[str, str]


@dataclass
class Prepared:
    name: str
    size: int
    url: str
    import_seconds: float
    bytes_per_record: float
    plans: dict[str, str]
    plan_file: Path
    searches: int


def pg_schema_url(url: str, schema: str) -> str:
    """`url` with its connections' search_path set to `schema` (emptied and created first)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def prepare(name: str, size: int, folder: Path, postgres: str | None, per_kind: int) -> Prepared:
    print(f"  {name}, {size:,} records: generating ...", file=sys.stderr, flush=True)
    records = samples.generated_records(size)
    path = folder / f"records-{size}.csv"
    if not path.exists():
        samples.write_import_file(records, path)
    if name == sb.SQLITE:
        url = f"sqlite:///{folder / f'scale-{size}.sqlite3'}"
    else:
        assert postgres is not None
        url = pg_schema_url(postgres, f"medexempt_scale_{size}")
    upgrade(url)
    engine = create_engine(url)
    try:
        print(f"  {name}, {size:,} records: importing ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        summary = import_file(engine, path)
        took = time.perf_counter() - started
        sb._require(summary.inserted == size, f"{name}: imported {summary.inserted} of {size}")
    finally:
        engine.dispose()
    per_record = size_bytes(url, name) / size
    shown = plans(url, name)
    plan_file = folder / f"plan-{name}-{size}.json"
    wanted = [
        {"kind": s.kind, "criteria": s.criteria, "expected": s.expected}
        for s in searches(records, per_kind, seed=size)
    ]
    plan_file.write_text(
        json.dumps({"hash": hash_password(sb.PASSWORD), "searches": wanted}), encoding="utf-8"
    )
    return Prepared(name, size, url, took, per_record, shown, plan_file, len(wanted))


def measure(prepared: Sequence[Prepared], rounds: int) -> list[Cell]:
    """One worker per database; the searches of each run in `rounds` slices, the workers taking
    turns slice by slice in rotating order, so that a drift of the machine hits every size alike."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--worker", p.url, str(p.plan_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=sb.ROOT,
        )
        for p in prepared
    ]
    seconds: list[dict[str, list[float]]] = [{kind: [] for kind in KINDS} for _ in prepared]
    rss: list[int] = [0 for _ in prepared]

    def ask(n: int, line: str) -> dict[str, Any]:
        stdin, stdout = workers[n].stdin, workers[n].stdout
        assert stdin is not None and stdout is not None
        if line:
            stdin.write(line + "\n")
            stdin.flush()
        answer = stdout.readline()
        where = f"{prepared[n].name} {prepared[n].size:,}"
        sb._require(bool(answer), f"{where}: the worker stopped (its stderr says why)")
        result: dict[str, Any] = json.loads(answer)
        return result

    try:
        for n in range(len(workers)):
            ask(n, "")  # ready: site built, the sender's scrypt check done
        for round_ in range(rounds):
            for offset in range(len(workers)):
                n = (round_ + offset) % len(workers)
                count = prepared[n].searches
                first, last = count * round_ // rounds, count * (round_ + 1) // rounds
                print(f"  {prepared[n].name}, {prepared[n].size:,}: searches {first}-{last}",
                      file=sys.stderr, flush=True)  # fmt: skip
                for kind, values in ask(n, f"run {first} {last}")["seconds"].items():
                    seconds[n][kind] += values
        for n in range(len(workers)):
            rss[n] = ask(n, "end")["rss"]
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    return [
        Cell(p.name, p.size, p.import_seconds, p.bytes_per_record, seconds[n], rss[n], p.plans)
        for n, p in enumerate(prepared)
    ]


def report(cells: list[Cell], args: argparse.Namespace, skipped: str | None) -> str:
    lines = [
        "# The reference service at registry scale",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.platform()}; {os.cpu_count()} logical CPUs",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- sizes: {', '.join(f'{s:,}' for s in args.sizes)}; {args.per_kind} searches of each "
        "kind per cell, shuffled, one timed at a time in a worker process of its own",
        f"- command: `python -m bench.scale {' '.join(args.shown_argv)}`".rstrip(),
    ]
    if skipped:
        lines.append(f"- **PostgreSQL rows skipped**: {skipped}")
    lines += [
        "",
        "## Import, size, memory",
        "",
        "| database | records | import s | rows/s | database bytes per record | worker RSS MiB |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for c in cells:
        lines.append(
            f"| {c.name} | {c.size:,} | {c.import_seconds:,.1f} | {c.size / c.import_seconds:,.0f} "
            f"| {c.bytes_per_record:,.0f} | {c.rss / 2**20:,.0f} |"
        )
    lines += [
        "",
        "## Searches: p50 / p99 ms, and p50 against the smallest size",
        "",
        "| database | records | " + " | ".join(KINDS) + " |",
        "|---|--:|" + "--:|" * len(KINDS),
    ]
    smallest = {c.name: c for c in cells if c.size == min(args.sizes)}
    for c in cells:
        base = smallest[c.name]
        row = f"| {c.name} | {c.size:,} |"
        for kind in KINDS:
            values = c.seconds[kind]
            median = Samples(1, tuple(values)).median
            ratio = median / Samples(1, tuple(base.seconds[kind])).median
            row += (
                f" {median * 1000:.2f} / {sb.percentile(values, 0.99) * 1000:.2f} ({ratio:.2f}×) |"
            )
        lines.append(row)
    lines += ["", "## Query plans (EXPLAIN), largest size", ""]
    for c in cells:
        if c.size == max(args.sizes):
            for given, plan in c.plans.items():
                lines.append(f"- {c.name}, by {given}: `{plan}`")
    lines += [
        "",
        "Found searches are of up-to-date records (both certificates rendered); by number, each "
        "of a record never searched before. The worker is `build_app` over the database, as one "
        "gunicorn worker runs it, the request posted through the whole WSGI site.",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    postgres, skipped = sb.postgres_target(args)
    names = [sb.SQLITE] + ([sb.POSTGRES] if postgres else [])
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        prepared = [
            prepare(name, size, folder, postgres, args.per_kind)
            for size in args.sizes
            for name in names
        ]
        try:
            cells = measure(prepared, ROUNDS)
        finally:
            if postgres:
                engine = create_engine(postgres)
                try:
                    with engine.begin() as connection:
                        for size in args.sizes:
                            connection.execute(
                                text(f'DROP SCHEMA IF EXISTS "medexempt_scale_{size}" CASCADE')
                            )
                finally:
                    engine.dispose()
    return report(cells, args, skipped)


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["--worker"]:
        worker(raw[1], Path(raw[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke)")
    parser.add_argument(
        "--sizes", help="comma-separated record counts (default 1000,100000,1000000)"
    )
    parser.add_argument("--per-kind", type=int, help=f"searches of each kind (default {PER_KIND})")
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument(
        "--postgres", metavar="URL", help=f"PostgreSQL to use (default: env {sb.POSTGRES_ENV})"
    )
    args = parser.parse_args(raw)
    default = "1000,5000" if args.quick else "1000,100000,1000000"
    try:
        args.sizes = sorted({int(s) for s in (args.sizes or default).split(",")})
    except ValueError:
        parser.error("--sizes takes record counts separated by commas")
    if min(args.sizes) < 500:
        parser.error("every size must be at least 500 records")
    args.per_kind = args.per_kind or (QUICK_PER_KIND if args.quick else PER_KIND)
    args.shown_argv = [display(a) if a.startswith("postgresql") else a for a in raw]
    try:
        text_ = run(args)
    except sb.BenchmarkError as exc:
        print(f"benchmark FAILED: {exc}", file=sys.stderr)
        return 1
    print(text_)
    if args.out is not None:
        args.out.write_text(text_ + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
