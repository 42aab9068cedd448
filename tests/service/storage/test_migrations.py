"""Migrations build the schema, its indexes and the dictionaries, on every backend."""

from __future__ import annotations

import re

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from medexempt.exemptions.storage import (
    create_engine,
    current_revision,
    head_revision,
    is_current,
    upgrade,
)
from medexempt.exemptions.storage.dictionaries import STATELESS, load
from medexempt.exemptions.storage.models import CitizenshipRow, ProcedureRow

KAZAKH_LETTERS = set("әғқңөұүһі")


def test_an_empty_database_has_no_revision(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        assert current_revision(engine) is None
        assert not is_current(engine)
        upgrade(empty_url)
        assert current_revision(engine) == head_revision()
        upgrade(empty_url)  # a second run changes nothing
        assert is_current(engine)
    finally:
        engine.dispose()


def test_the_schema_has_every_table_and_search_index(engine: Engine) -> None:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"exemptions", "procedures", "citizenships", "seen_messages"} <= tables
    assert "certificates" not in tables  # dropped by 0004: certificates are rendered, not stored
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("exemptions")}
    assert indexes["ix_exemptions_iin"][0] == "iin"
    assert indexes["ix_exemptions_passport"][:2] == ["passport_number", "citizenship_code"]
    assert indexes["ix_exemptions_issue_date"][0] == "issue_date"
    uniques = inspector.get_unique_constraints("exemptions")
    assert ["number"] in [u["column_names"] for u in uniques]


def test_the_dictionaries_are_loaded(engine: Engine) -> None:
    with engine.connect() as connection:
        procedures = {r.code: r for r in connection.execute(select(ProcedureRow.__table__))}
        citizenships = {r.code: r for r in connection.execute(select(CitizenshipRow.__table__))}
    assert procedures["100"].name_ru == "Иммунопрофилактика от коронавирусной инфекции"
    assert procedures["100"].name_kk == "Коронавирустық инфекцияға қарсы иммунопрофилактика"
    assert len(procedures) == len(load("procedures")) >= 15
    assert len(citizenships) == len(load("citizenships")) >= 30
    for code in ("398", "643", "860", "417", "762", "795", "156", "051", "031", STATELESS):
        assert code in citizenships
    assert citizenships["398"].name_kk == "Қазақстан"


def test_the_data_files_are_well_formed() -> None:
    for name in ("procedures", "citizenships"):
        entries = load(name)
        codes = [e.code for e in entries]
        assert len(codes) == len(set(codes)), name
        assert all(e.name_ru and e.name_kk for e in entries)
    assert all(re.fullmatch(r"[0-9]{3}", e.code) for e in load("citizenships"))
    kazakh = "".join(e.name_kk for n in ("procedures", "citizenships") for e in load(n)).lower()
    assert set(kazakh) >= KAZAKH_LETTERS - {"һ"}  # һ is for loanwords; none here needs it
