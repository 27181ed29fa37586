"""``flask purge-roster``: delete roster entries and imports kept longer than the retention
period."""

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.accounts.services import record
from survey.checks.roster import purge_old
from survey.db import begin_write, db, now_utc


@click.command("purge-roster")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep entries this many days (default: ROSTER_RETENTION_DAYS, 730).",
)
@with_appcontext
def purge_roster_command(days):
    """Delete roster entries and imports older than the retention period, and stale uploads."""
    days = days or current_app.config["ROSTER_RETENTION_DAYS"]
    begin_write(db.session)
    residents, imports, uploads = purge_old(db.session, days, now_utc())
    detail = (
        f"删除 {days} 天前导入的名单人员 {residents} 人、导入记录 {imports} 份，"
        f"过期未确认的上传文件 {uploads} 个"
    )
    record(db.session, "roster_purged", detail=detail, ip="cli", username="cli")
    db.session.commit()
    current_app.logger.info("purge-roster: %s", detail)
    click.echo(f"已{detail}。")
