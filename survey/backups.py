"""``flask backup OUT`` and ``flask restore IN``: the whole database to one file, and back.

SQLite is copied with its online backup API: a consistent copy while the app goes on serving.
PostgreSQL is dumped with ``pg_dump`` in its custom format and restored with ``pg_restore``,
from PostgreSQL's client programs (Debian: postgresql-client), which know every object of
the schema; no Python library does this, so this module only picks the tool and calls it.
A backup is written beside its name and renamed into place when whole: a file with the
name is never half-written. The field encryption key is not in the database: it is backed
up apart (README).
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from survey.db import db

#: How each kind of backup file begins.
SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(click.ClickException):
    """A backup or restore that cannot be done; the message says why, for the operator."""


def _url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _libpq(url: URL) -> str:
    """The URL as PostgreSQL's own programs take it: no SQLAlchemy driver name, and no
    password (a command line is visible to every user of the machine; ``_run`` passes it
    in the environment)."""
    return url._replace(drivername="postgresql", password=None).render_as_string()


def _run(command: list[str], url: URL | None = None) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"找不到 {command[0]}：请安装 PostgreSQL 客户端（postgresql-client）。")
    env = dict(os.environ)
    if url is not None and url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} 失败，数据库没有改动：{done.stderr.strip()[-2000:]}")


def _sqlite_copy(source: str | Path, target: str | Path) -> None:
    """Copy one SQLite database into another, page by page, consistently (the source may
    be written meanwhile)."""
    with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(target)) as writer:
        try:
            reader.backup(writer)  # one step: a failure leaves the target as it was
        except sqlite3.DatabaseError as err:
            raise BackupError(f"复制失败，目标数据库没有改动：{err}") from err


def backup(url: URL, out: Path) -> None:
    """Write the database at ``url`` to ``out``, whole or not at all."""
    part = out.with_name(f"{out.name}.part")
    part.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(url.database, part)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={part}", _libpq(url)], url)
        with part.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)


def _kind(path: Path) -> str:
    with path.open("rb") as file:
        start = file.read(len(SQLITE_HEADER))
    if start.startswith(SQLITE_HEADER):
        return "sqlite"
    if start.startswith(PG_DUMP_HEADER):
        return "postgresql"
    raise BackupError(f"{path} 不是本系统的备份文件（SQLite 数据库或 pg_dump 自定义格式）。")


def restore(url: URL, path: Path, replace: bool) -> None:
    """Put the backup at ``path`` into the database at ``url``. Refused for a backup of the
    other kind of database, and for a database that already holds tables unless ``replace``
    (then everything in it is replaced). Run with the app stopped."""
    kind, backend = _kind(path), url.get_backend_name()
    if kind != backend:
        raise BackupError(
            f"这是 {kind} 的备份，不能恢复到 {backend} 数据库：请在同一种数据库之间备份和恢复。"
        )
    if inspect(db.engine).get_table_names() and not replace:
        raise BackupError("目标数据库里已经有数据表。确认要整个替换时，请加 --replace。")
    db.engine.dispose()  # no connection of ours holds the database while it is replaced
    if backend == "sqlite":
        _sqlite_copy(path, url.database)
    else:
        _restore_postgresql(url, path, replace)


def _restore_postgresql(url: URL, path: Path, replace: bool) -> None:
    """pg_restore turns the dump into SQL (a damaged dump stops here, nothing touched), then
    psql runs it in one transaction, after emptying the schema when replacing: all of it or
    nothing. (``pg_restore --clean`` cannot drop the rollups' partitions' inherited keys,
    and would not undo its drops on a failure.)"""
    empty = ["-c", "DROP SCHEMA public CASCADE", "-c", "CREATE SCHEMA public"] if replace else []
    with tempfile.NamedTemporaryFile(suffix=".sql") as script:
        _run(["pg_restore", "--no-owner", f"--file={script.name}", str(path)])
        _run(
            ["psql", "--single-transaction", "--quiet", "--set=ON_ERROR_STOP=1", *empty]
            + [f"--file={script.name}", f"--dbname={_libpq(url)}"],
            url,
        )


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(out: Path):
    """Write the whole database to OUT (SQLite: a database file; PostgreSQL: pg_dump's
    custom format). The app may keep serving meanwhile."""
    backup(_url(), out)
    click.echo(f"已备份到 {out}（{out.stat().st_size} 字节）。加密密钥不在其中，请另行保管。")


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace a database that already has tables.")
@with_appcontext
def restore_command(backup_file: Path, replace: bool):
    """Restore BACKUP_FILE (made by ``flask backup``) into the configured database; stop the
    app first."""
    restore(_url(), backup_file, replace)
    click.echo(f"已从 {backup_file} 恢复。请用同一个 FIELD_ENCRYPTION_KEY 启动。")
