"""A site's data → a printable poster: one layout in millimetres, drawn as PNG or PDF.

The layout is computed once and drawn twice (Pillow raster for PNG, fpdf2 vector for PDF) so
both formats look alike. Text shrinks, then wraps, then (only past the smallest readable size)
ends in "…", so nothing ever leaves the page.
"""

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw

from qr import fonts, symbol

#: Portrait page sizes in millimetres.
PAGE_SIZES = {"A5": (148.0, 210.0), "A4": (210.0, 297.0)}
PT_MM = 25.4 / 72
GREEN = (4, 97, 47)
INK = (26, 26, 26)
GREY = (74, 74, 74)
WHITE = (255, 255, 255)
CALL_TO_ACTION = "请用微信扫一扫，为我们的服务打分"


@dataclass(frozen=True)
class PosterContent:
    """What a poster says. ``url`` is what the QR code holds; ``code`` identifies the site."""

    url: str
    code: str
    project: str
    site: str
    county: str
    bureau: str
    hotline: str


@dataclass
class TextBlock:
    """Lines of one size, centred in a box ``width`` wide whose top is at ``y`` (mm)."""

    lines: list[str]
    size_pt: float
    x: float
    y: float
    width: float
    line_height: float
    color: tuple[int, int, int] = INK

    @property
    def height(self) -> float:
        return len(self.lines) * self.line_height


@dataclass
class Layout:
    """Everything placed on one page, in millimetres from the top left."""

    width: float
    height: float
    band_height: float
    qr_x: float
    qr_y: float
    qr_size: float
    modules: list[list[bool]]
    blocks: list[TextBlock] = field(default_factory=list)


def _wrap(text: str, size_pt: float, width: float) -> list[str]:
    """Greedy line breaks between characters (Chinese breaks anywhere) within ``width`` mm."""
    em = size_pt * PT_MM
    lines, line = [], ""
    for char in text:
        if line and fonts.text_width_em(line + char) * em > width:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    return [*lines, line] if line else lines


