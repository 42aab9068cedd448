"""Pages of text, rectangles and lines as a PDF file, with fonts prepared once per process.

A certificate is small and its fonts are always the same, so the costly part of making a PDF, the
font, is done once: fontTools cuts each TrueType font to the letters a certificate uses (Kazakh,
Russian and Latin letters, digits, punctuation; hinting and layout tables dropped), and its glyph
ids, advance widths, ToUnicode map, compressed bytes and the very bytes of its five PDF objects are
kept for every later document. Text is written as glyph ids (Identity-H), so it can be copied and
searched. What a document adds is its page's content stream, its info and the cross-reference
table, written here in PDF 1.7's plain form (no object streams, no incremental updates), with an
ID derived from the content; the tests open every certificate with pypdf, pdfium and qpdf. Text
outside the repertoire gets a font cut for its document (slower, same result).

Why not a PDF library: fpdf2 parses and subsets the font for every document (about 80 ms a
certificate), reportlab subsets it too (about 25 ms), and pikepdf, building the font's objects
for each file, still spent 3-4 ms; a first search renders two certificates.

Coordinates are millimetres from the top left of an A4 page, as a page is designed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import string
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fontTools import subset as ftsubset  # type: ignore[import-untyped]
from fontTools import ttLib

log = logging.getLogger(__name__)

PAGE_W = 210.0  # A4, millimetres
PAGE_H = 297.0
_PT = 72 / 25.4  # points per millimetre
CELL_MARGIN = 1.0  # the inner margin of a cell, left and right, as fpdf draws them

Colour = tuple[int, int, int]

# What a certificate writes: Latin, Russian and Kazakh letters, digits, punctuation, signs.
_KAZAKH = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"
REPERTOIRE = frozenset(
    string.printable.strip() + " "
    + "".join(chr(c) for c in range(0x0400, 0x0460))  # Cyrillic: Russian and its neighbours
    + _KAZAKH
    + "\u00a0«»–—№…“”„‘’·°"
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Font:
    """A TrueType font cut to a set of characters, ready to embed: the same bytes every time."""

    name: str  # the PostScript name, e.g. PTSans-Bold
    data: bytes  # the cut font, zlib-compressed
    length: int  # its size uncompressed
    gids: Mapping[str, int]  # character -> glyph id
    widths: Sequence[int]  # advance per glyph id, thousandths of an em
    advances: Mapping[str, int]  # character -> its advance, thousandths of an em
    hex_ids: Mapping[int, str]  # code point -> its glyph id in four hex digits (.notdef if none)
    chars: frozenset[str]  # the characters it has glyphs for
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    to_unicode: bytes  # the CMap from glyph id to character, zlib-compressed

    def width(self, text: str, size: float) -> float:
        """The advance of `text` at `size` points, in millimetres."""
        advances, notdef = self.advances, self.widths[0]
        return sum([advances.get(c, notdef) for c in text]) * size / (1000 * _PT)

    def encode(self, text: str) -> str:
        """`text` as a hex string of two-byte glyph ids (.notdef for a character it lacks)."""
        return text.translate(self.hex_ids)

    def covers(self, text: str) -> bool:
        """Whether every character of `text` but its line breaks has a glyph here."""
        return self.chars.issuperset(text.replace("\n", ""))


class FontFile:
    """A TrueType file and the fonts cut from it: the repertoire's once, others on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cuts: dict[frozenset[str], Font] = {}  # a few, oldest dropped first

    @functools.cached_property
    def standard(self) -> Font:
        """The font cut to REPERTOIRE (every character of it that the file has)."""
        return _cut(self.path, REPERTOIRE)

    def covering(self, text: str) -> Font:
        """The standard font if it covers `text`, else one cut for it (kept for a few texts)."""
        font = self.standard
        if font.covers(text):
            return font
        chars = REPERTOIRE | frozenset(text.replace("\n", ""))
        cut = self._cuts.get(chars)
        if cut is None:
            cut = _cut(self.path, chars)
            missing = {c for c in text.replace("\n", "") if c not in cut.gids}
            if missing:  # counted, not shown: the text may be a patient's name
                log.warning(
                    "%s lacks %d characters of a text: drawn as .notdef",
                    self.path.name,
                    len(missing),
                )
            if len(self._cuts) >= 16:
                self._cuts.pop(next(iter(self._cuts)))
            self._cuts[chars] = cut
        return cut


