"""Where `medexempt serve` takes its secret and senders from, and what it will not start without."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medexempt.exemptions.serve import ConfigError, ServeOptions, settings_for
from medexempt.generated.passwords import Senders, hash_password

SECRET = "0123456789abcdef" * 4


def options(tmp_path: Path, *, demo: bool = False, config: Path | None = None) -> ServeOptions:
    return ServeOptions("0.0.0.0", 8080, 2, f"sqlite:///{tmp_path / 'x.db'}", None, demo, config)


def test_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "medexempt.toml"
    config.write_text(
        f'public_url = "https://exemptions.example.kz"\nsecret = "{SECRET}"\n'
        f'[senders]\nclinic = "{hash_password("s3cret", n=2**10)}"\n',
        encoding="utf-8",
    )
    settings = settings_for(options(tmp_path, config=config), {})
    assert settings.public_url == "https://exemptions.example.kz"
    assert settings.secret == SECRET.encode()
    assert settings.senders is not None and Senders(settings.senders).check("clinic", "s3cret")
    assert "s3cret" not in repr(settings) and SECRET not in repr(settings.senders)


def test_from_the_environment(tmp_path: Path) -> None:
    senders = tmp_path / "senders.toml"
    senders.write_text(f'[senders]\nmis = "{hash_password("pw", n=2**10)}"\n', encoding="utf-8")
    env = {"MEDEXEMPT_SECRET": SECRET, "MEDEXEMPT_SENDERS_FILE": str(senders)}
    settings = settings_for(options(tmp_path), env)
    assert settings.senders is not None and set(settings.senders) == {"mis"}
    assert settings.public_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no secret"),
        ({"MEDEXEMPT_SECRET": "short"}, "too short"),
        ({"MEDEXEMPT_SECRET": SECRET}, "no senders"),
    ],
)
def test_refuses_to_start_without_what_it_needs(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_for(options(tmp_path), env)


def test_demo_needs_nothing_and_accepts_the_original_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = settings_for(options(tmp_path, demo=True), {})
    assert settings.senders is not None and Senders(settings.senders).check("sender", "password")
    again = settings_for(options(tmp_path, demo=True), {})
    assert again.secret == settings.secret  # kept, so stored certificates' QR codes stay valid


@pytest.mark.system  # runs the command
def test_the_command_says_what_is_missing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "medexempt", "serve", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no secret" in done.stderr and "Traceback" not in done.stderr


def test_signers_from_the_config_file_and_the_command_line(tmp_path: Path) -> None:
    """`[signers]` names, per senderId, the certificates that may sign for it (relative to the
    file); --signer adds more; the app refuses any other trusted certificate."""
    from dataclasses import replace

    from cryptography.hazmat.primitives import serialization

    from medexempt.exemptions.app import signers_for
    from tests.generated.test_signing import pki

    sender, service = pki().sender.certificate, pki().service.certificate
    for name, certificate in (("sender.pem", sender), ("service.pem", service)):
        (tmp_path / name).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    config = tmp_path / "medexempt.toml"
    config.write_text(
        f'secret = "{SECRET}"\n[senders]\nmis = "{hash_password("pw", n=2**10)}"\n'
        '[signers]\nmis = ["sender.pem"]\n',
        encoding="utf-8",
    )
    extra = replace(
        options(tmp_path, config=config), signers=(("other", tmp_path / "service.pem"),)
    )
    settings = settings_for(extra, {})
    found = signers_for(settings)
    der = serialization.Encoding.DER
    assert found == {"mis": [sender.public_bytes(der)], "other": [service.public_bytes(der)]}
    config.write_text(f'secret = "{SECRET}"\n[senders]\nmis = "x"\n[signers]\nmis = "a.pem"\n')
    with pytest.raises(ConfigError, match="list of PEM file names"):
        settings_for(options(tmp_path, config=config), {})


def test_failed_authentications_are_throttled_without_scrypt() -> None:
    """Repeated wrong passwords: the same one fails at once, a senderId or a client address
    with too many failures is throttled; a verified sender is never throttled."""
    import time

    from medexempt.generated.passwords import Throttle, Verdict

    hashes = {"mis": hash_password("right", n=2**10), "other": hash_password("x", n=2**10)}
    senders = Senders(hashes, Throttle(failures=3, window=60.0))
    assert senders.verdict("mis", "right", "10.0.0.1") is Verdict.VALID
    verdicts = [senders.verdict("mis", f"guess-{n}", "10.0.0.2") for n in range(5)]
    assert verdicts == [Verdict.INVALID] * 3 + [Verdict.THROTTLED] * 2
    assert senders.verdict("mis", "right", "10.0.0.2") is Verdict.VALID  # verified: never held
    started = time.perf_counter()
    assert senders.verdict("mis", "guess-0", "10.0.0.3") is Verdict.INVALID  # remembered failure
    assert time.perf_counter() - started < 0.005
    client = [senders.verdict(f"random-{n}", "pw", "10.0.0.4") for n in range(4)]
    assert client == [Verdict.INVALID] * 3 + [Verdict.THROTTLED]  # per address, any senderId
    assert senders.verdict("other", "x", "10.0.0.5") is Verdict.VALID


def test_only_a_few_password_checks_run_at_once() -> None:
    """While a check runs, a stranger's is throttled at once; a registered sender's waits."""
    import threading

    from medexempt.generated.passwords import Throttle, Verdict

    hashes = {"mis": hash_password("right", n=2**10)}
    senders = Senders(hashes, Throttle(concurrent_checks=1, wait=5.0))
    slots = senders._slots
    slots.acquire()  # a check is running
    assert senders.verdict("stranger", "y", "b") is Verdict.THROTTLED
    threading.Timer(0.2, slots.release).start()  # and ends
    assert senders.verdict("mis", "right", "c") is Verdict.VALID  # waited for the slot


def test_failure_counts_are_shared_by_forked_workers() -> None:
    """Made before the fork, the counts are one table for every worker: failures spread over
    processes add up, and a worker sees the throttle another worker's failures set."""
    import multiprocessing

    from medexempt.generated.passwords import Throttle, Verdict

    hashes = {"mis": hash_password("right", n=2**10)}
    throttle = Throttle.across_processes(failures=4, window=60.0)
    context = multiprocessing.get_context("fork")

    def guess(n: int) -> None:
        verdict = Senders(hashes, throttle).verdict("mis", f"guess-{n}", f"10.1.0.{n}")
        raise SystemExit(0 if verdict is Verdict.INVALID else 1)

    for n in range(4):  # four workers, one wrong password each
        worker = context.Process(target=guess, args=(n,))
        worker.start()
        worker.join()
        assert worker.exitcode == 0
    assert Senders(hashes, throttle).verdict("mis", "guess-9", "10.1.0.9") is Verdict.THROTTLED
    assert Senders(hashes, Throttle(failures=4)).verdict("mis", "guess-9", "10.1.0.9") is (
        Verdict.INVALID  # a throttle of one process alone had let it through
    )
    by_address = [Senders(hashes, throttle).verdict(f"s{n}", "pw", "10.2.0.1") for n in range(5)]
    assert by_address == [Verdict.INVALID] * 4 + [Verdict.THROTTLED]


