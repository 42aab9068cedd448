"""`medexempt verify-signature`: check the signatures of any signed XML file and say whose they are.

A SOAP envelope is read as a WS-Security message (`wssecurity.verify_message`), anything else as
an enveloped document (`xmldsig.verify_document`). The runtime modules do the work, so this reports
exactly what a generated server would accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .runtime.certificates import Certificate, CertificateError, TrustStore
from .runtime.gost import GostUnavailableError
from .runtime.wssecurity import verify_message
from .runtime.xmldsig import ALGORITHMS, SignatureError, verify_document
from .runtime.xmlsafe import MessageError, parse_xml

VALID, INVALID, UNREADABLE = 0, 1, 2
_ENVELOPES = (
    "{http://schemas.xmlsoap.org/soap/envelope/}Envelope",
    "{http://www.w3.org/2003/05/soap-envelope}Envelope",
)


@dataclass(frozen=True)
class Report:
    """What `verify-signature` prints, and its exit status."""

    status: int
    lines: tuple[str, ...]


def verify_file(path: Path, trust: Sequence[Path], at: datetime | None = None) -> Report:
    """Verify the signatures of the XML file at `path`; with `trust`, their chains too."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return Report(UNREADABLE, (f"unreadable: {path}: {error.strerror or error}",))
    try:
        root = parse_xml(data)
    except MessageError as error:
        return Report(UNREADABLE, (f"unreadable: {path}: {error}",))
    try:
        store = TrustStore.from_files(trust) if trust else None
    except (OSError, CertificateError) as error:
        return Report(UNREADABLE, (f"unreadable trust certificate: {error}",))
    except GostUnavailableError as error:
        return Report(UNREADABLE, (f"cannot check GOST here: {error}",))
    kind = "WS-Security message" if root.tag in _ENVELOPES else "enveloped document"
    try:
        if kind == "WS-Security message":
            signers = [verify_message(root, store, at=at)]
        else:
            signers = [found.certificate for found in verify_document(root, store, at)]
    except SignatureError as error:
        return Report(INVALID, (f"invalid ({kind}): {error.reason.value}: {error.message}",))
    except GostUnavailableError as error:
        return Report(UNREADABLE, (f"cannot check GOST here: {error}",))
    lines = [f"valid: {kind}, {len(signers)} signature(s)"]
    for number, certificate in enumerate(signers, 1):
        lines.extend(_describe(number, certificate))
    if store is None:
        lines.append(
            "chain: not checked (no --trust): each signature was checked against the "
            "certificate in its KeyInfo only"
        )
    else:
        lines.append("chain: trusted (each certificate chains to a --trust certificate)")
    lines.append("revocation: not checked (no OCSP or CRL lookup)")
    return Report(VALID, tuple(lines))


def _describe(number: int, certificate: Certificate) -> list[str]:
    algorithms = ALGORITHMS[certificate.kind]
    return [
        f"signature {number}: {algorithms.name} ({algorithms.signature})",
        f"  signer: {certificate.subject}",
        f"  serial: {certificate.serial}",
        f"  issuer: {certificate.issuer}",
        f"  valid: {certificate.not_before:%Y-%m-%d} to {certificate.not_after:%Y-%m-%d}",
    ]
