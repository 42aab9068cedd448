"""Reading an import file: JSON Lines or CSV (by extension, else by its first character), UTF-8.

A CSV file's separator is found from its header: a comma, or the semicolon that Excel writes in
Russian and Kazakh locales, or a tab (whichever splits the header into known column names). Its
header names the required columns at least; an optional column left out is empty in every row.
Each row comes out with the line it starts on and its values as read; `validation` checks them.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from .validation import FIELDS, REQUIRED, Issue

Format = Literal["jsonl", "csv"]
_EXTENSIONS: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_EXTENSIONS[".csv"] = "csv"


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int
    values: dict[str, object]


class UnreadableFileError(ValueError):
    """The file as a whole cannot be read (encoding, CSV header); `issues` says where."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = issues


def detect_format(path: Path) -> Format:
    known = _EXTENSIONS.get(path.suffix.lower())
    if known is not None:
        return known
    with path.open(encoding="utf-8-sig", errors="replace") as stream:
        head = stream.read(4096).lstrip()
    return "jsonl" if head.startswith("{") else "csv"


def read_rows(path: Path, issues: list[Issue]) -> Iterator[SourceRow]:
    """The file's rows; rows that cannot be parsed at all are appended to `issues` and skipped."""
    reader = _jsonl if detect_format(path) == "jsonl" else _csv
    with path.open(encoding="utf-8-sig", newline="") as stream:
        try:
            yield from reader(stream, issues)
        except UnicodeDecodeError as exc:
            raise UnreadableFileError(
                [Issue(0, None, f"the file is not UTF-8 ({exc.reason})")]
            ) from exc


def _jsonl(stream: IO[str], issues: list[Issue]) -> Iterator[SourceRow]:
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            issues.append(Issue(line, None, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(value, dict):
            issues.append(Issue(line, None, "a line must hold one JSON object"))
            continue
        yield SourceRow(line, value)


_SEPARATORS = (",", ";", "\t")


def _separator(header_line: str) -> str:
    """The separator that splits the header into the most known column names (a comma on a tie)."""
    known = {
        separator: sum(name.strip().strip('"') in FIELDS for name in header_line.split(separator))
        for separator in _SEPARATORS
    }
    return max(_SEPARATORS, key=lambda separator: known[separator])


def _csv(stream: IO[str], issues: list[Issue]) -> Iterator[SourceRow]:
    first = stream.readline()
    reader = csv.reader(itertools.chain([first], stream), delimiter=_separator(first), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise UnreadableFileError([Issue(1, None, f"CSV header: {exc}")]) from exc
    _check_header(header)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            issues.append(Issue(line, None, f"not CSV: {exc}"))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            issues.append(Issue(line, None, f"{len(cells)} cells, the header names {len(header)}"))
            continue
        yield SourceRow(line, dict(zip(header, cells, strict=True)))


def _check_header(header: list[str]) -> None:
    problems = [Issue(1, name, "unknown column") for name in header if name not in FIELDS]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Issue(1, name, "column named twice"))
        seen.add(name)
    problems += [Issue(1, name, "column missing") for name in REQUIRED if name not in header]
    if problems:
        raise UnreadableFileError(problems)
