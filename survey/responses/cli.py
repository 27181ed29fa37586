"""``flask rebuild-rollups``: recompute the dashboard's counts from the responses."""

import click
from flask.cli import with_appcontext

from survey.db import begin_write, db
from survey.responses.rollups import rebuild


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_rollups_command():
    """Recompute every rollup count from the raw responses (after a restore or a repair)."""
    begin_write(db.session)
    read = rebuild(db.session)
    db.session.commit()
    click.echo(f"已根据 {read} 条评价重建汇总表。")
