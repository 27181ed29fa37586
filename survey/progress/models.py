"""A project's milestones, the milestone records of its sites with their evidence files, and
the counties' monthly progress reports."""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.accounts.models import User
from survey.db import db, label_of, now_utc, one_of
from survey.regions.models import Region
from survey.sites.models import Project, Site

#: Where a milestone record stands, as stored → as shown.
RECORD_STATES = {"submitted": "待确认", "confirmed": "已确认", "returned": "已退回"}
#: What an evidence file is, as stored → as shown.
FILE_KINDS = {"photo": "现场照片", "pdf": "PDF 材料"}


class Milestone(db.Model):
    """One step of a project's 进度标准: the progress a site has when it is reached, what
    evidence shows it and the day it is planned by (seed 000 §一(二) and §二)."""

    __tablename__ = "progress_milestones"
    __table_args__ = (
        UniqueConstraint("project_id", "percent"),
        CheckConstraint("percent between 1 and 100", name="percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    percent: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    #: What the county hands in to show it (以…为准).
    evidence: Mapped[str] = mapped_column(String(300), default="")
    planned_on: Mapped[date]

    project: Mapped[Project] = relationship()


class MilestoneRecord(db.Model):
    """A county's record that a site reached a milestone, with its evidence; the city
    confirms it or returns it with a reason. A site's progress is its highest confirmed
    percent. At most one record per site and percent waits for the city."""

    __tablename__ = "progress_records"
    __table_args__ = (
        one_of("state", RECORD_STATES),
        CheckConstraint("percent between 1 and 100", name="percent"),
        Index("ix_progress_records_project_state", "project_id", "state"),
        Index(
            "uq_progress_records_waiting",
            "site_id",
            "percent",
            unique=True,
            sqlite_where=text("state = 'submitted'"),
            postgresql_where=text("state = 'submitted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    #: The site's county when it was recorded: whose record it is.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    percent: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default="submitted")
    #: The day the county says the milestone was reached.
    reached_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    decided_at: Mapped[datetime | None]
    #: Why the city returned it.
    reason: Mapped[str] = mapped_column(Text, default="")

    site: Mapped[Site] = relationship()
    region: Mapped[Region] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    files: Mapped[list["EvidenceFile"]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="EvidenceFile.id"
    )

    state_label = label_of("state", RECORD_STATES)


class EvidenceFile(db.Model):
    """A file of a record's evidence: a photo re-encoded on upload like a visit's (no EXIF),
    or a PDF kept as it was sent once it proved to be one."""

    __tablename__ = "progress_files"
    __table_args__ = (
        one_of("kind", FILE_KINDS),
        CheckConstraint(
            "content_type in ('image/jpeg', 'image/png', 'application/pdf')", name="content_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("progress_records.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    #: The name it was uploaded with, for the download.
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(30))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    record: Mapped[MilestoneRecord] = relationship(back_populates="files")

    kind_label = label_of("kind", FILE_KINDS)


class MonthlyReport(db.Model):
    """A county's monthly report to the city on a project: progress and problems (seed 000
    §三(三)), due by the 25th; ``late`` when sent after it. Sending it again replaces it."""

    __tablename__ = "progress_reports"
    __table_args__ = (UniqueConstraint("project_id", "region_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    #: The first day of the month reported on.
    month: Mapped[date]
    progress: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=now_utc)
    late: Mapped[bool] = mapped_column(default=False)

    region: Mapped[Region] = relationship()
    submitted_by: Mapped[User | None] = relationship()
