"""Resident rosters, spot-check samples with their call tasks and attempts, and visits."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.accounts.models import User
from survey.db import db, label_of, now_utc, one_of, unique_within
from survey.regions.models import Region
from survey.responses.models import Response
from survey.sites.models import ChecklistVersion, Project, Site, StagedImport


class Notice(db.Model):
    """The text a caller reads at the start of a call: who calls, why, what is kept.

    Each city words its own; a province's is read in its cities without one, and one without
    a region (an admin's, or from before notices had regions) wherever no city or province
    has one. Versioned per region: a new wording is a new row, and every completed call
    keeps the version read.
    """

    __tablename__ = "notices"
    __table_args__ = unique_within("region_id", "version", "uq_notices_default_version")

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The city (or province) whose calls read it; None: the default.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    #: Counted per region, from 1.
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    region: Mapped[Region | None] = relationship()

    @property
    def label(self) -> str:
        """``丽水市告知语第 2 版``, ``默认告知语第 1 版``."""
        owner = self.region.name if self.region else "默认"
        return f"{owner}告知语第 {self.version} 版"


FILE_FORMATS = {"csv": "CSV", "xlsx": "Excel"}


class RosterImport(StagedImport, db.Model):
    """An uploaded roster file. The file itself is kept, encrypted, only while staged. Its
    name is not kept at all: people name files after what they hold
    (``名单-15899990000.csv``), so an import is described by its format, size and rows
    instead. A bad row's reason names the column and what is wrong with it, never the
    cell's content (shifted columns put names and numbers there).
    """

    __tablename__ = "roster_imports"
    payload_column, payload_emptied = "payload", None
    cancelled_action = "roster_import_cancelled"

    #: The region of the user who uploaded it; only its sites may be imported.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    #: How the file is read back: "csv" or "xlsx".
    file_format: Mapped[str] = mapped_column(String(10))
    #: The file's size in bytes (unknown for files uploaded before names were dropped).
    file_size: Mapped[int | None]
    #: The uploaded file, Fernet-encrypted a megabyte a token, one token a line (see
    #: ``survey.checks.roster._sealed``); emptied once imported or cancelled. Deferred: a
    #: 20 MB file is read only to import it, a slice at a time, never with the row.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    @property
    def file_label(self) -> str:
        """``CSV 文件（1.2 MB）``: the file as pages and the audit log name it."""
        kind = f"{FILE_FORMATS[self.file_format]} 文件"
        if self.file_size is None:
            return kind
        if self.file_size >= 2**20:
            return f"{kind}（{self.file_size / 2**20:.1f} MB）"
        return f"{kind}（{max(1, round(self.file_size / 1024))} KB）"

    @property
    def audit_label(self) -> str:
        return self.file_label


class Resident(db.Model):
    """A person served at a site, on the roster for phone spot-checks. Name, phone and note
    are stored encrypted only (``survey.field_cipher``)."""

    __tablename__ = "residents"
    # One entry per number and county: duplicates are found within the county, so that an
    # import never tells a county user what another county's roster holds.
    __table_args__ = (UniqueConstraint("project_id", "region_id", "phone_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    #: The site's county, copied here for duplicate checks and scoping.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("roster_imports.id"), index=True)
    name_token: Mapped[str] = mapped_column(Text)
    phone_token: Mapped[str] = mapped_column(Text)
    #: Keyed hash of the normalised number: finds duplicates and searches without decrypting.
    phone_digest: Mapped[str] = mapped_column(String(64))
    note_token: Mapped[str | None] = mapped_column(Text)
    #: When the roster learned the person had died: never sampled again.
    deceased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)

    site: Mapped[Site] = relationship()


SAMPLE_MODES = {"count": "每个点位抽 N 人", "percent": "每个点位抽 P %（不少于最低人数）"}


class SampleBatch(db.Model):
    """A drawn sample of residents to call. The seed makes the draw reproducible."""

    __tablename__ = "sample_batches"
    __table_args__ = (one_of("mode", SAMPLE_MODES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    #: The drawer's county or city: the batch holds only that region's sites.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    seed: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(10))
    #: N residents per site (count), or P percent (percent).
    size: Mapped[int]
    #: Fewest residents per site in percent mode.
    minimum: Mapped[int] = mapped_column(default=0)
    #: Residents called within this many days before the draw were left out.
    exclude_days: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    project: Mapped[Project] = relationship()
    region: Mapped[Region | None] = relationship()
    created_by: Mapped[User] = relationship()
    tasks: Mapped[list["CallTask"]] = relationship(
        back_populates="batch", order_by="CallTask.id", cascade="all, delete-orphan"
    )

    @property
    def mode_label(self) -> str:
        if self.mode == "count":
            return f"每个点位 {self.size} 人"
        return f"每个点位 {self.size}%，不少于 {self.minimum} 人"


#: Final states of a call task, as stored → as shown. ``open`` tasks are still to be called.
TASK_STATUSES = {
    "open": "待拨打",
    "completed": "已完成",
    "unreachable": "联系不上",
    "refused": "拒访",
    "to_visit": "改为上门",
    "ineligible": "不在调查范围",
    "removed": "已移出名单",
}


class CallTask(db.Model):
    """One sampled resident to be called, with its attempts and, once reached, the answers."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        UniqueConstraint("batch_id", "resident_id"),
        one_of("status", TASK_STATUSES),
        Index("ix_call_tasks_resident_created", "resident_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("sample_batches.id"), index=True)
    #: Emptied when the resident is deleted from the roster; the task's outcome is kept.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    #: When the resident asked to be called back.
    callback_at: Mapped[datetime | None]
    #: The answers given on the completed call (channel ``phone``).
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("responses.id", ondelete="SET NULL"), index=True
    )
    #: The notice read at the start of the completed call.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    closed_at: Mapped[datetime | None]

    batch: Mapped[SampleBatch] = relationship(back_populates="tasks")
    resident: Mapped[Resident | None] = relationship()
    site: Mapped[Site] = relationship()
    response: Mapped[Response | None] = relationship()
    notice: Mapped[Notice | None] = relationship()
    attempts: Mapped[list["CallAttempt"]] = relationship(
        back_populates="task", order_by="CallAttempt.at", cascade="all, delete-orphan"
    )

    status_label = label_of("status", TASK_STATUSES)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


#: Every outcome a caller can record, as stored → as shown, in the order offered.
OUTCOMES = {
    "completed": "接通完成",
    "proxy": "家属代答",
    "no_answer": "无人接听",
    "busy": "占线",
    "switched_off": "关机",
    "suspended": "停机",
    "invalid_number": "空号",
    "refused": "拒访",
    "wrong_person": "非本人",
    "callback": "要求回拨",
    "hearing": "听力困难（改为上门）",
    "away": "住院或外出",
    "deceased": "已故",
}


class CallAttempt(db.Model):
    """One dialling of a call task: when, by whom, and what came of it."""

    __tablename__ = "call_attempts"
    __table_args__ = (one_of("outcome", OUTCOMES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("call_tasks.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: One of OUTCOMES.
    outcome: Mapped[str] = mapped_column(String(20))
    callback_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(500), default="")

    task: Mapped[CallTask] = relationship(back_populates="attempts")
    caller: Mapped[User] = relationship()


#: What an inspector found for one checklist item, as stored → as shown. An item nobody
#: marked was not verified: it is neither passed nor failed.
CHECK_RESULTS = {"pass": "通过", "fail": "未通过", "unverified": "未核实"}


class Visit(db.Model):
    """An unannounced visit (随机暗访) to a site: checklist, findings, photos, interviews."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    inspectors: Mapped[str] = mapped_column(String(200))
    #: ``[{"item": "...", "required": true|false, "result": "pass"|"fail"|"unverified"}]``:
    #: the wording of the checklist version checked against, kept with the visit.
    checklist: Mapped[list] = mapped_column(JSON)
    #: The project's checklist version the visit used (None: recorded before versions).
    checklist_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("checklist_versions.id"), index=True
    )
    findings: Mapped[str] = mapped_column(Text, default="")
    #: The seed of the random draw that picked the site, if it was drawn.
    draw_seed: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    site: Mapped[Site] = relationship()
    created_by: Mapped[User] = relationship()
    checklist_version: Mapped[ChecklistVersion | None] = relationship()
    photos: Mapped[list["VisitPhoto"]] = relationship(
        back_populates="visit", order_by="VisitPhoto.id", cascade="all, delete-orphan"
    )
    interviews: Mapped[list[Response]] = relationship(
        order_by=Response.id, cascade="all, delete-orphan", foreign_keys=[Response.visit_id]
    )

    def count(self, result: str) -> int:
        """How many checklist items ended with ``result``."""
        return sum(1 for item in self.checklist if item["result"] == result)

    @property
    def checklist_summary(self) -> str:
        """The checklist in one line: passed, failed and not verified out of all items."""
        parts = [f"{self.count('pass')} 项通过"]
        if self.count("fail"):
            parts.append(f"{self.count('fail')} 项未通过")
        if self.count("unverified"):
            parts.append(f"{self.count('unverified')} 项未核实")
        return f"共 {len(self.checklist)} 项：" + "，".join(parts)

    @property
    def summary(self) -> str:
        """What the visit found, in one line. 「未发现问题」 only when every item was verified
        and passed and nothing was written down."""
        if self.findings:
            return f"{self.findings}（{self.checklist_summary}）"
        if self.count("pass") == len(self.checklist):
            return f"未发现问题（{self.checklist_summary}）"
        if self.count("fail"):
            return f"有检查项未通过（{self.checklist_summary}）"
        return f"未记录问题，但有检查项未核实（{self.checklist_summary}）"


class VisitPhoto(db.Model):
    """A photo taken on a visit, re-encoded on upload (no EXIF, no GPS)."""

    __tablename__ = "visit_photos"
    __table_args__ = (
        CheckConstraint("content_type in ('image/jpeg', 'image/png')", name="content_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]

    visit: Mapped[Visit] = relationship(back_populates="photos")


class HomeVisit(db.Model):
    """A resident to be visited at home instead of called (听力困难（改为上门）): on the
    county's home-visit list until a visit is recorded for them."""

    __tablename__ = "home_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The call task that could not be done by phone; one home visit per task.
    call_task_id: Mapped[int] = mapped_column(
        ForeignKey("call_tasks.id", ondelete="CASCADE"), unique=True
    )
    #: The resident's site (scoping goes by its county).
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    #: The visit recorded for it; empty while the resident waits to be visited.
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    call_task: Mapped[CallTask] = relationship()
    site: Mapped[Site] = relationship()
    visit: Mapped[Visit | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.visit_id is None
