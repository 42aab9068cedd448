"""The reference service as a user runs it: `medexempt serve --demo`, on SQLite and on PostgreSQL.

Searches go through the generated client over HTTP; certificates are opened, their QR codes read
and followed to the verification page, which headless Chromium renders.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pypdfium2  # type: ignore[import-untyped]
import pytest
import zxingcpp
from sqlalchemy import inspect, text

from medexempt.exemptions.storage import create_engine
from medexempt.generated import models, read_response
from medexempt.generated.client import Client
from tests import browser
from tests.databases import postgres_url
from tests.harness import free_port, running_server
from tests.support import CASES, ROOT


@dataclass(frozen=True)
class Service:
    url: str  # the SOAP endpoint
    base: str
    db_url: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp(f"serve-{request.param}")
    db_url = f"sqlite:///{folder / 'medexempt.db'}" if request.param == "sqlite" else postgres_url()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "medexempt",
        "serve",
        "--demo",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    env = {**os.environ, "MEDEXEMPT_DB": db_url}
    log = folder / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with running_server(command, ready=f"{base}/healthz", log=log, cwd=folder, env=env):
        yield Service(url=f"{base}/sync", base=base, db_url=db_url)


def search(service: Service, **criteria: str) -> models.MedicalExemptionSearchResponse:
    with Client(service.url, sender_id="sender", password="password") as client:
        return client.medical_exemption_search(models.MedicalExemptionSearchRequest(**criteria))


def test_the_original_sample_posted_verbatim_finds_01085(service: Service) -> None:
    body = (CASES / "original-request" / "message.xml").read_bytes()
    answer = httpx.post(
        service.url, content=body, headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    assert answer.status_code == 200
    reply = read_response(answer.content).body
    assert isinstance(reply, models.SendMessageResponse)
    assert reply.response.response_info.correlation_id == "92769bcb-a615-4fec-ba5a-81c284d49763"
    payload = reply.response.response_data.data
    assert isinstance(payload, models.MedicalExemptionSearchResponse)
    (item,) = payload.medical_exemption_list
    assert (item.number, item.medical_procedure.code, item.status) == ("01085", "100", "UP_TO_DATE")
    assert item.certificate and item.certificate.startswith(b"%PDF")
    assert item.printable_certificate and item.printable_certificate.startswith(b"%PDF")


def test_every_search_path_and_status(service: Service) -> None:
    by_iin = search(service, iin="900101300017")
    assert [i.number for i in by_iin.medical_exemption_list] == ["01090", "01085"]  # newest first
    assert by_iin.medical_exemption_list[0].temporary_contraindication_end_date is not None
    statuses = {i.number: i for i in search(service, iin="850812400027").medical_exemption_list}
    assert statuses["01087"].status == "NOT_UP_TO_DATE" and statuses["01087"].certificate is None
    assert statuses["01088"].status == "REVOKED" and statuses["01088"].revocation_reason
    passport = search(service, passport_number="N12345678", citizenship_code="643")
    assert [i.number for i in passport.medical_exemption_list] == ["01089"]
    assert search(service, number="01085", iin="850812400027").status.code == "NOT_FOUND"
    invalid = search(service, passport_number="N12345678")
    assert invalid.status.code == "INVALID_REQUEST" and "citizenshipCode" in invalid.status.message


def _rows(db_url: str) -> dict[str, int]:
    """Rows per table, but the replay seen-set (which grows per message, not per record)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "seen_messages"]
            return {
                t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in tables
            }
    finally:
        engine.dispose()


def test_searches_write_nothing_and_certificates_are_the_same_bytes(service: Service) -> None:
    """A certificate is rendered from the record (in any worker, any number of times, the same
    bytes), never stored: searching every demo record leaves the database as it was."""
    before = _rows(service.db_url)
    first = search(service, number="01091").medical_exemption_list[0]
    for number in ("01085", "01086", "01087", "01089", "01090"):
        search(service, number=number)
    second = search(service, number="01091").medical_exemption_list[0]
    assert first.certificate and first.printable_certificate
    assert (
        first.certificate == second.certificate
        and first.printable_certificate == second.printable_certificate
    )
    assert _rows(service.db_url) == before
    assert "certificates" not in before


def qr_url(pdf: bytes) -> str:
    page = pypdfium2.PdfDocument(io.BytesIO(pdf))[0]
    image = page.render(scale=3).to_pil()
    (code,) = zxingcpp.read_barcodes(image)
    return code.text


def test_the_qr_code_opens_the_verification_page(service: Service, tmp_path: Path) -> None:
    item = search(service, number="01085").medical_exemption_list[0]
    assert item.certificate is not None
    url = qr_url(item.certificate)
    assert url.startswith(f"{service.base}/verify/01085?t=")
    page = httpx.get(url)
    assert page.status_code == 200
    assert (
        "01085" in page.text
        and "Жарамды / Актуален" in page.text
        and "900101300017" not in page.text
    )
    assert httpx.get(url[:-2] + "xx").status_code == 404
    assert httpx.get(f"{service.base}/verify/01085").status_code == 404


def test_chromium_renders_the_verification_page(service: Service) -> None:
    item = search(service, number="01090").medical_exemption_list[0]
    assert item.certificate is not None
    url = qr_url(item.certificate)
    rendered = browser.dom(url)
    assert "01090" in rendered and "30-06-2027" in rendered and "А******* Ә. С." in rendered
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = browser.screenshot(url, shots / f"verify-{Path(service.db_url).name[:20]}.png")
    assert shot.stat().st_size > 5000


def test_revoking_changes_status_and_drops_certificates(service: Service) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "medexempt",
            "db",
            "revoke",
            "01089",
            "--reason",
            "Ошибка ввода",
            "--db",
            service.db_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    item = search(service, number="01089").medical_exemption_list[0]
    assert (item.status, item.revocation_reason, item.certificate) == (
        "REVOKED",
        "Ошибка ввода",
        None,
    )


def test_health(service: Service) -> None:
    answer = httpx.get(f"{service.base}/healthz")
    assert (answer.status_code, answer.text) == (200, "ok\n")


def test_the_readmes_search_commands_find_the_demo_records(
    service: Service, tmp_path: Path
) -> None:
    """Each `medexempt search` line of the README, run as written against the demo (its URL
    replaced by this server's): exit 0, the demo record it names found (another test of this
    module may have revoked one meanwhile: found still)."""
    import shlex

    from click.testing import CliRunner

    from medexempt.cli import main

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### From a shell: `medexempt search`", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    exports = dict(
        pair.split("=", 1) for pair in shlex.split(lines[0].split("#")[0])[1:] if "=" in pair
    )
    commands = [shlex.split(line) for line in lines[1:] if line.startswith("medexempt search")]
    assert len(commands) == 3
    for command in commands:
        args = [service.url if a == "http://localhost:8080/sync" else a for a in command[1:]]
        args = [str(tmp_path / a) if a == "certificates/" else a for a in args]
        result = CliRunner().invoke(main, args, env=exports)
        assert result.exit_code == 0, (command, result.output)
        expected = "01089" if "--passport" in command else "01085"
        assert expected in result.output, (command, result.output)
