"""The reference books that ship with the package: vaccination procedures and citizenships.

Both live as UTF-8 CSV files in `data/` (columns `code,name_ru,name_kk`) and reach a database
through the migrations, which call `sync` (insert what is missing, refresh names; never delete,
since records point at codes). A change to a file ships with a new migration that calls `sync`.

Procedures: code 100 is the original's «Иммунопрофилактика от коронавирусной инфекции»; 101 onward
are this project's codes for the vaccines of Kazakhstan's national immunisation schedule (plus
influenza), since the ministry's own procedure codes beyond 100 are not published.

Citizenship codes are ISO 3166-1 numeric, three digits with leading zeros (`398` Kazakhstan, `643`
Russia, `051` Armenia). The gateway's own citizenship reference book is not public, so no code list
can be copied from it; ISO numeric is stable (codes outlive country renames, unlike names or alpha
codes), language-neutral (no Latin letters in a Cyrillic-first system), and it is what the
three-letter country codes in the machine-readable zone of Kazakhstan's passports and ID cards
(ICAO Doc 9303, ISO alpha-3) map to one-to-one. Stateless persons have no ISO code (the MRZ writes
`XXA`), so they get `999` from ISO's user-assigned range 900–999, which the standard reserves for
such local additions.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import Connection, column, select, table, update

DICTIONARIES = ("procedures", "citizenships")
STATELESS = "999"


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    name_ru: str
    name_kk: str


def load(name: str) -> list[Entry]:
    """The entries of the shipped `data/{name}.csv`, in file order."""
    if name not in DICTIONARIES:
        raise ValueError(f"no dictionary called {name!r}")
    text = resources.files(__package__).joinpath("data", f"{name}.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return [Entry(r["code"].strip(), r["name_ru"].strip(), r["name_kk"].strip()) for r in rows]


def sync(connection: Connection, name: str) -> None:
    """Make the table `name` hold every shipped entry with its shipped names."""
    target = table(name, column("code"), column("name_ru"), column("name_kk"))
    present = {
        row.code: (row.name_ru, row.name_kk)
        for row in connection.execute(select(target.c.code, target.c.name_ru, target.c.name_kk))
    }
    entries = load(name)
    missing = [e for e in entries if e.code not in present]
    if missing:
        values = [{"code": e.code, "name_ru": e.name_ru, "name_kk": e.name_kk} for e in missing]
        connection.execute(target.insert(), values)
    for e in entries:
        if e.code in present and present[e.code] != (e.name_ru, e.name_kk):
            connection.execute(
                update(target)
                .where(target.c.code == e.code)
                .values(name_ru=e.name_ru, name_kk=e.name_kk)
            )
