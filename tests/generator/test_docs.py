"""The documentation's own check: every relative link of README.md, CONTRIBUTING.md and docs/ leads
to a file that exists (and, for a Markdown page, to a heading it has); the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.relative_to(ROOT)}: no heading #{anchor}"


def test_the_readme_says_what_this_is_and_where_to_go_in_under_150_lines() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 150
    for heading in ("## The two commands", "## Where to go next"):
        assert heading in text
    assert "make run" in text and "make test" in text


def test_the_spec_and_the_original_are_in_the_repository() -> None:
    spec = ROOT / "docs" / "reference" / "SPEC.md"
    assert "medical-exemption-search.ru.txt" in spec.read_text(encoding="utf-8")
    assert (spec.parent / "medical-exemption-search.ru.txt").is_file()


# --- The figures the docs quote are the reports' (bench/results/, written by `make bench`) ---

RESULTS = ROOT / "bench" / "results"


def _codec_ratios() -> dict[tuple[str, str], float]:
    """The round-trip ratios to raw lxml of codecs.md, by message and contender."""
    text = (RESULTS / "codecs.md").read_text(encoding="utf-8")
    request, response = text.split("## (b)", 1)
    found = {}
    for message, part in (("request", request), ("response", response)):
        for line in part.splitlines():
            cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
            if len(cells) > 5 and cells[1] == "round trip":
                contender = cells[0].split(":")[0]
                found[message, contender] = float(cells[-1].replace(",", ""))
    return found


def test_the_codec_figures_are_the_reports() -> None:
    ratios = _codec_ratios()
    expected = {
        message: [ratios[message, name] for name in ("ours", "xsdata generic", "zeep")]
        for message in ("request", "response")
    }
    for page in ("docs/explanation/performance.md", "docs/explanation/codecs.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        for message, label in (
            ("request", "the original's request"),
            ("response", "a response with"),
        ):
            row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
            shown = [float(c.strip().rstrip("×")) for c in row.split("|")[-4:-1]]
            assert shown == expected[message], (page, message, shown, expected[message])
    codecs = " ".join((ROOT / "docs/explanation/codecs.md").read_text(encoding="utf-8").split())
    generic, zeep = ratios["request", "xsdata generic"], ratios["request", "zeep"]
    assert f"take {generic:.0f}× what lxml needs" in codecs and f"zeep takes {zeep:.0f}×" in codecs
    faster = [ratios[m, other] / ratios[m, "ours"] for m in ("request", "response")
              for other in ("xsdata generic", "zeep")]  # fmt: skip
    claim = (
        f"{int(min(faster))}–{int(max(faster)) + 1}× faster than xsdata's generic binding and zeep"
    )
    assert claim in (ROOT / "README.md").read_text(encoding="utf-8").replace("\n  ", " ")


_SERVED_ROWS = {
    "the reference service, found (a repeated search), SQLite": ("SQLite", "found"),
    "the reference service, found (a repeated search), PostgreSQL": ("PostgreSQL", "found"),
    "the reference service, first searches of 3,000 records, SQLite": ("SQLite", "first searches"),
    "the reference service, first searches of 3,000 records, PostgreSQL": (
        "PostgreSQL",
        "first searches",
    ),
    "our generated server, fixed Servicer, no database": (
        "generated server, fixed Servicer",
        "found",
    ),
    "spyne 2.14, fixed answer, no database": ("spyne 2.14, fixed answer", "found"),
    "the floor: fixed bytes": ("floor: fixed answer", "same bytes as found"),
}


def test_the_served_table_is_the_reports() -> None:
    served = {}
    for line in (RESULTS / "served.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[2] in ("1", "16", "64"):
            served[cells[0], cells[1], cells[2]] = cells[3]
    text = (ROOT / "docs" / "explanation" / "performance.md").read_text(encoding="utf-8")
    for label, (server, search) in _SERVED_ROWS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
        shown = [c.strip() for c in row.split("|")[2:5]]
        assert shown == [served[server, search, c] for c in ("1", "16", "64")], label


def _median(report: str, section: str, first: str) -> str:
    """The median cell of the row `first` in the `## section` table of `report`."""
    text = (RESULTS / report).read_text(encoding="utf-8").split(f"## {section}\n", 1)[1]
    row = next(line for line in text.splitlines() if line.startswith(f"| {first} |"))
    return row.split("|")[2].strip()


def test_the_signing_figures_are_the_reports() -> None:
    text = " ".join(
        (ROOT / "docs" / "how-to" / "sign-messages.md").read_text(encoding="utf-8").split()
    )
    speed = text.split("## Speed", 1)[1]
    figures = [
        _median("signing.md", "verify", "GOST: ours (gmpy2)"),
        _median("signing.md", "sign", "GOST: ours (gmpy2)"),
        _median("signing.md", "Streebog-512", "ours (OpenSSL GOST provider), 1 MiB") + " MB/s",
        _median("signing.md", "verify", "GOST: gostcrypto"),
        _median("signing.md", "message", "verify a request: GOST"),
        _median("signing.md", "message", "verify a request: GOST, new signer (chain too)"),
        _median("signing.md", "message", "verify a request: RSA"),
    ]
    for figure in figures:
        assert figure in speed, figure

    def ms(section: str, row: str) -> float:
        return float(_median("signing.md", section, row).removesuffix(" ms"))

    ours, on_int = "GOST: ours (gmpy2)", "GOST: ours on Python's int"
    verify = ms("verify", on_int) / ms("verify", ours)
    sign = ms("sign", on_int) / ms("sign", ours)
    assert f"{verify:.1f}× slower to verify and {sign:.1f}× to sign" in text
    assert f"{ms('verify', 'GOST: gostcrypto') / ms('verify', ours):.0f}× slower to verify" in text


def _row(report: str, first: str, second: str | None = None) -> list[str]:
    for line in (RESULTS / report).read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if cells[0] == first and (second is None or cells[1] == second):
            return cells
    raise AssertionError(f"{report}: no row {first!r} {second!r}")


def test_the_service_and_scale_figures_are_the_reports() -> None:
    text = " ".join(
        (ROOT / "docs" / "explanation" / "performance.md").read_text(encoding="utf-8").split()
    )
    both = _row("service.md", "both layouts of a record")
    assert f"take {float(both[2]):.1f} ms (p50, p99 {float(both[3]):.1f} ms" in text
    reference = " ".join(
        (ROOT / "docs" / "reference" / "service.md").read_text(encoding="utf-8").split()
    )
    assert f"both layouts of a record render in {float(both[2]):.1f} ms (p50," in reference
    sqlite, postgres = _row("service.md", "SQLite"), _row("service.md", "PostgreSQL")
    first = f"{float(sqlite[1]):.1f} ms on SQLite and {float(postgres[1]):.1f} ms on PostgreSQL"
    repeated = f"against {float(sqlite[3]):.1f} and {float(postgres[3]):.1f} ms"
    assert first in text and repeated in text, (first, repeated)
    assert f"**{sqlite[5]} and {postgres[5]}**" in text
    million = _row("scale.md", "PostgreSQL", "1,000,000")
    assert f"10⁶ records import in {round(float(million[2]))} s on PostgreSQL" in text
    sqlite_million = _row("scale.md", "SQLite", "1,000,000")
    assert f"about {million[4]} and {sqlite_million[4]} bytes per record" in text
    scale = (RESULTS / "scale.md").read_text(encoding="utf-8")
    rss = [
        int(line.split("|")[6])
        for line in scale.splitlines()
        if line.startswith(("| SQLite | 1", "| PostgreSQL | 1")) and line.count("|") == 7
    ]
    assert f"resident memory is {min(rss)}–{max(rss)} MiB" in text
    ratios = [
        float(cell.strip().rsplit("(", 1)[1].rstrip("×)"))
        for line in scale.splitlines()
        if line.startswith(("| SQLite | 1,000,000 |", "| PostgreSQL | 1,000,000 |"))
        and "×)" in line
        for cell in line.split("|")[3:-1]
    ]
    assert f"{min(ratios):.2f}–{max(ratios):.2f}× that at 10³" in text


def _flood(report: str) -> dict[str, str]:
    """The legitimate client's p50/p99 alone and under the flood, and the flood's answers."""
    text = (RESULTS / report).read_text(encoding="utf-8")
    alone, during = _row(report, "alone"), _row(report, "under the flood")
    answers = re.search(r"AUTHENTICATION_THROTTLED (\d+), AUTHENTICATION_FAILED (\d+)", text)
    assert answers is not None, report
    return {
        "alone p99": alone[3], "p50": during[2], "p99": during[3],
        "throttled": answers[1], "failed": answers[2],
    }  # fmt: skip


def test_the_flood_figures_are_the_reports() -> None:
    text = " ".join(
        (ROOT / "docs" / "how-to" / "run-in-production.md").read_text(encoding="utf-8").split()
    )
    eight, many = _flood("flood.md"), _flood("flood-48.md")
    assert (
        f"Over 8 connections the client's p99 was {eight['p99']} ms under the flood "
        f"({eight['alone p99']} ms alone; p50 {eight['p50']} ms), and the flood was answered "
        f"{eight['throttled']} times `AUTHENTICATION_THROTTLED` and {eight['failed']} times "
        "`AUTHENTICATION_FAILED`"
    ) in text
    assert f"over 48 connections p99 {many['p99']} ms, p50 {many['p50']} ms" in text


def _served(server: str, search: str, concurrency: str) -> list[str]:
    """The row of served.md's HTTP table: requests/s, p50, p99, floor / this."""
    for line in (RESULTS / "served.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if cells[:3] == [server, search, concurrency]:
            return cells[3:]
    raise AssertionError(f"served.md: no row {server} {search} {concurrency}")


def test_the_performance_narrative_is_the_reports() -> None:
    text = " ".join(
        (ROOT / "docs" / "explanation" / "performance.md").read_text(encoding="utf-8").split()
    )
    served = (RESULTS / "served.md").read_text(encoding="utf-8")
    fixed = _row("served.md", "ours: generated server, fixed Servicer")[-1]
    site = _row("served.md", "ours: whole reference site, SQLite")[-1]
    assert f"fixed answer is {fixed} faster, the whole reference site" in text
    assert f"the certificates) {site} faster" in text
    first = {db: _served(db, "first searches", "1")[1] for db in ("SQLite", "PostgreSQL")}
    found = {db: _served(db, "found", "1")[1] for db in ("SQLite", "PostgreSQL")}
    assert (
        f"{first['SQLite']} against {found['SQLite']} ms on SQLite and {first['PostgreSQL']} "
        f"against {found['PostgreSQL']} ms on PostgreSQL"
    ) in text
    kept = re.search(r"a worker keeps about (\d+) records' certificates", served)
    assert kept is not None and f"keeping about {kept[1]} records'" in text
    floor = [_served("generated server, fixed Servicer", "found", c)[3] for c in ("1", "16", "64")]
    ratios = sorted(float(f.rstrip("×")) for f in floor)
    assert f"already {ratios[0]:.2f}–{ratios[-1]:.2f}× the floor" in text
    profile = {row[0]: row[1] for row in (_row("profile.md", p) for p in _PROFILE_PARTS)}
    send, database, log = (profile[p] for p in _PROFILE_PARTS)
    assert f"gunicorn sending the answer ({send})" in text
    assert f"the database round trip ({database}), the request log ({log})" in text
    rates = [
        int(_row("service.md", db, fmt)[2].replace(",", ""))
        for db in ("SQLite", "PostgreSQL")
        for fmt in ("CSV", "JSONL")
    ]
    assert f"import at {min(rates):,}–{max(rates):,} rows/s" in text
    sqlite_million = _row("scale.md", "SQLite", "1,000,000")
    assert f"and {round(float(sqlite_million[2]))} s on SQLite" in text
    by_number = {db: _searches(db)[0] for db in ("SQLite", "PostgreSQL")}
    assert (
        f"a found search by number {by_number['SQLite']} ms on SQLite and "
        f"{by_number['PostgreSQL']} ms on PostgreSQL"
    ) in text
    generator = re.search(r"\| \*\*([\d.]+)\*\* \|", served.split("## 4b.", 1)[1])
    assert generator is not None and f"`medexempt generate` runs in {generator[1]} s" in text


_PROFILE_PARTS = (
    "gunicorn: send the answer",
    "database (SQLAlchemy and driver)",
    "request log (JSON line; its writing thread too)",
)


def _searches(database: str) -> list[str]:
    """The p50s of scale.md's search table at 10⁶ records, in its column order."""
    text = (RESULTS / "scale.md").read_text(encoding="utf-8").split("## Searches", 1)[1]
    row = next(line for line in text.splitlines() if line.startswith(f"| {database} | 1,000,000 |"))
    return [cell.split(" / ")[0].strip() for cell in row.strip().strip("|").split("|")[2:]]


def test_the_import_guides_figures_are_the_reports() -> None:
    text = " ".join(
        (ROOT / "docs" / "how-to" / "import-records.md").read_text(encoding="utf-8").split()
    )
    seconds = [
        float(_row("service.md", db, fmt)[4])
        for db in ("SQLite", "PostgreSQL")
        for fmt in ("CSV", "JSONL")
    ]
    assert f"100,000 rows took {min(seconds):.1f}–{max(seconds):.1f} s here" in text
    million = {
        db: round(float(_row("scale.md", db, "1,000,000")[2])) for db in ("PostgreSQL", "SQLite")
    }
    assert (
        f"10⁶ {million['PostgreSQL']} s on PostgreSQL and {million['SQLite']} s on SQLite" in text
    )
