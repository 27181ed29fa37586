"""Questionnaires with immutable versions and their questions."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import db, now_utc

#: The national 5-level scale, best first: stored score → label.
SATISFACTION_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
#: Every questionnaire opens with this question; satisfaction rates are computed from it.
OVERALL_KEY = "overall"


class Questionnaire(db.Model):
    """A questionnaire; what residents answer is always one of its immutable versions."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    versions: Mapped[list["QuestionnaireVersion"]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.number"
    )

    @property
    def current_version(self) -> "QuestionnaireVersion":
        return self.versions[-1]


class QuestionnaireVersion(db.Model):
    """One wording of a questionnaire. Once answered it is never changed again."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")
    questions: Mapped[list["Question"]] = relationship(
        back_populates="version", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(db.Model):
    """A question of one questionnaire version."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        UniqueConstraint("version_id", "position"),
        CheckConstraint("kind in ('satisfaction', 'choice', 'multi', 'text')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"), index=True)
    position: Mapped[int]
    #: Stable name within the version, used in form fields and the API (``overall``, ``attitude``).
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=False)
    #: Option labels of a ``choice`` or ``multi`` question; an answer stores the option's
    #: index (``choice``) or the sorted indexes chosen (``multi``, in ``Answer.choices``).
    options: Mapped[list[str] | None] = mapped_column(JSON)

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="questions")
