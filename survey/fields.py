"""The fields every form, query and submission schema shares, bounded so that what a
person or a script may type is refused as invalid rather than passed on to fail later.

Python raises on ``int()`` of more than 4,300 digits; SQLite cannot bind an int past 2**63
and PostgreSQL none past its column's type; a date at year 1 or 9999 overflows when a day
is added or a time zone applied; PostgreSQL refuses NUL in text, and a lone surrogate
cannot be encoded as UTF-8 at all.
"""

from datetime import date

from marshmallow import ValidationError, fields, validate

from survey.db import MAX_ID

#: The days the service deals in: a project's year is 2000–2100 (its check constraint).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
#: What a date out of that range is told.
DAY_RANGE = f"日期应在 {FIRST_DAY} 到 {LAST_DAY} 之间。"
UNREADABLE = "内容里有无法识别的字符，请重新输入。"


def is_readable(value: str) -> bool:
    """False for text with U+FFFD (what invalid UTF-8 decodes to), a lone surrogate (what a
    JSON escape can make) or a control character other than a line break or tab."""
    return not any(
        c == "\ufffd" or "\ud800" <= c <= "\udfff" or (c < " " and c not in "\n\r\t") for c in value
    )


def readable_text(value: str) -> None:
    """A validator: refuse text that is not :func:`is_readable`."""
    if not is_readable(value):
        raise ValidationError(UNREADABLE)


def _digits(value: str) -> bool:
    """ASCII digits, few enough for ``int()`` and a number up to MAX_ID."""
    return value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID))


def is_row_id(value: str) -> bool:
    """Whether the text ``value`` is a number a row's id can be."""
    return _digits(value) and 0 < int(value) <= MAX_ID


class WholeNumber(fields.Integer):
    """An int from 0 to MAX_ID, or a string of ASCII digits (what an HTML form posts); never a
    fraction or a boolean, which a plain Integer would quietly turn into a score. No count,
    year or index here comes near MAX_ID; a larger number is "invalid", not an error."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and _digits(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class RowId(WholeNumber):
    """A row's id as a form posts it. A number no row can have is "invalid": the database
    would raise on it rather than find nothing."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if number == 0:
            raise self.make_error("invalid")
        return number


class Day(fields.Date):
    """A date from FIRST_DAY to LAST_DAY (``2026-01-31``)."""

    default_error_messages = {"range": DAY_RANGE}

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise self.make_error("range")
        return day


def described_text(max_length: int, what: str, required: bool = False) -> fields.String:
    """A form's text field of at most ``max_length`` readable characters, its messages
    naming ``what`` it holds (「请填写发现的问题（不超过 5000 个字）。」); "" when not given,
    unless ``required``."""
    length = validate.Length(
        min=1 if required else 0,
        max=max_length,
        error=f"请填写{what}（不超过 {max_length} 个字）。",
    )
    messages = {"required": f"请填写{what}。", "invalid": f"{what}的格式不对。"}
    if required:
        return fields.String(
            required=True, validate=[length, readable_text], error_messages=messages
        )
    return fields.String(load_default="", validate=[length, readable_text], error_messages=messages)
