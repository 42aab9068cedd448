"""The certificate PDF of SPEC §5, in its electronic and printable layouts.

Both layouts carry the number, a QR code with the verification URL, the patient (full name, IIN,
birth date), the procedure (Kazakh and Russian names), the kind of contraindication, the issue date,
the organisation and the doctor, under bilingual Kazakh/Russian labels. Dates read DD-MM-YYYY.

The font is PT Sans, from the `fontpkg-pt-sans` package: ParaType drew it for the languages of
Kazakhstan and its neighbours, so it covers every Kazakh letter; it is embedded as a TrueType subset
with a ToUnicode map, so the text can be copied and searched, and prepared once per process
(`pdf.FontFile`): a record's two layouts render in a few milliseconds. The same record state gives
the same bytes: the creation date is the issue date, and the file ID is a hash of the content.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib.resources import files
from pathlib import Path
from typing import Any

import zxingcpp

from ..records import ZONE, Contraindication, Layout, Record
from .pdf import CELL_MARGIN, Canvas, Font, FontFile, Stencil, baseline, wrap

FONT_DIR = Path(str(files("fontpkg_pt_sans").joinpath("files")))
FONT_REGULAR = FONT_DIR / "PT_Sans-Web-Regular.ttf"
FONT_BOLD = FONT_DIR / "PT_Sans-Web-Bold.ttf"
_REGULAR = FontFile(FONT_REGULAR)
_BOLD = FontFile(FONT_BOLD)

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


def render(record: Record, layout: Layout, verify_url: str) -> bytes:
    """The certificate of `record` as a one-page A4 PDF; the QR code holds `verify_url`."""
    sheet = _Sheet()
    fields = _fields(record)
    if layout is Layout.ELECTRONIC:
        _electronic(sheet, record, fields, verify_url)
    else:
        _printable(sheet, record, fields, verify_url)
    # No clock in the file: the creation date is the issue date, and the /ID is derived from the
    # content, so the same record state always gives the same bytes.
    created = datetime.combine(record.issue_date, time(), ZONE).strftime("D:%Y%m%d%H%M%S+05'00'")
    info = {
        "Title": f"{TITLE_KK} / {TITLE_RU} № {record.number}",
        "Subject": f"{record.procedure.name_ru} / {record.procedure.name_kk}",
        "Creator": record.organization,
        "Producer": "medexempt",
        "CreationDate": created,
    }
    return sheet.canvas.output(info, lang="ru-KZ")


class _Sheet:
    """A cursor over a Canvas with the few calls the layouts make (cells of text, lines, boxes)."""

    def __init__(self) -> None:
        self.canvas = Canvas()
        self.x, self.y = _MARGIN, _MARGIN
        self.font: FontFile = _REGULAR
        self.size = 10.0
        self.text_colour: tuple[int, int, int] = _BLACK
        self.fill_colour: tuple[int, int, int] = _BLACK
        self._painting: tuple[int, int, int] | None = None  # the colour `rg` last set

    def add_page(self) -> None:
        self.canvas.new_page()
        self._painting = None
        self.x, self.y = _MARGIN, _MARGIN

    def set_font(self, bold: bool, size: float) -> None:
        self.font, self.size = (_BOLD if bold else _REGULAR), size

    def set_xy(self, x: float, y: float) -> None:
        self.x, self.y = x, y

    def set_draw_colour(self, colour: tuple[int, int, int]) -> None:
        self.canvas.stroke(colour)

    def _paint(self, colour: tuple[int, int, int]) -> None:
        if colour != self._painting:
            self.canvas.fill(colour)
            self._painting = colour

    def box(self, x: float, y: float, w: float, h: float, *, fill: bool) -> None:
        if fill:
            self._paint(self.fill_colour)
        self.canvas.rect(x, y, w, h, fill=fill)

    def width(self, text: str) -> float:
        return self.font.covering(text).width(text, self.size)

    def cell(
        self, w: float, h: float, text: str, *, center: bool = False, down: bool = True
    ) -> None:
        """One line of text in a cell at the cursor; then the cursor goes to the left margin of
        the next line (`down`) or to the right of the cell."""
        font = self.font.covering(text)
        self._text_line(font, w, h, text, center)
        if down:
            self.x, self.y = _MARGIN, self.y + h
        else:
            self.x += w

    def multi_cell(self, w: float, h: float, text: str, *, by_character: bool = False) -> int:
        """`text` wrapped to cells `w` wide, `h` per line, from the cursor down; the cursor ends
        at the left margin below it. The number of lines."""
        font = self.font.covering(text)
        lines = wrap(font, self.size, w, text, by_character=by_character)
        x = self.x
        for line in lines:
            self.x = x
            self._text_line(font, w, h, line, False)
            self.y += h
        self.x = _MARGIN
        return len(lines)

    def lines(self, w: float, text: str) -> int:
        """How many lines `multi_cell` would take."""
        return len(wrap(self.font.covering(text), self.size, w, text))

    def _text_line(self, font: Font, w: float, h: float, text: str, center: bool) -> None:
        if not text:
            return
        x = self.x + ((w - font.width(text, self.size)) / 2 if center else CELL_MARGIN)
        self._paint(self.text_colour)
        self.canvas.text(x, baseline(self.y, h, self.size), font, self.size, text)


def prepare_fonts() -> None:
    """Cut the fonts now (about 0.25 s, once per process), so no request waits for it."""
    for font in (_REGULAR, _BOLD):
        font.standard  # noqa: B018 - the property does the work, once


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
        *([_Field("БСН", "БИН", record.organization_bin)] if record.organization_bin else []),
        _Field("Дәрігер", "Врач", record.doctor),
    ]


def signature_text(record: Record) -> tuple[str, str] | None:
    """The mark of the record's electronic signature, in Kazakh and in Russian, when it has one."""
    if record.signed_by is None or record.signed_at is None:
        return None
    when = record.signed_at.astimezone(ZONE).strftime("%d-%m-%Y %H:%M")
    return (
        f"Электрондық цифрлық қолтаңбамен қол қойылды: {record.signed_by}, {when}",
        f"Подписано электронной цифровой подписью: {record.signed_by}, {when} (Алматы)",
    )


