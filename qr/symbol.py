"""A URL → a QR symbol, as a module matrix, PNG or SVG.

Error correction Q (survives about 25 % damage: posters hang outdoors and get dirty) and the
standard quiet zone of 4 modules.
"""

import io
import string

import qrcode
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.image.svg import SvgPathImage

QUIET_ZONE = 4
#: The characters of QR alphanumeric mode (5.5 bits each instead of 8 in byte mode); a URL made
#: only of these (upper case) gets a smaller symbol.
ALPHANUMERIC = frozenset(string.digits + string.ascii_uppercase + " $%*+-./:")


def make(url: str) -> qrcode.QRCode:
    """The smallest QR symbol at level Q that holds ``url``."""
    symbol = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=QUIET_ZONE)
    symbol.add_data(url)
    symbol.make(fit=True)
    return symbol


def version(url: str) -> int:
    """The QR version (1–40) that ``url`` needs at level Q."""
    return make(url).version


def matrix(url: str) -> list[list[bool]]:
    """The modules of the symbol, quiet zone included; True is dark."""
    return make(url).get_matrix()


def png(url: str, module_px: int = 10) -> bytes:
    """The symbol as a black-on-white PNG with ``module_px`` pixels per module."""
    symbol = make(url)
    symbol.box_size = module_px
    buffer = io.BytesIO()
    symbol.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def svg(url: str) -> str:
    """The symbol as a scalable SVG document (one path, sized in millimetres)."""
    symbol = make(url)
    return symbol.make_image(image_factory=SvgPathImage).to_string(encoding="unicode")
