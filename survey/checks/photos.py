"""Visit photos: only JPEG and PNG, re-encoded so no EXIF (camera, time, GPS) survives.

Memory: a decoded picture takes 4 bytes a pixel (RGB is kept in 4 too), so the decoded size
is capped (``max_pixels``, PHOTO_MAX_PIXELS) and nothing copies a large picture whole: a JPEG
decodes at a reduced scale (``draft``), a large picture shrinks by an integer factor
(``reduce``, a band of rows at a time when it has an alpha channel, which Pillow would
otherwise premultiply in a full copy), and it is turned upright in place.
"""

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: Longer side of a stored photo, in pixels: enough to read a notice board on the wall.
MAX_SIDE = 2560
#: Up to this many decoded pixels (without alpha) a photo is resized to exactly MAX_SIDE:
#: resizing allocates about 1.8 times the picture again. A larger one is reduced by a whole
#: factor instead, which allocates only the result.
RESIZE_MAX_PIXELS = 16_000_000
#: Rows of a picture with alpha reduced at a time (times the factor): a few MB a band.
BAND_ROWS = 256
#: Pillow names JPEGs with a multi-picture segment (many phone cameras) MPO.
_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
#: Modes of PNGs Pillow cannot reduce (a palette's indices are not averaged), and what they
#: become first.
_REDUCIBLE = {"1": "L", "P": "RGBA", "I;16": "I"}


class BadPhoto(ValueError):
    """Not a photo we accept; the message says why."""


@dataclass
class CleanPhoto:
    content_type: str
    data: bytes
    width: int
    height: int


def _too_many_pixels(pixels: int, max_pixels: int) -> BadPhoto:
    return BadPhoto(
        f"照片像素太多（{pixels / 10_000:.0f} 万像素，上限 {max_pixels / 10_000:.0f} 万），"
        "请缩小后再上传。"
    )


