"""Dashboard filters as they travel in URLs, and the stats API's query and answer."""

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from survey.fields import FIRST_DAY, LAST_DAY, Day, RowId, WholeNumber, is_row_id, readable_text
from survey.form_posts import StaffForm
from survey.responses.models import FLAG_STATES
from survey.stats.summaries import CHANNELS


class FilterSchema(StaffForm):
    """``?from=2026-01-01&to=2026-06-30&county=3&channel=qr``; every field optional (the
    filter form sends the empty ones as ``from=&county=``: not given). Each error is keyed by
    the field it is about, in the words shown beside that field."""

    date_from = Day(
        data_key="from",
        load_default=None,
        error_messages={"invalid": "开始日期的格式不对，应为 2026-01-31 这样的日期。"},
    )
    date_to = Day(
        data_key="to",
        load_default=None,
        error_messages={"invalid": "结束日期的格式不对，应为 2026-01-31 这样的日期。"},
    )
    county_id = RowId(
        data_key="county", load_default=None, error_messages={"invalid": "没有这个县（市、区）。"}
    )
    channel = fields.String(
        load_default=None,
        validate=validate.OneOf(list(CHANNELS), error="渠道只能是扫码、电话抽查或现场暗访。"),
    )

    @validates_schema
    def ordered(self, data, **_kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("结束日期不能早于开始日期。", "to")


_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")  # not \d: it takes any script's digits


def _month(value: str) -> None:
    """``2026-11``, of a year the service deals in (survey.fields)."""
    found = _MONTH.match(value)
    if not found:
        raise ValidationError("月份的格式不对，应为 2026-11 这样的年月。")
    if not FIRST_DAY.year <= int(found[1]) <= LAST_DAY.year:
        raise ValidationError(f"月份应在 {FIRST_DAY:%Y-%m} 到 {LAST_DAY:%Y-%m} 之间。")


class MonthSchema(StaffForm):
    """``?month=2026-11`` of the monthly report (default: the current month)."""

    month = fields.String(load_default=None, validate=_month)

    @post_load
    def first_day(self, data, **_kwargs):
        """``{"month": date of its first day}``, or None when not given."""
        month = data["month"]
        return {"month": date.fromisoformat(f"{month}-01") if month else None}


class CommentQuerySchema(StaffForm):
    """``?q=`` of the comments page: what the comments shown contain (its first 50
    characters count)."""

    q = fields.String(load_default="", validate=readable_text)


class ReviewQuerySchema(FilterSchema):
    """The review list of flagged answers: the dashboard filters, a review state, one site
    (optional) and the page."""

    state = fields.String(
        load_default="pending",
        validate=validate.OneOf(list(FLAG_STATES), error="没有这个审核状态。"),
    )
    site_id = RowId(
        data_key="site", load_default=None, error_messages={"invalid": "没有这个点位。"}
    )
    page = WholeNumber(
        load_default=1,
        validate=validate.Range(min=1, error="页码应为正整数。"),
        error_messages={"invalid": "页码应为正整数。"},
    )


class ReviewSchema(StaffForm):
    """A reviewer's decision on the answers ticked (``id``, repeated), or on every answer
    the list's filters (in the URL) select (``all``)."""

    decision = fields.String(
        required=True,
        validate=validate.OneOf(["restore", "confirm"], error="请选择“恢复计入”或“确认刷评”。"),
        error_messages={"required": "请选择“恢复计入”或“确认刷评”。"},
    )
    #: Ticked boxes; a value that is no row id cannot come from the page and is ignored.
    ids = fields.List(fields.String(), data_key="id", load_default=list)
    everything = fields.Boolean(
        data_key="all", load_default=False, error_messages={"invalid": "“全部”的取值不对。"}
    )

    @post_load
    def row_ids(self, data, **_kwargs):
        data["ids"] = [int(i) for i in data["ids"] if is_row_id(i)]
        if not data["ids"] and not data["everything"]:
            raise ValidationError("请先勾选要处理的回答。", "id")
        return data


class StatsQuerySchema(FilterSchema):
    group = fields.String(
        load_default="county",
        validate=validate.OneOf(
            ["county", "site"], error="group 只能是 county（按县汇总）或 site（按点位汇总）。"
        ),
        metadata={"description": "按县（county）或按点位（site）汇总"},
    )


class RateSchema(Schema):
    """A ``metrics.Rate``."""

    n = fields.Integer(metadata={"description": "有效回答数"})
    rate = fields.Float(
        attribute="value",
        allow_none=True,
        metadata={"description": "满意率（0–1），样本不足时为 null"},
    )
    low = fields.Float(allow_none=True, metadata={"description": "95% Wilson 区间下限"})
    high = fields.Float(allow_none=True, metadata={"description": "95% Wilson 区间上限"})
    mean_score = fields.Float(allow_none=True, metadata={"description": "百分制平均分"})


class StatsRowSchema(Schema):
    """A ``summaries.Summary``. The endpoint answers ``summaries.stats``, which builds this
    dump without marshmallow (tests/stats checks they agree); this schema documents it."""

    id = fields.Integer(attribute="key")
    name = fields.String()
    combined = fields.Nested(RateSchema)
    channels = fields.Dict(keys=fields.String(), values=fields.Nested(RateSchema))
    proxy = fields.Integer(metadata={"description": "家属代答份数（不计入满意率）"})
    discrepancy = fields.Boolean(metadata={"description": "自评与抽查差异显著"})
    left_out = fields.Integer(
        metadata={"description": "疑似刷评、待审核或已确认而未计入满意率的回答数"}
    )
    appealed = fields.Integer(
        metadata={"description": "县级申诉、市级审核成立而未计入满意率的回答数"}
    )


class StatsSchema(Schema):
    project_id = fields.Integer()
    group = fields.String()
    rows = fields.List(fields.Nested(StatsRowSchema))


filter_schema = FilterSchema()
#: The filters' names in a URL, as the schema reads them: ``from``, ``to``, ``county``, ``channel``.
FILTER_ARGS = tuple(field.data_key or name for name, field in filter_schema.fields.items())
review_query_schema = ReviewQuerySchema()
review_schema = ReviewSchema()
month_schema = MonthSchema()
comment_query_schema = CommentQuerySchema()
stats_query_schema = StatsQuerySchema()
