"""Stored answers as staff read them: each in the wording of the version it answered.

A questionnaire edited after it was answered keeps its old version (survey.responses
.questionnaires), so an old answer is shown with the prompt and options it was given with.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.questionnaires.models import OVERALL_KEY, SATISFACTION_LEVELS, Question
from survey.responses.models import Answer

#: Between the labels of the options chosen in one multiple-choice answer.
JOINER = "、"


@dataclass(frozen=True)
class ReadAnswer:
    """One answer: the question as it was asked and the answer as words."""

    prompt: str
    value: str


def _label(options: list[str] | None, index: int) -> str:
    options = options or []
    return options[index] if 0 <= index < len(options) else f"第{index + 1}项"


def answer_text(kind: str, options: list[str] | None, choice, choices, text) -> str:
    """An answer's value as words: the level's name, the option's label, the labels of the
    options chosen joined with "、", or the text."""
    if kind == "text":
        return text or ""
    if kind == "multi":
        return JOINER.join(_label(options, i) for i in choices or [])
    if kind == "satisfaction":
        return SATISFACTION_LEVELS.get(choice, str(choice))
    return _label(options, choice)


def answers_by_response(session: Session, response_ids: list[int]) -> dict[int, list[ReadAnswer]]:
    """The answers of these responses other than the overall one (every listing shows that
    already), in question order; responses without such answers are left out."""
    if not response_ids:
        return {}
    query = (
        select(
            Answer.response_id,
            Question.prompt,
            Question.kind,
            Question.options,
            Answer.choice,
            Answer.choices,
            Answer.text,
        )
        .join(Question, Answer.question_id == Question.id)
        .where(Answer.response_id.in_(response_ids), Question.key != OVERALL_KEY)
        .order_by(Answer.response_id, Question.position)
    )
    found: dict[int, list[ReadAnswer]] = {}
    for response_id, prompt, kind, options, choice, choices, text in session.execute(query):
        value = answer_text(kind, options, choice, choices, text)
        found.setdefault(response_id, []).append(ReadAnswer(prompt, value))
    return found


def one_line(answers: list[ReadAnswer]) -> str:
    """Answers in one spreadsheet cell: "prompt：value；prompt：value"."""
    return "；".join(f"{a.prompt}：{a.value}" for a in answers)
