"""What the API answers with."""

from marshmallow import Schema, fields, validate

from survey.api.pages import page_schema
from survey.checks.models import OUTCOMES
from survey.fields import RowId, readable_text
from survey.form_posts import StaffForm
from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.responses.schemas import SubmissionSchema


class TargetSchema(Schema):
    county = fields.String(attribute="region.name", metadata={"description": "县（市、区）"})
    site_count = fields.Integer(metadata={"description": "该县的点位任务数"})


class ProjectSummarySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    year = fields.Integer()


class ProjectSchema(ProjectSummarySchema):
    city = fields.String(attribute="region.name")
    targets = fields.List(fields.Nested(TargetSchema))


class SiteSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    name = fields.String()
    address = fields.String()
    county = fields.String(attribute="region.name")
    level = fields.String(metadata={"description": "city_county（市县级）或 township（乡镇级）"})
    level_label = fields.String()
    active = fields.Boolean()


class OptionSchema(Schema):
    value = fields.Integer()
    label = fields.String()


class QuestionSchema(Schema):
    key = fields.String()
    kind = fields.String(
        metadata={"description": "satisfaction（五级满意度）/ choice（单选）/ multi（多选）/ text"}
    )
    prompt = fields.String()
    required = fields.Boolean()
    options = fields.Method(
        "_options",
        metadata={"description": "可选的回答；多选题回答其中几项的 value 列表；简答题为空"},
    )

    def _options(self, question) -> list[dict]:
        if question.kind == "satisfaction":
            return [{"value": v, "label": label} for v, label in SATISFACTION_LEVELS.items()]
        return [{"value": i, "label": label} for i, label in enumerate(question.options or [])]


class QuestionnaireVersionSchema(Schema):
    id = fields.Integer()
    number = fields.Integer()
    questions = fields.List(fields.Nested(QuestionSchema))


class SiteFormSchema(Schema):
    """Everything a kiosk needs to show a site's form and submit it once."""

    site = fields.Nested(SiteSchema)
    project = fields.Nested(ProjectSummarySchema)
    questionnaire = fields.Nested(QuestionnaireVersionSchema)
    nonce = fields.String(metadata={"description": "提交时原样带上；同一个 nonce 只计一次"})


class ApiSubmissionSchema(SubmissionSchema):
    device = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[0-9a-f]{32}$", error="设备标识应为 32 位十六进制字符。"),
        metadata={
            "description": "可选：客户端自己保存的设备标识（32 位十六进制）。同一设备 "
            "12 小时内对同一点位的再次评价替换上一次；不带它的重复评价会被标记为疑似刷评"
        },
    )


class SubmissionResultSchema(Schema):
    id = fields.Integer(metadata={"description": "评价记录编号"})
    outcome = fields.String(
        metadata={"description": "created（新增）/ updated（替换同一设备的上一次）/ duplicate"}
    )
    flagged = fields.Boolean(
        metadata={
            "description": "true：疑似刷评，已保存但暂不计入满意率，待市级审核（docs/METRICS.md）"
        }
    )


# -- what other systems read, a page at a time (survey.api.listing_views) --------------


class RatingSchema(Schema):
    """An answer to a question with options; free text is left out (see AnswerSchema)."""

    question = fields.String(attribute="question.key", metadata={"description": "题目的 key"})
    prompt = fields.String(attribute="question.prompt")
    choice = fields.Integer(
        allow_none=True, metadata={"description": "满意度题为 1–5（5 非常满意），单选题为选项序号"}
    )
    choices = fields.List(
        fields.Integer(), allow_none=True, metadata={"description": "多选题选中的选项序号"}
    )


class PlaceSchema(Schema):
    """Where a record belongs: its site and county."""

    site_id = fields.Integer()
    site_name = fields.String(attribute="site.name")
    county = fields.String(attribute="site.region.name", metadata={"description": "县（市、区）"})


class AnswerSchema(PlaceSchema):
    """One answer, without anything about who gave it: no phone number, device, address,
    comment or free-text answer (residents may write their names and numbers there)."""

    id = fields.Integer()
    channel = fields.String(
        metadata={"description": "qr（扫码）/ phone（电话抽查）/ visit（现场暗访）"}
    )
    proxy = fields.Boolean(metadata={"description": "电话抽查由家属代答（不计入满意率）"})
    overall = fields.Integer(metadata={"description": "总体满意度 1–5"})
    overall_label = fields.Function(lambda response: SATISFACTION_LEVELS[response.overall])
    submitted_at = fields.DateTime(attribute="created_at")
    updated_at = fields.DateTime(
        allow_none=True, metadata={"description": "同一设备再次评价替换本条的时间"}
    )
    flag = fields.String(
        allow_none=True,
        metadata={
            "description": "疑似刷评：null 正常；pending 待审核 / confirmed 确认刷评（均不计入）；"
            "restored 已恢复计入"
        },
    )
    counted = fields.Boolean(metadata={"description": "是否计入满意率"})
    ratings = fields.Method("_ratings")

    def _ratings(self, response) -> list:
        answers = [a for a in response.answers if a.question.kind != "text"]
        return RatingSchema(many=True).dump(answers)