def _cut(path: Path, chars: Iterable[str]) -> Font:
    font = ttLib.TTFont(path, recalcTimestamp=False)
    options = ftsubset.Options(
        notdef_outline=True, recommended_glyphs=True, hinting=False, layout_features=[]
    )
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM", "hdmx", "DSIG", "LTSH"]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(c) for c in chars}))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    raw = buffer.getvalue()
    font = ttLib.TTFont(io.BytesIO(raw))
    scale = 1000 / font["head"].unitsPerEm
    order = font.getGlyphOrder()
    metrics = font["hmtx"].metrics
    widths = [round(metrics[name][0] * scale) for name in order]
    cmap = font.getBestCmap()
    gids = {chr(code): font.getGlyphID(name) for code, name in cmap.items()}
    head, os2 = font["head"], font["OS/2"]
    ps_name = font["name"].getDebugName(6) or path.stem
    return Font(
        name=ps_name,
        data=zlib.compress(raw, 9),
        length=len(raw),
        gids=gids,
        widths=widths,
        advances={char: widths[gid] for char, gid in gids.items()},
        hex_ids=_HexIds({ord(char): f"{gid:04X}" for char, gid in gids.items()}),
        chars=frozenset(gids),
        ascent=round(os2.sTypoAscender * scale),
        descent=round(os2.sTypoDescender * scale),
        cap_height=round(getattr(os2, "sCapHeight", os2.sTypoAscender) * scale),
        bbox=(
            round(head.xMin * scale),
            round(head.yMin * scale),
            round(head.xMax * scale),
            round(head.yMax * scale),
        ),
        to_unicode=zlib.compress(_to_unicode(gids), 9),
    )


class _HexIds(dict[int, str]):
    """What str.translate reads: a character without a glyph becomes .notdef."""

    def __missing__(self, key: int) -> str:
        return "0000"


