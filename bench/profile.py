"""Where a served request's time goes: py-spy samples of the server's workers under load.

Run from the project root (py-spy attaches to other processes: run as root, or allow ptrace):

    python -m bench.profile [--before REV] [--seconds N] [--concurrency C] [--out FILE.md]

`python -m medexempt serve --demo --workers 2` on a fresh SQLite file is loaded by `wrk` with the
original's request (01085 found, certificates in the workers' memory after a warm-up) while
`py-spy record --subprocesses --nonblocking` samples every worker. Each sample of a thread handling
a request is put in one part of the request by the deepest frame that names it (the database,
reading the request, writing the answer, the request log, gunicorn sending the answer, ...). With
`--before REV`, the same is done first for that commit, checked out into a temporary git worktree
and run with this environment, so the report shows the profile before and after the changes since
REV.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import served
from bench import service as sb
from tests.harness import free_port

DESCRIPTION = "Where a served request's time goes: py-spy samples of the workers under wrk."

# (part, the frame substrings that name it); a sample belongs to the deepest frame naming a part.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gunicorn: accept, read and parse HTTP, hand-offs", ("ThreadWorker.handle",)),
    ("our code, other (routing, checks, ids, dates)", ("Site.__call__",)),
    ("gunicorn: send the answer", ("Response.write ", "send_headers", "gunicorn/util.py")),
    ("read the request (XML)", ("read_request", "parse_xml", "codec.py:read_", " read_")),
    ("sender authentication", ("Senders.check", "passwords.py")),
    ("database (SQLAlchemy and driver)", ("Registry.", "sqlalchemy/", "psycopg/", "sqlite")),
    ("certificates (rendered, or from memory)", ("SearchService.certificate",)),
    ("write the answer (XML)", ("write_envelope", "tostring_spliced", "set_base64", " write_")),
    ("request log (JSON line; its writing thread too)", ("log_request", "logging/")),
)
# A thread waiting for work, not doing any.
IDLE = ("QueueListener.dequeue",)


@dataclasses.dataclass
class Profile:
    label: str
    rps: float
    samples: int
    parts: Counter[str]
    own: Counter[str]


def part_of(frames: Sequence[str]) -> str | None:
    found: str | None = None
    if any(mark in frames[-1] for mark in IDLE):
        return None
    for frame in frames:  # root first: the deepest match wins
        if frame.startswith(("process ", "thread ")):  # py-spy's labels, not code
            continue
        for part, marks in PARTS:
            if any(mark in frame for mark in marks):
                found = part
    return found


def read_samples(raw: Path, label: str, rps: float) -> Profile:
    parts: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        part = part_of(frames)
        if part is None:  # not a thread serving (the arbiter, pollers, idle threads)
            continue
        n = int(count)
        total += n
        parts[part] += n
        own[frames[-1]] += n
    sb._require(total > 0, f"{label}: py-spy took no sample of a request")
    return Profile(label, rps, total, parts, own)


def profile_checkout(
    label: str, project: Path, args: argparse.Namespace, folder: Path, tools: tuple[str, str]
) -> Profile:
    wrk, pyspy = tools
    work = folder / label.split()[0]
    work.mkdir()
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(project) + os.pathsep + env.get("PYTHONPATH", "")
    command = [
        sys.executable, "-m", "medexempt", "serve", "--demo", "--workers", str(served.WORKERS),
        "--port", str(port), "--db", f"sqlite:///{work / 'profile.sqlite3'}",
    ]  # fmt: skip
    with ExitStack() as running:
        server = served.start(running, f"service ({label})", command, work, env, port)
        request = served.REQUEST_FILE.read_bytes()
        for _ in range(2 * served.WORKERS * 4):  # every worker renders or fetches once
            status, body = served.http_post(server.url, request)
            sb._require(status == 200, f"{label} warm-up: HTTP {status}")
        served.check_found(body, None, f"{label} warm-up")
        body_file = work / "found.xml"
        body_file.write_bytes(request)
        script = work / "found.lua"
        script.write_text(served.LUA.replace("{body}", str(body_file)), encoding="utf-8")
        raw = work / "pyspy.raw"
        load = subprocess.Popen(
            [wrk, "-t", "2", "-c", str(args.concurrency), "-d", f"{args.seconds + 2}s",
             "--timeout", "30s", "-s", str(script), server.url],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1)
        spy = subprocess.run(
            [pyspy, "record", "--subprocesses", "--nonblocking", "--pid",
             str(server.pid), "--duration", str(args.seconds), "--rate", str(args.rate),
             "--format", "raw", "--output", str(raw)],
            capture_output=True, text=True, check=False, timeout=args.seconds + 60,
        )  # fmt: skip
        out, _ = load.communicate(timeout=args.seconds + 60)
        sb._require(spy.returncode == 0 and raw.exists(), f"py-spy failed: {spy.stderr[-800:]}")
        cell = served.parse_wrk(out, label)
        return read_samples(raw, label, cell.rps)


def worktree(rev: str, folder: Path) -> Path:
    target = folder / "before-checkout"
    subprocess.run(
        ["git", "-C", str(sb.ROOT), "worktree", "add", "--detach", str(target), rev],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def report(profiles: list[Profile], args: argparse.Namespace) -> str:
    lines = [
        "## Profile of the served found search (py-spy)",
        "",
        f"`python -m medexempt serve --demo --workers {served.WORKERS}` on SQLite under `wrk -c "
        f"{args.concurrency}` posting the original's request (01085, certificates in the "
        "workers' memory); "
        f"`py-spy record --subprocesses --nonblocking --rate {args.rate}` for {args.seconds} s. "
        "Share of the samples of threads handling a request, by the deepest frame naming a part "
        "(wall time of those threads: a thread waiting on a socket, a lock or the database "
        "counts too). Requests/s is with py-spy attached.",
        "",
        "| part | " + " | ".join(p.label for p in profiles) + " |",
        "|---|" + "--:|" * len(profiles),
    ]
    for part, _ in PARTS:
        shares = [f"{p.parts[part] / p.samples:.0%}" for p in profiles]
        lines.append(f"| {part} | " + " | ".join(shares) + " |")
    lines.append("| requests/s while sampled | " + " | ".join(f"{p.rps:,.0f}" for p in profiles))
    lines[-1] += " |"
    lines.append("| samples | " + " | ".join(f"{p.samples:,}" for p in profiles) + " |")
    for p in profiles:
        lines += ["", f"Frames with the most samples of their own, {p.label}:", ""]
        lines += ["| own share | frame |", "|--:|---|"]
        for frame, n in p.own.most_common(args.top):
            lines.append(f"| {n / p.samples:.1%} | `{frame}` |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    wrk, pyspy = shutil.which("wrk"), shutil.which("py-spy") or _venv_tool("py-spy")
    if wrk is None:
        raise sb.BenchmarkError("wrk is not installed (Debian: apt-get install wrk)")
    if pyspy is None:
        raise sb.BenchmarkError("py-spy is not installed (it is a dev dependency)")
    profiles: list[Profile] = []
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        folder = Path(tmp)
        before: Path | None = None
        try:
            if args.before:
                before = worktree(args.before, folder)
                label = f"before ({args.before[:10]})"
                profiles.append(profile_checkout(label, before, args, folder, (wrk, pyspy)))
            profiles.append(profile_checkout("now", sb.ROOT, args, folder, (wrk, pyspy)))
        finally:
            if before is not None:
                subprocess.run(
                    ["git", "-C", str(sb.ROOT), "worktree", "remove", "--force", str(before)],
                    check=False, capture_output=True,
                )  # fmt: skip
    return report(profiles, args)


def _venv_tool(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=DESCRIPTION)
    parser.add_argument("--before", metavar="REV", help="also profile this commit, first")
    parser.add_argument("--seconds", type=int, default=8, help="seconds sampled (default 8)")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples/s (default 250)")
    parser.add_argument("--top", type=int, default=12, help="frames listed (default 12)")
    parser.add_argument("--out", type=Path, help="also write the Markdown section to this file")
    args = parser.parse_args(argv)
    if min(args.seconds, args.concurrency, args.rate, args.top) < 1:
        parser.error("--seconds, --concurrency, --rate and --top must be ≥ 1")
    try:
        text = run(args)
    except (sb.BenchmarkError, subprocess.CalledProcessError) as exc:
        print(f"profile FAILED: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
