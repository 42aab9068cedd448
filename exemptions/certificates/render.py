"""The certificate PDF of SPEC §5, in its electronic and printable layouts.

Both layouts carry the number, a QR code with the verification URL, the patient (full name, IIN,
birth date), the procedure (Kazakh and Russian names), the kind of contraindication, the issue date,
the organisation and the doctor, under bilingual Kazakh/Russian labels. Dates read DD-MM-YYYY.

The font is PT Sans, from the `fontpkg-pt-sans` package: ParaType drew it for the languages of
Kazakhstan and its neighbours, so it covers every Kazakh letter; it is embedded as a TrueType subset
with a ToUnicode map, so the text can be copied and searched. The same record state gives the same
bytes: the creation date is the issue date, and the file ID is a hash of the content.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib.resources import files
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode, XPos, YPos
from fpdf.fonts import TTFFont

from ..records import ZONE, Contraindication, Record

FONT_DIR = Path(str(files("fontpkg_pt_sans").joinpath("files")))
FONT_REGULAR = FONT_DIR / "PT_Sans-Web-Regular.ttf"
FONT_BOLD = FONT_DIR / "PT_Sans-Web-Bold.ttf"
_FAMILY = "PTSans"

TITLE_KK = "Медициналық қарсы көрсетілім анықтамасы"
TITLE_RU = "Справка о медицинском отводе"

_PAGE_W = 210.0  # A4, millimetres
_PAGE_H = 297.0
_MARGIN = 18.0
_CONTENT_W = _PAGE_W - 2 * _MARGIN
_FOOTER_Y = _PAGE_H - _MARGIN - 14  # the verification line sits at the foot of the page

_BLACK = (0, 0, 0)
_WHITE = (255, 255, 255)
_INK = (33, 37, 41)
_MUTED = (96, 104, 112)
_BRAND = (17, 82, 122)  # the electronic form's header band
_BRAND_LIGHT = (232, 240, 246)
_RULE = (200, 208, 215)


class Layout(enum.Enum):
    """The two certificate layouts of SPEC §5."""

    ELECTRONIC = "electronic"  # `certificate`: to view on screen
    PRINTABLE = "printable"  # `printableCertificate`: black on white, room for stamp and signature


def render(record: Record, layout: Layout, verify_url: str) -> bytes:
    """The certificate of `record` as a one-page A4 PDF; the QR code holds `verify_url`."""
    pdf = _new_document(record)
    try:
        fields = _fields(record)
        if layout is Layout.ELECTRONIC:
            _electronic(pdf, record, fields, verify_url)
        else:
            _printable(pdf, record, fields, verify_url)
        return bytes(pdf.output())
    finally:
        for font in pdf.fonts.values():
            if isinstance(font, TTFFont):
                font.ttfont.close()  # fpdf2 leaves the font files open otherwise


def ddmmyyyy(day: date) -> str:
    """A date as the certificate prints it: DD-MM-YYYY."""
    return day.strftime("%d-%m-%Y")


def contraindication_text(record: Record) -> tuple[str, str]:
    """The kind of contraindication in Kazakh and in Russian."""
    if record.contraindication is Contraindication.TEMPORARY and record.end_date is not None:
        end = ddmmyyyy(record.end_date)
        return f"Уақытша, {end} дейін", f"Временное, до {end}"
    if record.contraindication is Contraindication.TEMPORARY:
        return "Уақытша", "Временное"
    return "Тұрақты", "Постоянное"


@dataclass(frozen=True, slots=True)
class _Field:
    label_kk: str
    label_ru: str
    value: str


def _fields(record: Record) -> list[_Field]:
    kk, ru = contraindication_text(record)
    identity = (
        _Field("ЖСН", "ИИН", record.iin)
        if record.iin
        else _Field(
            "Жеке басын куәландыратын құжат",
            "Документ, удостоверяющий личность",
            record.passport_number or "—",
        )
    )
    procedure = record.procedure
    return [
        _Field("Тегі, аты, әкесінің аты", "ФИО", record.full_name),
        identity,
        _Field("Туған күні", "Дата рождения", ddmmyyyy(record.birth_date)),
        _Field(
            "Профилактикалық екпе",
            "Профилактическая прививка",
            f"{procedure.name_kk}\n{procedure.name_ru}",
        ),
        _Field("Қарсы көрсетілім түрі", "Вид противопоказания", f"{kk}\n{ru}"),
        _Field("Берілген күні", "Дата выдачи", ddmmyyyy(record.issue_date)),
        _Field("Медициналық ұйым", "Медицинская организация", record.organization),
        _Field("Дәрігер", "Врач", record.doctor),
    ]


def _new_document(record: Record) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(_FAMILY, "", str(FONT_REGULAR))
    pdf.add_font(_FAMILY, "B", str(FONT_BOLD))
    # No clock in the file: the creation date is the issue date, and fpdf2 derives the /ID from
    # the content and that date, so the same record state always gives the same bytes.
    pdf.set_creation_date(datetime.combine(record.issue_date, time(), ZONE))
    pdf.set_title(f"{TITLE_KK} / {TITLE_RU} № {record.number}")
    pdf.set_subject(f"{record.procedure.name_ru} / {record.procedure.name_kk}")
    pdf.set_creator(record.organization)
    pdf.set_lang("ru-KZ")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.add_page()
    return pdf


def _electronic(pdf: FPDF, record: Record, fields: Sequence[_Field], url: str) -> None:
    # Header band
    band_h = 38.0
    pdf.set_fill_color(*_BRAND)
    pdf.rect(0, 0, _PAGE_W, band_h, style="F")
    pdf.set_text_color(*_WHITE)
    pdf.set_xy(_MARGIN, 9)
    pdf.set_font(_FAMILY, "", 9)
    pdf.cell(
        _CONTENT_W, 5, "Электрондық нысан / Электронная форма", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(_FAMILY, "B", 17)
    pdf.cell(_CONTENT_W, 9, TITLE_KK, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(_CONTENT_W, 9, TITLE_RU, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # Number and issue date on the left, the QR code on the right
    qr_size = 42.0
    qr_x = _PAGE_W - _MARGIN - qr_size
    top = band_h + 8
    _qr(pdf, url, qr_x, top, qr_size)
    pdf.set_text_color(*_MUTED)
    pdf.set_xy(_MARGIN, top + 2)
    pdf.set_font(_FAMILY, "", 9)
    pdf.cell(100, 5, "Анықтама нөмірі / Номер справки", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_BRAND)
    pdf.set_font(_FAMILY, "B", 26)
    pdf.cell(100, 13, f"№ {record.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_MUTED)
    pdf.set_font(_FAMILY, "", 9)
    pdf.set_y(pdf.get_y() + 3)
    pdf.multi_cell(
        qr_x - _MARGIN - 6,
        4.5,
        "Анықтаманың түпнұсқалығын тексеру үшін QR-кодты сканерлеңіз.\n"
        "Отсканируйте QR-код, чтобы проверить подлинность справки.",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    # The fields
    y = top + qr_size + 8
    y = _field_rows(pdf, fields, y, ruled=False, shade=_BRAND_LIGHT)

    _footer(pdf, url, y + 6, colour=_MUTED)


def _printable(pdf: FPDF, record: Record, fields: Sequence[_Field], url: str) -> None:
    pdf.set_draw_color(*_BLACK)
    pdf.set_text_color(*_BLACK)

    # The issuing organisation at the top left, as on a paper form; the QR code at the top right
    qr_size = 34.0
    qr_x = _PAGE_W - _MARGIN - qr_size
    _qr(pdf, url, qr_x, _MARGIN - 2, qr_size)
    pdf.set_xy(_MARGIN, _MARGIN)
    pdf.set_font(_FAMILY, "", 8.5)
    pdf.cell(
        100, 4.5, "Медициналық ұйым / Медицинская организация", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(_FAMILY, "B", 10.5)
    pdf.multi_cell(
        qr_x - _MARGIN - 8, 5, record.organization, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )

    # Title
    pdf.set_y(max(pdf.get_y(), _MARGIN - 2 + qr_size) + 5)
    pdf.set_font(_FAMILY, "B", 15)
    pdf.cell(_CONTENT_W, 7.5, TITLE_KK, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(_CONTENT_W, 7.5, TITLE_RU, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FAMILY, "B", 13)
    pdf.cell(_CONTENT_W, 8, f"№ {record.number}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # The fields, in a ruled table
    y = _field_rows(pdf, fields, pdf.get_y() + 4, ruled=True, shade=None)

    # Signature line and the place for the stamp
    stamp_r = 17.0
    y += 8
    if y + 2 * stamp_r > _FOOTER_Y - 6:  # no room above the footer: the block goes overleaf
        pdf.add_page()
        y = _MARGIN
    stamp_cx = _PAGE_W - _MARGIN - stamp_r - 2
    stamp_cy = y + stamp_r
    pdf.set_line_width(0.3)
    pdf.set_dash_pattern(dash=1.5, gap=1.2)
    pdf.circle(stamp_cx, stamp_cy, stamp_r, style="D")
    pdf.set_dash_pattern()
    pdf.set_font(_FAMILY, "", 9)
    pdf.set_xy(stamp_cx - stamp_r, stamp_cy - 2.5)
    pdf.cell(2 * stamp_r, 5, "М.О. / М.П.", align="C")

    sign_w = 70.0
    pdf.set_font(_FAMILY, "", 9)
    pdf.set_xy(_MARGIN, y + 4)
    pdf.cell(sign_w + 40, 5, "Дәрігер / Врач", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    line_y = y + 20
    pdf.line(_MARGIN, line_y, _MARGIN + sign_w, line_y)
    pdf.set_xy(_MARGIN, line_y + 1)
    pdf.set_font(_FAMILY, "", 7.5)
    pdf.cell(sign_w, 4, "қолы / подпись", align="C")
    pdf.set_xy(_MARGIN + sign_w + 4, line_y - 5.5)
    pdf.set_font(_FAMILY, "B", 10)
    pdf.cell(stamp_cx - stamp_r - _MARGIN - sign_w - 8, 5, record.doctor)

    _footer(pdf, url, stamp_cy + stamp_r + 6, colour=_BLACK)


def _field_rows(
    pdf: FPDF,
    fields: Sequence[_Field],
    y: float,
    *,
    ruled: bool,
    shade: tuple[int, int, int] | None,
) -> float:
    """The labelled rows from `y` down; returns the y below the last row."""
    label_w = 62.0
    value_w = _CONTENT_W - label_w
    pad = 2.2
    label_line = 4.2
    value_line = 5.6
    if ruled:
        pdf.set_line_width(0.25)
        pdf.set_draw_color(*_BLACK)
    else:
        pdf.set_line_width(0.2)
        pdf.set_draw_color(*_RULE)
    for index, field in enumerate(fields):
        pdf.set_font(_FAMILY, "B", 11)
        value_h = _height(pdf, value_w - 2 * pad, value_line, field.value)
        pdf.set_font(_FAMILY, "", 8.5)
        label_h = _height(pdf, label_w - 2 * pad, label_line, f"{field.label_kk}\n{field.label_ru}")
        row_h = max(value_h, label_h) + 2 * pad
        if y + row_h > _PAGE_H - _MARGIN:
            pdf.add_page()
            y = _MARGIN
        if shade is not None and index % 2 == 0:
            pdf.set_fill_color(*shade)
            pdf.rect(_MARGIN, y, _CONTENT_W, row_h, style="F")
        # label: Kazakh over Russian
        pdf.set_text_color(*(_BLACK if ruled else _MUTED))
        pdf.set_xy(_MARGIN + pad, y + pad)
        pdf.set_font(_FAMILY, "", 8.5)
        pdf.multi_cell(
            label_w - 2 * pad, label_line, f"{field.label_kk}\n{field.label_ru}", align="L"
        )
        # value
        pdf.set_text_color(*(_BLACK if ruled else _INK))
        pdf.set_xy(_MARGIN + label_w + pad, y + pad)
        pdf.set_font(_FAMILY, "B", 11)
        pdf.multi_cell(value_w - 2 * pad, value_line, field.value, align="L")
        if ruled:
            pdf.rect(_MARGIN, y, _CONTENT_W, row_h, style="D")
            pdf.line(_MARGIN + label_w, y, _MARGIN + label_w, y + row_h)
        elif shade is None:
            pdf.line(_MARGIN, y + row_h, _MARGIN + _CONTENT_W, y + row_h)
        y += row_h
    return y


def _height(pdf: FPDF, width: float, line: float, text: str) -> float:
    """The height `multi_cell` gives `text`; measured without laying it out when no line wraps."""
    parts = text.split("\n")
    if all(pdf.get_string_width(part) < width - 2 * pdf.c_margin for part in parts):
        return float(len(parts)) * line
    lines = pdf.multi_cell(width, line, text, dry_run=True, output=MethodReturnValue.LINES)
    assert isinstance(lines, list)
    return float(len(lines)) * line


def _footer(pdf: FPDF, url: str, y: float, *, colour: tuple[int, int, int]) -> None:
    y = max(y, _FOOTER_Y)
    pdf.set_draw_color(*colour)
    pdf.set_line_width(0.2)
    pdf.line(_MARGIN, y, _PAGE_W - _MARGIN, y)
    pdf.set_text_color(*colour)
    pdf.set_font(_FAMILY, "", 7.5)
    pdf.set_xy(_MARGIN, y + 1.5)
    pdf.multi_cell(
        _CONTENT_W,
        3.8,
        "Анықтаманың түпнұсқалығын тексеру / Проверка подлинности справки:",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.multi_cell(
        _CONTENT_W, 3.8, url, align="L", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """The QR code of `url` as vector squares (black on white, quiet zone of four modules)."""
    code = segno.make(url, error="m", micro=False)
    quiet = 4
    rows = [list(row) for row in code.matrix_iter(scale=1, border=0)]
    count = len(rows)
    module = size / (count + 2 * quiet)
    pdf.set_fill_color(*_WHITE)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(*_BLACK)
    origin_x = x + quiet * module
    origin_y = y + quiet * module
    for r, row in enumerate(rows):
        c = 0
        while c < count:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < count and row[c]:
                c += 1
            pdf.rect(
                origin_x + start * module,
                origin_y + r * module,
                (c - start) * module,
                module,
                style="F",
            )