def fit_text(
    text: str, width: float, height: float, max_pt: float, min_pt: float, leading: float = 1.3
) -> tuple[float, list[str]]:
    """The largest size from ``max_pt`` down to ``min_pt`` at which ``text`` fits the box,
    with its lines; at ``min_pt`` lines that do not fit are cut and the last ends in "…"."""
    text = " ".join(text.split())
    # A name on one line reads best: shrink up to a quarter before wrapping.
    size = max_pt
    while size >= max(min_pt, 0.75 * max_pt):
        if fonts.text_width_em(text) * size * PT_MM <= width and size * PT_MM * leading <= height:
            return size, [text]
        size -= 1
    size = max_pt
    while True:
        lines = _wrap(text, size, width)
        if len(lines) * size * PT_MM * leading <= height or size <= min_pt:
            break
        size = max(min_pt, size - 1)
    room = max(1, int(height // (size * PT_MM * leading)))
    if len(lines) > room:
        lines = lines[:room]
        last = lines[-1]
        while last and fonts.text_width_em(last + "…") * size * PT_MM > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return size, lines


def check(content: PosterContent) -> None:
    """Raise fonts.MissingGlyphError if the font cannot draw some of the poster's text."""
    fonts.check_coverage(
        content.project, content.site, content.county, content.bureau, content.hotline, content.code
    )


def layout(content: PosterContent, size: str = "A5") -> Layout:
    """Place the poster's parts on a page of ``size`` (A5 or A4).

    Raises KeyError for an unknown size and fonts.MissingGlyphError for text the font
    cannot draw.
    """
    width, height = PAGE_SIZES[size]
    check(content)
    k = width / PAGE_SIZES["A5"][0]  # everything is designed for A5 and scaled
    margin, inner = 10 * k, width - 20 * k
    blocks: list[TextBlock] = []

    def add(text, box_height, max_pt, min_pt, y, color=INK, leading=1.3):
        size_pt, lines = fit_text(text, inner, box_height * k, max_pt * k, min_pt * k, leading)
        block = TextBlock(lines, size_pt, margin, y, inner, size_pt * PT_MM * leading, color)
        blocks.append(block)
        return y + block.height

    band = 20 * k
    add(content.bureau, 12, 16, 11, 4 * k, WHITE, leading=1.2)
    y = band + 5 * k
    y = add(content.project, 17, 18, 12, y, GREY) + 1 * k
    y = add(content.site, 26, 26, 14, y) + 1 * k
    y = add(content.county, 8, 16, 12, y, GREY) + 3 * k
    y = add(CALL_TO_ACTION, 11, 22, 18, y, GREEN) + 2 * k

    # The bottom lines are placed upwards from the foot; the QR code takes what is between.
    foot = height - 6 * k
    notes = [
        ("匿名评价 · 不收集姓名 · 电话自愿留下", 11, GREY),
        (f"不方便扫码？请拨打 {content.hotline}", 16, INK),
    ]
    for text, pt, color in notes:
        size_pt, lines = fit_text(text, inner, 9 * k, pt * k, 10 * k)
        block = TextBlock(lines, size_pt, margin, 0, inner, size_pt * PT_MM * 1.3, color)
        foot -= block.height
        block.y = foot
        blocks.append(block)
        foot -= 1 * k
    code = TextBlock([f"点位码 {content.code}"], 14 * k, margin, 0, inner, 14 * k * PT_MM * 1.3)
    modules = symbol.matrix(content.url)
    qr_size = min(80 * k, foot - code.height - y - 2 * k)
    code.y = y + qr_size + 1 * k
    blocks.append(code)
    return Layout(width, height, band, (width - qr_size) / 2, y, qr_size, modules, blocks)


def _px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def render_png(page: Layout, dpi: int = 300) -> Image.Image:
    """The page as an RGB image at ``dpi``."""
    image = Image.new("RGB", (_px(page.width, dpi), _px(page.height, dpi)), WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, _px(page.band_height, dpi)), fill=GREEN)
    for block in page.blocks:
        font = fonts.pillow_font(_px(block.size_pt * PT_MM, dpi))
        centre = _px(block.x + block.width / 2, dpi)
        for i, line in enumerate(block.lines):
            top = _px(block.y + i * block.line_height, dpi)
            draw.text((centre, top), line, font=font, fill=block.color, anchor="ma")
    # Whole pixels per module keep every module the same size, so scanners read it reliably.
    count = len(page.modules)
    module = max(1, _px(page.qr_size, dpi) // count)
    left = _px(page.qr_x + page.qr_size / 2, dpi) - module * count // 2
    top = _px(page.qr_y, dpi)
    for r, row in enumerate(page.modules):
        for c, dark in enumerate(row):
            if dark:
                x, y = left + c * module, top + r * module
                draw.rectangle((x, y, x + module - 1, y + module - 1), fill=(0, 0, 0))
    return image


def png_bytes(content: PosterContent, size: str = "A5", dpi: int = 300) -> bytes:
    """The poster as PNG bytes (300 dpi by default, tagged so printers print it to size)."""
    buffer = io.BytesIO()
    render_png(layout(content, size), dpi).save(buffer, "PNG", dpi=(dpi, dpi), compress_level=3)
    return buffer.getvalue()


class _PosterPDF(FPDF):
    def __init__(self, size: str):
        width, height = PAGE_SIZES[size]
        super().__init__(unit="mm", format=(width, height))
        self.set_auto_page_break(False)
        self.set_margin(0)
        self.add_font("noto", fname=str(fonts.FONT_PATH))
        self.set_title("满意度评价二维码海报")
        self.set_creator("survey")


def _draw_pdf_page(pdf: FPDF, page: Layout) -> None:
    pdf.add_page()
    pdf.set_fill_color(*GREEN)
    pdf.rect(0, 0, page.width, page.band_height, style="F")
    for block in page.blocks:
        pdf.set_font("noto", size=block.size_pt)
        pdf.set_text_color(*block.color)
        for i, line in enumerate(block.lines):
            pdf.set_xy(block.x, block.y + i * block.line_height)
            pdf.cell(block.width, block.line_height, line, align="C")
    pdf.set_fill_color(0, 0, 0)
    module = page.qr_size / len(page.modules)
    for r, row in enumerate(page.modules):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules keeps the file small
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                x, y = page.qr_x + start * module, page.qr_y + r * module
                pdf.rect(x, y, (c - start) * module, module, style="F")
            c += 1


def write_pdf(contents: Iterable[PosterContent], out, size: str = "A5") -> int:
    """Write one page per poster to ``out`` (a path or binary file); returns the page count.

    Vector pages: small files, sharp at any print resolution, and fast enough to need no
    worker processes (see docs/PERFORMANCE.md).
    """
    pdf = _PosterPDF(size)
    try:
        for content in contents:
            _draw_pdf_page(pdf, layout(content, size))
        if isinstance(out, str | Path):
            pdf.output(str(out))
        else:
            out.write(bytes(pdf.output()))
        return pdf.page_no()
    finally:
        # fpdf2 opens the font file lazily and never closes it.
        for font in pdf.fonts.values():
            if getattr(font, "ttfont", None) is not None:
                font.ttfont.close()


def pdf_bytes(content: PosterContent, size: str = "A5") -> bytes:
    """One poster as a one-page PDF."""
    buffer = io.BytesIO()
    write_pdf([content], buffer, size)
    return buffer.getvalue()
