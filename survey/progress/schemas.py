"""The 进度 forms (a milestone record, the city's return, a project's milestones, a monthly
report, the month asked for) and the API's progress shape."""

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from survey.fields import Day, WholeNumber, described_text
from survey.form_posts import StaffForm

#: The most milestones a project may have (the seeds have four and five).
MAX_MILESTONES = 8
PERCENTS = "进度应为 1 到 100 之间的整数。"


class RecordFormSchema(StaffForm):
    """A county's milestone record: which milestone, the day it was reached, a note."""

    percent = WholeNumber(
        required=True,
        validate=validate.Range(1, 100, error=PERCENTS),
        error_messages={"required": "请选择达到的进度。", "invalid": "请选择达到的进度。"},
    )
    reached_on = Day(
        required=True,
        error_messages={
            "required": "请填写达到的日期。",
            "invalid": "日期的格式不对，如 2026-09-30。",
        },
    )
    note = described_text(2000, "说明")


class ReturnFormSchema(StaffForm):
    """The city returns a record: why."""

    reason = described_text(2000, "退回的原因", required=True)


class MilestonesFormSchema(StaffForm):
    """A project's milestones as rows of the form (each field a list, in row order; empty
    rows dropped), and whether its sites' surveys open from the start."""

    percent = fields.List(fields.String(), load_default=list)
    name = fields.List(fields.String(), load_default=list)
    evidence = fields.List(fields.String(), load_default=list)
    planned_on = fields.List(fields.String(), load_default=list)
    open_from_start = fields.Boolean(load_default=False, truthy={"1", "on"})

    @validates_schema
    def rows_in_order(self, data, **_kwargs):
        rows = rows_of(data)
        if not rows:
            raise ValidationError("请至少填写一个进度节点（100%）。", "percent")
        if len(rows) > MAX_MILESTONES:
            raise ValidationError(f"进度节点最多 {MAX_MILESTONES} 个。", "percent")
        percents = [row["percent"] for row in rows]
        if percents != sorted(set(percents)):
            raise ValidationError("进度应从小到大填写，且不能重复。", "percent")
        if percents[-1] != 100:
            raise ValidationError("最后一个进度节点应为 100%（建成并开展服务）。", "percent")
        days = [row["planned_on"] for row in rows]
        if days != sorted(days):
            raise ValidationError("计划完成日期应随进度先后排列。", "planned_on")


def _row(percent: str, name: str, evidence: str, planned: str) -> dict | None:
    percent, name, evidence, planned = (v.strip() for v in (percent, name, evidence, planned))
    if not (percent or name or evidence or planned):
        return None
    if not re.fullmatch(r"\d{1,3}", percent) or not 1 <= int(percent) <= 100:
        raise ValidationError(PERCENTS, "percent")
    if not name or len(name) > 100:
        raise ValidationError("请填写每个进度节点的名称（不超过 100 个字）。", "name")
    if len(evidence) > 300:
        raise ValidationError("证明材料不超过 300 个字。", "evidence")
    try:
        day = Day().deserialize(planned)
    except ValidationError:
        raise ValidationError("请填写计划完成日期，如 2026-09-30。", "planned_on") from None
    return {"percent": int(percent), "name": name, "evidence": evidence, "planned_on": day}


def rows_of(data: dict) -> list[dict]:
    """The milestone rows of a loaded MilestonesFormSchema, empty ones dropped. Raises
    ValidationError for a row half filled in or malformed."""
    columns = [data.get(key, []) for key in ("percent", "name", "evidence", "planned_on")]
    length = max(len(column) for column in columns)
    padded = [column + [""] * (length - len(column)) for column in columns]
    rows = [_row(*values) for values in zip(*padded, strict=True)]
    return [row for row in rows if row is not None]


class ReportFormSchema(StaffForm):
    """A county's monthly report: the progress made and the problems met."""

    progress = described_text(5000, "本月进展情况", required=True)
    problems = described_text(5000, "存在的问题")


class MonthQuerySchema(StaffForm):
    """``?month=2026-10`` on the reports page; empty: this month."""

    month = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))


def month_of(text: str | None, today: date) -> date:
    """The first day of the month ``2026-10`` names, or of ``today``'s month."""
    if not text:
        return today.replace(day=1)
    year, month = text.split("-")
    return date(int(year), int(month), 1)


# -- the API ---------------------------------------------------------------------------


class MilestoneOutSchema(Schema):
    percent = fields.Integer()
    name = fields.String()
    evidence = fields.String()
    planned_on = fields.Date()


class SiteProgressSchema(Schema):
    id = fields.Integer(attribute="site.id")
    name = fields.String(attribute="site.name")
    progress = fields.Integer(
        attribute="percent", metadata={"description": "已确认的最高进度（%）"}
    )
    confirmed_on = fields.Date(allow_none=True, metadata={"description": "该进度确认的日期"})
    next_milestone = fields.Integer(
        attribute="next_percent", allow_none=True, metadata={"description": "下一个进度节点"}
    )
    next_planned_on = fields.Date(allow_none=True, metadata={"description": "其计划完成日期"})
    behind = fields.Boolean(metadata={"description": "已过某个进度节点的计划日期仍未达到"})
    missed_planned_on = fields.Date(
        allow_none=True, metadata={"description": "最早错过的计划完成日期"}
    )


class CountyProgressSchema(Schema):
    id = fields.Integer(attribute="region.id")
    name = fields.String(attribute="region.name")
    counted_sites = fields.Integer(attribute="counted", metadata={"description": "应建点位数"})
    average_progress = fields.Float(attribute="average", allow_none=True)
    time_progress = fields.Float()
    warnings = fields.List(fields.String(), metadata={"description": "进度预警"})
    sites = fields.List(fields.Nested(SiteProgressSchema))


class ProjectProgressSchema(Schema):
    project_id = fields.Integer(attribute="project.id")
    day = fields.Date(metadata={"description": "统计日期（本地）"})
    time_progress = fields.Float(metadata={"description": "时间进度 = 月份/12×100"})
    average_progress = fields.Float(attribute="average", allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneOutSchema))
    counties = fields.List(fields.Nested(CountyProgressSchema))


record_form_schema = RecordFormSchema()
return_form_schema = ReturnFormSchema()
milestones_form_schema = MilestonesFormSchema()
report_form_schema = ReportFormSchema()
month_query_schema = MonthQuerySchema()