def _electronic(sheet: _Sheet, record: Record, fields: Sequence[_Field], url: str) -> None:
    # Header band
    band_h = 38.0
    sheet.fill_colour = _BRAND
    sheet.box(0, 0, _PAGE_W, band_h, fill=True)
    sheet.text_colour = _WHITE
    sheet.set_xy(_MARGIN, 9)
    sheet.set_font(False, 9)
    sheet.cell(_CONTENT_W, 5, "Электрондық нысан / Электронная форма")
    sheet.set_font(True, 17)
    sheet.cell(_CONTENT_W, 9, TITLE_KK)
    sheet.cell(_CONTENT_W, 9, TITLE_RU)

    # Number and issue date on the left, the QR code on the right
    qr_size = 42.0
    qr_x = _PAGE_W - _MARGIN - qr_size
    top = band_h + 8
    _qr(sheet, url, qr_x, top, qr_size)
    sheet.text_colour = _MUTED
    sheet.set_xy(_MARGIN, top + 2)
    sheet.set_font(False, 9)
    sheet.cell(100, 5, "Анықтама нөмірі / Номер справки")
    sheet.text_colour = _BRAND
    sheet.set_font(True, 26)
    sheet.cell(100, 13, f"№ {record.number}")
    sheet.text_colour = _MUTED
    sheet.set_font(False, 9)
    sheet.y += 3
    sheet.multi_cell(
        qr_x - _MARGIN - 6,
        4.5,
        "Анықтаманың түпнұсқалығын тексеру үшін QR-кодты сканерлеңіз.\n"
        "Отсканируйте QR-код, чтобы проверить подлинность справки.",
    )

    # The fields
    y = top + qr_size + 8
    y = _field_rows(sheet, fields, y, ruled=False, shade=_BRAND_LIGHT)

    # The mark of the electronic signature, when the record carries one
    mark = signature_text(record)
    if mark is not None:
        y += 5
        sheet.set_font(False, 8.5)
        sheet.canvas.stroke(_BRAND)
        sheet.canvas.line_width(0.4)
        height = 4.5 * sum(sheet.lines(_CONTENT_W - 6, line) for line in mark) + 5
        sheet.canvas.rect(_MARGIN, y, _CONTENT_W, height, fill=False)
        sheet.text_colour = _BRAND
        sheet.set_xy(_MARGIN + 3, y + 2.5)
        sheet.multi_cell(_CONTENT_W - 6, 4.5, "\n".join(mark))
        y += height

    _footer(sheet, url, y + 6, colour=_MUTED)


