"""Livelihood projects, their sites and the sites' public tokens."""

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from survey.accounts.models import User
from survey.db import db, label_of, now_utc, one_of
from survey.questionnaires.models import Questionnaire
from survey.regions.models import Region

#: A project is answered while in progress; a finished one's links say so, its data stays.
PROJECT_STATUSES = {"active": "进行中", "finished": "已结束"}

#: Site levels from seed 000 §一(一)3, as stored → as shown.
SITE_LEVELS = {"city_county": "市县级", "township": "乡镇级"}


class Project(db.Model):
    """A livelihood project (民生实事项目) owned by a city, answered with one questionnaire."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("year between 2000 and 2100", name="year"),
        CheckConstraint("satisfied_from between 1 and 5", name="satisfied_from"),
        one_of("status", PROJECT_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The hotline printed on the project's posters; empty: the app's ``HOTLINE`` setting.
    hotline: Mapped[str] = mapped_column(String(30), default="", server_default="")
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    #: The lowest overall level counted as satisfied (3: 非常满意, 满意 and 基本满意).
    satisfied_from: Mapped[int] = mapped_column(default=3, server_default="3")
    #: Residents may answer at every site from the start; otherwise a site's survey opens
    #: when it is built (``Site.completed``, reached 100 % progress). Migration 0027 set it
    #: for every project made before progress was kept, so no live link closed.
    open_from_start: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    region: Mapped[Region] = relationship()
    questionnaire: Mapped[Questionnaire] = relationship()
    targets: Mapped[list["ProjectTarget"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectTarget.region_id"
    )
    sites: Mapped[list["Site"]] = relationship(back_populates="project", order_by="Site.id")
    checklists: Mapped[list["ChecklistVersion"]] = relationship(
        back_populates="project", order_by="ChecklistVersion.number"
    )

    @property
    def is_finished(self) -> bool:
        """A finished project takes no more answers; its links say so kindly."""
        return self.status == "finished"

    status_label = label_of("status", PROJECT_STATUSES)

    @property
    def current_checklist(self) -> "ChecklistVersion | None":
        """The checklist visits use now (None: the project has none of its own yet)."""
        return self.checklists[-1] if self.checklists else None

    @property
    def target_total(self) -> int:
        """Sites the project must complete, over all counties."""
        return sum(target.site_count for target in self.targets)


class ProjectTarget(db.Model):
    """How many sites a county must complete for a project (seed 000 §一(一)2)."""

    __tablename__ = "project_targets"
    __table_args__ = (CheckConstraint("site_count >= 0", name="site_count"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True, index=True)
    site_count: Mapped[int]

    project: Mapped[Project] = relationship(back_populates="targets")
    region: Mapped[Region] = relationship()


class ChecklistVersion(db.Model):
    """One wording of what an unannounced visit to the project's sites checks (its acceptance
    standard). Every save publishes a new version; a recorded visit keeps the wording it was
    checked against."""

    __tablename__ = "checklist_versions"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    number: Mapped[int]
    #: ``[{"text": "...", "required": true|false}, …]`` in order; required: 必备.
    items: Mapped[list] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    project: Mapped[Project] = relationship(back_populates="checklists")


class Site(db.Model):
    """A project site (点位) where residents are served and the feedback QR code hangs."""

    __tablename__ = "sites"
    __table_args__ = (
        UniqueConstraint("project_id", "region_id", "name"),
        one_of("level", SITE_LEVELS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    #: The county the site lies in.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    level: Mapped[str] = mapped_column(String(20), default="township")
    #: Who to ask at the site (a name or a phone number the site posts publicly).
    contact: Mapped[str] = mapped_column(String(100), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True)
    #: Built: its last milestone (100 %) confirmed by the city. Kept by survey.progress, read
    #: by the resident form, which opens only then unless the project opens from the start.
    completed: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    project: Mapped[Project] = relationship(back_populates="sites")
    region: Mapped[Region] = relationship()
    tokens: Mapped[list["SiteToken"]] = relationship(
        back_populates="site", order_by="SiteToken.created_at"
    )

    @property
    def token(self) -> str | None:
        """The token of the site's current survey link, if it has one."""
        live = [t.token for t in self.tokens if t.retired_at is None]
        return live[0] if live else None

    level_label = label_of("level", SITE_LEVELS)

    @property
    def survey_open(self) -> bool:
        """Residents may answer here: the site is built, or its project opens from the start."""
        return self.completed or self.project.open_from_start


class SiteToken(db.Model):
    """The public token in a site's survey link; retired tokens are kept so old links are known."""

    __tablename__ = "site_tokens"
    __table_args__ = (
        # At most one live token per site.
        Index(
            "uq_site_tokens_live",
            "site_id",
            unique=True,
            sqlite_where=db.text("retired_at IS NULL"),
            postgresql_where=db.text("retired_at IS NULL"),
        ),
    )

    #: Upper-case base32 (see ``sites.tokens.new_token``); links accept any case.
    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    retired_at: Mapped[datetime | None]

    site: Mapped[Site] = relationship(back_populates="tokens")

    @property
    def is_live(self) -> bool:
        return self.retired_at is None


#: What became of an uploaded file, as stored → as shown.
IMPORT_STATUSES = {"staged": "待确认", "imported": "已导入", "cancelled": "已取消"}


class StagedImport:
    """The columns and states every uploaded file shares (site lists, rosters): staged
    (checked, waiting for its uploader), imported or cancelled (``survey.sites.staging``).

    What is imported is kept only while staged, in the column ``payload_column`` names;
    it becomes ``payload_emptied`` once imported or cancelled. Each model says how the audit
    log names an upload (``audit_label``).
    """

    payload_column: ClassVar[str]
    payload_emptied: ClassVar[object]
    #: The audit action of a cancelled upload.
    cancelled_action: ClassVar[str]

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (one_of("status", IMPORT_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="staged")
    valid_rows: Mapped[int] = mapped_column(default=0)
    bad_rows: Mapped[int] = mapped_column(default=0)
    #: The report's bad rows, ``[[line, reason], …]``.
    problems: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    finished_at: Mapped[datetime | None]

    @declared_attr
    def project(cls) -> Mapped[Project]:
        return relationship()

    @declared_attr
    def user(cls) -> Mapped[User]:
        return relationship()

    status_label = label_of("status", IMPORT_STATUSES)

    @property
    def is_staged(self) -> bool:
        """Still waiting for its uploader: it may be imported or cancelled."""
        return self.status == "staged"

    def close(self, status: str, now: datetime) -> None:
        """End the staging as ``status`` ("imported" or "cancelled"), dropping the payload."""
        self.status, self.finished_at = status, now
        setattr(self, self.payload_column, self.payload_emptied)


class SiteImport(StagedImport, db.Model):
    """An uploaded site list. The valid rows are kept, as checked, only while staged; the
    import writes exactly them."""

    __tablename__ = "site_imports"
    payload_column, payload_emptied = "rows", []
    cancelled_action = "site_import_cancelled"

    filename: Mapped[str] = mapped_column(String(200))
    #: The valid rows as checked, ``[{"line", "region_id", "name", "address", "level",
    #: "contact"}, …]``; emptied once imported or cancelled.
    rows: Mapped[list] = mapped_column(JSON, default=list)

    @property
    def audit_label(self) -> str:
        return f"{self.project.name}：文件“{self.filename}”"
