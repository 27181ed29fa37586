"""A staff member's background jobs: each one's progress page (it reloads itself until the
job ends) and its download; nobody else's job is found (404)."""

from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template

from survey import downloads
from survey.accounts.access import acting_user, role_required
from survey.accounts.models import ROLES
from survey.db import db, now_utc
from survey.jobs.runner import jobs_dir
from survey.jobs.services import job_of, recent_jobs

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

#: Seconds between the reloads of an unfinished job's page.
RELOAD_SECONDS = 2
#: A job still queued after this long probably has no worker to run it: the page says so.
NO_WORKER_SECONDS = 60


@bp.get("/")
@role_required(*ROLES)
def index():
    """The staff member's newest jobs."""
    return render_template("jobs/index.html", jobs=recent_jobs(db.session, acting_user()))


@bp.get("/<int:job_id>")
@role_required(*ROLES)
def job(job_id):
    """One job: its progress, then its download or why it did not finish."""
    found = job_of(db.session, acting_user(), job_id)
    waited = now_utc() - found.enqueued_at
    stuck = found.state == "queued" and waited > timedelta(seconds=NO_WORKER_SECONDS)
    return render_template("jobs/job.html", job=found, reload=RELOAD_SECONDS, stuck=stuck)


@bp.get("/<int:job_id>/download")
@role_required(*ROLES)
def download(job_id):
    """The finished job's file; 404 until it is done, and once it has expired."""
    found = job_of(db.session, acting_user(), job_id)
    if found.state != "done" or found.path is None:
        abort(404)
    try:
        file = (jobs_dir(current_app) / found.path).open("rb")
    except FileNotFoundError:  # expired this moment, or JOBS_DIR not shared by this machine
        abort(404)
    return downloads.download(file, found.file_name, found.mimetype)
