"""`medexempt search` against the end-to-end server: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medexempt.cli import main
from tests.e2e.service import CERTIFICATE, PASSWORD, SENDER_ID
from tests.harness import free_port

ENV = {"MEDEXEMPT_SENDER_ID": SENDER_ID, "MEDEXEMPT_PASSWORD": PASSWORD}


def search(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(main, ["search", "--url", url, *args], env=ENV if env is None else env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_found_prints_a_table_and_saves_certificates(
    e2e_url: str, tmp_path: Path, version: str
) -> None:
    code, out, _ = search(
        e2e_url, "--number", "01085", "--soap-version", version, "--out-dir", str(tmp_path)
    )
    assert code == 0
    assert out.splitlines()[0] == "SUCCESS: The request has been processed"
    assert "01085" in out and "UP_TO_DATE" in out and "Иммунопрофилактика" in out
    assert (tmp_path / "01085.pdf").read_bytes() == CERTIFICATE
    assert (tmp_path / "01085-print.pdf").read_bytes() == CERTIFICATE + b"print"


def test_found_as_json(e2e_url: str) -> None:
    code, out, _ = search(e2e_url, "--number", "01085", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["status"]["code"] == "SUCCESS"
    (item,) = answer["exemptions"]
    assert item["number"] == "01085" and item["certificateBytes"] == len(CERTIFICATE)
    assert item["procedure"]["nameKk"].startswith("Коронавирустық")


def test_json_dates_are_dates() -> None:
    """An end date is a date in JSON (`2027-06-30`), as in the table; on the wire it is midnight
    of that day in Almaty."""
    from xsdata.models.datatype import XmlDateTime

    from medexempt.exemptions.search import _as_dict
    from medexempt.generated import models

    item = models.FoundMedicalExemption(
        number="01090",
        medical_procedure=models.Dictionary(code="100", name_ru="р", name_kk="к"),
        status="UP_TO_DATE",
        temporary_contraindication_end_date=XmlDateTime(2027, 6, 30, 0, 0, 0, 0, 300),
    )
    answer = models.MedicalExemptionSearchResponse(
        status=models.Status(code="SUCCESS", message="ok"), medical_exemption_list=[item]
    )
    (shown,) = _as_dict(answer, {})["exemptions"]
    assert shown["temporaryContraindicationEndDate"] == "2027-06-30"


def test_not_found_exits_3(e2e_url: str) -> None:
    code, out, _ = search(e2e_url, "--number", "00000")
    assert code == 3
    assert "NOT_FOUND" in out


def test_invalid_request_exits_4(e2e_url: str) -> None:
    code, out, _ = search(e2e_url, "--iin", "123")
    assert code == 4
    assert "INVALID_REQUEST" in out


def test_fault_exits_5_with_the_reason(e2e_url: str) -> None:
    code, _, err = search(e2e_url, "--number", "01085", env={**ENV, "MEDEXEMPT_PASSWORD": "wrong"})
    assert code == 5
    assert "AUTHENTICATION_FAILED" in err


def test_fault_as_json(e2e_url: str) -> None:
    code, out, _ = search(e2e_url, "--number", "boom", "--json")
    assert code == 5
    assert json.loads(out)["fault"]["errorCode"] == "INTERNAL_ERROR"


def test_transport_error_exits_6() -> None:
    code, _, err = search(
        f"http://127.0.0.1:{free_port()}/sync", "--number", "01085", "--timeout", "2"
    )
    assert code == 6
    assert "error:" in err


def test_sender_is_required() -> None:
    code, _, err = search("http://127.0.0.1:9/sync", "--number", "1", env={})
    assert code == 2
    assert "--sender-id" in err


@pytest.mark.parametrize("url", ["localhost:8080/sync", "ftp://host/sync", "http:///sync"])
def test_a_url_that_is_not_http_is_a_usage_error(url: str) -> None:
    code, _, err = search(url, "--number", "01085")
    assert code == 2, err
    assert "is not an http:// or https:// address" in err


def test_no_password_and_no_terminal_is_a_usage_error() -> None:
    """CliRunner's stdin is not a terminal: nothing to ask on, so exit 2 (not 5 from the server)."""
    code, _, err = search(
        "http://127.0.0.1:9/sync", "--number", "1", env={"MEDEXEMPT_SENDER_ID": SENDER_ID}
    )
    assert code == 2
    assert "no password" in err and "MEDEXEMPT_PASSWORD" in err
