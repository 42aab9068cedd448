"""Registry reads: each search path, AND of criteria, ordering; stored certificates; revocation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from medexempt.exemptions.records import Contraindication, Criteria, Record, Status
from medexempt.exemptions.storage import AlreadyRevokedError, Registry, UnknownNumberError
from medexempt.exemptions.storage.importer import import_file

from .rows import IIN_A, IIN_B, row, write_jsonl


def load(engine: Engine, tmp_path: Path, *rows: dict[str, Any]) -> None:
    import_file(engine, write_jsonl(tmp_path / "rows.jsonl", rows))


@pytest.fixture
def people(engine: Engine, tmp_path: Path) -> None:
    load(
        engine,
        tmp_path,
        row("01085", issueDate="2021-05-20"),
        row("00001", issueDate="2023-01-10", contraindication="permanent", endDate=None),
        row("00002", issueDate="2023-01-10", procedureCode="110"),
        row("00003", iin=IIN_B, issueDate="2024-02-02"),
        row("P-1", iin=None, passportNumber="N12345678", citizenshipCode="643"),
        row("P-2", iin=None, passportNumber="N12345678", citizenshipCode="860"),
    )


@pytest.mark.usefixtures("people")
def test_by_number_maps_every_field(registry: Registry) -> None:
    record = registry.by_number("01085")
    assert isinstance(record, Record)
    assert record.number == "01085"
    assert record.iin == IIN_A
    assert record.citizenship_code == "398"
    assert record.full_name == "Тестова Әсел Қайратқызы"
    assert record.birth_date == date(1990, 1, 1)
    assert record.procedure.code == "100"
    assert record.procedure.name_kk == "Коронавирустық инфекцияға қарсы иммунопрофилактика"
    assert record.contraindication is Contraindication.TEMPORARY
    assert record.end_date == date(2031, 12, 31)
    assert record.issue_date == date(2021, 5, 20)
    assert record.revoked_at is None
    assert record.version == 1
    assert record.status(date(2025, 1, 1)) is Status.UP_TO_DATE
    assert registry.by_number("1085") is None  # leading zeros count


@pytest.mark.usefixtures("people")
def test_search_by_iin_is_newest_first_then_by_number(registry: Registry) -> None:
    found = [r.number for r in registry.search(Criteria(iin=IIN_A))]
    assert found == ["00001", "00002", "01085"]


@pytest.mark.usefixtures("people")
def test_search_by_passport_needs_the_citizenship_to_match(registry: Registry) -> None:
    by_passport = registry.search(Criteria(passport_number="N12345678", citizenship_code="643"))
    assert [r.number for r in by_passport] == ["P-1"]
    assert registry.search(Criteria(passport_number="N12345678", citizenship_code="398")) == []


@pytest.mark.usefixtures("people")
def test_search_is_the_and_of_its_criteria(registry: Registry) -> None:
    assert [r.number for r in registry.search(Criteria(number="00003", iin=IIN_B))] == ["00003"]
    assert registry.search(Criteria(number="00003", iin=IIN_A)) == []
    assert [r.number for r in registry.search(Criteria(number="00002"))] == ["00002"]
    with pytest.raises(ValueError, match="criterion"):
        registry.search(Criteria())


def test_dictionary_lookups(registry: Registry) -> None:
    assert registry.citizenship_exists("398")
    assert not registry.citizenship_exists("398 ")
    procedure = registry.procedure("100")
    assert procedure is not None and procedure.name_ru.startswith("Иммунопрофилактика")
    assert registry.procedure("nope") is None
    assert registry.healthy()


@pytest.mark.usefixtures("people")
def test_a_revocation_is_a_new_version(registry: Registry) -> None:
    revoked = registry.revoke("01085", "Ошибка ввода", datetime(2024, 3, 1, 10, 0, tzinfo=UTC))
    assert revoked.version == 2
    assert revoked.revocation_reason == "Ошибка ввода"


@pytest.mark.usefixtures("people")
def test_revoke_records_an_aware_time_and_the_reason(registry: Registry) -> None:
    at = datetime(2024, 3, 1, 15, 30, tzinfo=timezone(timedelta(hours=5)))
    record = registry.revoke("00002", "  Выдан ошибочно ", at)
    assert record.revoked_at == at
    assert record.revoked_at is not None and record.revoked_at.utcoffset() == timedelta(0)
    assert record.revocation_reason == "Выдан ошибочно"
    assert record.status(date(2024, 3, 2)) is Status.REVOKED
    assert registry.by_number("00002") == record
    with pytest.raises(AlreadyRevokedError):
        registry.revoke("00002", "again", at)
    with pytest.raises(UnknownNumberError):
        registry.revoke("99999", "no such", at)
    with pytest.raises(ValueError, match="reason"):
        registry.revoke("00003", "  ", at)
    with pytest.raises(ValueError, match="offset"):
        registry.revoke("00003", "naive", datetime(2024, 3, 1))


def test_an_unreachable_database_is_not_healthy() -> None:
    from medexempt.exemptions.storage import create_engine

    engine = create_engine("postgresql+psycopg://nobody:x@127.0.0.1:1/none?connect_timeout=2")
    try:
        assert not Registry(engine).healthy()
    finally:
        engine.dispose()


def test_connect_builds_its_own_engine(db_url: str) -> None:
    registry = Registry.connect(db_url)
    try:
        assert registry.healthy()
        assert registry.procedure("100") is not None
    finally:
        registry.close()
