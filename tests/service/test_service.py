"""The search service's answers (SPEC §3): which elements are filled for which status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from medexempt.exemptions.records import Contraindication, Criteria, Layout, Record
from medexempt.exemptions.service import SearchService
from medexempt.generated import models
from medexempt.generated.envelope import SoapVersion
from medexempt.generated.server import RequestContext
from tests.samples import TEMPORARY

# The sample record, permanent, and issued in 2024 (test_verify and test_logs look for these names).
BASE = replace(
    TEMPORARY,
    last_name="Ахметова",
    first_name="Әлия",
    middle_name="Серікқызы",
    contraindication=Contraindication.PERMANENT,
    end_date=None,
    issue_date=date(2024, 3, 1),
)
TODAY = date(2026, 11, 26)
CONTEXT = RequestContext(
    "s", "m", "EHEALTH_MEDICAL_EXEMPTION_SEARCH", SoapVersion.SOAP11, None, (), {}
)


class MemoryStore:
    """The Store protocol over a list, for the service's own logic."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def search(self, wanted: Criteria) -> list[Record]:
        found = [
            r
            for r in self.records
            if all(
                getattr(wanted, name) in (None, getattr(r, name))
                for name in ("number", "iin", "passport_number", "citizenship_code")
            )
        ]
        return sorted(found, key=lambda r: r.issue_date, reverse=True)

    def citizenship_exists(self, code: str) -> bool:
        return code == "398"


def service(records: list[Record]) -> tuple[SearchService, list[str]]:
    rendered: list[str] = []

    def render(record: Record, layout: Layout) -> bytes:
        rendered.append(f"{record.number}/{record.version}/{layout.value}")
        return f"%PDF {record.number} {layout.value}".encode()

    return SearchService(store=MemoryStore(records), render=render, clock=lambda: TODAY), rendered


def search(svc: SearchService, **fields: str) -> models.MedicalExemptionSearchResponse:
    return svc.medical_exemption_search(models.MedicalExemptionSearchRequest(**fields), CONTEXT)


def test_up_to_date_carries_both_certificates_and_nothing_else() -> None:
    svc, _ = service([BASE])
    answer = search(svc, number="01085")
    assert answer.status.code == "SUCCESS"
    (item,) = answer.medical_exemption_list
    assert (item.number, item.status, item.medical_procedure.code) == ("01085", "UP_TO_DATE", "100")
    assert item.certificate == b"%PDF 01085 electronic"
    assert item.printable_certificate == b"%PDF 01085 printable"
    assert item.revocation_reason is None and item.temporary_contraindication_end_date is None


def test_temporary_up_to_date_has_its_end_date_with_offset() -> None:
    record = replace(BASE, contraindication=Contraindication.TEMPORARY, end_date=TODAY)
    (item,) = search(service([record])[0], number="01085").medical_exemption_list
    assert item.status == "UP_TO_DATE"
    assert str(item.temporary_contraindication_end_date) == "2026-11-26T00:00:00+05:00"
    assert item.certificate is not None


def test_expired_is_not_up_to_date_without_certificates() -> None:
    record = replace(BASE, contraindication=Contraindication.TEMPORARY, end_date=date(2026, 11, 25))
    (item,) = search(service([record])[0], number="01085").medical_exemption_list
    assert item.status == "NOT_UP_TO_DATE"
    assert str(item.temporary_contraindication_end_date) == "2026-11-25T00:00:00+05:00"
    assert (
        item.certificate is None
        and item.printable_certificate is None
        and item.revocation_reason is None
    )


def test_revoked_has_its_reason_and_no_certificates() -> None:
    record = replace(
        BASE, revoked_at=datetime(2025, 1, 2, tzinfo=UTC), revocation_reason="Ошибка ввода"
    )
    (item,) = search(service([record])[0], number="01085").medical_exemption_list
    assert (item.status, item.revocation_reason) == ("REVOKED", "Ошибка ввода")
    assert item.certificate is None and item.printable_certificate is None


def test_not_found() -> None:
    answer = search(service([BASE])[0], number="99999")
    assert (answer.status.code, answer.status.message) == (
        "NOT_FOUND",
        "Медицинский отвод по заданным параметрам не найден",
    )
    assert answer.medical_exemption_list == []


def test_invalid_request_has_an_empty_list() -> None:
    answer = search(service([BASE])[0], iin="123")
    assert answer.status.code == "INVALID_REQUEST"
    assert "iin" in answer.status.message and answer.medical_exemption_list == []


def test_by_person_newest_first_and_criteria_are_anded() -> None:
    older = replace(BASE, number="00001", issue_date=date(2022, 1, 1))
    other = replace(BASE, number="00002", iin="850812400027")
    svc, _ = service([older, BASE, other])
    assert [i.number for i in search(svc, iin="900101300017").medical_exemption_list] == [
        "01085",
        "00001",
    ]
    assert search(svc, iin="900101300017", number="00002").status.code == "NOT_FOUND"


def test_certificates_are_rendered_once_per_record_version() -> None:
    svc, rendered = service([BASE])
    search(svc, number="01085")
    search(svc, number="01085")
    assert rendered == ["01085/1/electronic", "01085/1/printable"]
    svc.store.records[0] = replace(BASE, version=2)  # type: ignore[attr-defined]
    search(svc, number="01085")
    assert rendered[2:] == ["01085/2/electronic", "01085/2/printable"]


@pytest.mark.parametrize("value", ["  01085 ", "01085\n"])
def test_values_are_trimmed(value: str) -> None:
    assert search(service([BASE])[0], number=value).status.code == "SUCCESS"


def test_a_worker_serves_recent_certificates_from_memory_by_record_version() -> None:
    svc, rendered = service([BASE])
    store = svc.store
    assert isinstance(store, MemoryStore)
    search(svc, number="01085")
    assert (
        search(svc, number="01085").medical_exemption_list[0].certificate
        == b"%PDF 01085 electronic"
    )
    assert rendered == ["01085/1/electronic", "01085/1/printable"]  # the second from memory
    store.records[0] = replace(BASE, version=2)  # a changed record is never answered from memory
    search(svc, number="01085")
    assert rendered[2:] == ["01085/2/electronic", "01085/2/printable"]


def test_the_memory_is_bounded_in_bytes_and_renders_again_what_it_dropped() -> None:
    svc, rendered = service([replace(BASE, number=f"{n:05d}") for n in range(10)])
    record = len(b"%PDF 00000 electronic") + len(b"%PDF 00000 printable")  # a record's two
    svc.cache_bytes = 2 * record
    for n in range(10):
        search(svc, number=f"{n:05d}")
    assert len(svc._cache) == 4  # the last two records' certificates
    assert svc._cached_bytes == sum(map(len, svc._cache.values())) == 2 * record
    search(svc, number="00000")  # dropped long ago: rendered again, the same bytes
    assert rendered.count("00000/1/electronic") == 2
