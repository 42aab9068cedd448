"""The certificate PDF (SPEC §5): every field in extractable text, a readable QR code with the exact
verification URL, an embedded font that covers Kazakh, A4 pages and the same bytes every time."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from functools import cache

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
import zxingcpp
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from medexempt.exemptions.certificates import Layout, render, verification_url
from medexempt.exemptions.certificates.render import FONT_BOLD, FONT_REGULAR
from medexempt.exemptions.records import Record
from tests.samples import PERMANENT, PUBLIC_URL, RECORDS, SECRET, TEMPORARY
from tests.support import ROOT

KAZAKH = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
CASES = [(name, layout) for name in RECORDS for layout in Layout]
IDS = [f"{name}-{layout.value}" for name, layout in CASES]


def url_of(record: Record) -> str:
    return verification_url(PUBLIC_URL, record.number, SECRET)


@cache
def pdf_of(name: str, layout: Layout) -> bytes:
    record = RECORDS[name]
    return render(record, layout, url_of(record))


def text_of(pdf: bytes) -> str:
    """The text of every page, white space collapsed (lines wrap where the layout says)."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.mark.parametrize(("name", "layout"), CASES, ids=IDS)
def test_every_field_is_in_the_text(name: str, layout: Layout) -> None:
    record = RECORDS[name]
    text = text_of(pdf_of(name, layout))
    assert record.iin is not None
    expected = [
        record.number,
        record.full_name,
        record.iin,
        record.birth_date.strftime("%d-%m-%Y"),
        record.procedure.name_ru,
        record.procedure.name_kk,
        record.issue_date.strftime("%d-%m-%Y"),
        record.organization,
        record.doctor,
        # the bilingual labels
        "Медициналық қарсы көрсетілім анықтамасы",
        "Справка о медицинском отводе",
        "Тегі, аты, әкесінің аты",
        "ФИО",
        "ЖСН",
        "ИИН",
        "Туған күні",
        "Дата рождения",
        "Берілген күні",
        "Дата выдачи",
    ]
    if record is TEMPORARY:
        assert record.end_date is not None
        end = record.end_date.strftime("%d-%m-%Y")
        expected += [f"Уақытша, {end} дейін", f"Временное, до {end}"]
    else:
        expected += ["Тұрақты", "Постоянное"]
    missing = [item for item in expected if item not in text]
    assert not missing, f"not in the text: {missing}\n{text}"
    if record is PERMANENT:
        assert "Уақытша" not in text
        assert "Временное" not in text


@pytest.mark.parametrize(("name", "layout"), CASES, ids=IDS)
def test_dates_are_dd_mm_yyyy_only(name: str, layout: Layout) -> None:
    record = RECORDS[name]
    text = text_of(pdf_of(name, layout))
    assert record.birth_date.isoformat() not in text
    assert record.issue_date.isoformat() not in text


def test_printable_has_room_for_stamp_and_signature() -> None:
    text = text_of(pdf_of("temporary", Layout.PRINTABLE))
    assert "М.О. / М.П." in text
    assert "қолы / подпись" in text


@pytest.mark.parametrize(("name", "layout"), CASES, ids=IDS)
def test_the_qr_code_on_the_rendered_page_holds_the_url(name: str, layout: Layout) -> None:
    document = pdfium.PdfDocument(pdf_of(name, layout))
    try:
        image = document[0].render(scale=2).to_pil().convert("L")
    finally:
        document.close()
    codes = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert [code.text for code in codes] == [url_of(RECORDS[name])]


@pytest.mark.parametrize(("name", "layout"), CASES, ids=IDS)
def test_one_a4_page_with_the_font_embedded(name: str, layout: Layout) -> None:
    reader = PdfReader(io.BytesIO(pdf_of(name, layout)))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert round(float(page.mediabox.width) * 25.4 / 72) == 210
    assert round(float(page.mediabox.height) * 25.4 / 72) == 297
    resources = page["/Resources"]
    assert isinstance(resources, DictionaryObject)
    fonts = resources["/Font"].get_object()
    assert isinstance(fonts, DictionaryObject)
    assert fonts
    for reference in fonts.values():
        font = reference.get_object()
        # a Type0 TrueType subset with a ToUnicode map: embedded and extractable, no core fonts
        assert font["/Subtype"] == "/Type0"
        assert "/ToUnicode" in font
        descendant = font["/DescendantFonts"][0].get_object()
        assert "PTSans" in str(descendant["/BaseFont"])
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object()


def test_the_font_covers_kazakh_cyrillic() -> None:
    for path in (FONT_REGULAR, FONT_BOLD):
        # a file shipped inside an installed package, not a system font
        assert "site-packages" in path.parts or "dist-packages" in path.parts
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap()
        needed = KAZAKH + "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя«»№—"
        missing = [ch for ch in needed if ord(ch) not in cmap]
        assert not missing, f"{path.name} lacks {missing}"


