"""``flask demo-data``: load the demo once; print how to log in and a link to try."""

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.accounts.models import ROLES
from survey.db import db, write_transaction
from survey.demo.services import DEMO_USERS, load_demo
from survey.sites.tokens import list_sites, survey_url


@click.command("demo-data")
@with_appcontext
def demo_data_command():
    """Create the seed projects with sites and answers (idempotent) and the demo staff."""
    with write_transaction(db.session):
        result = load_demo(db.session)
    for name in result["projects"]:
        click.echo(f"已创建演示项目：{name}")
    if result["responses"]:
        click.echo(f"已生成演示评价 {result['responses']} 条")
    if not result["projects"]:
        click.echo("演示数据已存在，未重复创建。")
    sites = list_sites(db.session)
    if sites:
        url = survey_url(current_app.config["PUBLIC_BASE_URL"], sites[0].token)
        click.echo(f"试一试居民评价页：{url}")
        click.echo("全部点位链接：flask --app wsgi sites")
    click.echo(f"工作人员登录：{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/login")
    for username, role, region in DEMO_USERS:
        who = f"{ROLES[role]} {username}" + (f"（{region}）" if region else "")
        if username in result["passwords"]:
            click.echo(f"{who}，一次性密码：{result['passwords'][username]}")
        else:
            click.echo(f"{who} 已设置过自己的密码。")
    if result["passwords"]:
        click.echo("首次登录须改密码；改密码之前，每次运行本命令都会换一个新的一次性密码。")
