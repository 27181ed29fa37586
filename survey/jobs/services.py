"""A job's life in the database: asked for, claimed by a worker, its steps, finished or
failed, handed to the queue again when its worker vanished, its file expired.

Every change a worker makes names the attempt it claimed: a worker presumed dead (its
heartbeats stopped, another one claimed the job) that wakes up again changes nothing.
"""

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from survey.accounts.models import User
from survey.jobs.kinds import Output
from survey.jobs.models import UNFINISHED, Job, JobLease

#: What a job says when its workers vanished this many times (killed, machine restarted).
GAVE_UP = "生成过程多次中断，没有完成。请重新生成；仍不行请联系系统管理员。"


def submit(session: Session, user: User, kind: str, params: dict, title: str) -> Job:
    """A new queued job of ``kind``, or the user's unfinished one asked with the same
    ``params`` (a double click, a page sent twice: one job); the caller hands its id to the
    queue after the commit."""
    same = select(Job).where(Job.user_id == user.id, Job.kind == kind, Job.state.in_(UNFINISHED))
    for job in session.scalars(same):
        if job.params == params:
            return job
    job = Job(kind=kind, params=params, title=title, user=user)
    session.add(job)
    session.flush()
    return job


def claim(session: Session, job_id: int, now: datetime, stale: timedelta, most: int) -> int | None:
    """Take the job for this worker: the attempt it now runs as, or None when the job is
    not to be run (finished, running with a live worker, or claimed ``most`` times)."""
    claimable = or_(
        Job.state == "queued", and_(Job.state == "running", Job.heartbeat_at < now - stale)
    )
    return session.scalar(
        update(Job)
        .where(Job.id == job_id, claimable, Job.attempt < most)
        .values(state="running", attempt=Job.attempt + 1, heartbeat_at=now, done=0, total=0)
        .returning(Job.attempt)
    )


def _current(job_id: int, attempt: int):
    return update(Job).where(Job.id == job_id, Job.attempt == attempt, Job.state == "running")


def beat(session: Session, job_id: int, attempt: int, values: dict) -> bool:
    """Record ``values`` (the steps ``done`` of ``total``, the ``heartbeat_at``: now, or
    later for a long step that will not beat); False when the job is no longer this
    attempt's."""
    return session.execute(_current(job_id, attempt).values(values)).rowcount == 1


def finish(
    session: Session, job_id: int, attempt: int, output: Output, path: str | None, now: datetime
) -> bool:
    """The job is done, its file at ``path`` (in JOBS_DIR; None when it leaves none); False
    when the job is no longer this attempt's (the caller then deletes its file)."""
    values = {
        "state": "done",
        "path": path,
        "file_name": output.file_name,
        "mimetype": output.mimetype,
        "message": output.message[:500] or None,
        "link": output.link or None,
        "finished_at": now,
        "heartbeat_at": now,
    }
    return session.execute(_current(job_id, attempt).values(values)).rowcount == 1


def fail(session: Session, job_id: int, attempt: int, message: str, now: datetime) -> bool:
    """The job ends unfinished, saying ``message``; False when no longer this attempt's."""
    values = {"state": "failed", "error": message[:500], "finished_at": now}
    return session.execute(_current(job_id, attempt).values(values)).rowcount == 1


def to_enqueue(
    session: Session, now: datetime, stale: timedelta, wait: timedelta, most: int
) -> list[int]:
    """The jobs to hand to the queue again: running ones whose worker stopped beating for
    ``stale`` (killed), and queued ones handed over more than ``wait`` ago (their message
    lost with a queue that keeps nothing). Jobs whose workers vanished ``most`` times fail
    with GAVE_UP. Marks the returned jobs as handed over now."""
    abandoned = and_(Job.state == "running", Job.heartbeat_at < now - stale)
    session.execute(
        update(Job)
        .where(abandoned, Job.attempt >= most)
        .values(state="failed", error=GAVE_UP, finished_at=now)
    )
    waiting = and_(Job.state == "queued", Job.enqueued_at < now - wait)
    ids = list(session.scalars(select(Job.id).where(or_(abandoned, waiting)).order_by(Job.id)))
    if ids:
        session.execute(update(Job).where(Job.id.in_(ids)).values(enqueued_at=now))
    return ids


def expire(session: Session, now: datetime, keep: timedelta) -> list[str]:
    """Forget the files of jobs finished more than ``keep`` ago: their paths, for the caller
    to delete after the commit."""
    old = and_(Job.state == "done", Job.path.is_not(None), Job.finished_at < now - keep)
    paths = list(session.scalars(select(Job.path).where(old)))
    if paths:
        session.execute(update(Job).where(old).values(path=None, expired=True))
    return paths


def job_of(session: Session, user: User, job_id: int) -> Job:
    """The user's own job; NotFound for anyone else's (nobody learns it exists)."""
    job = session.get(Job, job_id)
    if job is None or job.user_id != user.id:
        raise NotFound()
    return job


def recent_jobs(session: Session, user: User, most: int = 20) -> list[Job]:
    """The user's newest jobs, newest first."""
    query = select(Job).where(Job.user_id == user.id).order_by(Job.id.desc()).limit(most)
    return list(session.scalars(query))


def depth(session: Session) -> dict[str, int]:
    """How many jobs wait and run now, by state."""
    query = select(Job.state, func.count()).where(Job.state.in_(UNFINISHED)).group_by(Job.state)
    counts = dict.fromkeys(UNFINISHED, 0)
    counts.update(dict(session.execute(query).all()))
    return counts


def take_lease(session: Session, name: str, now: datetime, hold: timedelta) -> bool:
    """Take the lease ``name`` until ``now + hold`` unless another holder's runs still;
    whether this caller has it. A holder that dies loses it when its time is up."""
    taken = session.execute(
        update(JobLease).where(JobLease.name == name, JobLease.until < now).values(until=now + hold)
    ).rowcount
    if taken:
        return True
    if session.get(JobLease, name) is not None:
        return False
    session.add(JobLease(name=name, until=now + hold))
    return True


def end_lease(session: Session, name: str, now: datetime) -> None:
    """Give the lease ``name`` back (the next minute's worker may take it)."""
    session.execute(update(JobLease).where(JobLease.name == name).values(until=now))
