"""Import: valid files go in whole, invalid ones not at all with every bad row reported; the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from medexempt.exemptions.dbcli import db
from medexempt.exemptions.records import Criteria
from medexempt.exemptions.storage import Registry, create_engine
from medexempt.exemptions.storage.importer import ImportRejectedError, import_file
from medexempt.exemptions.storage.models import ExemptionRow
from medexempt.exemptions.storage.validation import Issue

from .rows import IIN_B, row, write_csv, write_jsonl


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ExemptionRow)) or 0


def rejected(engine: Engine, path: Path, *, update: bool = False) -> list[Issue]:
    with pytest.raises(ImportRejectedError) as caught:
        import_file(engine, path, update=update)
    assert count(engine) == 0 or update
    return caught.value.issues


@pytest.mark.parametrize("writer", [write_jsonl, write_csv])
def test_a_valid_file_imports(engine: Engine, tmp_path: Path, writer: object) -> None:
    rows = [
        row("01085"),
        row("00002", iin=None, passportNumber="N12345678", citizenshipCode="643"),
        row("00003", contraindication="permanent", endDate=None, middleName=None),
        row("00004", revokedAt="2024-06-02T10:00:00", revocationReason="Ошибка"),
        row("00005", revokedAt="2024-06-02", revocationReason="Ошибка"),
    ]
    suffix = ".jsonl" if writer is write_jsonl else ".csv"
    path = writer(tmp_path / f"rows{suffix}", rows)  # type: ignore[operator]
    summary = import_file(engine, path)
    assert (summary.inserted, summary.updated) == (5, 0)
    registry = Registry(engine)
    by_passport = registry.search(Criteria(passport_number="N12345678", citizenship_code="643"))
    assert [r.number for r in by_passport] == ["00002"]
    permanent = registry.by_number("00003")
    assert permanent is not None and permanent.end_date is None and permanent.middle_name is None
    revoked = registry.by_number("00004")
    assert revoked is not None and revoked.revoked_at is not None
    assert revoked.revoked_at == datetime(
        2024, 6, 2, 5, 0, tzinfo=UTC
    )  # Asia/Almaty, UTC+5 since March 2024
    midnight = registry.by_number("00005")
    assert midnight is not None and midnight.revoked_at == datetime(2024, 6, 1, 19, tzinfo=UTC)


def test_the_format_is_sniffed_without_a_known_extension(engine: Engine, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.txt", [row("1")])
    write_csv(tmp_path / "b.txt", [row("2")])
    import_file(engine, tmp_path / "a.txt")
    import_file(engine, tmp_path / "b.txt")
    assert count(engine) == 2


def test_every_bad_row_is_reported_and_nothing_written(engine: Engine, tmp_path: Path) -> None:
    rows = [
        row("A1"),  # line 1: valid
        row("A2", iin="900101300018"),  # 2: check digit
        row("A3", birthDate="01.01.1990"),  # 3: date format
        row("A4", procedureCode="999"),  # 4: unknown procedure
        row("A5", iin=None, passportNumber="X1", citizenshipCode="000"),  # 5: unknown citizenship
        row("A6", endDate=None),  # 6: temporary without end date
        row("A7", contraindication="permanent"),  # 7: permanent with end date
        row("A8", revokedAt="2024-01-01"),  # 8: revokedAt without reason
        row("A1"),  # 9: repeats line 1
        row("A10", iin=None),  # 10: no person
        row("A11", iin=None, passportNumber="X1", citizenshipCode=None),  # 11: passport alone
        row(" ", contraindication="sometimes"),  # 12: empty number, bad kind
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with path.open("a", encoding="utf-8") as stream:
        stream.write("not json\n")  # 13
        stream.write(json.dumps({**row("A14"), "colour": "blue", "iin": 900101300017}) + "\n")
    found = {(i.line, i.field) for i in rejected(engine, path)}
    assert found == {
        (2, "iin"),
        (3, "birthDate"),
        (4, "procedureCode"),
        (5, "citizenshipCode"),
        (6, "endDate"),
        (7, "endDate"),
        (8, "revocationReason"),
        (9, "number"),
        (10, "iin"),
        (11, "citizenshipCode"),
        (12, "number"),
        (12, "contraindication"),
        (13, None),
        (14, "colour"),
        (14, "iin"),
    }
    assert count(engine) == 0


def test_csv_lines_count_the_header_and_a_bad_header_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", [row("1"), row("2", issueDate="2021-02-30")])
    assert [(i.line, i.field) for i in rejected(engine, path)] == [(3, "issueDate")]
    header = tmp_path / "header.csv"
    header.write_text("number,iin,nonsense\n1,900101300017,x\n", encoding="utf-8")
    issues = rejected(engine, header)
    assert Issue(1, "nonsense", "unknown column") in issues
    assert Issue(1, "lastName", "column missing") in issues


def test_numbers_already_stored_need_update(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write_jsonl(tmp_path / "first.jsonl", [row("01085"), row("00002")]))
    registry = Registry(engine)
    second = write_jsonl(
        tmp_path / "second.jsonl", [row("01085", iin=IIN_B, lastName="Жаңа"), row("00003")]
    )
    with pytest.raises(ImportRejectedError) as caught:
        import_file(engine, second)
    assert [(i.line, i.field) for i in caught.value.issues] == [(1, "number")]
    assert count(engine) == 2

    summary = import_file(engine, second, update=True)
    assert (summary.inserted, summary.updated) == (1, 1)
    updated = registry.by_number("01085")
    assert updated is not None
    assert (updated.version, updated.iin, updated.last_name) == (2, IIN_B, "Жаңа")
    untouched = registry.by_number("00002")
    assert untouched is not None and untouched.version == 1


def test_cli_upgrade_import_revoke(empty_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    path = write_csv(tmp_path / "rows.csv", [row("01085")])
    refused = runner.invoke(db, ["import", str(path), "--db", empty_url])
    assert refused.exit_code == 2 and "db upgrade" in refused.output

    upgraded = runner.invoke(db, ["upgrade", "--db", empty_url])
    assert upgraded.exit_code == 0, upgraded.output
    imported = runner.invoke(db, ["import", str(path)], env={"MEDEXEMPT_DB": empty_url})
    assert imported.exit_code == 0, imported.output
    assert "imported 1 new" in imported.output

    again = runner.invoke(db, ["import", str(path), "--db", empty_url])
    assert again.exit_code == 1
    assert "line 2, number: already in the database" in again.output

    revoke = ["revoke", "01085", "--reason", "Ошибка", "--at", "2024-06-02", "--db", empty_url]
    revoked = runner.invoke(db, revoke)
    assert revoked.exit_code == 0, revoked.output
    assert "2024-06-02T00:00:00+05:00" in revoked.output
    second = runner.invoke(db, revoke)
    assert second.exit_code == 1
    # Said in Almaty time, as it was given: not 2024-06-01T19:00:00+00:00.
    assert "01085 was revoked at 2024-06-02T00:00:00+05:00 (Asia/Almaty)" in second.output
    unknown = runner.invoke(db, ["revoke", "nope", "--reason", "x", "--db", empty_url])
    assert unknown.exit_code == 1 and "no exemption numbered nope" in unknown.output


@pytest.mark.parametrize(
    ("at", "said"),
    [
        ("2021-05-19", "is before 01085's issue date 2021-05-20"),
        ("2099-01-01", "2099-01-01T00:00:00+05:00 is in the future"),
    ],
)
def test_cli_revoke_refuses_a_time_before_the_issue_date_or_ahead(
    empty_url: str, tmp_path: Path, at: str, said: str
) -> None:
    runner = CliRunner()
    assert runner.invoke(db, ["upgrade", "--db", empty_url]).exit_code == 0
    path = write_csv(tmp_path / "rows.csv", [row("01085")])
    assert runner.invoke(db, ["import", str(path), "--db", empty_url]).exit_code == 0
    refused = runner.invoke(db, ["revoke", "01085", "--reason", "x", "--at", at, "--db", empty_url])
    assert refused.exit_code == 2, refused.output
    assert said in refused.output and "--at" in refused.output
    engine = create_engine(empty_url)
    try:
        record = Registry(engine).by_number("01085")
    finally:
        engine.dispose()
    assert record is not None and record.revoked_at is None


def test_cli_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    path = write_csv(tmp_path / "rows.csv", [row("01085")])
    for command in (["import", str(path)], ["revoke", "01085", "--reason", "x"]):
        done = CliRunner().invoke(db, [*command, "--db", f"sqlite:///{missing}"])
        assert done.exit_code == 2 and "no such database file" in done.output, done.output
        assert "db upgrade" in done.output
    assert not missing.exists()


def test_characters_xml_cannot_carry_are_refused_at_import(engine: Engine, tmp_path: Path) -> None:
    """A record holding U+0001 would make every answer that finds it unwritable."""
    rows = [
        row("B\x011"),
        row("B2", revokedAt="2024-01-01", revocationReason="a\x1fb"),
        row("B3", lastName="\ufffe"),
    ]
    issues = rejected(engine, write_jsonl(tmp_path / "bad.jsonl", rows))
    assert {(i.line, i.field) for i in issues} == {
        (1, "number"),
        (2, "revocationReason"),
        (3, "lastName"),
    }
    assert all("XML cannot carry" in i.message for i in issues)


def test_a_csv_without_its_optional_columns_imports(engine: Engine, tmp_path: Path) -> None:
    """The required columns and an IIN: the other optional ones (passport and citizenship,
    middle name, end date, revocation) are empty in every row."""
    header = "number,iin,lastName,firstName,birthDate,procedureCode,contraindication,issueDate,"
    header += "organization,doctor"
    line = "01085,900101300017,Ахметова,Әлия,1990-01-01,100,permanent,2021-11-10,Поликлиника,Врач"
    path = tmp_path / "minimal.csv"
    path.write_text(f"{header}\n{line}\n", encoding="utf-8")
    assert import_file(engine, path).inserted == 1
    record = Registry(engine).by_number("01085")
    assert record is not None and record.passport_number is None and record.middle_name is None


def test_a_semicolon_separated_csv_as_excel_writes_it_imports(
    engine: Engine, tmp_path: Path
) -> None:
    """Excel's CSV in Russian and Kazakh locales separates by `;` (and may quote): found from
    the header, so the file imports as it is, with a comma inside a value kept."""
    comma = write_csv(tmp_path / "comma.csv", [row("01085", organization="ГКП, поликлиника №5")])
    semicolon = tmp_path / "excel.csv"
    text = comma.read_text(encoding="utf-8")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL).writerows(rows)
    semicolon.write_text(out.getvalue(), encoding="utf-8-sig")  # Excel's BOM too
    assert import_file(engine, semicolon).inserted == 1
    record = Registry(engine).by_number("01085")
    assert record is not None and record.organization == "ГКП, поликлиника №5"


def test_the_organisations_bin_and_the_signature_are_checked_and_kept(
    engine: Engine, tmp_path: Path
) -> None:
    bad = [
        row("B1", organizationBin="010240001235"),  # a wrong check digit
        row("B2", signedBy="Врач Тестовый"),  # no signedAt
        row("B3", signedBy="Врач", signedAt="2021-05-19T10:00:00"),  # before the issue date
    ]
    issues = rejected(engine, write_jsonl(tmp_path / "bad.jsonl", bad))
    assert {(i.line, i.field) for i in issues} == {
        (1, "organizationBin"),
        (2, "signedAt"),
        (3, "signedAt"),
    }
    good = row("B4", organizationBin="010240001234", signedBy="Врач", signedAt="2021-05-20T10:42")
    assert import_file(engine, write_jsonl(tmp_path / "good.jsonl", [good])).inserted == 1
    record = Registry(engine).by_number("B4")
    assert record is not None and record.organization_bin == "010240001234"
    assert record.signed_by == "Врач" and record.signed_at is not None
    assert record.signed_at.isoformat() == "2021-05-20T04:42:00+00:00"  # 10:42 in Almaty (+06 then)
