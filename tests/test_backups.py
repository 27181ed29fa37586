"""``flask backup`` and ``flask restore``: a backup restored into a fresh database gives the
same dashboard counts and the same people; a wrong file or a full database is refused."""

import subprocess

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from survey import backups, create_app
from survey.accounts.models import User
from survey.db import db
from survey.responses.models import Response
from survey.sites.models import Site
from tests.helpers import app_settings, raw_counts, rolled_counts


def _fresh_database(source_url: str, tmp_path) -> str:
    """An empty database of the same kind as ``source_url``: nothing migrated, no tables."""
    url = make_url(source_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}"
    name = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _what_the_dashboard_reads(app) -> tuple:
    with app.app_context():
        session = db.session
        answers = session.scalar(select(func.count()).select_from(Response))
        users = sorted(session.scalars(select(User.username)))
        return rolled_counts(session), raw_counts(session), answers, users


def test_a_backup_restored_into_a_fresh_database_gives_the_same_counts(app, runner, tmp_path):
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    before = _what_the_dashboard_reads(app)
    assert before[2] > 1000 and before[0] == before[1]
    out = tmp_path / "survey.backup"
    made = runner.invoke(args=["backup", str(out)])
    assert made.exit_code == 0, made.output
    assert "已备份" in made.output and not (tmp_path / "survey.backup.part").exists()

    target = create_app(app_settings(_fresh_database(app.config["DATABASE_URL"], tmp_path)))
    try:
        restored = target.test_cli_runner().invoke(args=["restore", str(out)])
        assert restored.exit_code == 0, restored.output
        assert _what_the_dashboard_reads(target) == before
    finally:
        with target.app_context():
            db.session.remove()
            db.engine.dispose()


def test_restore_refuses_a_database_with_tables_unless_told_to_replace(app, runner, tmp_path):
    out = tmp_path / "empty.backup"
    assert runner.invoke(args=["backup", str(out)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(out)])  # the app's database is migrated
    assert refused.exit_code != 0 and "--replace" in refused.output
    replaced = runner.invoke(args=["restore", "--replace", str(out)])
    assert replaced.exit_code == 0, replaced.output


def test_restore_refuses_a_file_that_is_no_backup(runner, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("这不是备份")
    refused = runner.invoke(args=["restore", "--replace", str(other)])
    assert refused.exit_code == 1 and "不是本系统的备份文件" in refused.output


def test_restore_refuses_a_backup_of_the_other_kind_of_database(app, runner, tmp_path):
    other = tmp_path / "other.backup"
    if app.config["DATABASE_URL"].startswith("sqlite"):
        other.write_bytes(b"PGDMP" + bytes(100))
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(100))
    refused = runner.invoke(args=["restore", "--replace", str(other)])
    assert refused.exit_code != 0 and "不能恢复到" in refused.output


@pytest.mark.parametrize("command", [["backup"], ["restore"]])
def test_backup_and_restore_need_a_file(runner, command):
    assert runner.invoke(args=command).exit_code == 2


def test_a_damaged_backup_changes_nothing(app, runner, make_site, tmp_path):
    make_site("还在的点位")
    whole = tmp_path / "whole.backup"
    assert runner.invoke(args=["backup", str(whole)]).exit_code == 0
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    refused = runner.invoke(args=["restore", "--replace", str(damaged)])
    assert refused.exit_code == 1 and "没有改动" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Site)) == 1


def test_the_database_password_goes_in_the_environment_not_on_the_command_line(
    monkeypatch, tmp_path
):
    """A command line is visible to every user of the machine (``ps``)."""
    seen = {}

    def run(command, **options):
        seen["command"], seen["env"] = command, options["env"]
        (tmp_path / "out.backup.part").write_bytes(b"PGDMP")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(backups.subprocess, "run", run)
    monkeypatch.setattr(backups.shutil, "which", lambda program: f"/usr/bin/{program}")
    url = make_url("postgresql+psycopg://survey:s3cret-pw@db.internal/survey")
    backups.backup(url, tmp_path / "out.backup")
    assert "s3cret-pw" not in " ".join(seen["command"])
    assert seen["env"]["PGPASSWORD"] == "s3cret-pw"
    assert (tmp_path / "out.backup").read_bytes() == b"PGDMP"
