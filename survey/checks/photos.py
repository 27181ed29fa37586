"""Visit photos: only JPEG and PNG, re-encoded so no EXIF (camera, time, GPS) survives."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: Longer side of a stored photo, in pixels: enough to read a notice board on the wall.
MAX_SIDE = 2560
#: Larger images are refused before decoding (a 9000x9000 PNG of 300 KB decodes to 400 MB);
#: phone cameras stay under 50 megapixels.
MAX_PIXELS = 50_000_000
#: Pillow names JPEGs with a multi-picture segment (many phone cameras) MPO.
_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}


class BadPhoto(ValueError):
    """Not a photo we accept; the message says why."""


@dataclass
class CleanPhoto:
    content_type: str
    data: bytes
    width: int
    height: int


def clean_photo(data: bytes) -> CleanPhoto:
    """``data`` decoded and encoded afresh: turned upright by its EXIF orientation, at most
    MAX_SIDE pixels on the longer side, with no metadata. Raises BadPhoto for anything but a
    readable JPEG or PNG (or a decompression bomb)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in _FORMATS:
                raise BadPhoto("只能上传 JPEG 或 PNG 格式的照片。")
            if image.width * image.height > MAX_PIXELS:
                raise BadPhoto("照片像素太多，请缩小后再上传。")
            if image.format != "PNG":
                # A JPEG decodes at 1/2, 1/4 or 1/8 scale if that still covers MAX_SIDE: a
                # 48-megapixel phone photo then takes a quarter of the memory.
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, BadPhoto):
            raise
        raise BadPhoto("无法识别这张照片，请上传 JPEG 或 PNG 格式的照片。") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise BadPhoto("照片像素太多，请缩小后再上传。") from None
    fmt = image.format
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE))  # in place, through reduced sizes (little memory)
    out = io.BytesIO()
    if fmt != "PNG":  # JPEG or MPO: the first picture, as a plain JPEG
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    else:
        image.save(out, "PNG")
    return CleanPhoto(_FORMATS[fmt], out.getvalue(), image.width, image.height)
