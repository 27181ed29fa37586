"""What a submission may look like, for the resident form and the API alike.

The envelope is fixed (:data:`submission_schema`); the answers are checked against the
questions of the version that was shown (:func:`answers_schema`).
"""

from functools import lru_cache

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from survey.responses.models import SATISFACTION_LEVELS, Question

COMMENT_MAX = 500
TEXT_ANSWER_MAX = 200


def readable_text(value: str) -> None:
    """Refuse text with U+FFFD (what invalid UTF-8 decodes to) or control characters."""
    if "\ufffd" in value or any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValidationError("内容里有无法识别的字符，请重新输入。")


class SubmissionSchema(Schema):
    """A submission: answers by question key, an optional comment, the form's nonce."""

    class Meta:
        unknown = RAISE

    answers = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        error_messages={"required": "请先回答问题。", "invalid": "回答的格式不对。"},
        metadata={"description": "问题 key → 回答：满意度 1–5，单选题为选项序号，简答题为文字"},
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


class WholeNumber(fields.Integer):
    """An int, or a string of ASCII digits (what an HTML form posts); never a fraction or a
    boolean, which a plain Integer would quietly turn into a score."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _AnswersBase(Schema):
    """Base of the per-version answer schemas: unknown question keys are refused."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "问卷里没有这个问题。"}

    @pre_load
    def drop_blanks(self, data, **_kwargs):
        """An optional question left blank is simply not answered."""
        if not isinstance(data, dict):
            return data
        data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in data.items() if v not in (None, "")}


def _answer_field(kind: str, prompt: str, required: bool, options: int) -> fields.Field:
    messages = {"required": f"请回答“{prompt}”。"}
    if kind == "satisfaction":
        return WholeNumber(
            required=required,
            validate=validate.OneOf(list(SATISFACTION_LEVELS), error="请从五个选项中选择一个。"),
            error_messages=messages | {"invalid": "请从五个选项中选择一个。"},
        )
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
