"""``flask create-user``: add a staff account and print its one-time password."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from survey.accounts import users
from survey.accounts.models import ROLES
from survey.accounts.services import COMMAND
from survey.accounts.users import ROLE_LEVELS
from survey.db import db, write_transaction
from survey.regions.models import Region


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option(
    "--region", "region_name", help="The user's city (role city) or county (role county)."
)
@with_appcontext
def create_user_command(username, role, region_name):
    """Add a staff account; prints a one-time password to hand over."""
    region = None
    if role in ROLE_LEVELS:
        if not region_name:
            raise click.ClickException(f"角色 {role} 需要用 --region 指定所属地区。")
        levels, level_name = ROLE_LEVELS[role]
        region = db.session.scalars(
            select(Region).where(Region.name == region_name, Region.level.in_(levels))
        ).first()
        if region is None:
            raise click.ClickException(f"没有名为“{region_name}”的{level_name}。")
    try:
        with write_transaction(db.session):
            _, password = users.add_user(
                db.session, COMMAND, username, role, region.id if region else None
            )
    except users.UserError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"已创建 {username}（{ROLES[role]}）。一次性密码：{password}（首次登录须修改）")
