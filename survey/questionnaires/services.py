"""Making questionnaires and publishing their next versions. Never commits."""

from sqlalchemy.orm import Session

from survey.questionnaires.models import OVERALL_KEY, Question, Questionnaire, QuestionnaireVersion


def _question_rows(questions: list[dict]) -> list[Question]:
    """Question rows in the given order. Raises ValueError unless the overall 5-level
    question comes first, so every project's satisfaction rate stays comparable."""
    first = questions[0] if questions else {}
    if (first.get("key"), first.get("kind"), first.get("required")) != (
        OVERALL_KEY,
        "satisfaction",
        True,
    ):
        raise ValueError("the first question must be the required overall satisfaction question")
    return [Question(position=i, **q) for i, q in enumerate(questions)]


def create_questionnaire(session: Session, name: str, questions: list[dict]) -> Questionnaire:
    """A new questionnaire whose version 1 has ``questions`` (dicts of Question fields)."""
    questionnaire = Questionnaire(name=name)
    version = QuestionnaireVersion(number=1, questions=_question_rows(questions))
    questionnaire.versions.append(version)
    session.add(questionnaire)
    session.flush()
    return questionnaire


def revise_questionnaire(
    session: Session, questionnaire: Questionnaire, questions: list[dict]
) -> QuestionnaireVersion:
    """Publish ``questions`` as the questionnaire's next version and return it.

    A version is never edited, answered or not: a form opened before the change still
    submits against the version it showed (its questions are still there), so an answer
    racing a change is neither lost nor turned into a database error, and every answer
    reads in the words its resident saw.
    """
    number = questionnaire.current_version.number + 1
    version = QuestionnaireVersion(number=number, questions=_question_rows(questions))
    questionnaire.versions.append(version)
    session.flush()
    return version
