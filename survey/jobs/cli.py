"""``flask jobs worker``: the process that runs background jobs (``make run`` starts one);
``flask jobs sweep``: hand over again what vanished workers left, once."""

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from survey.jobs import runner
from survey.jobs.queue import queue_of

jobs_command = AppGroup("jobs", help="后台任务（海报、导出、月报）。")


@jobs_command.command("worker")
@click.option(
    "--threads", type=click.IntRange(1, 32), default=None, help="同时运行的任务数（JOB_WORKERS）。"
)
def worker_command(threads):
    """Run jobs until stopped (SIGTERM: the running jobs finish first; Ctrl+C: at once)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()
    queue = queue_of(app)
    # What a worker killed before this one started left: its jobs are claimed again now,
    # not at the next minute.
    queue.tick()
    consumer = queue.huey.create_consumer(
        workers=threads or app.config["JOB_WORKERS"],
        worker_type="thread",
        periodic=True,
        # An idle worker looks at the queue file at least every second (Redis: it waits on
        # the queue and is told at once), so a job starts while its asker watches.
        max_delay=1.0,
        # SIGTERM (docker stop, systemd, make run's end) lets the running jobs finish; Ctrl+C
        # stops at once (those jobs run again from the start by the next worker).
        graceful_signal="TERM",
    )
    click.echo("后台任务进程已启动（Ctrl+C 停止）。")
    consumer.run()


@jobs_command.command("sweep")
def sweep_command():
    """Hand over again the jobs whose worker vanished, once."""
    ids = runner.sweep(current_app._get_current_object())
    click.echo(f"重新排队 {len(ids)} 个任务。")
