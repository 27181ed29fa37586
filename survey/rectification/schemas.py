"""The form of a year's holiday notice (放假日期, 调休上班日期, 来源), and the forms of a
case's steps."""

import re
from datetime import date, timedelta

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from survey.fields import FIRST_DAY, LAST_DAY, WholeNumber, described_text, readable_text
from survey.form_posts import StaffForm
from survey.rectification.models import DECISIONS, FOLLOWUP_OUTCOMES

#: The most days a notice may list of each kind: a year has about 30 days off in all.
MAX_DAYS = 60
#: What a missing or malformed year is told (an empty field is malformed: it stays given).
YEAR_NEEDED = "请填写年份（四位数字，如 2027）。"
#: What a year out of the service's range is told.
YEARS = f"年份应在 {FIRST_DAY.year} 到 {LAST_DAY.year} 之间。"
#: How people name the days of the week, Monday first.
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

#: A date as a notice is copied: 2027-02-06, 2027/2/6, 2027.2.6 or 2027年2月6日.
_DAY = r"(\d{4})(?:[-/.]|年)(\d{1,2})(?:[-/.]|月)(\d{1,2})日?"
#: What may join two days of a span: 2027-02-05至2027-02-11, or ~ or ～.
_SPAN = re.compile(r"\s*([至~～])\s*")
_DAY_OR_SPAN = re.compile(rf"{_DAY}(?:[至~～]{_DAY})?")
#: What may part the days or spans: line breaks, spaces, commas, 、 and semicolons.
_PARTS = re.compile(r"[\s,，、;；]+")
_UNREADABLE = (
    "看不懂“{part}”：请一行写一个日期，如 2027-02-06 或 2027/2/6，"
    "连续的几天可写成 2027-02-05至2027-02-11。"
)


def with_weekday(day: date) -> str:
    """``2027-02-08（周一）``."""
    return f"{day.isoformat()}（{WEEKDAYS[day.weekday()]}）"


def _day(year: str, month: str, day: str) -> date:
    return date(int(year), int(month), int(day))


class DayList(fields.Field):
    """Dates typed into a textarea, one a line or parted by spaces, commas or 、, and spans
    ``A至B``; loads to the sorted dates, each once."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("请填写日期。")
        days = set()
        for part in _PARTS.split(_SPAN.sub(r"\1", value.strip())):
            if not part:
                continue
            found = _DAY_OR_SPAN.fullmatch(part)
            try:
                first = _day(*found.groups()[:3])
                last = _day(*found.groups()[3:]) if found[4] else first
            except (AttributeError, ValueError):  # no match, or 2027-02-30
                raise ValidationError(_UNREADABLE.format(part=part[:40])) from None
            if first > last:
                raise ValidationError(_UNREADABLE.format(part=part[:40]))
            days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        return sorted(days)


def _listed(days) -> str:
    return "、".join(with_weekday(day) for day in days)


class NoticeFormSchema(StaffForm):
    """A year's 节假日安排: its days off, the weekend days worked instead, and the notice's
    title. Every day must be in the year, a day worked a Saturday or Sunday, and no day both."""

    year = WholeNumber(
        required=True,
        validate=validate.Range(FIRST_DAY.year, LAST_DAY.year, error=YEARS),
        error_messages={"required": YEAR_NEEDED, "invalid": YEAR_NEEDED},
    )
    days_off = DayList(
        required=True,
        validate=[
            validate.Length(min=1, error="请填写放假日期。"),
            validate.Length(max=MAX_DAYS, error=f"放假日期最多 {MAX_DAYS} 天。"),
        ],
        error_messages={"required": "请填写放假日期。"},
    )
    workdays = DayList(
        load_default=list,
        validate=validate.Length(max=MAX_DAYS, error=f"调休上班日期最多 {MAX_DAYS} 天。"),
    )
    source = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error="请填写来源，如通知的标题和文号。"),
            validate.Length(max=200, error="来源不超过 200 个字。"),
            readable_text,
        ],
        error_messages={"required": "请填写来源，如通知的标题和文号。"},
    )

    @validates_schema
    def days_fit_the_year(self, data, **_kwargs):
        """Each day in the notice's year; the days worked on weekends; no day both."""
        year, off, worked = data["year"], data["days_off"], data["workdays"]
        errors: dict[str, list[str]] = {}
        for field, days in (("days_off", off), ("workdays", worked)):
            if outside := [day for day in days if day.year != year]:
                errors.setdefault(field, []).append(f"这些日期不在{year}年：{_listed(outside)}。")
        if weekdays := [day for day in worked if day.weekday() < 5]:
            message = f"调休上班日应是周六或周日，这些是工作日：{_listed(weekdays)}。"
            errors.setdefault("workdays", []).append(message)
        if both := sorted(set(off) & set(worked)):
            message = f"这些日期既是放假日期又是调休上班日期：{_listed(both)}。"
            errors.setdefault("workdays", []).append(message)
        if errors:
            raise ValidationError(errors)


