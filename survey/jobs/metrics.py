"""The job queue's depth for /metrics, read from the jobs table at each scrape."""

from sqlalchemy.exc import InterfaceError, OperationalError

from survey.db import db
from survey.jobs.services import depth
from survey.observability import JOB_QUEUE_DEPTH


def read_queue_depth() -> None:
    """Set the gauge per state; with the database down it keeps its last values (the scrape
    still reports the database errors)."""
    try:
        counts = depth(db.session)
    except (OperationalError, InterfaceError):
        db.session.rollback()
        return
    for state, count in counts.items():
        JOB_QUEUE_DEPTH.labels(state).set(count)
