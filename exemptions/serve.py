"""`medexempt serve`: the reference service on gunicorn.

gunicorn because this work is CPU-bound (XML, PDF): pre-forked worker processes use every core,
where a threaded server shares one interpreter lock; it restarts a stuck worker after a timeout,
reloads gracefully, and is what Python services on Linux are run with. Each worker builds its own
application (and database engine) after the fork.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from medexempt.generated.passwords import Throttle
from medexempt.generated.server import SignatureMode

from .app import Settings, build_app, signer_for, signers_for
from .logs import configure, gunicorn_logconfig

DEMO_SENDER = ("sender", "password")  # the original's sample request sends these


class ConfigError(Exception):
    """The service cannot start with this configuration; the message says what is missing."""


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    db_url: str
    public_url: str | None
    demo: bool
    config: Path | None
    log_level: str = "info"
    signature_mode: SignatureMode | None = (
        None  # None: off in the demo, verify-if-present otherwise
    )
    trust: tuple[Path, ...] = ()
    sign_key: Path | None = None
    sign_cert: Path | None = None
    signers: tuple[tuple[str, Path], ...] = ()  # --signer SENDER=PEM


def settings_for(options: ServeOptions, environ: Mapping[str, str]) -> Settings:
    """Senders and the secret from the config file or the environment (or the demo's own)."""
    config = _read_config(options.config)
    public = options.public_url or environ.get("MEDEXEMPT_PUBLIC_URL") or config.get("public_url")
    public = public or f"http://{_shown_host(options.host)}:{options.port}"
    senders = dict(config.get("senders", {}))
    senders_file = environ.get("MEDEXEMPT_SENDERS_FILE")
    if senders_file:
        senders.update(_read_config(Path(senders_file)).get("senders", {}))
    secret_text = environ.get("MEDEXEMPT_SECRET") or config.get("secret")
    if options.demo:
        from medexempt.generated.passwords import hash_password

        senders.setdefault(DEMO_SENDER[0], hash_password(DEMO_SENDER[1]))
        secret_text = secret_text or _demo_secret()
    if not secret_text:
        raise ConfigError(
            "no secret: set MEDEXEMPT_SECRET or `secret` in the config file (or use --demo)"
        )
    if len(secret_text.encode()) < 32:
        raise ConfigError(
            "the secret is too short: use 32 characters or more (64 random hex digits)"
        )
    if not senders:
        raise ConfigError("no senders: add a [senders] table to the config file (or use --demo)")
    settings = Settings(
        db_url=options.db_url,
        public_url=public,
        secret=secret_text.encode(),
        senders=senders,
        replay_protection=not options.demo,
        signature_mode=options.signature_mode or ("off" if options.demo else "verify-if-present"),
        trust=options.trust,
        sign_key=options.sign_key,
        sign_cert=options.sign_cert,
        sign_password=_sign_password(environ),
        signers=_signers(options, config, options.config),
    )
    _check_signing(settings)
    return settings


def _signers(
    options: ServeOptions, config: Mapping[str, Any], config_path: Path | None
) -> dict[str, tuple[Path, ...]] | None:
    """`[signers]` of the config file (sender = ["cert.pem", ...], relative to the file) and
    --signer SENDER=PEM; None when neither names any, so any trusted certificate signs."""
    table = config.get("signers", {})
    if not isinstance(table, dict):
        raise ConfigError('[signers] must be a table: sender = ["certificate.pem", ...]')
    base = config_path.parent if config_path else Path()
    found: dict[str, list[Path]] = {}
    for sender, paths in table.items():
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"[signers] {sender}: give a list of PEM file names")
        found.setdefault(sender, []).extend(base / p for p in paths)
    for sender, path in options.signers:
        found.setdefault(sender, []).append(path)
    return {sender: tuple(paths) for sender, paths in found.items()} or None


def _sign_password(environ: Mapping[str, str]) -> bytes | None:
    """The password of an encrypted --sign-key (a PKCS#12 file), from the environment only."""
    value = environ.get("MEDEXEMPT_SIGN_KEY_PASSWORD")
    return value.encode("utf-8") if value is not None else None


def _check_signing(settings: Settings) -> None:
    """Refuse at start a signing set-up that every request would fail on."""
    from medexempt.generated.gost import GostUnavailableError
    from medexempt.generated.wssecurity import TrustStore

    if settings.sign_cert is not None and settings.sign_key is None:
        raise ConfigError("--sign-cert needs --sign-key")
    if settings.signature_mode == "required" and not settings.trust:
        raise ConfigError(
            "--signature-mode required needs --trust (the accepted certificates or CAs)"
        )
    try:
        TrustStore.from_files(settings.trust)
        signer_for(settings)
        signers_for(settings)
    except (OSError, ValueError, TypeError, GostUnavailableError) as exc:
        raise ConfigError(f"cannot load the signing keys or certificates: {exc}") from exc


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _demo_secret() -> str:
    # Kept beside the demo database so that the QR codes of certificates handed out stay valid.
    path = Path(".medexempt-demo-secret")
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def _shown_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - naming, not binding


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.log_level = options.log_level
        # Made here, before gunicorn forks: every worker counts failed passwords in one table.
        self.throttle = Throttle.across_processes()
        self.options = {
            "bind": f"{options.host}:{options.port}",
            "workers": options.workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 60,
            "graceful_timeout": 20,
            "preload_app": False,
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": options.log_level,
            "logconfig_dict": gunicorn_logconfig(options.log_level),
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        configure(self.log_level)
        return build_app(self.settings, self.throttle)


def run(settings: Settings, options: ServeOptions) -> None:
    """Serve until stopped."""
    _Server(settings, options).run()


def banner(settings: Settings, demo: bool) -> str:
    soap = settings.public_url.rstrip("/") + settings.soap_path
    lines = [
        f"SOAP endpoint:  {soap}",
        f"WSDL:           {soap}?wsdl",
        f"health:         {settings.public_url.rstrip('/')}/healthz",
        f"signatures:     {settings.signature_mode}"
        + (", responses signed" if settings.sign_key else ", responses unsigned"),
        "in front:       nothing of ours: put a proxy that buffers requests before it (slow "
        "clients hold gunicorn's threads; see deploy/nginx-medexempt.conf)",
    ]
    if demo:
        lines += [
            "demo mode: the original's sender (sender / password) is accepted",
            "demo mode: replay protection is OFF (the sample may be posted again and again)",
        ]
        search = (
            f"{command_name()} search --url {soap} --sender-id sender --password password "
            "--number 01085"
        )
        if settings.signature_mode == "required":
            lines += [
                "try (requests must be signed: give the search a key the server trusts):",
                f"  {search} --sign-key KEY.pem --sign-cert CERT.pem",
            ]
        else:
            lines += ["try:", f"  {search}"]
    return "\n".join(lines)


def command_name() -> str:
    """`medexempt` as this process was started: the path typed (`.venv/bin/medexempt`) when it
    is not the one found on PATH, so that a hint can be pasted as printed."""
    import shutil
    import sys

    typed = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("medexempt")
    if typed.name != "medexempt":  # python -m medexempt
        return f"{Path(sys.executable).name} -m medexempt"
    found = shutil.which("medexempt")
    if found is not None and Path(found).resolve() == typed.resolve():
        return "medexempt"
    return str(typed)


def workers_default() -> int:
    return max(2, min(8, (os.cpu_count() or 1) * 2))
