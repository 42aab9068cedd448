"""The whole comparison in one command: codecs, the reference service, the served path, a profile.

Run from the project root (`make bench` installs wrk first and passes the test PostgreSQL):

    python -m bench [--quick] [--postgres URL] [--out-dir DIR] [--before REV]

Each part is its own module, runnable alone, writing its own Markdown report into DIR (default
bench/results): codecs.md (`bench.codecs`), service.md (`bench.service`), scale.md
(`bench.scale`), served.md (`bench.served`), signing.md (`bench.signing`) and, unless --quick,
profile.md (`bench.profile`, py-spy; with --before REV it profiles that commit too).
DIR/README.md then lists the targets of the served path with the ratios measured in this run,
the codecs' ratios, and links to the reports. --quick is the smoke form CI runs: every part
briefly, every answer still checked, the numbers meaning little.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import codecs, profile, scale, served, service, signing
from medexempt.exemptions.storage import display

ROOT = Path(__file__).resolve().parent.parent
PARTS: tuple[tuple[str, Callable[[Sequence[str] | None], int], str], ...] = (
    ("codecs", codecs.main, "envelope codecs: ours vs raw lxml, xsdata's generic path, zeep"),
    ("service", service.main, "the reference service: certificates, a whole search, the import"),
    ("scale", scale.main, "10³, 10⁵, 10⁶ records: import, size, searches by kind, plans, memory"),
    ("served", served.main, "in process vs spyne; over HTTP vs a fixed-answer floor"),
    ("signing", signing.main, "GOST 34.10-2015 and Streebog beside RSA-2048 and gostcrypto"),
    ("profile", profile.main, "where a served request's time goes (py-spy)"),
)


def section(text: str, title: str) -> list[str]:
    """The lines of `## title` in a report, up to the next `## `."""
    match = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(0).strip().splitlines()[1:] if match else []


def index(out_dir: Path, ran: list[str], argv: Sequence[str]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `python -m bench {' '.join(argv)}`".rstrip(),
        "- every report names its machine, versions and method; ratios are measured in the same"
        " run (the machine is shared and noisy: absolute times drift)",
        "",
        "| report | what |",
        "|---|---|",
    ]
    lines += [f"| [{name}.md]({name}.md) | {what} |" for name, _, what in PARTS if name in ran]
    served_md = out_dir / "served.md"
    if "served" in ran and served_md.exists():
        lines += ["", "## Targets of the served path (from served.md)"]
        lines += section(served_md.read_text(encoding="utf-8"), "Targets")
    codecs_md = out_dir / "codecs.md"
    if "codecs" in ran and codecs_md.exists():
        text = codecs_md.read_text(encoding="utf-8")
        for title in ("(a)", "(b)"):
            body = section(text, title)
            table = [line for line in body if line.startswith("|")]
            if table:
                heading = next(line for line in text.splitlines() if line.startswith(f"## {title}"))
                lines += ["", f"## Codecs, {heading[3:]} (from codecs.md)", "", *table]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smoke form (CI)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL for the database rows")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--before", metavar="REV", help="the profile also shows this commit")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    ran: list[str] = []
    for name, run, _ in PARTS:
        if name == "profile" and args.quick:
            continue  # py-spy needs ptrace, which CI's container may not allow
        part_argv = ["--out", str(args.out_dir / f"{name}.md")]
        if args.quick and name != "profile":
            part_argv.append("--quick")
        if args.postgres and name in ("service", "scale", "served"):
            part_argv += ["--postgres", args.postgres]
        if args.before and name == "profile":
            part_argv += ["--before", args.before]
        print(f"== bench.{name} ==", file=sys.stderr, flush=True)
        if run(part_argv) != 0:
            print(f"bench.{name} FAILED", file=sys.stderr)
            return 1
        ran.append(name)
    shown = [display(a) if a == args.postgres else a for a in (argv or sys.argv[1:])]
    (args.out_dir / "README.md").write_text(index(args.out_dir, ran, shown), encoding="utf-8")
    print(f"reports in {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
