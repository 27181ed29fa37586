"""The hotline residents are told to call, shown as a link the phone dials in one tap."""

import re
import unicodedata

from markupsafe import Markup

#: Between two numbers in one hotline (``12345、0578-2123456``): only the first is dialled.
_ALTERNATIVES = re.compile(r"[、/]")
#: What a ``tel:`` URI keeps of a printed number: digits, and "," (a pause) for 转.
_NOT_DIALLED = re.compile(r"[^0-9,]")


def hotline_link(number: str) -> Markup:
    """``number`` as printed, inside a ``tel:`` link: copying a number off the screen is hard
    for many elderly residents (the MIIT elderly-care rules ask for one-tap dialling). A
    number with nothing to dial stays plain text."""
    first = _ALTERNATIVES.split(unicodedata.normalize("NFKC", number))[0]
    dial = _NOT_DIALLED.sub("", first.replace("转", ","))
    if not dial.strip(","):
        return Markup.escape(number)
    return Markup('<a class="tel" href="tel:{}">{}</a>').format(dial, number)
