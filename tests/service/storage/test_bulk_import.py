"""100,000 rows in one import: the figure is printed; the bound is only a generous sanity check."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from medexempt.exemptions.records import Criteria
from medexempt.exemptions.storage import Registry
from medexempt.exemptions.storage.importer import import_file

from .rows import iin_for, row, write_csv

ROWS = 100_000


def test_a_hundred_thousand_rows(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bulk.csv",
        (
            row(f"{n:06d}", iin=iin_for(n), issueDate=f"20{10 + n % 14}-0{1 + n % 9}-1{n % 10}")
            for n in range(ROWS)
        ),
    )
    summary = import_file(engine, path)
    backend = engine.dialect.name
    print(f"\n{backend}: {ROWS} rows in {summary.seconds:.2f} s = {summary.rate:,.0f} rows/s")
    assert summary.inserted == ROWS
    assert summary.seconds < 120
    assert [r.number for r in Registry(engine).search(Criteria(number="012345"))] == ["012345"]
