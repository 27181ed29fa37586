"""``flask purge-roster``: delete roster entries and imports kept longer than the retention
period; ``flask rotate-field-key``: move the stored personal data to a new field key."""

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.accounts.services import record
from survey.checks.key_rotation import rotate_field_key
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


@click.command("rotate-field-key")
@with_appcontext
def rotate_field_key_command():
    """Encrypt every roster entry and staged roster file again under the first key of
    FIELD_ENCRYPTION_KEY (set as NEW,OLD), and their number digests; safe to stop and rerun."""
    done = rotate_field_key(db.session, current_app.extensions["field_cipher"])
    detail = (
        f"名单人员重新加密 {done.rotated} 人（已是新密钥 {done.current} 人），"
        f"待确认的名单文件重新加密 {done.files} 个"
    )
    begin_write(db.session)
    record(db.session, "field_key_rotated", detail=detail, ip="cli", username="cli")
    db.session.commit()
    current_app.logger.info("rotate-field-key: %s", detail)
    click.echo(f"{detail}。")
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
