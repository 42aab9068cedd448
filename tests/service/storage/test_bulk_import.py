"""100,000 rows in one import: the figure is printed; the bound is only a generous sanity check."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from medexempt.exemptions.records import Criteria
from medexempt.exemptions.storage import Registry
from medexempt.exemptions.storage.importer import import_file
from tests.samples import generated_records, write_import_file

ROWS = 100_000


@pytest.mark.system  # a registry-sized load
def test_a_hundred_thousand_rows(engine: Engine, tmp_path: Path) -> None:
    records = generated_records(ROWS)
    path = tmp_path / "bulk.csv"
    write_import_file(records, path)
    summary = import_file(engine, path)
    backend = engine.dialect.name
    print(f"\n{backend}: {ROWS} rows in {summary.seconds:.2f} s = {summary.rate:,.0f} rows/s")
    assert summary.inserted == ROWS
    assert summary.seconds < 120
    sought = records[12_345]
    found = Registry(engine).search(Criteria(number=sought.number))
    assert [(r.number, r.iin, r.last_name) for r in found] == [
        (sought.number, sought.iin, sought.last_name)
    ]