notice_form_schema = NoticeFormSchema()


class VerifySchema(StaffForm):
    finding = described_text(2000, "核实情况", required=True)
    #: The county judges the problem takes longer to put right (its reason required).
    complex = fields.Boolean(load_default=False)
    complex_reason = described_text(500, "复杂的原因")


class RectifySchema(StaffForm):
    done = described_text(2000, "整改措施和结果", required=True)


verify_schema = VerifySchema()
rectify_schema = RectifySchema()


class FollowupSchema(StaffForm):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(list(FOLLOWUP_OUTCOMES), error="请选择回访结果。"),
        error_messages={"required": "请选择回访结果。"},
    )
    score = WholeNumber(
        load_default=None,
        validate=validate.Range(1, 5, error="请选择重新评价。"),
        error_messages={"invalid": "请选择重新评价。"},
    )
    solved = fields.Boolean(load_default=False)
    note = described_text(500, "回访记录")

    @validates_schema
    def rated_when_reached(self, data, **_kwargs):
        if data.get("outcome") == "reached" and data.get("score") is None:
            raise ValidationError("接通后请选择居民的重新评价。", "score")


followup_schema = FollowupSchema()


NAME_THE_ANSWERS = "请选择要申诉的评价。"


def _answer_ids(ids: list[str]) -> None:
    """Each an answer's number as the form's boxes send it."""
    if not all(i.isdecimal() and len(i) < 12 for i in ids):
        raise ValidationError(NAME_THE_ANSWERS)


class AppealSchema(StaffForm):
    """申诉: the case's answers the county believes malicious, and why (its evidence)."""

    # Strings checked whole, then made numbers: a List of numbers would say which item
    # failed, not what to do.
    answers = fields.List(
        fields.String(),
        required=True,
        validate=[validate.Length(min=1, error=NAME_THE_ANSWERS), _answer_ids],
        error_messages={"required": NAME_THE_ANSWERS},
    )
    reason = described_text(2000, "申诉理由和证据", required=True)

    @post_load
    def numbers(self, data, **_kwargs):
        return data | {"answers": [int(i) for i in data["answers"]]}


class DecisionSchema(StaffForm):
    """The city's decision on a 申诉, with its reason."""

    decision = fields.String(
        required=True,
        validate=validate.OneOf(list(DECISIONS), error="请选择申诉成立或驳回。"),
        error_messages={"required": "请选择申诉成立或驳回。"},
    )
    note = described_text(1000, "审核意见", required=True)


appeal_schema = AppealSchema()
decision_schema = DecisionSchema()


class EmptyFormSchema(StaffForm):
    """A button's form: nothing but its CSRF token."""


empty_form_schema = EmptyFormSchema()


def _days(what: str) -> WholeNumber:
    message = f"{what}应是 1 到 60 之间的工作日数。"
    return WholeNumber(
        required=True,
        validate=validate.Range(1, 60, error=message),
        error_messages={"required": message, "invalid": message},
    )


class RulesSchema(StaffForm):
    """A project's 整改 deadlines in working days."""

    verify_days = _days("核实期限")
    rectify_days = _days("整改期限")
    complex_days = _days("复杂情况的整改期限")
    followup_days = _days("回访期限")

    @validates_schema
    def complex_takes_longer(self, data, **_kwargs):
        if data.get("complex_days", 99) < data.get("rectify_days", 0):
            raise ValidationError("复杂情况的整改期限不能短于一般的整改期限。", "complex_days")


rules_schema = RulesSchema()