class AlertSchema(Schema):
    """A ``stats.summaries.Alert``: what the dashboard asks the bureau to look at."""

    kind = fields.String(
        metadata={
            "description": "low（满意率低于 90%）/ drop（环比显著下降）/ "
            "discrepancy（自评与抽查差异显著）"
        }
    )
    name = fields.String(attribute="scope_name", metadata={"description": "点位或县的名称"})
    site_id = fields.Integer(allow_none=True, metadata={"description": "县级提醒时为 null"})
    message = fields.String()


class AttemptSchema(Schema):
    at = fields.DateTime()
    outcome = fields.String()
    outcome_label = fields.Function(lambda attempt: OUTCOMES[attempt.outcome])


class CallSchema(PlaceSchema):
    """A phone spot-check task's outcome: no name, number or note of the resident."""

    id = fields.Integer()
    batch_id = fields.Integer()
    status = fields.String(metadata={"description": "open 待拨打，其余为结果"})
    status_label = fields.String()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    response_id = fields.Integer(allow_none=True, metadata={"description": "接通完成时的回答编号"})
    attempts = fields.List(fields.Nested(AttemptSchema))


class CheckedItemSchema(Schema):
    item = fields.String()
    required = fields.Boolean(metadata={"description": "必备项"})
    result = fields.String(metadata={"description": "pass（通过）/ fail（未通过）/ unverified"})


class VisitSchema(PlaceSchema):
    """An unannounced visit: its checklist and findings (not the inspectors' names)."""

    id = fields.Integer()
    visited_on = fields.Date()
    checklist = fields.List(fields.Nested(CheckedItemSchema))
    findings = fields.String()
    summary = fields.String()
    photos = fields.Function(lambda visit: len(visit.photos), metadata={"description": "照片数"})
    created_at = fields.DateTime()


class SiteLinkSchema(Schema):
    """A site with its survey link and QR symbols (null while the site is retired)."""

    site = fields.Nested(SiteSchema)
    code = fields.String(allow_none=True, metadata={"description": "点位码（海报上的短码）"})
    printed_url = fields.String(allow_none=True, metadata={"description": "二维码中的链接"})
    qr_png_url = fields.String(allow_none=True)
    qr_svg_url = fields.String(allow_none=True)


class CaseStepSchema(Schema):
    """A step on a case's timeline: what, when, against which deadline (not who, nor the
    notes: staff write residents' words there)."""

    kind = fields.String(
        metadata={
            "description": "opened / joined / complaint / verified / complex / rectified / "
            "followup_missed / followed_up / unreachable / overdue / appealed / "
            "appeal_upheld / appeal_rejected"
        }
    )
    label = fields.String(attribute="kind_label")
    at = fields.DateTime()
    due = fields.Date(allow_none=True)
    late = fields.Boolean(metadata={"description": "在期限之后办理"})


class CaseSchema(Schema):
    """A 整改单: opened by a bad rating, its state and working-day deadlines; no personal
    data."""

    id = fields.Integer()
    site_id = fields.Integer()
    site_name = fields.String(attribute="site.name")
    county = fields.String(attribute="region.name", metadata={"description": "县（市、区）"})
    opened_on = fields.Date(attribute="arrived_on", metadata={"description": "差评日期"})
    state = fields.String(
        metadata={"description": "verifying / rectifying / following_up / appealing / closed"}
    )
    state_label = fields.String(attribute="shown_state")
    outcome = fields.String(
        allow_none=True, metadata={"description": "done / unreachable / appeal_upheld"}
    )
    verify_due = fields.Date()
    rectify_due = fields.Date(allow_none=True)
    followup_due = fields.Date(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "超期（办结后仍保留）"})
    complex = fields.Boolean()
    answers = fields.Function(lambda case: len(case.answers), metadata={"description": "差评数"})
    followup_score = fields.Integer(allow_none=True, metadata={"description": "回访重新评价 1–5"})
    closed_at = fields.DateTime(allow_none=True)


class CaseDetailSchema(CaseSchema):
    steps = fields.List(fields.Nested(CaseStepSchema))
    excluded_answers = fields.Function(
        lambda case: sum(link.excluded for link in case.answers),
        metadata={"description": "申诉成立、不计入满意率的差评数"},
    )


AnswerPageSchema = page_schema(AnswerSchema, "AnswerPageSchema")
CasePageSchema = page_schema(CaseSchema, "CasePageSchema")
AlertPageSchema = page_schema(AlertSchema, "AlertPageSchema")
CallPageSchema = page_schema(CallSchema, "CallPageSchema")
VisitPageSchema = page_schema(VisitSchema, "VisitPageSchema")
SiteLinkPageSchema = page_schema(SiteLinkSchema, "SiteLinkPageSchema")


#: What the token form says of a missing name and region.
NAME_NEEDED = "请填写名称（使用令牌的系统，如“省民生实事系统”）。"
REGION_NEEDED = "请选择令牌可读取的地区。"


class TokenFormSchema(StaffForm):
    """The new-token form: a name, the region it reads, an optional webhook URL."""

    name = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error=NAME_NEEDED),
            validate.Length(max=40, error="名称不超过 40 个字。"),
            readable_text,
        ],
        error_messages={"required": NAME_NEEDED},
    )
    region_id = RowId(
        required=True, error_messages={"required": REGION_NEEDED, "invalid": REGION_NEEDED}
    )
    webhook_url = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=500, error="地址不超过 500 个字符。"),
            validate.URL(
                schemes={"http", "https"},
                require_tld=False,
                error="推送地址须是 http:// 或 https:// 开头的完整网址。",
            ),
        ],
    )


token_form_schema = TokenFormSchema()
