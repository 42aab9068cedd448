"""Where `medexempt serve` takes its secret and senders from, and what it will not start without."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exemptions.serve import ConfigError, ServeOptions, settings_for
from generated.passwords import Senders, hash_password

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


def test_the_command_says_what_is_missing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exemptions", "serve", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
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

    from exemptions.app import signers_for
    from tests.test_signing import pki

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

    from generated.passwords import Throttle, Verdict

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

    from generated.passwords import Throttle, Verdict

    hashes = {"mis": hash_password("right", n=2**10)}
    senders = Senders(hashes, Throttle(concurrent_checks=1, wait=5.0))
    slots = senders._slots
    slots.acquire()  # a check is running
    assert senders.verdict("stranger", "y", "b") is Verdict.THROTTLED
    threading.Timer(0.2, slots.release).start()  # and ends
    assert senders.verdict("mis", "right", "c") is Verdict.VALID  # waited for the slot
