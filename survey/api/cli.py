"""``flask webhooks deliver``: one run of the webhooks (survey.api.webhooks.run_once)."""

import click
from flask.cli import AppGroup

from survey.api.webhooks import run_once
from survey.db import db

webhooks_command = AppGroup("webhooks", help="API webhooks for new 差评.")


@webhooks_command.command("deliver")
def deliver_command():
    """Queue the new 差评 for every webhook and send what is due, once."""
    counts = run_once(db.session)
    click.echo(
        "新排队 {queued} 条；送达 {delivered} 条，待重试 {retried} 条，放弃 {failed} 条。".format(
            **counts
        )
    )