def _to_unicode(gids: Mapping[str, int]) -> bytes:
    pairs = sorted((gid, char) for char, gid in gids.items() if gid)
    first: dict[int, str] = {}
    for gid, char in pairs:
        first.setdefault(gid, char)  # a glyph of two characters reads as the first
    entries = [
        f"<{gid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for gid, char in first.items()
    ]
    blocks = []
    for start in range(0, len(entries), 100):
        chunk = entries[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


@functools.lru_cache(maxsize=4096)
def _text_op(name: str, size: float, x: float, baseline: float, font: Font, text: str) -> str:
    """The operators that show `text`; remembered, since labels and titles recur in every file."""
    position = f"{_n(x * _PT)} {_n((PAGE_H - baseline) * _PT)}"
    return f"BT /{name} {_n(size)} Tf {position} Td <{font.encode(text)}> Tj ET"


def _n(value: float) -> str:
    """A number as the content stream writes it: to a hundredth of a point."""
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class Stencil:
    """A square 1-bit image mask: `size` × `size` samples, rows from the top, each row padded to
    whole bytes; a 0 bit is painted, a 1 bit left alone."""

    size: int
    bits: bytes


@dataclass
class Page:
    """One page's drawing operators."""

    ops: list[str] = field(default_factory=list)


class Canvas:
    """A document being drawn: pages of operators, and the fonts they use."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self._fonts: dict[int, tuple[str, Font]] = {}  # id(font) -> (resource name, font)
        self._stencils: list[tuple[str, Stencil]] = []
        self.new_page()

    def new_page(self) -> None:
        self.pages.append(Page())

    @property
    def _ops(self) -> list[str]:
        return self.pages[-1].ops

    def fill(self, colour: Colour) -> None:
        self._ops.append(" ".join(_n(c / 255) for c in colour) + " rg")

    def stroke(self, colour: Colour) -> None:
        self._ops.append(" ".join(_n(c / 255) for c in colour) + " RG")

    def line_width(self, width: float) -> None:
        self._ops.append(f"{_n(width * _PT)} w")

    def dash(self, dash: float = 0, gap: float = 0) -> None:
        pattern = f"[{_n(dash * _PT)} {_n(gap * _PT)}]" if dash else "[]"
        self._ops.append(f"{pattern} 0 d")

    def rect(self, x: float, y: float, w: float, h: float, *, fill: bool) -> None:
        box = f"{_n(x * _PT)} {_n((PAGE_H - y - h) * _PT)} {_n(w * _PT)} {_n(h * _PT)} re"
        self._ops.append(f"{box} {'f' if fill else 'S'}")

    def stencil(self, x: float, y: float, side: float, mask: Stencil) -> None:
        """`mask` painted in the current fill colour as a square of `side` from the top left
        corner (`x`, `y`): a QR code's modules, each a sharp square at any zoom (an image mask is
        drawn without smoothing, like a fill)."""
        name = f"Q{len(self._stencils) + 1}"
        self._stencils.append((name, mask))
        scale, left, bottom = side * _PT, x * _PT, (PAGE_H - y - side) * _PT
        self._ops.append(f"q {_n(scale)} 0 0 {_n(scale)} {_n(left)} {_n(bottom)} cm /{name} Do Q")

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        start = f"{_n(x1 * _PT)} {_n((PAGE_H - y1) * _PT)} m"
        self._ops.append(f"{start} {_n(x2 * _PT)} {_n((PAGE_H - y2) * _PT)} l S")

    def circle(self, cx: float, cy: float, r: float) -> None:
        """A stroked circle, as four Bézier arcs."""
        k = 0.5523 * r  # the control distance of a quarter circle
        x, y = cx * _PT, (PAGE_H - cy) * _PT
        r, k = r * _PT, k * _PT
        self._ops.append(
            f"{_n(x + r)} {_n(y)} m "
            f"{_n(x + r)} {_n(y + k)} {_n(x + k)} {_n(y + r)} {_n(x)} {_n(y + r)} c "
            f"{_n(x - k)} {_n(y + r)} {_n(x - r)} {_n(y + k)} {_n(x - r)} {_n(y)} c "
            f"{_n(x - r)} {_n(y - k)} {_n(x - k)} {_n(y - r)} {_n(x)} {_n(y - r)} c "
            f"{_n(x + k)} {_n(y - r)} {_n(x + r)} {_n(y - k)} {_n(x + r)} {_n(y)} c S"
        )

    def text(self, x: float, baseline: float, font: Font, size: float, text: str) -> None:
        """`text` from `x` on the `baseline`, in the current fill colour."""
        self._ops.append(_text_op(self._resource(font), size, x, baseline, font, text))

    def _resource(self, font: Font) -> str:
        known = self._fonts.get(id(font))
        if known is None:
            known = (f"F{len(self._fonts) + 1}", font)
            self._fonts[id(font)] = known
        return known[0]

    def output(self, info: Mapping[str, str], lang: str) -> bytes:
        """The PDF file: the same drawing and info give the same bytes."""
        fonts = [font for _, font in self._fonts.values()]
        first_font = 4  # 1 the catalog, 2 the page tree, 3 the info dictionary
        first_image = first_font + _FONT_OBJECTS * len(fonts)
        first_page = first_image + len(self._stencils)
        pages = [first_page + 2 * n for n in range(len(self.pages))]
        resources = (
            "/Font << "
            + " ".join(
                f"/{name} {first_font + _FONT_OBJECTS * n} 0 R"
                for n, (name, _) in enumerate(self._fonts.values())
            )
            + " >>"
        )
        if self._stencils:
            resources += (
                " /XObject << "
                + " ".join(
                    f"/{name} {first_image + n} 0 R" for n, (name, _) in enumerate(self._stencils)
                )
                + " >>"
            )
        kids = " ".join(f"{n} 0 R" for n in pages)
        objects = [
            f"<< /Type /Catalog /Pages 2 0 R /Lang {_text(lang)} >>".encode("ascii"),
            f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode("ascii"),
            ("<< " + " ".join(f"/{k} {_text(v)}" for k, v in info.items()) + " >>").encode("ascii"),
        ]
        for n, font in enumerate(fonts):
            objects += _font_objects(font, first_font + _FONT_OBJECTS * n)
        for _, mask in self._stencils:
            objects.append(
                _stream(
                    zlib.compress(mask.bits, 9),
                    f" /Type /XObject /Subtype /Image /ImageMask true /Width {mask.size} "
                    f"/Height {mask.size} /BitsPerComponent 1 /Interpolate false",
                )
            )
        box = f"[0 0 {_n(PAGE_W * _PT)} {_n(PAGE_H * _PT)}]"
        for number, page in zip(pages, self.pages, strict=True):
            objects.append(
                f"<< /Type /Page /Parent 2 0 R /MediaBox {box} /Resources << {resources} >> "
                f"/Contents {number + 1} 0 R >>".encode("ascii")
            )
            objects.append(_stream(zlib.compress("\n".join(page.ops).encode("ascii"), 3)))
        return _file(objects)


# Objects per embedded font: Type0, CIDFontType2, FontDescriptor, FontFile2, ToUnicode.
_FONT_OBJECTS = 5


def _text(value: str) -> str:
    """A PDF text string: UTF-16BE with its byte order mark, in hex (no escaping to get wrong)."""
    return "<FEFF" + value.encode("utf-16-be").hex().upper() + ">"


def _stream(deflated: bytes, extra: str = "") -> bytes:
    head = f"<< /Length {len(deflated)} /Filter /FlateDecode{extra} >>\nstream\n"
    return head.encode("ascii") + deflated + b"\nendstream"


@functools.lru_cache(maxsize=64)
def _font_objects(font: Font, first: int) -> tuple[bytes, ...]:
    """The five objects of `font` numbered from `first`: the same bytes in every document that
    embeds it at that place (made once)."""
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(font.data).digest()[:6])
    base = f"/{tag}+{font.name}"
    widths = " ".join(str(w) for w in font.widths)
    bbox = " ".join(str(v) for v in font.bbox)
    return (
        f"<< /Type /Font /Subtype /Type0 /BaseFont {base} /Encoding /Identity-H "
        f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 4} 0 R >>".encode("ascii"),
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont {base} /CIDSystemInfo << /Registry "
        f"(Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {first + 2} 0 R "
        f"/W [0 [{widths}]] /CIDToGIDMap /Identity >>".encode("ascii"),
        f"<< /Type /FontDescriptor /FontName {base} /Flags 32 /FontBBox [{bbox}] /ItalicAngle 0 "
        f"/Ascent {font.ascent} /Descent {font.descent} /CapHeight {font.cap_height} /StemV 80 "
        f"/FontFile2 {first + 3} 0 R >>".encode("ascii"),
        _stream(font.data, f" /Length1 {font.length}"),
        _stream(font.to_unicode),
    )


def _file(objects: Sequence[bytes]) -> bytes:
    """A PDF 1.7 file of `objects` (numbered from 1; 1 the catalog, 3 the info), with its cross-
    reference table and an ID derived from the content."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    identifier = hashlib.md5(out, usedforsecurity=False).hexdigest().upper()
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R "
        f"/ID [<{identifier}> <{identifier}>] >>\nstartxref\n{table}\n%%EOF\n"
    ).encode("ascii")
    return bytes(out)


