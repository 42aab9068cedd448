"""The whole reference service as one WSGI application: SOAP, verification page, health check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medexempt.generated.certificates import load_certificates
from medexempt.generated.passwords import Throttle
from medexempt.generated.server import ServerConfig, SignatureMode, make_app
from medexempt.generated.wssecurity import (
    GostSigner,
    RsaSigner,
    SignatureVerifier,
    TrustStore,
    signer_from_files,
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Settings:
    """How the service runs. `public_url` is what clients and QR codes use to reach it."""

    db_url: str
    public_url: str
    secret: bytes
    senders: Mapping[str, str] | None = field(default=None, repr=False)
    soap_path: str = "/sync"
    max_body_bytes: int = 1024 * 1024
    replay_protection: bool = True  # the messageDate window and the seen-set; off only in the demo
    max_message_age: float = 300.0
    max_clock_skew: float = 60.0
    # WS-Security: how requests' signatures are checked, by certificates of (or issued by) the
    # `trust` files (PEM or DER; RSA or GOST); responses are signed when sign_key is given: a
    # PKCS#12 file (sign_cert None, as НУЦ issues keys) or a key with its sign_cert.
    signature_mode: SignatureMode = "off"
    trust: tuple[Path, ...] = ()
    sign_key: Path | None = None
    sign_cert: Path | None = None
    sign_password: bytes | None = field(default=None, repr=False)  # of an encrypted sign_key
    # senderId -> certificates that may sign for it; None: any certificate `trust` accepts.
    signers: Mapping[str, tuple[Path, ...]] | None = None


class Site:
    """Routes `/healthz`, `/verify/…` and everything else (the SOAP endpoint and its 404s)."""

    def __init__(self, soap: WsgiApp, verify: WsgiApp, healthy: Callable[[], bool]) -> None:
        self.soap = soap
        self.verify = verify
        self.healthy = healthy

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self._health(start_response)
        if path.startswith("/verify/"):
            return self.verify(environ, start_response)
        return self.soap(environ, start_response)

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            ok = self.healthy()
        except Exception:  # an unreachable database is an answer here, not a crash
            ok = False
        body = b"ok\n" if ok else b"database unreachable\n"
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(
            status,
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]


def signer_for(settings: Settings) -> RsaSigner | GostSigner | None:
    """The responses' signer (RSA or GOST, by the key), when a key is configured."""
    if settings.sign_key is None:
        return None
    return signer_from_files(settings.sign_key, settings.sign_cert, settings.sign_password)


def signers_for(settings: Settings) -> dict[str, list[bytes]] | None:
    """The certificates (DER) each sender may sign with, read from their files (PEM or DER)."""
    if settings.signers is None:
        return None
    return {
        sender: [certificate.der for path in paths for certificate in load_certificates(path)]
        for sender, paths in settings.signers.items()
    }


def build_app(settings: Settings, throttle: Throttle | None = None) -> Site:
    """The service over the database at `settings.db_url` (one engine per process); `throttle`
    slows failed authentications (`serve` passes one shared by its workers)."""
    from .certificates.render import prepare_fonts, render
    from .certificates.tokens import token_matches, verification_url
    from .logs import log_request
    from .records import Layout, Record, today
    from .service import SearchService
    from .storage.registry import Registry
    from .storage.replay import SeenMessages
    from .verify import VerificationPage

    registry = Registry.connect(settings.db_url)
    public = settings.public_url.rstrip("/")
    prepare_fonts()  # once per process, before the first request rather than during it

    def render_certificate(record: Record, layout: Layout) -> bytes:
        url = verification_url(public, record.number, settings.secret)
        return render(record, layout, url)

    service = SearchService(store=registry, render=render_certificate)
    soap = make_app(
        service,
        ServerConfig(
            path=settings.soap_path,
            public_url=public + settings.soap_path,
            max_body_bytes=settings.max_body_bytes,
            senders=settings.senders,
            max_message_age=settings.max_message_age if settings.replay_protection else None,
            max_clock_skew=settings.max_clock_skew,
            replay_guard=SeenMessages(registry.engine) if settings.replay_protection else None,
            on_request=log_request,
            signature_mode=settings.signature_mode,
            verifier=SignatureVerifier(TrustStore.from_files(settings.trust)),
            signer=signer_for(settings),
            signers=signers_for(settings),
            throttle=throttle or Throttle(),
        ),
    )
    verify = VerificationPage(
        registry.by_number,
        lambda number, token: token_matches(number, token, settings.secret),
        today,
    )
    return Site(soap, verify, registry.healthy)
