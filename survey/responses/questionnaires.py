"""Editing a project's questionnaire: the draft the editor works on, the changes its buttons
make, and publishing it.

The draft lives in the editor's form, not the database: every button posts it whole and
gets it back changed, so the editor works without JavaScript and nothing is stored until
it is published. Publishing an answered questionnaire makes a new version (old answers keep
the wording they were given with); a question keeps its key from version to version, so its
answers line up.
"""

import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.questionnaires.models import OVERALL_KEY, Questionnaire, QuestionnaireVersion
from survey.questionnaires.services import create_questionnaire, revise_questionnaire
from survey.questionnaires.starters import STARTERS, starter_questions
from survey.responses import recordings
from survey.responses.schemas import KINDS_WITH_OPTIONS, MAX_QUESTIONS, OVERALL_RULE, QUESTION_KINDS
from survey.sites.models import Project, Site, SiteToken

#: What a question added in the editor starts with.
_NEW_OPTIONS = {"choice": ["好", "一般", "不好"], "multi": []}
#: Keys the editor generated: ``q<n>``. A longer number was typed into a forged form; counting
#: it would make the next key longer than a key may be.
_GENERATED_KEY = re.compile(r"^q(\d{1,9})$")


class EditorError(ValueError):
    """A change the editor refuses (the message says why, in Chinese)."""


@dataclass
class DraftQuestion:
    """A question as the editor holds it; ``key`` is blank until first published."""

    key: str
    kind: str
    prompt: str
    required: bool = False
    options: list[str] = field(default_factory=list)

    @property
    def is_overall(self) -> bool:
        return self.key == OVERALL_KEY


def draft_of(version: QuestionnaireVersion) -> list[DraftQuestion]:
    """The questions of a version, as a draft to edit."""
    return [
        DraftQuestion(q.key, q.kind, q.prompt, q.required, list(q.options or []))
        for q in version.questions
    ]


def draft_from(rows: list[dict]) -> list[DraftQuestion]:
    """A draft from question dicts (as posted, or a starter's)."""
    return [
        DraftQuestion(
            key=row.get("key", ""),
            kind=row["kind"],
            prompt=row["prompt"],
            required=bool(row.get("required", False)),
            options=list(row.get("options") or []),
        )
        for row in rows
    ]


def as_dicts(draft: list[DraftQuestion]) -> list[dict]:
    """The draft as plain dicts, for the schema that judges it."""
    return [asdict(question) for question in draft]


def edit_draft(draft: list[DraftQuestion], op: str, starter: str = "") -> list[DraftQuestion]:
    """The draft after one editor button: ``add-<kind>``, ``up-<n>``, ``down-<n>``,
    ``remove-<n>`` (n counts from 0), ``starter`` (the template ``starter`` replaces the
    draft) or ``preview`` (no change). Raises EditorError for a change not allowed: the
    overall question never moves or goes, and nothing moves above it."""
    draft = list(draft)
    action, _, arg = op.partition("-")
    if action == "preview":
        return draft
    if action == "starter":
        if starter not in STARTERS:
            raise EditorError("请选择一个模板。")
        return draft_from(starter_questions(starter))
    if action == "add":
        if len(draft) >= MAX_QUESTIONS:
            raise EditorError(f"问题最多{MAX_QUESTIONS}个。")
        options = list(_NEW_OPTIONS.get(arg, []))
        return [*draft, DraftQuestion("", arg, "", False, options)]
    index = int(arg)
    if not 0 <= index < len(draft):
        raise EditorError("没有这个问题，请重新打开编辑页面。")
    if draft[index].is_overall or index == 0:
        raise EditorError(OVERALL_RULE)
    if action == "remove":
        del draft[index]
        return draft
    other = index - 1 if action == "up" else index + 1
    if other == 0:
        raise EditorError("总体满意度问题固定在第一个，其他问题不能移到它前面。")
    if other == len(draft):
        raise EditorError("这已经是最后一个问题。")
    draft[index], draft[other] = draft[other], draft[index]
    return draft


def _key_history(questionnaire: Questionnaire) -> dict[str, str]:
    """Every key the questionnaire's versions used, with its latest kind."""
    return {q.key: q.kind for version in questionnaire.versions for q in version.questions}


