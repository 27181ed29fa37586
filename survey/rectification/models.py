"""The holiday notices admins enter for the years ``chinese-calendar`` does not cover yet;
整改单 (cases): opened by a bad rating, verified, rectified and followed up within
working-day deadlines; their timeline of steps; the answers that opened or joined them."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.accounts.models import User
from survey.db import db, label_of, now_utc, one_of
from survey.regions.models import Region
from survey.responses.models import Response
from survey.sites.models import Project, Site


class HolidayNotice(db.Model):
    """One year's 节假日安排 as the State Council's notice gives it, entered by an admin:
    the days off and the weekend days worked (调休). It replaces whatever the
    ``chinese-calendar`` package says of that year (survey.rectification.workdays)."""

    __tablename__ = "holiday_notices"
    # The years the service deals in, as a project's (survey.fields).
    __table_args__ = (CheckConstraint("year between 2000 and 2100", name="year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    #: The days off, as ISO dates (``"2027-02-08"``), sorted; weekend days may be among them.
    days_off: Mapped[list] = mapped_column(JSON)
    #: The Saturdays and Sundays worked instead (调休上班), as ISO dates, sorted.
    workdays: Mapped[list] = mapped_column(JSON)
    #: Where it comes from: 「国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕×号）」.
    source: Mapped[str] = mapped_column(String(200))
    #: Who entered it last (a replacement names its own admin), and when.
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entered_at: Mapped[datetime] = mapped_column(default=now_utc)

    entered_by: Mapped[User] = relationship()

    @property
    def off_days(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.days_off]

    @property
    def worked_days(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.workdays]


#: Where a case stands, as stored → as shown (an appeal that fails sends it back).
CASE_STATES = {
    "verifying": "待核实",
    "rectifying": "整改中",
    "following_up": "待回访",
    "appealing": "申诉中",
    "closed": "已办结",
}
#: How a closed case ended.
OUTCOMES = {"done": "已办结", "unreachable": "无法回访", "appeal_upheld": "申诉成立"}
#: The states whose deadline runs, and the due-date column each one's deadline is in.
DUE_OF_STATE = {
    "verifying": "verify_due",
    "rectifying": "rectify_due",
    "following_up": "followup_due",
}

#: A step on a case's timeline, as stored → as shown.
STEP_KINDS = {
    "opened": "差评生成整改单",
    "joined": "又一条差评并入",
    "complaint": "留言被标记为投诉",
    "verified": "核实",
    "complex": "标记为复杂",
    "rectified": "整改完成",
    "followup_missed": "回访未接通",
    "followed_up": "回访",
    "unreachable": "无法回访",
    "overdue": "超期",
    "appealed": "申诉",
    "appeal_upheld": "申诉成立",
    "appeal_rejected": "申诉驳回",
}
#: The states a county may appeal from (before 整改完成), back to which a rejected 申诉
#: returns the case.
APPEALABLE = ("verifying", "rectifying")
#: The city's decisions on a 申诉, as posted → as shown.
DECISIONS = {"upheld": "申诉成立", "rejected": "申诉驳回"}
#: A follow-up call's outcomes, as posted → as shown.
FOLLOWUP_OUTCOMES = {"reached": "接通", "missed": "未接通"}
#: Unanswered follow-up calls after which a case closes as 无法回访.
FOLLOWUP_ATTEMPTS = 3


class Case(db.Model):
    """A 整改单 for one site, in its county: the first bad answer opened it; further bad
    answers for the site join it while it is open. Its deadlines are working days after
    the day the first answer arrived (survey.rectification.deadlines). ``overdue`` stays
    set once a deadline passed before its step was done, after the case closes too."""

    __tablename__ = "rectification_cases"
    __table_args__ = (
        one_of("state", CASE_STATES),
        one_of("outcome", OUTCOMES),
        CheckConstraint("followup_score between 1 and 5", name="followup_score"),
        one_of("appeal_from", APPEALABLE),
        # The county's open cases by deadline; one open case per site.
        Index("ix_rectification_cases_region_state", "region_id", "state"),
        Index(
            "uq_rectification_cases_open_site",
            "site_id",
            unique=True,
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    #: The site's county when the case opened: whose case it is.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    state: Mapped[str] = mapped_column(String(15), default="verifying")
    outcome: Mapped[str | None] = mapped_column(String(15))
    opened_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: The local day the first answer arrived: deadlines count the working days after it.
    arrived_on: Mapped[date]
    verify_due: Mapped[date]
    rectify_due: Mapped[date | None]
    followup_due: Mapped[date | None]
    #: Years a deadline was counted Monday–Friday in, for want of their holiday notice.
    assumed_years: Mapped[list] = mapped_column(JSON, default=list)
    complex: Mapped[bool] = mapped_column(default=False)
    complex_reason: Mapped[str] = mapped_column(Text, default="")
    overdue: Mapped[bool] = mapped_column(default=False)
    #: 回访: unanswered calls so far; once reached, the resident's new rating (1–5) and
    #: whether they say the problem was solved.
    followup_missed: Mapped[int] = mapped_column(default=0)
    followup_score: Mapped[int | None]
    followup_solved: Mapped[bool | None]
    closed_at: Mapped[datetime | None]
    #: While 申诉中: the state the case was in, to which a rejected 申诉 returns it.
    appeal_from: Mapped[str | None] = mapped_column(String(15))

    project: Mapped[Project] = relationship()
    site: Mapped[Site] = relationship()
    region: Mapped[Region] = relationship()
    answers: Mapped[list["CaseAnswer"]] = relationship(
        back_populates="case", order_by="CaseAnswer.response_id"
    )
    steps: Mapped[list["CaseStep"]] = relationship(back_populates="case", order_by="CaseStep.id")

    state_label = label_of("state", CASE_STATES)

    @property
    def is_open(self) -> bool:
        return self.state != "closed"

    @property
    def due(self) -> date | None:
        """The deadline running now, or None (closed, or in appeal)."""
        column = DUE_OF_STATE.get(self.state)
        return getattr(self, column) if column else None

    @property
    def shown_state(self) -> str:
        """The state as people say it: a closed case by how it ended."""
        return OUTCOMES[self.outcome] if self.state == "closed" else self.state_label


#: The working days each deadline gives, unless a project sets its own (RectificationRules).
DEFAULT_DAYS = {"verify_days": 1, "rectify_days": 5, "complex_days": 15, "followup_days": 2}


class OpeningStart(db.Model):
    """Cases open for the bad answers after ``after_response_id``: the last answer stored
    when this feature arrived (migration 0025), so the answers before it open none."""

    __tablename__ = "rectification_start"

    id: Mapped[int] = mapped_column(primary_key=True)
    after_response_id: Mapped[int] = mapped_column(default=0)


class RectificationRules(db.Model):
    """A project's deadlines in working days, where they differ from DEFAULT_DAYS."""

    __tablename__ = "rectification_rules"
    __table_args__ = tuple(
        CheckConstraint(f"{name} between 1 and 60", name=name) for name in DEFAULT_DAYS
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    verify_days: Mapped[int] = mapped_column(default=DEFAULT_DAYS["verify_days"])
    rectify_days: Mapped[int] = mapped_column(default=DEFAULT_DAYS["rectify_days"])
    complex_days: Mapped[int] = mapped_column(default=DEFAULT_DAYS["complex_days"])
    followup_days: Mapped[int] = mapped_column(default=DEFAULT_DAYS["followup_days"])


#: Where an answer stands in a 申诉, as stored → as shown.
APPEAL_STATES = {"pending": "申诉中", "upheld": "申诉成立，不计入满意率", "rejected": "申诉驳回"}


class CaseAnswer(db.Model):
    """A bad answer and the case it opened or joined: each answer is in one case at most."""

    __tablename__ = "rectification_case_answers"
    __table_args__ = (one_of("appeal", APPEAL_STATES),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("rectification_cases.id", ondelete="CASCADE"), index=True
    )

    #: Where the answer stands in a 申诉 (APPEAL_STATES): None until the county names it;
    #: ``upheld`` leaves it out of the rates (its flag ``appealed``); a ``rejected`` one may
    #: not be appealed again (an appeal would stop its case's clock once more).
    appeal: Mapped[str | None] = mapped_column(String(10))

    case: Mapped[Case] = relationship(back_populates="answers")
    response: Mapped[Response] = relationship()

    @property
    def excluded(self) -> bool:
        """Left out of the rates by an upheld 申诉."""
        return self.appeal == "upheld"

    @property
    def appeal_label(self) -> str:
        """Where the answer stands in a 申诉, as the case page says it ("" for none)."""
        return APPEAL_STATES[self.appeal] if self.appeal else ""


class CaseStep(db.Model):
    """One step on a case's timeline: who did what when, what was found or done, and the
    deadline it answered (``late`` when done after it)."""

    __tablename__ = "rectification_steps"
    __table_args__ = (one_of("kind", STEP_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("rectification_cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(15))
    #: Who did it; None for what the system did (opening, an answer joining, overdue).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=now_utc)
    note: Mapped[str] = mapped_column(Text, default="")
    due: Mapped[date | None]
    late: Mapped[bool] = mapped_column(default=False)

    case: Mapped[Case] = relationship(back_populates="steps")
    user: Mapped[User | None] = relationship()
    photos: Mapped[list["StepPhoto"]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="StepPhoto.id"
    )

    kind_label = label_of("kind", STEP_KINDS)


class StepPhoto(db.Model):
    """A photo of what was found or done, re-encoded on upload like a visit's (no EXIF)."""

    __tablename__ = "rectification_photos"
    __table_args__ = (
        CheckConstraint("content_type in ('image/jpeg', 'image/png')", name="content_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("rectification_steps.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]

    step: Mapped[CaseStep] = relationship(back_populates="photos")
