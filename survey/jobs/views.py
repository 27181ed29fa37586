"""A staff member's background jobs: each one's progress page (it reloads itself until the
job ends) and its download; nobody else's job is found (404)."""

from flask import Blueprint, abort, current_app, render_template

from survey import downloads
from survey.accounts.access import acting_user, role_required
from survey.accounts.models import ROLES
from survey.db import db
from survey.jobs.runner import jobs_dir
from survey.jobs.services import job_of, recent_jobs

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

#: Seconds between the reloads of an unfinished job's page.
RELOAD_SECONDS = 2


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
    return render_template("jobs/job.html", job=found, reload=RELOAD_SECONDS)


@bp.get("/<int:job_id>/download")
@role_required(*ROLES)
def download(job_id):
    """The finished job's file; 404 until it is done, and once it has expired."""
    found = job_of(db.session, acting_user(), job_id)
    if found.state != "done" or found.path is None:
        abort(404)
    path = jobs_dir(current_app) / found.path
    return downloads.download(path.open("rb"), found.file_name, found.mimetype)
