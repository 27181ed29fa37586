"""A big roster imported in the background: the confirm of a staged roster past
ROSTER_DIRECT_ROWS valid rows runs as a job (survey.jobs), as the confirm page would run it
in the request (survey.sites.staging_views)."""

from flask import current_app
from sqlalchemy.orm import Session

from survey.accounts.services import Actor
from survey.checks.models import RosterImport
from survey.checks.roster import import_rows, prepared_rows
from survey.db import StaleRow, write_transaction
from survey.jobs.kinds import JobRefused, Output, Progress
from survey.regions.scope import scope_of

#: The background job that imports a big roster (survey.jobs).
ROSTER_JOB = "roster-import"
#: How long the import's one transaction may take, at worst: this plus a second per so
#: many rows (its job is not taken for dead meanwhile).
INSERT_SECONDS, INSERT_ROWS_PER_SECOND = 60, 1000


def _not_imported(staged: RosterImport) -> str:
    if staged.status == "imported":
        return "这份文件已导入，没有重复导入。"
    return f"这份文件{staged.status_label}，没有导入。"


def roster_job(session: Session, job, out, progress: Progress) -> Output:
    """The roster import job (survey.jobs.kinds): a staged roster confirmed by its uploader
    and imported whole in the background, as the confirm page would. ``job.params``:
    import_id, ``ip`` (the audit line's) and ``back`` (the roster's page). A retried job
    whose import was committed before its worker vanished says so, without importing
    again. It leaves no file."""
    params = job.params
    staged = session.get(RosterImport, params["import_id"])
    back = params["back"]
    if staged is None or staged.user_id != job.user_id:
        raise JobRefused("没有这份名单文件。")
    if staged.status == "imported":
        return Output(message=f"这份文件已导入，共 {staged.valid_rows} 人。", link=back)
    if not staged.is_staged:
        raise JobRefused(_not_imported(staged))
    scope = scope_of(session, job.user)
    cipher = current_app.extensions["field_cipher"]
    try:
        with prepared_rows(session, cipher, staged, scope, progress) as prepared:
            # One transaction writes every row, beating never: up to 80 s for 320,000 rows
            # on a loaded machine (docs/PERFORMANCE.md).
            progress.quiet_for(INSERT_SECONDS + staged.valid_rows / INSERT_ROWS_PER_SECOND)
            with write_transaction(session, staged, lambda upload: upload.is_staged):
                added = import_rows(session, Actor(job.user, params["ip"]), staged, prepared)
    except StaleRow as changed:  # cancelled (or imported) meanwhile
        session.refresh(staged)
        raise JobRefused(_not_imported(staged)) from changed
    return Output(message=f"已导入 {added} 人。", link=back)
