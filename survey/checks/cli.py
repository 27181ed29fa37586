"""``flask purge-roster``: delete roster entries and imports kept longer than the retention
period; ``flask rotate-field-key``: move the stored personal data to a new field key."""

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.checks.key_rotation import rotate_field_key
from survey.checks.roster import purge_old
from survey.db import db, now_utc, write_transaction


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
    with write_transaction(db.session):
        detail = purge_old(db.session, days, now_utc())
    current_app.logger.info("purge-roster: %s", detail)
    click.echo(f"已{detail}。")


@click.command("rotate-field-key")
@with_appcontext
def rotate_field_key_command():
    """Encrypt every roster entry, staged roster file and number left on the QR form for
    回访 again under the first key of FIELD_ENCRYPTION_KEY (set as NEW,OLD), and the roster's
    number digests; safe to stop and rerun."""
    done = rotate_field_key(db.session, current_app.extensions["field_cipher"])
    current_app.logger.info("rotate-field-key: %s", done.summary)
    click.echo(f"{done.summary}。")
    problems = []
    if done.unreadable:
        problems.append(
            "FIELD_ENCRYPTION_KEY 中没有能解密这些数据的密钥（field key does not match the "
            f"stored data）：{', '.join(done.unreadable)}。请把加密它们的旧密钥加在新密钥之后，"
            "再运行一次。"
        )
    if done.duplicates:
        problems.append(
            "这些名单人员的电话号码在本县名单中已有一条新密钥下的记录（由密钥不同的服务器导入）："
            f"residents.id {', '.join(map(str, done.duplicates))}。请在名单页面删除每对中的一条，"
            "再运行一次。"
        )
    if problems:
        raise click.ClickException("\n".join(problems))
    click.echo("所有数据都已使用第一个密钥：其余的密钥现在可以删除了。")