def _printable(sheet: _Sheet, record: Record, fields: Sequence[_Field], url: str) -> None:
    sheet.set_draw_colour(_BLACK)
    sheet.text_colour = _BLACK

    # The issuing organisation at the top left, as on a paper form; the QR code at the top right
    qr_size = 34.0
    qr_x = _PAGE_W - _MARGIN - qr_size
    _qr(sheet, url, qr_x, _MARGIN - 2, qr_size)
    sheet.set_xy(_MARGIN, _MARGIN)
    sheet.set_font(False, 8.5)
    sheet.cell(100, 4.5, "Медициналық ұйым / Медицинская организация")
    sheet.set_font(True, 10.5)
    sheet.multi_cell(qr_x - _MARGIN - 8, 5, record.organization)

    # Title
    sheet.set_xy(_MARGIN, max(sheet.y, _MARGIN - 2 + qr_size) + 5)
    sheet.set_font(True, 15)
    sheet.cell(_CONTENT_W, 7.5, TITLE_KK, center=True)
    sheet.cell(_CONTENT_W, 7.5, TITLE_RU, center=True)
    sheet.set_font(True, 13)
    sheet.cell(_CONTENT_W, 8, f"№ {record.number}", center=True)

    # The fields, in a ruled table
    y = _field_rows(sheet, fields, sheet.y + 4, ruled=True, shade=None)

    # Signature line and the place for the stamp
    stamp_r = 17.0
    y += 8
    if y + 2 * stamp_r > _FOOTER_Y - 6:  # no room above the footer: the block goes overleaf
        sheet.add_page()
        sheet.set_draw_colour(_BLACK)
        y = _MARGIN
    canvas = sheet.canvas
    stamp_cx = _PAGE_W - _MARGIN - stamp_r - 2
    stamp_cy = y + stamp_r
    canvas.line_width(0.3)
    canvas.dash(1.5, 1.2)
    canvas.circle(stamp_cx, stamp_cy, stamp_r)
    canvas.dash()
    sheet.set_font(False, 9)
    sheet.set_xy(stamp_cx - stamp_r, stamp_cy - 2.5)
    sheet.cell(2 * stamp_r, 5, "М.О. / М.П.", center=True)

    sign_w = 70.0
    sheet.set_font(False, 9)
    sheet.set_xy(_MARGIN, y + 4)
    sheet.cell(sign_w + 40, 5, "Дәрігер / Врач")
    line_y = y + 20
    canvas.line(_MARGIN, line_y, _MARGIN + sign_w, line_y)
    sheet.set_xy(_MARGIN, line_y + 1)
    sheet.set_font(False, 7.5)
    sheet.cell(sign_w, 4, "қолы / подпись", center=True)
    sheet.set_xy(_MARGIN + sign_w + 4, line_y - 5.5)
    sheet.set_font(True, 10)
    sheet.cell(stamp_cx - stamp_r - _MARGIN - sign_w - 8, 5, record.doctor)

    _footer(sheet, url, stamp_cy + stamp_r + 6, colour=_BLACK)


