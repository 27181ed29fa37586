"""What the staff forms of rosters, spot-checks and visits may post, with messages in Chinese."""

from marshmallow import ValidationError, fields, validate, validates_schema

from survey.checks.models import CHECK_RESULTS, OUTCOMES, SAMPLE_MODES
from survey.fields import Day, RowId, WholeNumber, described_text
from survey.form_posts import StaffForm
from survey.sites.schemas import ListQuerySchema

SEED = validate.Regexp(
    r"^[0-9A-Za-z_-]{0,40}$", error="随机种子只能用字母、数字、- 和 _，最多 40 个。"
)


class RosterQuerySchema(ListQuerySchema):
    """The roster's list query, and a number searched for (posted, never in the URL)."""

    phone = fields.String(load_default="")


class SampleSchema(StaffForm):
    mode = fields.String(
        required=True, validate=validate.OneOf(list(SAMPLE_MODES), error="请选择抽样方式。")
    )
    size = WholeNumber(
        required=True,
        validate=validate.Range(1, 1000, error="抽样数量应在 1 到 1000 之间。"),
        error_messages={"required": "请填写抽样数量。", "invalid": "抽样数量应是整数。"},
    )
    minimum = WholeNumber(
        load_default=0,
        validate=validate.Range(0, 1000, error="最低人数应在 0 到 1000 之间。"),
        error_messages={"invalid": "最低人数应是整数。"},
    )
    seed = fields.String(load_default="", validate=SEED)

    @validates_schema
    def percent_at_most_100(self, data, **_kwargs):
        if data.get("mode") == "percent" and data.get("size", 0) > 100:
            raise ValidationError("百分比应在 1 到 100 之间。", "size")


class AttemptSchema(StaffForm):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(list(OUTCOMES), error="请选择通话结果。"),
        error_messages={"required": "请选择通话结果。"},
    )
    note = described_text(500, "备注")
    callback_at = fields.NaiveDateTime(
        load_default=None,
        format="%Y-%m-%dT%H:%M",
        error_messages={"invalid": "回拨时间的格式不对。"},
    )

    @validates_schema
    def callback_needs_time(self, data, **_kwargs):
        if data.get("outcome") == "callback" and data.get("callback_at") is None:
            raise ValidationError("要求回拨时，请填写回拨时间。", "callback_at")


class PickSchema(StaffForm):
    count = WholeNumber(
        load_default=3,
        validate=validate.Range(1, 200, error="抽取点位数应在 1 到 200 之间。"),
        error_messages={"invalid": "抽取点位数应是整数。"},
    )
    seed = fields.String(load_default="", validate=SEED)


class VisitSchema(StaffForm):
    visited_on = Day(
        required=True,
        error_messages={"required": "请填写暗访日期。", "invalid": "日期的格式不对。"},
    )
    inspectors = described_text(200, "暗访人员", required=True)
    findings = described_text(5000, "发现的问题")
    #: Checklist item index → pass, fail or unverified (posted as ``result.<index>``).
    results = fields.Dict(
        keys=WholeNumber(),
        values=fields.String(validate=validate.OneOf(list(CHECK_RESULTS))),
        load_default=dict,
        error_messages={"invalid": "检查项的结果有误，请重新选择。"},
    )
    draw_seed = fields.String(load_default="", validate=SEED)
    #: The checklist version the form showed.
    checklist_version = WholeNumber(load_default=None)
    #: The home visit (听力困难) this visit is made for, if any.
    home_visit = RowId(load_default=None, error_messages={"invalid": "上门走访有误。"})

    def tidy(self, data):
        """``result.3=fail`` → ``results: {"3": "fail"}``; an item without a result was not
        verified."""
        results = {
            k.removeprefix("result."): v for k, v in data.items() if k.startswith("result.") and v
        }
        data = {k: v for k, v in data.items() if not k.startswith("result.")}
        return data | {"results": results}


class InterviewSchema(StaffForm):
    comment = described_text(500, "访谈记录")


class NoticeSchema(StaffForm):
    body = described_text(1000, "告知语", required=True)


roster_query_schema = RosterQuerySchema()
sample_schema = SampleSchema()
attempt_schema = AttemptSchema()
pick_schema = PickSchema()
visit_schema = VisitSchema()
interview_schema = InterviewSchema()
notice_schema = NoticeSchema()
