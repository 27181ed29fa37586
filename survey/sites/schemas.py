"""Query parameters and forms of the project, site and region pages."""

from marshmallow import ValidationError, fields, post_load, validate

from qr.poster import PAGE_SIZES
from survey.fields import RowId, WholeNumber, readable_text
from survey.form_posts import StaffForm
from survey.questionnaires.starters import STARTERS
from survey.sites.listing import SiteFilter
from survey.sites.models import PROJECT_STATUSES, SITE_LEVELS


class PosterQuerySchema(StaffForm):
    """``?size=A5`` (default) or ``?size=A4``, and ``confirmed=1`` after the loopback
    warning; other parameters (tracking tags) are ignored."""

    size = fields.String(
        load_default="A5", validate=validate.OneOf(list(PAGE_SIZES), error="纸张只能是 A5 或 A4。")
    )
    #: The user was told the link is a loopback address and chose to download anyway.
    confirmed = fields.Boolean(load_default=False)


poster_query_schema = PosterQuerySchema()


#: The longest search a list takes (its box says so too).
SEARCH_MAX = 100


class ListQuerySchema(StaffForm):
    """A long list's query in the URL: ``?county=<id>&q=<name or site code>&page=<n>`` (the
    site, roster, task and visit lists); blanks are "not given", other parameters are
    ignored. ``q`` is part of a site's name or code, never a phone number (URLs end up in
    access logs). Loads to the values and ``sites``, their SiteFilter."""

    county = RowId(load_default=None, error_messages={"invalid": "请从列表中选择县（市、区）。"})
    q = fields.String(
        load_default="",
        validate=[
            validate.Length(max=SEARCH_MAX, error=f"搜索内容不超过 {SEARCH_MAX} 个字。"),
            readable_text,
        ],
    )
    page = WholeNumber(
        load_default=1,
        validate=validate.Range(1, 1_000_000, error="页码应是正整数。"),
        error_messages={"invalid": "页码应是正整数。"},
    )

    @post_load
    def site_filter(self, data, **_kwargs):
        """The values, and the filter they make as ``sites``."""
        return data | {"sites": SiteFilter(data["county"], data["q"])}

    def load_leniently(self, args: dict) -> tuple[dict, list[str]]:
        """The query with its bad values dropped (the rest still apply: a mangled bookmark
        still shows the list), and the messages naming them, for beside the filters."""
        try:
            return self.load(args), []
        except ValidationError as err:
            problems = [message for messages in err.messages.values() for message in messages]
            return self.load(err.valid_data), problems


list_query_schema = ListQuerySchema()


def _single_line(value: str) -> None:
    """Refuse line breaks and control characters in a one-line field (names, hotlines)."""
    readable_text(value)
    if any(c in value for c in "\r\n\t"):
        raise ValidationError("请写在一行里，不要换行。")


def _name_field(label: str, max_length: int) -> fields.String:
    """A required one-line name of at most ``max_length`` characters (a project's, a
    region's); ``label`` names it in the messages."""
    return fields.String(
        required=True,
        validate=[
            validate.Length(
                min=1, max=max_length, error=f"请填写{label}（不超过 {max_length} 个字）。"
            ),
            _single_line,
        ],
        error_messages={"required": f"请填写{label}。"},
    )


#: ``0578-2123456``, ``12345``, ``(0577) 8888 6666 转 1``: digits and what separates them.
HOTLINE = validate.Regexp(
    r"^[0-9０-９\-－ ()（）转、/]*$",
    error="服务热线只能填数字、短横线、括号和“转”，如 0578-2123456。",
)


#: Form fields ``target.<county id>`` carry the per-county target counts.
TARGET_PREFIX = "target."


class ProjectSchema(StaffForm):
    """The project form. Targets come as ``target.<county id>`` fields; a blank one counts
    as 0. Which counties and cities may be chosen is checked by the service."""

    name = _name_field("项目名称", 200)
    year = WholeNumber(
        required=True,
        validate=validate.Range(2000, 2100, error="年度应在 2000 到 2100 之间。"),
        error_messages={"required": "请填写年度。", "invalid": "年度应是四位数字，如 2025。"},
    )
    region_id = RowId(
        required=True,
        error_messages={"required": "请选择项目所属的市。", "invalid": "请选择项目所属的市。"},
    )
    description = fields.String(
        load_default="",
        validate=[validate.Length(max=2000, error="项目说明不超过 2000 个字。"), readable_text],
    )
    hotline = fields.String(
        load_default="",
        validate=[
            validate.Length(max=30, error="服务热线不超过 30 个字符。"),
            _single_line,
            HOTLINE,
        ],
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(list(PROJECT_STATUSES), error="请选择项目状态。"),
        error_messages={"required": "请选择项目状态。"},
    )
    starter = fields.String(
        required=True,
        validate=validate.OneOf(list(STARTERS), error="请选择问卷模板。"),
        error_messages={"required": "请选择问卷模板。"},
    )
    targets = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(r"^[0-9]{1,9}$", error="没有这个县（市、区）。")
        ),
        values=WholeNumber(
            validate=validate.Range(0, 9999, error="目标点位数应是 0 到 9999 之间的整数。"),
            error_messages={"invalid": "目标点位数应是 0 到 9999 之间的整数。"},
        ),
        load_default=dict,
    )

    def tidy(self, data: dict) -> dict:
        """``target.<id>`` fields into one ``targets`` dict; blanks left out (0)."""
        targets = {
            key[len(TARGET_PREFIX) :]: value
            for key, value in data.items()
            if key.startswith(TARGET_PREFIX) and value != ""
        }
        rest = {k: v for k, v in data.items() if not k.startswith(TARGET_PREFIX)}
        return rest | {"targets": targets}

    @post_load
    def target_ids(self, data, **_kwargs):
        data["targets"] = {int(key): n for key, n in data["targets"].items()}
        return data


