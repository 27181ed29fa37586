"""qr.symbol: small, robust symbols that a real decoder reads back."""

import io
import re

import pytest
import zxingcpp
from PIL import Image

from qr import symbol


def decode(image: Image.Image) -> list[str]:
    """Every QR code a real decoder (zxing-cpp) finds in ``image``."""
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.mark.parametrize(
    "url",
    ["HTTPS://MZJ.LISHUI.GOV.CN/S/ABCDEFGH23", "https://mzj.wenzhou.gov.cn/survey/s/ABCDEFGH23"],
)
def test_png_decodes_to_the_url(url):
    assert decode(Image.open(io.BytesIO(symbol.png(url)))) == [url]


def test_svg_is_one_scalable_symbol_that_decodes():
    url = "HTTPS://MZJ.LISHUI.GOV.CN/S/ABCDEFGH23"
    svg = symbol.svg(url)
    assert svg.startswith("<svg") and 'viewBox="0 0 37 37"' in svg  # version 3 + quiet zone
    # Rasterise the SVG's own path (unit squares "Mx,yHx+1Vy+1Hxz") and decode that.
    image = Image.new("L", (37 * 8,) * 2, 255)
    squares = re.findall(r"M(\d+),(\d+)H\d+V\d+H\d+z", svg)
    assert squares
    for x, y in ((int(x), int(y)) for x, y in squares):
        image.paste(0, (x * 8, y * 8, x * 8 + 8, y * 8 + 8))
    assert decode(image) == [url]


def test_symbols_use_level_q_and_a_four_module_quiet_zone():
    made = symbol.make("HTTPS://MZJ.LISHUI.GOV.CN/S/ABCDEFGH23")
    assert made.error_correction == symbol.ERROR_CORRECT_Q
    assert made.border == 4
    modules = symbol.matrix("HTTPS://MZJ.LISHUI.GOV.CN/S/ABCDEFGH23")
    assert not any(modules[0]) and not any(row[0] for row in modules)
    assert modules[4][4]  # the finder pattern starts right after the quiet zone


def test_upper_case_link_of_a_30_character_base_fits_version_3():
    base = "HTTPS://MZJ.LISHUI.GOV.CN:8443"  # 30 characters
    assert len(base) == 30
    assert symbol.version(f"{base}/S/ABCDEFGH23") <= 3
    assert symbol.version(f"{base.lower()}/s/ABCDEFGH23") > 3  # byte mode needs more