@functools.lru_cache(maxsize=4096)
def wrap(
    font: Font, size: float, width: float, text: str, *, by_character: bool = False
) -> tuple[str, ...]:
    """The lines `text` takes in a cell `width` wide: at its line breaks, then between words (or
    anywhere, `by_character`); a word wider than the cell is cut where it must be. Remembered:
    the labels are the same on every certificate."""
    room = width - 2 * CELL_MARGIN
    space = font.width(" ", size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if by_character:
            lines += _cut_to(font, size, room, paragraph)
            continue
        current, used = "", 0.0
        for word in paragraph.split(" "):
            wide = font.width(word, size)
            if current and used + space + wide <= room:
                current, used = f"{current} {word}", used + space + wide
                continue
            if current or not word:
                if current:
                    lines.append(current)
                current, used = "", 0.0
            if wide <= room:
                current, used = word, wide
            else:
                *whole, current = _cut_to(font, size, room, word)
                lines += whole
                used = font.width(current, size)
        lines.append(current)
    return tuple(lines)


def _cut_to(font: Font, size: float, room: float, text: str) -> list[str]:
    lines, current, used = [], "", 0.0
    for char in text:
        wide = font.width(char, size)
        if current and used + wide > room:
            lines.append(current)
            current, used = char, wide
        else:
            current, used = current + char, used + wide
    return [*lines, current]


def baseline(top: float, height: float, size: float) -> float:
    """Where text of `size` points sits in a cell from `top`, `height` high (centred, as fpdf)."""
    return top + height / 2 + 0.3 * size / _PT


__all__ = ["PAGE_H", "PAGE_W", "Canvas", "Font", "FontFile", "Stencil", "baseline", "wrap"]
