"""A background job: what was asked, by whom, how far it got and where its file is."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.accounts.models import User
from survey.db import db, label_of, now_utc, one_of

#: A job's states, as stored → as shown.
JOB_STATES = {"queued": "排队中", "running": "正在生成", "done": "已完成", "failed": "未完成"}
#: The states of a job still to finish.
UNFINISHED = ("queued", "running")


class Job(db.Model):
    """Work for a worker process (survey.jobs.runner), asked for by a staff member, who alone
    sees it. ``attempt`` counts claims: a worker writes only while the attempt it claimed is
    the job's current one, so a worker presumed dead that wakes up again changes nothing."""

    __tablename__ = "jobs"
    __table_args__ = (
        one_of("state", JOB_STATES),
        # The sweep's look for unfinished jobs.
        Index("ix_jobs_unfinished", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which registered kind runs it (survey.jobs.kinds).
    kind: Mapped[str] = mapped_column(String(40))
    #: What the kind needs to run it, as the view that asked gave it.
    params: Mapped[dict] = mapped_column(JSON)
    #: What the staff see: 「丽水市康养联合体 全部海报 PDF（A5）」.
    title: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempt: Mapped[int] = mapped_column(default=0)
    #: Steps done of steps in all (posters drawn, rows written); 0 of 0 before it starts.
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: When it was last handed to the queue; the sweep hands a job waiting too long again.
    enqueued_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: When its worker last said it is alive (each step; at least every few seconds).
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: The finished file in JOBS_DIR, its download name and type (None for a job that
    #: leaves no file); the file goes after JOB_KEEP_HOURS (``path`` None again, ``expired``).
    path: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(100))
    expired: Mapped[bool] = mapped_column(default=False)
    #: What it says once done (「已导入 320000 人。」), and where to see the result.
    message: Mapped[str | None] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(300))
    #: Why it did not finish, for the staff member (Chinese).
    error: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship()

    state_label = label_of("state", JOB_STATES)

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED

    @property
    def percent(self) -> int:
        """How far it got, 0–100 (100 only once done)."""
        if self.state == "done":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


class JobLease(db.Model):
    """Who runs a piece of every worker's minutely work (the sweep, the webhooks) now, and
    until when: the lease lapses on its own when its holder dies (a lock would stay taken)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    until: Mapped[datetime]
