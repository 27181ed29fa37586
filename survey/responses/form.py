"""What the resident form shows: questions with their options, what was chosen, what is wrong.

Computed here so the template only lays it out.
"""

from dataclasses import dataclass, field

from survey.questionnaires.models import SATISFACTION_LEVELS, Question
from survey.responses.schemas import missing_message

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
    #: What the form's script says when this required question is left unanswered.
    missing: str = ""
    #: The URL of the question read aloud (the 朗读 button plays it), if recorded.
    audio: str = ""

    @property
    def input_type(self) -> str:
        """Checkboxes for a multiple-choice question, radio buttons for the other kinds."""
        return "checkbox" if self.kind == "multi" else "radio"


def _options(question: Question, chosen: set[str]) -> list[Option]:
    if question.kind == "satisfaction":
        return [
            Option(str(score), label, str(score) in chosen, FACES[score])
            for score, label in SATISFACTION_LEVELS.items()
        ]
    if question.kind in ("choice", "multi"):
        options = question.options or []
        return [Option(str(i), label, str(i) in chosen) for i, label in enumerate(options)]
    return []


def _chosen(kind: str, value) -> set[str]:
    """The option values ticked, as posted: several for a multiple-choice question (a list),
    one otherwise (a list there is a forged post and ticks nothing)."""
    if isinstance(value, str):
        return {value}
    if kind == "multi" and isinstance(value, list):
        return {str(item) for item in value}
    return set()


def _first_message(messages) -> str | None:
    if messages is None:
        return None
    return messages[0] if isinstance(messages, list) else str(messages)


def build_form(
    questions: list[Question], chosen: dict, errors: dict, recordings: dict | None = None
) -> list[FormQuestion]:
    """The form's questions, with ``chosen`` values (as posted) kept and ``errors`` attached.
    ``questions`` are Question rows or anything with the same attributes (an editor's draft);
    ``recordings`` the URLs of questions read aloud, by key."""
    recordings = recordings or {}
    form = []
    for q in questions:
        value = chosen.get(q.key)
        text = value if isinstance(value, str) and q.kind == "text" else ""
        form.append(
            FormQuestion(
                name=f"q.{q.key}",
                prompt=q.prompt,
                kind=q.kind,
                required=q.required,
                error=_first_message(errors.get(q.key)),
                options=_options(q, _chosen(q.kind, value)),
                text=text,
                missing=missing_message(q.kind, q.prompt) if q.required else "",
                audio=recordings.get(q.key, ""),
            )
        )
    return form


def stray_error(questions: list[Question], errors: dict) -> str | None:
    """The first error that belongs to no question on the page (the page itself, or an
    unknown question key)."""
    shown = {q.key for q in questions} | {"comment", "phone"}
    stray = [messages for key, messages in errors.items() if key not in shown]
    return _first_message(stray[0]) if stray else None
