"""What a submission may look like, for the resident form and the API alike; and what a
questionnaire may look like, for its editor.

The envelope is fixed (:data:`submission_schema`); the answers are checked against the
questions of the version that was shown (:func:`answers_schema`). The editor's form is read
leniently (:data:`editor_form_schema`) and judged when published (:data:`questionnaire_schema`).
"""

import re
from functools import lru_cache

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from survey.fields import RowId, WholeNumber, readable_text
from survey.form_posts import StaffForm
from survey.phones import BadPhone, normalize_phone
from survey.questionnaires.models import OVERALL_KEY, SATISFACTION_LEVELS, Question

COMMENT_MAX = 500
TEXT_ANSWER_MAX = 200


def _phone_or_empty(value: str) -> None:
    if value:
        try:
            normalize_phone(value)
        except BadPhone as err:
            raise ValidationError(f"{err}。请检查，或者不填。") from None


class SubmissionSchema(Schema):
    """A submission: answers by question key, an optional comment, the form's nonce."""

    class Meta:
        unknown = RAISE

    answers = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        error_messages={"required": "请先回答问题。", "invalid": "回答的格式不对。"},
        metadata={
            "description": "问题 key → 回答：满意度 1–5，单选题为选项序号，"
            "多选题为选项序号的列表（如 [0, 2]），简答题为文字"
        },
    )
    comment = fields.String(
        load_default="",
        validate=[
            validate.Length(max=COMMENT_MAX, error=f"留言请不超过{COMMENT_MAX}字。"),
            readable_text,
        ],
        error_messages={"invalid": "留言的格式不对。"},
    )
    nonce = fields.String(
        required=True,
        error_messages={"required": "页面已过期，请重新提交。"},
        metadata={"description": "取自表单或 GET /api/v1/sites/{token}；同一个 nonce 只计一次"},
    )
    phone = fields.String(
        load_default="",
        validate=_phone_or_empty,
        error_messages={"invalid": "电话的格式不对。"},
        metadata={
            "description": "可不填：居民愿意接受整改回访时留下的手机号或带区号的固定电话；"
            "加密保存，只有回访的县级人员可查看（记入日志），不会导出"
        },
    )

    @post_load
    def normalized_phone(self, data, **_kwargs):
        """The number in its canonical form (survey.phones), or None when left empty."""
        return data | {"phone": normalize_phone(data["phone"]) if data["phone"] else None}


