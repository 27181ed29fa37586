"""What the resident form shows: questions with their options, what was chosen, what is wrong.

Computed here so the template only lays it out.
"""

from dataclasses import dataclass, field

from survey.responses.models import SATISFACTION_LEVELS, Question

#: One face per level, best first; the words beside them carry the meaning.
FACES = {5: "😄", 4: "😊", 3: "😐", 2: "😞", 1: "😣"}


@dataclass
class Option:
    value: str
    label: str
    checked: bool
    face: str = ""


@dataclass
class FormQuestion:
    name: str
    prompt: str
    kind: str
    required: bool
    error: str | None
    options: list[Option] = field(default_factory=list)
    text: str = ""


def _options(question: Question, chosen: str | None) -> list[Option]:
    if question.kind == "satisfaction":
        return [
            Option(str(score), label, str(score) == chosen, FACES[score])
            for score, label in SATISFACTION_LEVELS.items()
        ]
    if question.kind == "choice":
        return [Option(str(i), label, str(i) == chosen) for i, label in enumerate(question.options)]
    return []


def _first_message(messages) -> str | None:
    if messages is None:
        return None
    return messages[0] if isinstance(messages, list) else str(messages)


def build_form(questions: list[Question], chosen: dict, errors: dict) -> list[FormQuestion]:
    """The form's questions, with ``chosen`` values (as posted) kept and ``errors`` attached."""
    form = []
    for q in questions:
        value = chosen.get(q.key)
        value = value if isinstance(value, str) else None
        form.append(
            FormQuestion(
                name=f"q.{q.key}",
                prompt=q.prompt,
                kind=q.kind,
                required=q.required,
                error=_first_message(errors.get(q.key)),
                options=_options(q, value),
                text=(value or "") if q.kind == "text" else "",
            )
        )
    return form


def stray_error(questions: list[Question], errors: dict) -> str | None:
    """The first error that belongs to no question on the page (the page itself, or an
    unknown question key)."""
    shown = {q.key for q in questions} | {"comment"}
    stray = [messages for key, messages in errors.items() if key not in shown]
    return _first_message(stray[0]) if stray else None
