"""What the API answers with."""

from marshmallow import Schema, fields, validate

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