def _decoded(data: bytes, max_pixels: int) -> Image.Image:
    """The picture in ``data``, decoded (a JPEG at the smallest scale still covering
    MAX_SIDE). Raises BadPhoto before decoding when it would exceed ``max_pixels``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in _FORMATS:
                raise BadPhoto("只能上传 JPEG 或 PNG 格式的照片。")
            if image.format != "PNG":
                # A JPEG decodes at 1/2, 1/4 or 1/8 scale if its longer side still covers
                # MAX_SIDE: a 48-megapixel phone photo then takes a quarter of the memory.
                scale = MAX_SIDE / max(image.size)
                image.draft(
                    "RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale))
                )
            if image.width * image.height > max_pixels:  # the size it will decode to
                raise _too_many_pixels(image.width * image.height, max_pixels)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, BadPhoto):
            raise
        raise BadPhoto("无法识别这张照片，请上传 JPEG 或 PNG 格式的照片。") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise BadPhoto("照片像素太多，请缩小后再上传。") from None
    return image


def _reduced(image: Image.Image, factor: int) -> Image.Image:
    """``image`` shrunk by ``factor`` (averaging factor x factor blocks), never copied whole.

    A picture with alpha (Pillow premultiplies a full copy to reduce it), or in a mode
    ``reduce`` cannot take (converted first: a 16-bit grey or palette PNG to 4 bytes a pixel),
    is converted and reduced a band of rows at a time."""
    mode = image.mode
    work = _REDUCIBLE.get(mode, mode)
    if work == mode and mode not in ("LA", "RGBA"):
        return image.reduce(factor)
    out = Image.new(work, (-(-image.width // factor), -(-image.height // factor)))
    out.info = dict(image.info)  # the EXIF orientation, as Pillow's own reduce keeps it
    step = BAND_ROWS * factor
    for top in range(0, image.height, step):
        band = image.crop((0, top, image.width, min(top + step, image.height)))
        out.paste(band.convert(work).reduce(factor), (0, top // factor))
    return out.convert(mode) if mode == "I;16" else out  # a PNG cannot hold mode I


def _fitted(image: Image.Image) -> Image.Image:
    """``image`` with its longer side at most MAX_SIDE: resized to exactly that when that is
    cheap, else reduced by the smallest whole factor that fits."""
    longest = max(image.size)
    if longest <= MAX_SIDE:
        return image
    if image.width * image.height <= RESIZE_MAX_PIXELS and image.mode not in ("LA", "RGBA"):
        image.thumbnail((MAX_SIDE, MAX_SIDE))  # in place
        return image
    return _reduced(image, -(-longest // MAX_SIDE))


def clean_photo(data: bytes, max_pixels: int) -> CleanPhoto:
    """``data`` decoded and encoded afresh: turned upright by its EXIF orientation, at most
    MAX_SIDE pixels on the longer side, with no metadata. Raises BadPhoto for anything but a
    readable JPEG or PNG, or one that decodes to more than ``max_pixels``."""
    decoded = _decoded(data, max_pixels)
    fmt = decoded.format
    image = _fitted(decoded)
    del decoded  # the full-size picture goes before the small one is turned and encoded
    ImageOps.exif_transpose(image, in_place=True)
    out = io.BytesIO()
    if fmt != "PNG":  # JPEG or MPO: the first picture, as a plain JPEG
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    else:
        image.save(out, "PNG")
    return CleanPhoto(_FORMATS[fmt], out.getvalue(), image.width, image.height)


def megabytes(size: int) -> str:
    """``1.5 MB``: a size as the photo messages say it."""
    return f"{size / (1024 * 1024):.1f} MB"


def read_within(upload, max_bytes: int) -> tuple[bytes, int | None]:
    """An uploaded file's bytes, read no further than ``max_bytes`` + 1; and its whole size
    when it is larger (else None), for the message that names it."""
    data = upload.stream.read(max_bytes + 1)
    if len(data) <= max_bytes:
        return data, None
    upload.stream.seek(0, io.SEEK_END)
    return data, upload.stream.tell()


def chosen_uploads(files, most: int, max_bytes: int, what: str, unit: str, error=BadPhoto):
    """(upload, its bytes) for each of the uploaded ``files`` chosen (the ones left empty
    skipped). Raises ``error`` saying it in Chinese of ``what`` they are, counted in
    ``unit`` (照片, 张): more than ``most`` chosen, or one larger than ``max_bytes``."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > most:
        raise error(f"选了 {len(chosen)} {unit}{what}，每次最多上传 {most} {unit}。")
    for upload in chosen:
        data, size = read_within(upload, max_bytes)
        if size is not None:
            raise error(
                f"{what}“{upload.filename}”有 {megabytes(size)}，"
                f"超过了每{unit} {megabytes(max_bytes)} 的上限。"
            )
        yield upload, data


def uploaded_photos(files, config) -> list[CleanPhoto]:
    """The uploaded ``files`` (Werkzeug's FileStorage; the ones left empty skipped),
    cleaned. Raises BadPhoto naming the photo and what is wrong with it: more than
    VISIT_MAX_PHOTOS, larger than PHOTO_MAX_BYTES, not a JPEG or PNG, more pixels than
    PHOTO_MAX_PIXELS (the app's ``config``)."""
    most, max_bytes = config["VISIT_MAX_PHOTOS"], config["PHOTO_MAX_BYTES"]
    cleaned = []
    for upload, data in chosen_uploads(files, most, max_bytes, "照片", "张"):
        try:
            cleaned.append(clean_photo(data, config["PHOTO_MAX_PIXELS"]))
        except BadPhoto as err:
            raise BadPhoto(f"照片“{upload.filename}”：{err}") from None
    return cleaned


def photos_limit(config) -> int:
    """The most bytes of photos one form may send: VISIT_MAX_PHOTOS of PHOTO_MAX_BYTES."""
    return config["PHOTO_MAX_BYTES"] * config["VISIT_MAX_PHOTOS"]


def too_many_photos(config, sent: int) -> str:
    """What a staff member is told when a form's photos came to ``sent`` bytes, over the
    limit: its fields could not be read either."""
    each = megabytes(config["PHOTO_MAX_BYTES"])
    return (
        f"这次提交的照片一共约 {megabytes(sent)}，超过了上限 {megabytes(photos_limit(config))}"
        f"（最多 {config['VISIT_MAX_PHOTOS']} 张，每张不超过 {each}）。"
        "填写的内容没能收到，请重新填写，并少选几张照片。"
    )