def test_kazakh_letters_come_back_from_the_text() -> None:
    text = text_of(pdf_of("permanent", Layout.ELECTRONIC))
    assert "Іңкәрбекұлы Һибатулла" in text
    assert "Ұзақбаева Айгүл Серікқызы" in text


_RENDER_IN_A_CHILD = """
import hashlib, sys
from medexempt.exemptions.certificates import Layout, render, verification_url
from tests.samples import PUBLIC_URL, RECORDS, SECRET
for name, record in sorted(RECORDS.items()):
    for layout in Layout:
        pdf = render(record, layout, verification_url(PUBLIC_URL, record.number, SECRET))
        print(name, layout.value, hashlib.sha256(pdf).hexdigest())
"""


@pytest.mark.system  # fresh processes
def test_the_same_record_gives_the_same_bytes_in_any_process() -> None:
    children = [  # side by side: each is a cold start of its own
        subprocess.Popen(
            [sys.executable, "-c", _RENDER_IN_A_CHILD],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "4242")
    ]
    runs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        runs.append(out)
    here = "".join(
        f"{name} {layout.value} {hashlib.sha256(pdf_of(name, layout)).hexdigest()}\n"
        for name in sorted(RECORDS)
        for layout in Layout
    )
    assert runs[0] == runs[1] == here
    assert len(set(here.split()[2::3])) == 4  # and the four certificates differ


def test_a_changed_record_gives_different_bytes() -> None:
    from dataclasses import replace

    changed = replace(TEMPORARY, doctor="Басқа Дәрігер", version=2)
    assert render(changed, Layout.ELECTRONIC, url_of(changed)) != pdf_of(
        "temporary", Layout.ELECTRONIC
    )


def test_a_letter_outside_the_prepared_font_is_cut_in_for_its_document(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`é` is in PT Sans but not in the repertoire cut once per process: that document gets a font
    cut for it, and the letter comes back; a letter PT Sans lacks is counted in a warning that
    does not show it (it may be a patient's name)."""
    from dataclasses import replace

    accented = replace(PERMANENT, first_name="Renée")
    assert "Renée" in text_of(render(accented, Layout.PRINTABLE, url_of(accented)))
    lacking = replace(PERMANENT, first_name="Ли中")
    with caplog.at_level("WARNING"):
        pdf = render(lacking, Layout.PRINTABLE, url_of(lacking))
    assert "Ли" in text_of(pdf)
    [warning] = [r for r in caplog.records if "lacks" in r.getMessage()]
    assert "1 characters" in warning.getMessage() and "中" not in warning.getMessage()


def test_long_values_wrap_inside_their_cells_and_move_to_a_second_page() -> None:
    """Values wrap at word boundaries to the cell's width; rows that no longer fit go overleaf."""
    from dataclasses import replace

    long_name = " ".join(["Медициналық ұйымның өте ұзын атауы"] * 12)
    record = replace(TEMPORARY, organization=long_name)
    pdf = render(record, Layout.PRINTABLE, url_of(record))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert text_of(pdf).count("өте ұзын атауы") == 2 * 12  # the header and the field row


@pytest.mark.parametrize(("name", "layout"), CASES, ids=IDS)
def test_qpdf_finds_nothing_wrong_with_the_file(name: str, layout: Layout) -> None:
    """The file is written by medexempt itself (pdf.py): qpdf checks its cross-references,
    objects and streams, and pypdf reads it without repairing anything."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf_of(name, layout))) as document:
        assert document.check_pdf_syntax() == []
        assert document.get_warnings() == []
        assert document.pdf_version == "1.7"
        assert str(document.Root.Lang) == "ru-KZ"
        assert str(document.docinfo["/Title"]).endswith(f"№ {RECORDS[name].number}")
    reader = PdfReader(io.BytesIO(pdf_of(name, layout)), strict=True)
    assert len(reader.pages) == 1


def test_the_organisations_bin_and_the_signature_mark_when_the_record_carries_them() -> None:
    from dataclasses import replace
    from datetime import datetime

    from medexempt.exemptions.records import ZONE

    signed = replace(
        PERMANENT,
        organization_bin="010240001234",
        signed_by="Сәрсенбаева Гүлнар",
        signed_at=datetime(2021, 11, 10, 10, 42, tzinfo=ZONE),
    )
    electronic = text_of(render(signed, Layout.ELECTRONIC, url_of(signed)))
    assert "БСН БИН 010240001234" in electronic
    assert "Подписано электронной цифровой подписью: Сәрсенбаева Гүлнар, 10-11-2021 10:42" in (
        electronic
    )
    assert "Электрондық цифрлық қолтаңбамен қол қойылды" in electronic
    assert "010240001234" in text_of(render(signed, Layout.PRINTABLE, url_of(signed)))
    unsigned = text_of(pdf_of("permanent", Layout.ELECTRONIC))
    assert "БИН" not in unsigned and "цифровой подписью" not in unsigned