def test_a_shared_table_stays_its_size_and_forgets_the_oldest() -> None:
    """More keys than slots: the table does not grow, the newest keys are counted, and a key
    whose window has passed is counted afresh."""
    from medexempt.generated.passwords import SharedFailures, Throttle, _SharedCounts

    throttle = Throttle(failures=2, window=60.0)
    shared = SharedFailures(64)
    table: _SharedCounts = shared.by_sender
    size = len(shared._map)
    for n in range(1000):
        table.add(f"key-{n}", float(n), throttle)
    assert len(shared._map) == size == 2 * 64 * 32
    assert table.count("key-999", 999.0, throttle) == 1
    assert table.count("key-0", 999.0, throttle) == 0
    table.add("key-999", 1000.0, throttle)
    assert table.count("key-999", 1000.0, throttle) == 2
    assert table.count("key-999", 1000.0 + 60.0, throttle) == 0
    assert shared.by_client.count("key-999", 1000.0, throttle) == 0  # its own table


def test_serve_makes_one_throttle_for_its_workers(tmp_path: Path) -> None:
    from medexempt.exemptions.serve import _Server

    given = options(tmp_path, demo=True)
    server = _Server(settings_for(given, {}), given)
    assert server.throttle.shared is not None


def _hash_password(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medexempt", "hash-password", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.system  # runs the command
def test_hash_password_reads_a_password_from_stdin() -> None:
    done = _hash_password("--password-stdin", stdin="s3cret\n")
    assert done.returncode == 0, done.stderr
    stored = done.stdout.strip()
    assert Senders({"mis": stored}).check("mis", "s3cret")
    assert not Senders({"mis": stored}).check("mis", "s3cret\n")


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        ((), "pw\n", "pass --password-stdin"),  # piped without the flag: not `Aborted!`
        (("--password-stdin",), "\n", "the password is empty"),
        (("--password", "x", "--password-stdin"), "", "not both"),
    ],
)
@pytest.mark.system  # runs the command
def test_hash_password_says_what_is_wrong(args: tuple[str, ...], stdin: str, said: str) -> None:
    done = _hash_password(*args, stdin=stdin)
    assert done.returncode == 2
    assert said in done.stderr and "Aborted" not in done.stderr


def test_the_banners_hint_can_be_run_as_printed(tmp_path: Path) -> None:
    """The `try:` line names the command as it was started, and with signatures required it says
    the search must be signed instead of printing one that would be refused."""
    from dataclasses import replace

    from medexempt.exemptions.serve import banner

    settings = settings_for(options(tmp_path, demo=True), {})
    assert "  " + _expected_command() + " search --url" in banner(settings, demo=True)
    text = banner(replace(settings, signature_mode="required"), demo=True)
    assert "requests must be signed" in text and "--sign-key KEY.pem --sign-cert CERT.pem" in text


def _expected_command() -> str:
    from medexempt.exemptions.serve import command_name

    return command_name()


def test_the_command_name_is_the_path_typed_when_it_is_not_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from medexempt.exemptions.serve import command_name

    script = tmp_path / "venv" / "bin" / "medexempt"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script)])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_name() == str(script)
    monkeypatch.setenv("PATH", str(script.parent))
    assert command_name() == "medexempt"
    monkeypatch.setattr(sys, "argv", ["/x/medexempt/__main__.py"])
    assert command_name().endswith(" -m medexempt")