#: A new project starts active, from a starter questionnaire.
new_project_schema = ProjectSchema(exclude=("status",))
#: Editing keeps the questionnaire (its editor is elsewhere).
project_change_schema = ProjectSchema(exclude=("starter",))


def target_errors(messages: dict) -> dict[str, str]:
    """County id (as posted) → the first message about its target count, and ``""`` → a
    message about the targets as a whole; marshmallow nests a count's messages as
    ``{id: {"value": […]}}``."""
    nested = messages.get("targets", {})
    if isinstance(nested, list):
        return {"": nested[0]}
    found = {}
    for key, problems in nested.items():
        flat = [m for ms in problems.values() for m in ms] if isinstance(problems, dict) else []
        if flat:
            found[str(key)] = flat[0]
    return found


class RegionSchema(StaffForm):
    """A region's name (adding and renaming), and where a new one goes."""

    name = _name_field("地区名称", 50)
    parent_id = RowId(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": "上级地区不存在，请刷新页面后重试。"},
    )
    level = fields.String(load_default=None, allow_none=True)


region_schema = RegionSchema()
region_name_schema = RegionSchema(only=("name",))


class _SiteFields(StaffForm):
    """What a site is, whether typed into the form or read from a row of a site list. The
    messages read well both beside a form field and after a line number in a report."""

    name = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error="点位名称不能为空。"),
            validate.Length(max=200, error="点位名称不能超过 200 个字。"),
            _single_line,
        ],
        error_messages={"required": "点位名称不能为空。"},
    )
    address = fields.String(
        load_default="",
        validate=[validate.Length(max=300, error="地址不能超过 300 个字。"), _single_line],
    )
    level = fields.String(
        required=True,
        validate=validate.OneOf(list(SITE_LEVELS), error="级别只能是“市县级”或“乡镇级”。"),
        error_messages={"required": "级别只能是“市县级”或“乡镇级”。"},
    )
    contact = fields.String(
        load_default="",
        validate=[validate.Length(max=100, error="联系人不能超过 100 个字。"), _single_line],
    )


class SiteSchema(_SiteFields):
    """The site form: its county by id (which counties may be chosen: the service checks)."""

    region_id = RowId(
        required=True,
        error_messages={"required": "请选择县（市、区）。", "invalid": "请选择县（市、区）。"},
    )


site_schema = SiteSchema()

#: How a site list may write a level, besides the stored values.
_LEVEL_WORDS = {label: level for level, label in SITE_LEVELS.items()}


class SiteRowSchema(_SiteFields):
    """A row of an uploaded site list: its county by name, its level as 市县级 / 乡镇级."""

    county = fields.String(
        required=True,
        validate=[validate.Length(min=1, error="县（市、区）不能为空。"), _single_line],
        error_messages={"required": "县（市、区）不能为空。"},
    )

    def tidy(self, data: dict) -> dict:
        level = data.get("level")
        return data | ({"level": _LEVEL_WORDS[level]} if level in _LEVEL_WORDS else {})


site_row_schema = SiteRowSchema()
#: The row's fields in the order a report names the first problem of a row.
SITE_ROW_FIELDS = ("county", "name", "address", "level", "contact")


#: Most items a visit checklist may have (the longest seed list has 20).
MAX_CHECKLIST_ITEMS = 40


class ChecklistSchema(StaffForm):
    """The checklist editor's rows: each row's text (``item``, posted once per row; blank rows
    are dropped) and the row numbers ticked 必备 (``required``). Loads as the list of
    ``{"text", "required"}`` items."""

    item = fields.List(
        fields.String(
            validate=[validate.Length(max=200, error="每项检查内容不超过 200 个字。"), _single_line]
        ),
        load_default=list,
    )
    required = fields.List(WholeNumber(), load_default=list)

    @post_load
    def as_items(self, data, **_kwargs):
        ticked = set(data["required"])
        items = [
            {"text": text.strip(), "required": row in ticked}
            for row, text in enumerate(data["item"])
            if text.strip()
        ]
        if not items:
            raise ValidationError("至少要有一项检查内容。", "item")
        if len(items) > MAX_CHECKLIST_ITEMS:
            raise ValidationError(f"检查项最多 {MAX_CHECKLIST_ITEMS} 项。", "item")
        return items


checklist_schema = ChecklistSchema()