def _field_rows(
    sheet: _Sheet,
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
    canvas = sheet.canvas

    def pens() -> None:
        canvas.line_width(0.25 if ruled else 0.2)
        canvas.stroke(_BLACK if ruled else _RULE)

    pens()
    for index, field in enumerate(fields):
        label = f"{field.label_kk}\n{field.label_ru}"
        sheet.set_font(True, 11)
        value_h = sheet.lines(value_w - 2 * pad, field.value) * value_line
        sheet.set_font(False, 8.5)
        label_h = sheet.lines(label_w - 2 * pad, label) * label_line
        row_h = max(value_h, label_h) + 2 * pad
        if y + row_h > _PAGE_H - _MARGIN:
            sheet.add_page()
            pens()
            y = _MARGIN
        if shade is not None and index % 2 == 0:
            sheet.fill_colour = shade
            sheet.box(_MARGIN, y, _CONTENT_W, row_h, fill=True)
        # label: Kazakh over Russian
        sheet.text_colour = _BLACK if ruled else _MUTED
        sheet.set_xy(_MARGIN + pad, y + pad)
        sheet.set_font(False, 8.5)
        sheet.multi_cell(label_w - 2 * pad, label_line, label)
        # value
        sheet.text_colour = _BLACK if ruled else _INK
        sheet.set_xy(_MARGIN + label_w + pad, y + pad)
        sheet.set_font(True, 11)
        sheet.multi_cell(value_w - 2 * pad, value_line, field.value)
        if ruled:
            canvas.rect(_MARGIN, y, _CONTENT_W, row_h, fill=False)
            canvas.line(_MARGIN + label_w, y, _MARGIN + label_w, y + row_h)
        elif shade is None:
            canvas.line(_MARGIN, y + row_h, _MARGIN + _CONTENT_W, y + row_h)
        y += row_h
    return y


def _footer(sheet: _Sheet, url: str, y: float, *, colour: tuple[int, int, int]) -> None:
    y = max(y, _FOOTER_Y)
    canvas = sheet.canvas
    canvas.stroke(colour)
    canvas.line_width(0.2)
    canvas.line(_MARGIN, y, _PAGE_W - _MARGIN, y)
    sheet.text_colour = colour
    sheet.set_font(False, 7.5)
    sheet.set_xy(_MARGIN, y + 1.5)
    sheet.multi_cell(
        _CONTENT_W, 3.8, "Анықтаманың түпнұсқалығын тексеру / Проверка подлинности справки:"
    )
    sheet.multi_cell(_CONTENT_W, 3.8, url, by_character=True)


_PAINT = bytes.maketrans(b"\x00\xff", b"01")  # a dark module (0) is painted (a 0 bit)


@functools.lru_cache(maxsize=32)
def _modules(url: str) -> Stencil:
    """The QR code of `url` as an image mask of its modules; both layouts of a record draw the
    same code, made once."""
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)  # a byte per module, 0 when dark
    size = image.shape[0]
    buffer: Any = image  # it has the buffer protocol; zxing-cpp's stubs do not say so
    pixels = bytes(memoryview(buffer)).translate(_PAINT)
    width = (size + 7) // 8
    rows = (
        int(pixels[r * size : (r + 1) * size].decode("ascii").ljust(width * 8, "1"), 2).to_bytes(
            width, "big"
        )
        for r in range(size)
    )
    return Stencil(size, b"".join(rows))


def _qr(sheet: _Sheet, url: str, x: float, y: float, size: float) -> None:
    """The QR code of `url` as vector squares (black on white, quiet zone of four modules)."""
    mask = _modules(url)
    quiet = 4
    module = size / (mask.size + 2 * quiet)
    sheet.fill_colour = _WHITE
    sheet.box(x, y, size, size, fill=True)
    sheet.fill_colour = _BLACK
    sheet._paint(_BLACK)
    sheet.canvas.stencil(x + quiet * module, y + quiet * module, mask.size * module, mask)
