"""What a worker does with a job id: claim the job, run its kind into a file of its own,
beat while it runs, and only then show the file; and the sweep that hands over again the
jobs whose worker vanished.

A job's file is written as ``<id>-<attempt>-<random>.part`` and renamed to its final name
only once whole and on disk (fsync), and the job row names it only after that: a worker
killed mid-job leaves a ``.part`` file nobody serves (the sweep deletes it) and a job whose
heartbeat stops, claimed again by the next sweep's worker.
"""

import logging
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record_export
from survey.db import DatabaseBusy, db, now_utc, write_transaction
from survey.jobs import kinds, services
from survey.jobs.models import Job
from survey.jobs.queue import queue_of

log = logging.getLogger(__name__)

#: What a job says when its kind failed for a reason the staff member cannot fix.
FAULT = "生成时出错，没有完成。请稍后重新生成；仍不行请联系系统管理员。"
#: A job's worker records its steps at most this often (each record is a write).
BEAT_SECONDS = 1.0
#: A job that could not be claimed for SQLite's busy write lock is tried again after this.
RETRY_BUSY_SECONDS = 10
#: A job's file's name without its suffix: ``<id>-<attempt>-<random hex>``.
_JOB_FILE = re.compile(r"(\d+)-(\d+)-[0-9a-f]+")


class Superseded(Exception):
    """Another worker claimed the job: this one stops and keeps nothing."""


class _Beats:
    """The ``progress`` a kind calls (survey.jobs.kinds.Progress): records steps at most
    every BEAT_SECONDS, on a session of its own. A beat that finds SQLite's write lock
    taken for too long (another job writing a whole roster) is skipped, not a failure."""

    def __init__(self, session, job_id: int, attempt: int):
        self.session, self.job_id, self.attempt = session, job_id, attempt
        self.last = 0.0

    def _write(self, values: dict) -> None:
        try:
            with write_transaction(self.session):
                if not services.beat(self.session, self.job_id, self.attempt, values):
                    raise Superseded()
        except DatabaseBusy:
            log.warning("job %s: a beat was skipped, the database is busy", self.job_id)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < BEAT_SECONDS and done < total:
            return
        self.last = now
        self._write({"done": done, "total": total, "heartbeat_at": now_utc()})

    def quiet_for(self, seconds: float) -> None:
        self._write({"heartbeat_at": now_utc() + timedelta(seconds=seconds)})


def _settings(app: Flask) -> tuple[timedelta, int]:
    config = app.config
    return timedelta(seconds=config["JOB_STALE_SECONDS"]), config["JOB_MAX_ATTEMPTS"]


def jobs_dir(app: Flask) -> Path:
    folder = Path(app.config["JOBS_DIR"] or Path(app.instance_path) / "jobs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_job(app: Flask, job_id: int) -> None:
    """Run the job if it is this worker's to run (see services.claim)."""
    stale, most = _settings(app)
    with app.app_context():
        session = db.session
        try:
            with write_transaction(session):
                attempt = services.claim(session, job_id, now_utc(), stale, most)
        except DatabaseBusy:  # SQLite's write lock held long (a roster import): try again
            queue_of(app).enqueue(job_id, delay=RETRY_BUSY_SECONDS)
            return
        if attempt is None:
            return
        job = session.get(Job, job_id)
        run = kinds.runner_of(job.kind)
        folder = jobs_dir(app)
        for earlier in folder.glob(f"{job_id}-*.part"):  # a killed worker's half file
            earlier.unlink(missing_ok=True)
        stem = f"{job_id}-{attempt}-{secrets.token_hex(8)}"
        part = folder / f"{stem}.part"
        # Steps are recorded on a session of their own: the work's session may be reading a
        # long result in batches (a server-side cursor), which a commit would close.
        beats = Session(db.engine)
        final = None
        try:
            with part.open("wb") as out:
                output = run(session, job, out, _Beats(beats, job_id, attempt))
                out.flush()
                os.fsync(out.fileno())
            if output.file_name is not None:
                final = part.with_name(stem + Path(output.file_name).suffix)
                os.replace(part, final)
            with write_transaction(session):
                name = final.name if final else None
                kept = services.finish(session, job_id, attempt, output, name, now_utc())
                if kept and output.exported:
                    actor = Actor(job.user, job.params.get("ip", ""))
                    record_export(session, actor, output.exported)
            if not kept and final:
                final.unlink(missing_ok=True)
            final = None  # kept: the job's row names it
        except Superseded:
            log.warning("job %s attempt %s was claimed again elsewhere", job_id, attempt)
        except kinds.JobRefused as refused:
            _end(session, job_id, attempt, refused.message)
        except Exception:
            log.exception("job %s (%s) failed", job_id, job.kind)
            _end(session, job_id, attempt, FAULT)
        finally:
            beats.close()
            part.unlink(missing_ok=True)
            if final is not None:  # renamed, but the job never named it
                final.unlink(missing_ok=True)


def _end(session, job_id: int, attempt: int, message: str) -> None:
    session.rollback()
    with write_transaction(session):
        services.fail(session, job_id, attempt, message, now_utc())


def sweep(app: Flask) -> list[int]:
    """Hand over again the jobs whose worker vanished or whose queue message was lost, fail
    those that vanished too often, delete expired files and what killed workers left; the
    ids handed over."""
    stale, most = _settings(app)
    wait = timedelta(seconds=app.config["JOB_REQUEUE_SECONDS"])
    keep = timedelta(hours=app.config["JOB_KEEP_HOURS"])
    with app.app_context():
        session = db.session
        with write_transaction(session):
            ids = services.to_enqueue(session, now_utc(), stale, wait, most)
            expired = services.expire(session, now_utc(), keep)
        folder = jobs_dir(app)
        for name in expired:
            (folder / name).unlink(missing_ok=True)
        _delete_abandoned_files(session, folder, stale)
    queue = queue_of(app)
    for job_id in ids:
        queue.enqueue(job_id)
    return ids


def _delete_abandoned_files(session, folder: Path, stale: timedelta) -> None:
    """Delete the ``.part`` files of attempts no longer running (their worker was killed),
    and finished files no job names (a worker killed between the rename and the commit)
    once they are older than ``stale``."""
    oldest = time.time() - stale.total_seconds()
    for path in folder.iterdir():
        named = _JOB_FILE.fullmatch(path.stem)
        if named is None or not path.is_file():  # not a job's (lost+found on a mount)
            continue
        job_id, attempt = named.groups()
        job = session.get(Job, int(job_id))
        if path.suffix == ".part":
            if job is None or job.state != "running" or job.attempt != int(attempt):
                path.unlink(missing_ok=True)
        elif (job is None or job.path != path.name) and path.stat().st_mtime < oldest:
            path.unlink(missing_ok=True)
