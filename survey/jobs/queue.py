"""The queue that carries job ids to the workers: Huey, on a SQLite file by default (no
server to run) and on Redis when REDIS_URL is set (several machines share it).

Huey takes a message off its queue before running it, so a worker killed mid-job loses the
message: the job itself is kept in the app's database and handed over again by the sweep
(survey.jobs.runner), which every worker runs at its start and once a minute.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from survey.db import DatabaseBusy, db, now_utc, write_transaction

log = logging.getLogger(__name__)

#: How long a worker holds the lease of a minutely work (the sweep, the webhooks): given
#: back when it ends, lapsed by then if its worker died mid-way.
LEASE = timedelta(minutes=5)

#: Work every worker does once a minute (and at its start), besides the sweep: a function of
#: the app, registered by the package that owns it. One worker at a time runs each.
_EVERY_MINUTE: list[Callable[[Flask], None]] = []


def every_minute(work: Callable[[Flask], None]) -> None:
    """Run ``work(app)`` once a minute in a worker (create_app registers each once)."""
    if work not in _EVERY_MINUTE:
        _EVERY_MINUTE.append(work)


def _huey(app: Flask):
    config = app.config
    if config["JOBS_IMMEDIATE"]:  # tests: a job runs inside the request that asks for it
        return MemoryHuey("survey-jobs", immediate=True, results=False)
    if config["REDIS_URL"]:
        return RedisHuey("survey-jobs", url=config["REDIS_URL"], results=False)
    queue_file = config["JOBS_QUEUE_FILE"] or str(Path(app.instance_path) / "jobs-queue.db")
    return SqliteHuey("survey-jobs", filename=queue_file, results=False)


class JobQueue:
    """The app's Huey and its two tasks, made at first use (a web process that never asks
    for a job opens no queue)."""

    def __init__(self, app: Flask):
        self.app = app
        self._huey = None
        self._run = None

    def _made(self):
        """The Huey and its task that runs a job, made at the first call."""
        if self._huey is None:
            self._huey, self._run = self._tasks(_huey(self.app))
        return self._huey, self._run

    @property
    def huey(self):
        return self._made()[0]

    def _tasks(self, huey):
        from survey.jobs import runner

        app = self.app

        @huey.task(name="survey.jobs.run")
        def run(job_id: int) -> None:
            runner.run_job(app, job_id)

        @huey.periodic_task(crontab(minute="*"), name="survey.jobs.every_minute")
        def minutely() -> None:
            self.tick()

        return huey, run

    def tick(self) -> None:
        """The sweep, then every registered minute's work, each skipped while another worker
        holds its lease; one that fails is logged and does not stop the others."""
        from survey.jobs import runner

        for work in (runner.sweep, *_EVERY_MINUTE):
            name = f"{work.__module__}.{work.__name__}"[:100]
            if not self._lease(name, take=True):
                log.info("%s is running in another worker", work.__name__)
                continue
            try:
                work(self.app)
            except Exception:  # the database down, say: the next minute tries again
                log.exception("%s failed; it runs again in a minute", work.__name__)
            finally:
                self._lease(name, take=False)

    def _lease(self, name: str, take: bool) -> bool:
        """Take (or give back) the lease of the minutely work ``name``; whether taken."""
        from survey.jobs.services import end_lease, take_lease

        with self.app.app_context():
            try:
                with write_transaction(db.session):
                    if not take:
                        end_lease(db.session, name, now_utc())
                        return False
                    return take_lease(db.session, name, now_utc(), LEASE)
            except (IntegrityError, DatabaseBusy, OperationalError, InterfaceError):
                log.warning("the lease of %s could not be taken or given back", name)
                return False

    def start(self, session, user, kind: str, params: dict, title: str):
        """A new job of ``kind`` for ``user``, committed, then handed to a worker; the Job."""
        from survey.jobs.services import submit

        with write_transaction(session):
            job = submit(session, user, kind, params, title)
        self.enqueue(job.id)
        return job

    def enqueue(self, job_id: int, delay: float = 0) -> bool:
        """Hand the job to a worker (after ``delay`` seconds); False when the queue cannot be
        reached (the sweep hands it over again later: the job is kept in the database)."""
        _, run = self._made()
        try:
            if delay:
                run.schedule(args=(job_id,), delay=delay)
            else:
                run(job_id)
        except Exception:
            log.exception("job %s could not be queued; the sweep will queue it again", job_id)
            return False
        return True


def queue_of(app: Flask) -> JobQueue:
    return app.extensions["jobs"]


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = JobQueue(app)
