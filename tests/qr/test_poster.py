"""qr.poster: posters that scan, fit the page and never print an empty box."""

import io
import random

import pypdfium2
import pytest
from PIL import Image

from qr import fonts, poster
from survey.demo.content import LISHUI, WENZHOU
from survey.demo.services import site_names
from tests.qr.test_symbol import decode

CONTENT = poster.PosterContent(
    url="HTTPS://MZJ.LISHUI.GOV.CN/S/ABCDEFGH23",
    code="ABCDEFGH23",
    project="2022年建成康养联合体20家",
    site="莲都区社会福利中心康养联合体",
    county="丽水市莲都区",
    bureau="丽水市民政局",
    hotline="0578-2123456",
)


def pdf_pages(data: bytes, dpi: int = 150) -> list[Image.Image]:
    """Every page of a PDF, rendered like a printer or viewer would."""
    document = pypdfium2.PdfDocument(data)
    try:
        return [page.render(scale=dpi / 72).to_pil() for page in document]
    finally:
        document.close()


def _inside(page: poster.Layout) -> None:
    for block in page.blocks:
        assert block.x >= 0 and block.x + block.width <= page.width
        assert block.y >= 0 and block.y + block.height <= page.height, block.lines
        for line in block.lines:
            line_width = fonts.text_width_em(line) * block.size_pt * poster.PT_MM
            assert line_width <= block.width + 0.01, line
    assert page.qr_y + page.qr_size <= page.height


@pytest.mark.parametrize("size", ["A5", "A4"])
def test_png_poster_scans_and_is_300_dpi(size):
    image = Image.open(io.BytesIO(poster.png_bytes(CONTENT, size)))
    width_mm, _ = poster.PAGE_SIZES[size]
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.5)
    assert image.width == round(width_mm / 25.4 * 300)
    assert decode(image) == [CONTENT.url]


@pytest.mark.parametrize("size", ["A5", "A4"])
def test_pdf_poster_scans_and_has_the_page_size(size):
    data = poster.pdf_bytes(CONTENT, size)
    document = pypdfium2.PdfDocument(data)
    width_pt, height_pt = document[0].get_size()
    document.close()
    assert (width_pt * 25.4 / 72, height_pt * 25.4 / 72) == pytest.approx(
        poster.PAGE_SIZES[size], abs=0.5
    )
    (page,) = pdf_pages(data)
    assert decode(page) == [CONTENT.url]


def test_a5_poster_follows_the_print_rules():
    page = poster.layout(CONTENT, "A5")
    assert page.qr_size >= 60  # 6 cm: readable from about 60 cm
    texts = {line: b.size_pt for b in page.blocks for line in b.lines}
    assert texts[poster.CALL_TO_ACTION] >= 18
    assert any("ABCDEFGH23" in line for line in texts)
    assert any("0578-2123456" in line for line in texts)
    assert any("丽水市民政局" in line for line in texts)
    _inside(page)


@pytest.mark.parametrize("size", ["A5", "A4"])
def test_a_200_character_site_name_still_fits_the_page(size):
    long = poster.PosterContent(**{**CONTENT.__dict__, "site": "康养联合体" * 40})
    page = poster.layout(long, size)
    _inside(page)
    assert page.qr_size >= 60 * poster.PAGE_SIZES[size][0] / 148
    (image,) = pdf_pages(poster.pdf_bytes(long, size))
    assert decode(image) == [CONTENT.url]


def test_text_the_font_cannot_draw_is_an_error_not_an_empty_box():
    with pytest.raises(fonts.MissingGlyphError) as raised:
        poster.layout(poster.PosterContent(**{**CONTENT.__dict__, "site": "𪚥康养联合体"}))
    assert raised.value.characters == "𪚥"


def test_every_demo_name_is_covered_by_the_font():
    rng = random.Random(0)
    for seed in (LISHUI, WENZHOU):
        for county, count in seed["targets"].items():
            for name, _level in site_names(seed, county, max(count, 20), rng):
                page = poster.layout(
                    poster.PosterContent(
                        url="HTTPS://X.CN/S/ABCDEFGH23",
                        code="ABCDEFGH23",
                        project=seed["project"],
                        site=name,
                        county=f"{seed['city']}{county}",
                        bureau=f"{seed['city']}民政局",
                        hotline="12345",
                    )
                )
                _inside(page)


def test_batch_pdf_has_a_page_per_site_that_scans_to_that_site(tmp_path):
    contents = [
        poster.PosterContent(**{**CONTENT.__dict__, "url": f"HTTPS://X.CN/S/SITE{i:06d}"})
        for i in range(5)
    ]
    path = tmp_path / "batch.pdf"
    assert poster.write_pdf(contents, path) == 5
    pages = pdf_pages(path.read_bytes())
    assert [decode(p) for p in pages] == [[c.url] for c in contents]
