"""Import exemption records from a JSON Lines or CSV file: all rows valid and written, or nothing.

Every row is checked before anything is written; a valid file goes in one transaction, in batches of
multi-row statements. With `update=True`, numbers already stored are overwritten (version bumped,
so no worker answers with a certificate of the old version) instead of being refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, String, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from tqdm import tqdm

from .models import CitizenshipRow, ExemptionRow, ProcedureRow
from .source import UnreadableFileError, read_rows
from .validation import Dictionaries, Issue, validate

BATCH = 5000
_KEYS = 900  # numbers per IN (...) lookup, under SQLite's old 999-parameter limit
T = TypeVar("T")


class ImportRejectedError(ValueError):
    """The file has invalid rows; nothing was written. `issues` lists every one, in line order."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} problem(s); nothing was imported")
        self.issues = sorted(issues)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    inserted: int
    updated: int
    seconds: float

    @property
    def rows(self) -> int:
        return self.inserted + self.updated

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def import_file(
    engine: Engine, path: Path, *, update: bool = False, progress: bool = False
) -> ImportSummary:
    """Check, then write every row of `path`; on any issue raise ImportRejectedError."""
    started = time.perf_counter()
    with engine.begin() as connection:
        rows = _checked_rows(connection, path, progress=progress)
        existing = _existing_numbers(connection, [values["number"] for _, values in rows])
        if existing and not update:
            raise ImportRejectedError(
                [
                    Issue(line, "number", "already in the database (use --update to replace)")
                    for line, values in rows
                    if values["number"] in existing
                ]
            )
        new = [values for _, values in rows if values["number"] not in existing]
        changed = [values for _, values in rows if values["number"] in existing]
        with tqdm(
            total=len(rows), desc="writing", unit="row", disable=not progress, delay=0.5
        ) as bar:
            _insert(connection, new, bar)
            _update(connection, changed, bar)
    return ImportSummary(len(new), len(changed), time.perf_counter() - started)


def _checked_rows(
    connection: Connection, path: Path, *, progress: bool
) -> list[tuple[int, dict[str, Any]]]:
    known = Dictionaries(
        procedures=frozenset(connection.scalars(select(ProcedureRow.code))),
        citizenships=frozenset(connection.scalars(select(CitizenshipRow.code))),
    )
    issues: list[Issue] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    try:
        source = tqdm(
            read_rows(path, issues), desc="checking", unit="row", disable=not progress, delay=0.5
        )
        for row in source:
            values, problems = validate(row.line, row.values, known)
            number = values["number"]
            if number is not None and number in first_line:
                message = f"number repeats the one on line {first_line[number]}"
                problems.append(Issue(row.line, "number", message))
            elif number is not None:
                first_line[number] = row.line
            issues += problems
            if not problems:
                rows.append((row.line, values))
    except UnreadableFileError as exc:
        raise ImportRejectedError(issues + exc.issues) from exc
    if issues:
        raise ImportRejectedError(issues)
    return rows


def _existing_numbers(connection: Connection, numbers: Sequence[str]) -> set[str]:
    found: set[str] = set()
    postgres = connection.dialect.name == "postgresql"
    for chunk in _chunks(numbers, _KEYS):
        if postgres:  # one array parameter, not thousands of placeholders for the driver to split
            given = bindparam("numbers", value=chunk, type_=ARRAY(String))
            query = select(ExemptionRow.number).where(ExemptionRow.number == any_(given))
        else:
            query = select(ExemptionRow.number).where(ExemptionRow.number.in_(chunk))
        found.update(connection.scalars(query))
    return found


def _insert(connection: Connection, rows: list[dict[str, Any]], bar: tqdm[Any]) -> None:
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, rows, bar)
        return
    for batch in _chunks(rows, BATCH):
        connection.execute(insert(ExemptionRow), [{**values, "version": 1} for values in batch])
        bar.update(len(batch))


def _copy(connection: Connection, rows: list[dict[str, Any]], bar: tqdm[Any]) -> None:
    """PostgreSQL's COPY, on the transaction's own connection: several times an executemany."""
    from psycopg import sql

    columns = [c.name for c in ExemptionRow.__table__.columns if c.name != "id"]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(ExemptionRow.__tablename__),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for batch in _chunks(rows, BATCH):
            for values in batch:
                copy.write_row([1 if c == "version" else values[c] for c in columns])
            bar.update(len(batch))


def _update(connection: Connection, rows: list[dict[str, Any]], bar: tqdm[Any]) -> None:
    statement = (
        update(ExemptionRow)
        .where(ExemptionRow.number == bindparam("old_number"))
        .values(version=ExemptionRow.version + 1)
    )
    for batch in _chunks(rows, BATCH):
        parameters = [
            {"old_number": v["number"], **{k: x for k, x in v.items() if k != "number"}}
            for v in batch
        ]
        connection.execute(statement, parameters)
        bar.update(len(batch))


def _chunks(items: Sequence[T] | Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
