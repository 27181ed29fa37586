"""Responses with their answers, the same for every channel; recordings of questions read aloud."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import field_cipher
from survey.db import db, now_utc, one_of
from survey.questionnaires.models import Question, QuestionnaireVersion
from survey.sites.models import Site

#: The overall scores of a bad rating, 非常不满意 and 不满意: each opens a 整改单
#: (survey.rectification).
BAD_SCORES = (1, 2)
#: The channels an answer comes by, as stored → as shown.
CHANNELS = {"qr": "扫码评价", "phone": "电话抽查", "visit": "现场暗访"}
#: Review states of an answer flagged as suspected stuffing, as reviewers read them.
FLAG_STATES = {"pending": "待审核", "restored": "已恢复计入", "confirmed": "确认刷评"}
#: The flag of an answer a city user's decision on a county's 申诉 left out of the rates
#: (survey.rectification.appeals); never one the stuffing review sets or lists.
APPEALED = "appealed"
#: Every flag an answer may carry, as shown.
FLAGS = FLAG_STATES | {APPEALED: "申诉成立，不计入"}


class Response(db.Model):
    """One person's answers about one site, from any channel."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint("channel in ('qr', 'phone', 'visit')", name="channel"),
        CheckConstraint("overall between 1 and 5", name="overall"),
        Index("ix_responses_site_created", "site_id", "created_at"),
        # A phone's latest answer to a site (it replaces it): with the time, SQLite reads one
        # entry, without it every answer the site had in the window.
        Index("ix_responses_device", "device_id", "site_id", "created_at"),
        # The stuffing counters' read: one address's answers to one site, newest last.
        Index("ix_responses_client", "client_hash", "site_id", "created_at"),
        one_of("flag", FLAGS),
        # Flagged answers are few: the dashboard counts and lists them from this alone.
        Index(
            "ix_responses_flagged",
            "site_id",
            "created_at",
            sqlite_where=text("flag IS NOT NULL"),
            postgresql_where=text("flag IS NOT NULL"),
        ),
        # Only interviews have a visit and only reviewed answers a reviewer: partial indexes
        # leave a resident's answer out of both, two index pages fewer in its commit.
        Index(
            "ix_responses_visit_id",
            "visit_id",
            sqlite_where=text("visit_id IS NOT NULL"),
            postgresql_where=text("visit_id IS NOT NULL"),
        ),
        Index(
            "ix_responses_reviewed_by_id",
            "reviewed_by_id",
            sqlite_where=text("reviewed_by_id IS NOT NULL"),
            postgresql_where=text("reviewed_by_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    # Not indexed, nor is Answer.question_id: nothing reads by them, and versions and their
    # questions are never deleted; each index cost every answer's commit pages (0020).
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    channel: Mapped[str] = mapped_column(String(10))
    #: The overall score (1–5), also kept among the answers: copied here so that rates
    #: per site and period are one indexed scan, not a join per response.
    overall: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Random id from the resident's cookie; lets a second answer replace the first.
    device_id: Mapped[str | None] = mapped_column(String(32))
    #: Answered by a family member on the resident's behalf (phone): reported apart.
    proxy: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The unannounced visit during which this interview was held (channel ``visit``).
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    updated_at: Mapped[datetime | None]
    #: Keyed hashes (HMAC with a server key) of the client address and the browser's user
    #: agent: enough to find one sender's answers again, never the address itself.
    client_hash: Mapped[str | None] = mapped_column(String(32))
    agent_hash: Mapped[str | None] = mapped_column(String(16))
    #: Suspected stuffing (``survey.responses.stuffing``): None for an ordinary answer;
    #: ``pending`` until a reviewer decides, then ``restored`` (counted) or ``confirmed``.
    #: ``appealed``: left out by an upheld 申诉 (APPEALED).
    flag: Mapped[str | None] = mapped_column(String(10))
    #: Why it was flagged: reason codes (``stuffing.REASONS``), comma-separated.
    flag_reasons: Mapped[str | None] = mapped_column(String(60))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]

    site: Mapped[Site] = relationship()
    version: Mapped[QuestionnaireVersion] = relationship()
    answers: Mapped[list["Answer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.question_id"
    )

    @hybrid_property
    def counted(self) -> bool:
        """Whether the answer is in the rollups and the rates: not suspected of stuffing, or
        restored by a reviewer. The one place this rule is written (also as SQL, below)."""
        return self.flag is None or self.flag == "restored"

    @counted.inplace.expression
    @classmethod
    def _counted_sql(cls):
        return or_(cls.flag.is_(None), cls.flag == "restored")


class Answer(db.Model):
    """The answer to one question: a score, an option index or several, or a short text."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id"),
        CheckConstraint(
            "choice is not null or text is not null or choices is not null", name="has_value"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    choice: Mapped[int | None] = mapped_column(SmallInteger)
    #: The option indexes chosen in a multiple-choice question, ascending.
    choices: Mapped[list[int] | None] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(String(500))

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


class FormNonce(db.Model):
    """A used form nonce. The primary key is what stops a double tap from storing twice."""

    __tablename__ = "form_nonces"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    used_at: Mapped[datetime] = mapped_column(default=now_utc)


class ResponseContact(db.Model):
    """The number a resident left at the end of the QR form for a call back (回访) about
    their answer, kept only with a bad rating or a comment: encrypted with the field key
    like a roster's, shown only on its case to the staff calling back (each reveal
    audited), purged with the roster (``flask purge-roster``), never exported. Kept beside
    the answer, not in it, so no listing of answers can carry it."""

    __tablename__ = "response_contacts"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    #: The normalised number (survey.phones), encrypted (survey.field_cipher).
    phone_token: Mapped[str] = mapped_column(Text, info=field_cipher.ALONE)
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)


class Recording(db.Model):
    """A question (or the thank-you text, key ``thanks``) of one questionnaire version read
    aloud by staff, re-encoded on upload (AAC in MP4, mono, at most 64 kbit/s).

    ``region_id`` says whose it is: a county's recording (in its dialect) is played at that
    county's sites, the owning city's at every other site of the city. Never changed: a new
    recording replaces the row, so a new id, and its URL may be cached for good.
    """

    __tablename__ = "recordings"
    # AUTOINCREMENT: SQLite would otherwise give a deleted recording's id to the next one,
    # whose URL phones then answer from their cache with the old audio.
    __table_args__ = (
        UniqueConstraint("version_id", "region_id", "key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    #: A question's key, or ``thanks``.
    key: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    duration_ms: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    version: Mapped[QuestionnaireVersion] = relationship()
