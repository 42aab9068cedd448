"""`medexempt search`: the generated client from a shell, with documented exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

EXIT_FOUND, EXIT_NOT_FOUND, EXIT_INVALID, EXIT_FAULT, EXIT_TRANSPORT = 0, 3, 4, 5, 6
_EXIT_BY_STATUS = {
    "SUCCESS": EXIT_FOUND,
    "NOT_FOUND": EXIT_NOT_FOUND,
    "INVALID_REQUEST": EXIT_INVALID,
}


@click.command()
@click.option(
    "--url", required=True, help="The service's SOAP address, e.g. http://localhost:8080/sync."
)
@click.option("--number", help="Certificate (exemption) number; leading zeros count.")
@click.option("--iin", help="The person's IIN (12 digits).")
@click.option(
    "--passport", "passport_number", help="Identity document number (with --citizenship)."
)
@click.option("--citizenship", "citizenship_code", help="Citizenship code (with --passport).")
@click.option(
    "--sender-id", envvar="MEDEXEMPT_SENDER_ID", required=True, help="[env MEDEXEMPT_SENDER_ID]"
)
@click.option("--password", envvar="MEDEXEMPT_PASSWORD", help="[env MEDEXEMPT_PASSWORD]")
@click.option("--soap-version", type=click.Choice(["1.1", "1.2"]), default="1.1", show_default=True)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save each certificate as <number>.pdf and <number>-print.pdf here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--sign-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Key to sign the request: a PKCS#12 file as НУЦ issues it (password in "
    "MEDEXEMPT_SIGN_KEY_PASSWORD), or a PEM/DER key (RSA or GOST) with --sign-cert.",
)
@click.option(
    "--sign-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Certificate of --sign-key (PEM or DER); not with a PKCS#12 key.",
)
@click.option(
    "--verify-cert",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A certificate or CA the response must be signed by, PEM or DER (repeatable).",
)
def search(
    url: str,
    number: str | None,
    iin: str | None,
    passport_number: str | None,
    citizenship_code: str | None,
    sender_id: str,
    password: str | None,
    soap_version: str,
    timeout: float,
    out_dir: Path | None,
    as_json: bool,
    sign_key: Path | None,
    sign_cert: Path | None,
    verify_cert: tuple[Path, ...],
) -> None:
    """Search medical exemptions by number, IIN, or passport with citizenship.

    Without --password (or MEDEXEMPT_PASSWORD) and unsigned, the password is asked for on a
    terminal; elsewhere that is a usage error, as is a URL that is not http:// or https://.

    Exit status: 0 found, 3 not found, 4 invalid request, 5 SOAP fault, 6 transport or
    protocol error (no usable answer), 2 usage error.
    """
    from urllib.parse import urlsplit

    from medexempt.generated import SoapVersion, models
    from medexempt.generated.client import Client, GatewayFault, ProtocolError, TransportError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(
            f"{url!r} is not an http:// or https:// address", param_hint="--url"
        )
    if password is None and sign_key is None:  # a signed request may go without a password
        if not sys.stdin.isatty():
            raise click.UsageError(
                "no password: give --password or MEDEXEMPT_PASSWORD (the sender's password)"
            )
        password = click.prompt("Password", hide_input=True)

    request = models.MedicalExemptionSearchRequest(
        number=number, iin=iin, passport_number=passport_number, citizenship_code=citizenship_code
    )
    version = SoapVersion(soap_version)
    signer, verifier = _signing(sign_key, sign_cert, verify_cert)
    try:
        with Client(
            url,
            sender_id=sender_id,
            password=password,
            soap_version=version,
            timeout=timeout,
            signer=signer,
            verifier=verifier,
        ) as client:
            answer = client.medical_exemption_search(request)
    except GatewayFault as fault:
        _report_fault(fault.fault.code.value, fault.error_code, fault.error_message, as_json)
        sys.exit(EXIT_FAULT)
    except (TransportError, ProtocolError) as exc:
        _say({"error": type(exc).__name__, "message": str(exc)}, f"error: {exc}", as_json, err=True)
        sys.exit(EXIT_TRANSPORT)
    saved = _save(answer.medical_exemption_list, out_dir) if out_dir else {}
    if as_json:
        click.echo(json.dumps(_as_dict(answer, saved), ensure_ascii=False, indent=2))
    else:
        click.echo(_table(answer, saved))
    sys.exit(_EXIT_BY_STATUS.get(answer.status.code, EXIT_INVALID))


def _signing(key: Path | None, cert: Path | None, trust: tuple[Path, ...]) -> tuple[Any, Any]:
    """The request's signer and the response's verifier (None: not configured)."""
    import os

    from medexempt.generated.gost import GostUnavailableError
    from medexempt.generated.wssecurity import SignatureVerifier, TrustStore, signer_from_files

    if cert is not None and key is None:
        raise click.UsageError("--sign-cert needs --sign-key")
    password = os.environ.get("MEDEXEMPT_SIGN_KEY_PASSWORD")
    try:
        secret = password.encode("utf-8") if password is not None else None
        signer = signer_from_files(key, cert, secret) if key else None
        verifier = SignatureVerifier(TrustStore.from_files(trust)) if trust else None
    except (OSError, ValueError, TypeError, GostUnavailableError) as exc:
        raise click.UsageError(f"cannot load the signing keys or certificates: {exc}") from exc
    return signer, verifier


def _report_fault(code: str, error_code: str | None, message: str | None, as_json: bool) -> None:
    shown = {"fault": {"code": code, "errorCode": error_code, "errorMessage": message}}
    _say(shown, f"fault ({code}) {error_code or ''}: {message}", as_json, err=True)


def _say(data: dict[str, Any], text: str, as_json: bool, *, err: bool) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text, err=err and not as_json)


def _save(exemptions: list[Any], out_dir: Path) -> dict[str, list[str]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: dict[str, list[str]] = {}
    for item in exemptions:
        safe = "".join(c for c in item.number if c.isalnum() or c in "-_") or "certificate"
        for suffix, data in (("", item.certificate), ("-print", item.printable_certificate)):
            if data:
                path = out_dir / f"{safe}{suffix}.pdf"
                path.write_bytes(data)
                saved.setdefault(item.number, []).append(str(path))
    return saved


def _as_dict(answer: Any, saved: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": {"code": answer.status.code, "message": answer.status.message},
        "exemptions": [
            {
                "number": item.number,
                "procedure": {
                    "code": item.medical_procedure.code,
                    "nameRu": item.medical_procedure.name_ru,
                    "nameKk": item.medical_procedure.name_kk,
                },
                "status": item.status,
                "temporaryContraindicationEndDate": _date(item.temporary_contraindication_end_date),
                "revocationReason": item.revocation_reason,
                "certificateBytes": len(item.certificate or b""),
                "printableCertificateBytes": len(item.printable_certificate or b""),
                "saved": saved.get(item.number, []),
            }
            for item in answer.medical_exemption_list
        ],
    }


def _date(value: Any) -> str | None:
    """An end date as a date (`2027-06-30`): on the wire it is midnight of that day in Almaty."""
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _table(answer: Any, saved: dict[str, list[str]]) -> str:
    header = ("Number", "Procedure", "Status", "Until", "Revocation reason", "Certificate")
    rows = [
        (
            item.number,
            f"{item.medical_procedure.code} {item.medical_procedure.name_ru}",
            item.status,
            str(item.temporary_contraindication_end_date or "")[:10],
            item.revocation_reason or "",
            ", ".join(saved.get(item.number, [])) or _size(item.certificate),
        )
        for item in answer.medical_exemption_list
    ]
    lines = [f"{answer.status.code}: {answer.status.message}"]
    if rows:
        widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
        for row in (header, tuple("-" * w for w in widths), *rows):
            lines.append(
                "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
    return "\n".join(lines)


def _size(data: bytes | None) -> str:
    return f"{len(data):,} bytes" if data else ""
