"""``flask rebuild-rollups``: recompute the dashboard's counts from the responses."""

import click
from flask.cli import with_appcontext

from survey.db import db, write_transaction
from survey.responses.answers_store import recount


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_rollups_command():
    """Recompute every rollup count from the raw responses (after a restore or a repair)."""
    with write_transaction(db.session):
        read = recount(db.session)
    click.echo(f"已根据 {read} 条评价重建汇总表。")