def with_keys(questionnaire: Questionnaire, questions: list[dict]) -> list[dict]:
    """``questions`` (validated dicts) with a key each. A question keeps its key, so its
    answers line up across versions, unless its kind changed (then its answers mean something
    else); a new one gets the next ``q<n>`` never used in this questionnaire."""
    history = _key_history(questionnaire)
    used = {*history, *(q["key"] for q in questions)}
    numbers = [int(m[1]) for m in map(_GENERATED_KEY.match, used) if m]
    next_number = max(numbers, default=0) + 1
    keyed = []
    for question in questions:
        key = question["key"]
        if not key or (
            key != OVERALL_KEY and history.get(key, question["kind"]) != question["kind"]
        ):
            while f"q{next_number}" in used:  # a posted key such as q0001000000000
                next_number += 1
            key, next_number = f"q{next_number}", next_number + 1
        keyed.append(question | {"key": key})
    return keyed


def _unchanged(version: QuestionnaireVersion, questions: list[dict]) -> bool:
    shown = [(q.key, q.kind, q.prompt, q.required, q.options) for q in version.questions]
    posted = [(q["key"], q["kind"], q["prompt"], q["required"], q["options"]) for q in questions]
    return shown == posted


def _shared(session: Session, project: Project) -> bool:
    """Whether another project answers with the same questionnaire."""
    query = select(func.count()).where(
        Project.questionnaire_id == project.questionnaire_id, Project.id != project.id
    )
    return session.scalar(query) > 0


def publish(
    session: Session, project: Project, questions: list[dict], actor: Actor
) -> QuestionnaireVersion | None:
    """Publish ``questions`` (validated by ``questionnaire_schema``) as the project's next
    questionnaire version, with the recordings of what it still reads the same, and log it.
    Returns the version, or None when the questions are what residents already see.

    A questionnaire shared with another project is not touched: this project gets its own
    copy. Never commits.
    """
    questionnaire = project.questionnaire
    current = questionnaire.current_version
    questions = with_keys(questionnaire, questions)
    if _unchanged(current, questions):
        return None
    if _shared(session, project):
        project.questionnaire = create_questionnaire(session, questionnaire.name, questions)
        version, how = project.questionnaire.current_version, "另建本项目自己的问卷"
    else:
        version, how = revise_questionnaire(session, questionnaire, questions), "发布新版本"
    carried = recordings.carry_over(session, current, version)
    kept = f"，沿用朗读录音{carried}段" if carried else ""
    record(
        session,
        "questionnaire_published",
        actor,
        f"{project.name}：第{version.number}版，{len(questions)}个问题（{how}）{kept}",
    )
    return version


def live_tokens(session: Session, project: Project) -> list[str]:
    """The live link tokens of the project's sites (their cached form pages must go)."""
    query = (
        select(SiteToken.token)
        .join(Site, SiteToken.site_id == Site.id)
        .where(Site.project_id == project.id, SiteToken.retired_at.is_(None))
    )
    return list(session.scalars(query))


@dataclass
class EditorRow:
    """One question of the editor page, with what its buttons may do and what is wrong."""

    index: int
    question: DraftQuestion
    errors: dict
    can_move_up: bool
    can_move_down: bool

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def options_text(self) -> str:
        return "\n".join(self.question.options)

    @property
    def uses_options(self) -> bool:
        return self.question.kind in KINDS_WITH_OPTIONS

    @property
    def kind_label(self) -> str:
        return QUESTION_KINDS.get(self.question.kind, self.question.kind)


def editor_rows(draft: list[DraftQuestion], errors: dict) -> list[EditorRow]:
    """The editor's rows; ``errors`` by question index, then field."""
    last = len(draft) - 1
    return [
        EditorRow(
            index=i,
            question=question,
            errors={name: " ".join(found) for name, found in errors.get(i, {}).items()},
            can_move_up=i > 1,
            can_move_down=0 < i < last,
        )
        for i, question in enumerate(draft)
    ]


@dataclass
class PreviewQuestion:
    """A draft question as the resident form reads it (a Question row's attributes)."""

    key: str
    kind: str
    prompt: str
    required: bool
    options: list[str] | None


def preview_questions(draft: list[DraftQuestion]) -> list[PreviewQuestion]:
    """The draft as the form shows it; unsaved questions get stand-in keys, so their radio
    buttons do not fall into one group."""
    return [
        PreviewQuestion(
            q.key or f"draft{i}",
            q.kind,
            q.prompt or "（还没写题目）",
            q.required,
            q.options if q.kind in KINDS_WITH_OPTIONS else None,
        )
        for i, q in enumerate(draft)
    ]
