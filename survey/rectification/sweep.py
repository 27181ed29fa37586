"""The minutely run (survey.jobs.queue.every_minute) and ``flask cases sweep``: bad answers
get their cases, passed deadlines mark cases 超期."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from survey.db import app_now, db, write_transaction
from survey.rectification import services
from survey.rectification.workdays import work_calendar
from survey.responses.rollups import local_day


def sweep_cases(app: Flask) -> tuple[int, int, int]:
    """(cases opened, answers joined, cases marked 超期), committed."""
    with app.app_context():
        now = app_now(app)
        with write_transaction(db.session):
            opened, joined = services.open_cases(db.session, work_calendar(db.session), now)
            overdue = services.mark_overdue(db.session, local_day(now), now)
    return opened, joined, overdue


cases_command = AppGroup("cases", help="整改单。")


@cases_command.command("sweep")
def sweep_command():
    """Open cases for new bad answers and mark passed deadlines, once (the job worker does
    it every minute)."""
    opened, joined, overdue = sweep_cases(current_app._get_current_object())
    click.echo(f"新开整改单 {opened} 个，并入差评 {joined} 条，新超期 {overdue} 个。")