class _AnswersBase(Schema):
    """Base of the per-version answer schemas: unknown question keys are refused."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "问卷里没有这个问题。"}

    @pre_load
    def drop_blanks(self, data, **_kwargs):
        """An optional question left blank (or a multiple-choice one with nothing ticked) is
        simply not answered."""
        if not isinstance(data, dict):
            return data
        data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in data.items() if v not in (None, "", [])}


_OPTION_INDEX = WholeNumber()


class OptionIndexes(fields.Field):
    """The options chosen in a multiple-choice question: a list of indexes (the API), or one
    index as text (a form with one box ticked; several ticked boxes arrive as a list).
    Loaded as the sorted indexes, each once: a repeated index counts once."""

    default_error_messages = {"invalid": "请从给出的选项中选择（可以选多项）。"}

    def __init__(self, count: int, **kwargs):
        super().__init__(**kwargs)
        self.count = count

    def _index(self, item) -> int:
        try:
            item = _OPTION_INDEX.deserialize(item)
        except ValidationError:
            raise self.make_error("invalid") from None
        if not item < self.count:
            raise self.make_error("invalid")
        return item

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.make_error("invalid")
        return sorted({self._index(item) for item in value})


def missing_message(kind: str, prompt: str) -> str:
    """What a resident is told when a required question has no answer (the form's script
    says it too, before sending)."""
    return "请至少选一项。" if kind == "multi" else f"请回答“{prompt}”。"


def _answer_field(kind: str, prompt: str, required: bool, options: int) -> fields.Field:
    messages = {"required": missing_message(kind, prompt)}
    if kind == "satisfaction":
        return WholeNumber(
            required=required,
            validate=validate.OneOf(list(SATISFACTION_LEVELS), error="请从五个选项中选择一个。"),
            error_messages=messages | {"invalid": "请从五个选项中选择一个。"},
        )
    if kind == "multi":
        return OptionIndexes(options, required=required, error_messages=messages)
    if kind == "choice":
        return WholeNumber(
            required=required,
            validate=validate.Range(0, options - 1, error="请从给出的选项中选择。"),
            error_messages=messages | {"invalid": "请从给出的选项中选择。"},
        )
    return fields.String(
        required=required,
        validate=[
            validate.Length(max=TEXT_ANSWER_MAX, error=f"请不超过{TEXT_ANSWER_MAX}字。"),
            readable_text,
        ],
        error_messages=messages | {"invalid": "回答的格式不对。"},
    )


def answers_schema(questions: list[Question]) -> Schema:
    """A schema that loads ``{key: value}`` answers to these questions into typed values."""
    spec = tuple((q.key, q.kind, q.prompt, q.required, len(q.options or ())) for q in questions)
    return _answers_schema(spec)


@lru_cache(maxsize=256)
def _answers_schema(spec: tuple) -> Schema:
    # Cached by the questions' content, not their version (an unanswered version may still be
    # edited): building a schema class costs more than validating a submission.
    fields_ = {key: _answer_field(*question) for key, *question in spec}
    return _AnswersBase.from_dict(fields_, name="Answers")()


submission_schema = SubmissionSchema()


# -- the questionnaire editor ----------------------------------------------------------

#: The kinds of question the form can show, as stored → as named in the editor.
QUESTION_KINDS = {
    "satisfaction": "五级满意度",
    "choice": "单选题",
    "multi": "多选题",
    "text": "简答题",
}
#: Kinds whose answers are picked from the question's options.
KINDS_WITH_OPTIONS = ("choice", "multi")
#: Above this many questions the editor advises cutting: a 75-year-old answers five in a minute.
ADVISED_QUESTIONS = 5
MAX_QUESTIONS = 20
MIN_OPTIONS, MAX_OPTIONS = 2, 10
PROMPT_MAX = 200  # the column's length
OPTION_MAX = 50
#: A question's key: ASCII, stable across versions, used in form fields and the API; blank
#: for a question the editor added (it gets one when published).
KEY_OR_BLANK = r"^([A-Za-z][A-Za-z0-9_]{0,39})?\Z"
#: What an editor button asks for: save, preview (redraw), a template, add a question of a
#: kind, or move / remove the question at an index.
EDITOR_OP = (
    r"^(save|preview|starter|add-(satisfaction|choice|multi|text)|(up|down|remove)-\d{1,3})\Z"
)
_EDITOR_FIELD = re.compile(r"^questions-(\d{1,3})-(key|kind|prompt|required|options)$")
#: More rows than this in one post is not the editor's doing.
_MAX_POSTED_ROWS = 100
OVERALL_RULE = (
    "第一个问题必须是总体满意度问题（五级满意度、必答），它不能删除、移动或改题型，只能改文字。"
)


def option_lines(text: str) -> list[str]:
    """The options typed in the editor's box, one a line; outer blank lines are dropped, a
    blank line between options is kept (and refused when saving)."""
    return [line.strip() for line in text.strip().splitlines()]


class DraftQuestionSchema(Schema):
    """One question of the editor's draft as posted, read leniently: the draft is shown
    again as typed, whatever is wrong with it; :class:`QuestionnaireSchema` judges it."""

    class Meta:
        unknown = EXCLUDE

    key = fields.String(load_default="")
    kind = fields.String(load_default="choice")
    prompt = fields.String(load_default="")
    required = fields.Boolean(load_default=False)
    options = fields.String(load_default="")

    @post_load
    def _lines(self, data, **_kwargs):
        return data | {"key": data["key"].strip(), "options": option_lines(data["options"])}


class EditorFormSchema(Schema):
    """The editor's form: the button pressed (``op``), the template chosen, and the draft's
    questions posted as ``questions-<n>-<field>``, in the order shown."""

    class Meta:
        unknown = EXCLUDE

    op = fields.String(
        required=True,
        validate=validate.Regexp(EDITOR_OP, error="没有这个操作。"),
        error_messages={"required": "没有这个操作。"},
    )
    starter = fields.String(load_default="")
    questions = fields.List(fields.Nested(DraftQuestionSchema), load_default=list)

    @pre_load
    def _rows(self, form, **_kwargs):
        """Gather the flat form fields into one dict per question."""
        rows: dict[int, dict] = {}
        for name in form:
            match = _EDITOR_FIELD.match(name)
            if match:
                rows.setdefault(int(match[1]), {})[match[2]] = form[name]
        if len(rows) > _MAX_POSTED_ROWS:
            raise ValidationError("问题太多了。", "questions")
        data = {name: form[name] for name in ("op", "starter") if name in form}
        return data | {"questions": [rows[n] for n in sorted(rows)]}


def _prompt_length(value: str) -> None:
    if not value:
        raise ValidationError("请填写题目。")
    if len(value) > PROMPT_MAX:
        raise ValidationError(f"题目最多{PROMPT_MAX}字，现在有{len(value)}字，请改短一些。")


class QuestionSchema(Schema):
    """One question as it will be published. Options go with single and multiple choice
    only (2 to 10, none blank or repeated); other kinds drop what the box held."""

    class Meta:
        unknown = RAISE

    key = fields.String(
        load_default="", validate=validate.Regexp(KEY_OR_BLANK, error="问题编号的格式不对。")
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            list(QUESTION_KINDS), error="没有这种题型：请选五级满意度、单选、多选或简答。"
        ),
        error_messages={"required": "请选择题型。"},
    )
    prompt = fields.String(
        required=True,
        validate=[_prompt_length, readable_text],
        error_messages={"required": "请填写题目。"},
    )
    required = fields.Boolean(load_default=False)
    options = fields.List(fields.String(), load_default=list)

    @pre_load
    def _strip(self, data, **_kwargs):
        if isinstance(data, dict) and isinstance(data.get("prompt"), str):
            data = data | {"prompt": data["prompt"].strip()}
        return data

    @validates_schema(skip_on_field_errors=False)
    def _options(self, data, **_kwargs):
        if data.get("kind") not in KINDS_WITH_OPTIONS:
            return
        options = data.get("options", [])
        problems = []
        if len(options) < MIN_OPTIONS:
            problems.append(f"单选题、多选题至少要有{MIN_OPTIONS}个选项，每行写一个。")
        if len(options) > MAX_OPTIONS:
            problems.append(f"选项最多{MAX_OPTIONS}个，现在有{len(options)}个。")
        for number, label in enumerate(options, 1):
            if not label.strip():
                problems.append(f"第{number}个选项是空的：每行写一个选项，请删去空行。")
            elif len(label) > OPTION_MAX:
                problems.append(f"第{number}个选项太长了：每个选项最多{OPTION_MAX}字。")
            else:
                try:
                    readable_text(label)
                except ValidationError as err:
                    problems.extend(err.messages)
        repeated = sorted({o for o in options if o.strip() and options.count(o) > 1})
        if repeated:
            problems.append(f"选项重复了：{'、'.join(repeated)}。")
        if problems:
            raise ValidationError(problems, "options")

    @post_load
    def _fields(self, data, **_kwargs):
        if data["kind"] in KINDS_WITH_OPTIONS:
            return data | {"options": [o.strip() for o in data["options"]]}
        return data | {"options": None}


def _looks_overall(question) -> bool:
    """Whether a question as posted is the overall one, unchanged in kind and required."""
    if not isinstance(question, dict):
        return False
    try:
        required = fields.Boolean().deserialize(question.get("required", False))
    except ValidationError:
        return False
    kind = question.get("kind")
    return question.get("key") == OVERALL_KEY and kind == "satisfaction" and required


class QuestionnaireSchema(Schema):
    """A questionnaire to publish: at least the overall question, first and unchanged in kind
    and required, then at most 19 more; keys (where given) each once."""

    class Meta:
        unknown = EXCLUDE

    questions = fields.List(
        fields.Nested(QuestionSchema),
        required=True,
        error_messages={"required": "问卷里至少要有一个问题：总体满意度问题。"},
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _shape(self, _data, original, **_kwargs):
        # Judged on what was posted, so these problems show beside a question's own ones.
        questions = original.get("questions") if isinstance(original, dict) else None
        if not isinstance(questions, list):
            return
        if not questions:
            raise ValidationError("问卷里至少要有一个问题：总体满意度问题。")
        problems = []
        if len(questions) > MAX_QUESTIONS:
            problems.append(f"问题最多{MAX_QUESTIONS}个，现在有{len(questions)}个。")
        keys = [q.get("key") for q in questions if isinstance(q, dict) and q.get("key")]
        if not _looks_overall(questions[0]) or keys.count(OVERALL_KEY) != 1:
            problems.append(OVERALL_RULE)
        if len(set(keys)) != len(keys):
            problems.append("有两个问题的编号相同，请重新打开编辑页面再改。")
        if problems:
            raise ValidationError(problems)


editor_form_schema = EditorFormSchema()
questionnaire_schema = QuestionnaireSchema()


class RecordingTargetSchema(StaffForm):
    """Which recording an upload is (the file comes apart): the region it is for and the
    question's key (or ``thanks``); checked against the version by the view."""

    region = RowId(required=True, error_messages={"invalid": "地区有误，请重新打开录音页面。"})
    key = fields.String(required=True, validate=validate.Length(min=1, max=40))


recording_target_schema = RecordingTargetSchema()
