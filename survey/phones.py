"""Mainland China phone numbers: normalising what people type, and masking for display."""

import re
import unicodedata

_MOBILE = re.compile(r"1[3-9]\d{9}")
#: Area code (0 + 2 or 3 digits) and a local number of 7 or 8 digits not starting 0 or 1.
_LANDLINE = re.compile(r"(0(?:10|2\d|[3-9]\d{2}))([2-9]\d{6,7})")
_SEPARATORS = re.compile(r"[\s\-()（）.·]")


class BadPhone(ValueError):
    """Not a mainland mobile number or a landline with area code; the message says why."""


def normalize_phone(raw: str) -> str:
    """The canonical form of a phone number: ``13812341234`` for mobiles, ``0578-2123456``
    for landlines. Full-width digits, spaces, dashes, brackets and a +86 prefix are accepted.

    Raises BadPhone with a message for the person who typed it.
    """
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(raw)))
    if not text:
        raise BadPhone("电话为空")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if text.startswith("86") and len(text) == 13:
            text = text[2:]
    if not (text.isascii() and text.isdigit()):  # Arabic-Indic and other digits are not ours
        raise BadPhone("电话里有数字以外的字符")
    if _MOBILE.fullmatch(text):
        return text
    landline = _LANDLINE.fullmatch(text)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    if text.startswith("1"):
        raise BadPhone("手机号应为 1 开头的 11 位数字")
    if not text.startswith("0"):
        raise BadPhone("固定电话请带区号（如 0578-2123456）")
    raise BadPhone("电话号码位数不对")


def mask_phone(phone: str) -> str:
    """``138****1234`` for a mobile, ``0578-***3456`` for a landline."""
    if "-" in phone:
        area, local = phone.split("-", 1)
        return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    return f"{phone[:3]}****{phone[-4:]}"
