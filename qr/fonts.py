"""The CJK font posters are set in: Noto Sans SC (SIL OFL), installed from PyPI, never a
system font that a fresh machine may lack."""

from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont
from pylopdf_fonts_zh_cn import sans_path

FONT_PATH: Path = sans_path()


class MissingGlyphError(ValueError):
    """Text holds characters the font cannot draw (they would print as empty boxes)."""

    def __init__(self, characters: str):
        self.characters = characters
        super().__init__(f"the poster font cannot draw: {characters}")


@lru_cache(maxsize=1)
def _codepoints() -> frozenset[int]:
    font = TTFont(FONT_PATH, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def check_coverage(*texts: str) -> None:
    """Raise MissingGlyphError naming every character of ``texts`` the font lacks."""
    known = _codepoints()
    missing = dict.fromkeys(c for t in texts for c in t if not c.isspace() and ord(c) not in known)
    if missing:
        raise MissingGlyphError("".join(missing))


@lru_cache(maxsize=64)
def pillow_font(size_px: int) -> ImageFont.FreeTypeFont:
    """The font at ``size_px`` pixels, for drawing and measuring with Pillow."""
    return ImageFont.truetype(str(FONT_PATH), size_px)


def text_width_em(text: str) -> float:
    """The advance width of ``text`` in ems (multiply by the font size for a length)."""
    reference = 1000
    return pillow_font(reference).getlength(text) / reference
