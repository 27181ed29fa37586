"""Migrations keep the data they find: upgrading and downgrading loses no answer."""

import json
import os
from datetime import UTC, date, datetime

import flask_migrate
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import IntegrityError

from survey import create_app
from survey.db import db, write_transaction
from survey.responses import answers_store
from tests.helpers import app_settings

ROWS = [
    "INSERT INTO regions (id, name, level) VALUES (1, '丽水市', 'city')",
    "INSERT INTO questionnaires (id, name, created_at) VALUES (1, '问卷', '2026-01-01')",
    "INSERT INTO questionnaire_versions (id, questionnaire_id, number, created_at)"
    " VALUES (1, 1, 1, '2026-01-01')",
    "INSERT INTO questions (id, version_id, position, key, kind, prompt, required)"
    " VALUES (1, 1, 0, 'overall', 'satisfaction', '满意吗', true)",
    "INSERT INTO projects (id, name, year, region_id, questionnaire_id, created_at)"
    " VALUES (1, '项目', 2022, 1, 1, '2026-01-01')",
    "INSERT INTO sites (id, project_id, region_id, name, address, level, active, created_at)"
    " VALUES (1, 1, 1, '点位', '', 'township', true, '2026-01-01')",
    "INSERT INTO responses (id, site_id, version_id, channel, overall, comment, created_at)"
    " VALUES (1, 1, 1, 'qr', 5, '', '2026-01-01')",
    "INSERT INTO answers (id, response_id, question_id, choice) VALUES (1, 1, 1, 5)",
    "INSERT INTO form_nonces (nonce, response_id, used_at) VALUES ('n1', 1, '2026-01-01')",
]


def _migrate_with_a_site(revision: str) -> None:
    """Migrate the app's empty database to ``revision`` and add a site (ROWS without the
    answers)."""
    flask_migrate.upgrade(revision=revision)
    with db.engine.begin() as conn:
        for statement in ROWS[:-3]:
            conn.execute(text(statement))


def _counts(app):
    with db.engine.connect() as conn:
        return [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("responses", "answers", "form_nonces")
        ]


def test_migrating_up_and_down_keeps_every_answer(tmp_path):
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'm.db'}"))
    with app.app_context():
        flask_migrate.upgrade(revision="0003")
        with db.engine.begin() as conn:
            for statement in ROWS:
                conn.execute(text(statement))
        flask_migrate.upgrade()
        assert _counts(app) == [1, 1, 1]
        flask_migrate.downgrade(revision="0003")
        assert _counts(app) == [1, 1, 1]
        flask_migrate.upgrade()
        assert _counts(app) == [1, 1, 1]
        with db.engine.connect() as conn:  # foreign keys are on again afterwards
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()


def test_rollup_counts_move_between_level_rows_and_level_columns(tmp_path):
    cells = [("all", "2000-01-01", 5, 3), ("all", "2000-01-01", 2, 1), ("day", "2026-01-01", 5, 3)]
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'r.db'}"))
    with app.app_context():
        _migrate_with_a_site(revision="0005")
        with db.engine.begin() as conn:
            for grain, day, level, count in cells:
                conn.execute(
                    text(
                        "INSERT INTO response_rollups"
                        " (grain, site_id, day, channel, proxy, level, count)"
                        f" VALUES ('{grain}', 1, '{day}', 'qr', false, {level}, {count})"
                    )
                )
        flask_migrate.upgrade(revision="0006")
        with db.engine.connect() as conn:
            wide = conn.execute(
                text(
                    "SELECT grain, count_1, count_2, count_3, count_4, count_5"
                    " FROM response_rollups ORDER BY grain"
                )
            ).all()
        assert [tuple(row) for row in wide] == [("all", 0, 1, 0, 0, 3), ("day", 0, 0, 0, 0, 3)]
        flask_migrate.downgrade(revision="0005")
        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT grain, day, level, count FROM response_rollups")).all()
        assert sorted(tuple(row) for row in back) == sorted(cells)
        db.engine.dispose()


@pytest.fixture
def scratch_postgresql():
    """A PostgreSQL database of its own (the suite's is migrated once and shared), dropped
    afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL to migrate")
    scratch = make_url(url).set(database=f"{make_url(url).database}_migrations")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    yield scratch.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_database(request, tmp_path):
    """A database of its own on each backend (PostgreSQL's skipped without one)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scratch.db'}"
    return request.getfixturevalue("scratch_postgresql")


def _loaded(value):
    """A JSON column read with plain SQL: text on SQLite, already parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def _rollups(conn) -> list[tuple]:
    query = "SELECT grain, day, count_5 FROM response_rollups ORDER BY grain, day"
    return [tuple(row) for row in conn.execute(text(query))]


def _partitions(conn) -> list[str]:
    query = (
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'response_rollups'::regclass ORDER BY c.relname"
    )
    return list(conn.execute(text(query)).scalars())


def test_rollups_are_partitioned_by_grain_on_postgresql_and_keep_their_counts(scratch_postgresql):
    app = create_app(app_settings(scratch_postgresql))
    with app.app_context():
        _migrate_with_a_site(revision="0007")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO response_rollups (grain, site_id, day, channel, proxy, count_5)"
                    " VALUES ('all', 1, '2000-01-01', 'qr', false, 3),"
                    " ('month', 1, '2026-01-01', 'qr', false, 2),"
                    " ('day', 1, '2026-01-02', 'qr', false, 1)"
                )
            )
        before = [
            ("all", date(2000, 1, 1), 3),
            ("day", date(2026, 1, 2), 1),
            ("month", date(2026, 1, 1), 2),
        ]
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            assert _partitions(conn) == [f"response_rollups_{g}" for g in ("all", "day", "month")]
            assert _rollups(conn) == before
        # A submission's upsert and a deletion's decrement find their cells in the partitions.
        answer = {"site_id": 1, "channel": "qr", "proxy": False, "level": 5}
        moment = datetime(2026, 1, 2, 4, tzinfo=UTC)
        with write_transaction(db.session):
            for delta in (1, 1, -1):
                answers_store._count(
                    db.session.connection(), created_at=moment, delta=delta, **answer
                )
        with db.engine.connect() as conn:
            assert _rollups(conn) == [(g, d, n + 1) for g, d, n in before]
        flask_migrate.downgrade(revision="0007")
        with db.engine.connect() as conn:
            assert _partitions(conn) == []
            assert _rollups(conn) == [(g, d, n + 1) for g, d, n in before]
        db.engine.dispose()


def test_doubled_top_level_region_names_are_named_before_they_are_made_unique(tmp_path, capfd):
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'u.db'}"))
    with app.app_context():
        flask_migrate.upgrade(revision="0008")
        with db.engine.begin() as conn:
            for i in (1, 2):
                conn.execute(
                    text(f"INSERT INTO regions (id, name, level) VALUES ({i}, '丽水市', 'city')")
                )
        with pytest.raises(SystemExit):  # flask-migrate logs the error (stderr) and exits
            flask_migrate.upgrade()
        message = "Top-level regions share these names, so they cannot be made unique: 丽水市"
        assert message in capfd.readouterr().err
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE regions SET name = '丽水市（旧）' WHERE id = 2"))
        flask_migrate.upgrade()
        with db.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(text("INSERT INTO regions (id, name, level) VALUES (3, '丽水市', 'city')"))
        db.engine.dispose()


def test_visit_checklists_survive_the_move_to_versions_and_item_results(scratch_database):
    app = create_app(app_settings(scratch_database))
    old = [{"item": "康复区域", "ok": True}, {"item": "合作协议", "ok": False}]
    with app.app_context():
        _migrate_with_a_site(revision="0009")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, must_change_password,"
                    " active, created_at) VALUES (1, 'u', 'x', 'city', false, true, '2026-01-01')"
                )
            )
            conn.execute(text("""UPDATE projects SET checklist = '["康复区域", "合作协议"]'"""))
            conn.execute(
                text(
                    "INSERT INTO visits (id, site_id, visited_on, inspectors, checklist,"
                    " findings, created_by_id, created_at)"
                    " VALUES (1, 1, '2026-11-20', '甲', :checklist, '', 1, '2026-11-20')"
                ),
                {"checklist": json.dumps(old, ensure_ascii=False)},
            )
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            (checklist,) = conn.execute(text("SELECT checklist FROM visits")).one()
            version = conn.execute(text("SELECT project_id, number, items FROM checklist_versions"))
            (project_id, number, items) = version.one()
        # An item left unticked was never verified: neither passed nor failed.
        assert _loaded(checklist) == [
            {"item": "康复区域", "required": False, "result": "pass"},
            {"item": "合作协议", "required": False, "result": "unverified"},
        ]
        assert (project_id, number) == (1, 1)
        assert _loaded(items) == [
            {"text": "康复区域", "required": False},
            {"text": "合作协议", "required": False},
        ]
        flask_migrate.downgrade(revision="0009")
        with db.engine.connect() as conn:
            (checklist,) = conn.execute(text("SELECT checklist FROM visits")).one()
            (kept,) = conn.execute(text("SELECT checklist FROM projects")).one()
        assert _loaded(checklist) == old and _loaded(kept) == ["康复区域", "合作协议"]
        db.engine.dispose()


def test_a_project_whose_checklist_is_json_null_migrates_to_the_general_list(scratch_database):
    # The demo stored its 照料中心 project's missing list as JSON null, not SQL NULL.
    app = create_app(app_settings(scratch_database))
    with app.app_context():
        _migrate_with_a_site(revision="0009")
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE projects SET checklist = 'null'"))
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM checklist_versions")).scalar() == 0
        db.engine.dispose()


def test_notices_become_the_default_and_are_numbered_again_on_downgrade(scratch_database):
    app = create_app(app_settings(scratch_database))
    before = text(
        "INSERT INTO notices (id, version, body, created_at) VALUES (:id, :v, :body, '2026-01-01')"
    )
    after = text(
        "INSERT INTO notices (id, region_id, version, body, created_at)"
        " VALUES (:id, :region, :v, :body, '2026-01-01')"
    )
    with app.app_context():
        _migrate_with_a_site(revision="0013")
        with db.engine.begin() as conn:
            conn.execute(
                before, [{"id": 1, "v": 1, "body": "第一版"}, {"id": 2, "v": 2, "body": "第二版"}]
            )
        flask_migrate.upgrade()
        with db.engine.begin() as conn:
            rows = conn.execute(text("SELECT id, region_id, version FROM notices ORDER BY id"))
            assert [tuple(row) for row in rows] == [(1, None, 1), (2, None, 2)]
            # A city counts its own versions.
            conn.execute(after, {"id": 3, "region": 1, "v": 1, "body": "丽水第一版"})
        with db.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(after, {"id": 4, "region": None, "v": 2, "body": "又一个默认第二版"})
        flask_migrate.downgrade(revision="0013")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, version, body FROM notices ORDER BY id"))
            expected = [(1, 1, "第一版"), (2, 2, "第二版"), (3, 3, "丽水第一版")]
            assert [tuple(row) for row in rows] == expected
        db.engine.dispose()


def test_roster_imports_lose_file_names_and_quoted_cells(scratch_database):
    app = create_app(app_settings(scratch_database))
    stray = "15899990000"
    problems = [[3, f"没有这个点位：{stray}"], [4, "多个县有名为“李秀兰”的点位，请改填点位码"]]
    problems += [[5, "姓名为空"]]
    details = [
        ("roster_imported", f"项目：文件“名单-{stray}.xlsx”导入 1 人（导入编号 1）"),
        ("roster_import_cancelled", f"文件“名单-{stray}”.csv”（导入编号 2）"),
        ("roster_imported", f"项目：文件“{'名' * 480}{stray}"),  # cut at 500 characters
        ("site_imported", "项目：导入 3 个点位"),
    ]
    with app.app_context():
        _migrate_with_a_site(revision="0014")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, must_change_password,"
                    " active, created_at) VALUES (1, 'u', 'x', 'city', false, true, '2026-01-01')"
                )
            )
            for import_id, name in ((1, f"名单-{stray}.XLSX"), (2, f"名单-{stray}.csv")):
                conn.execute(
                    text(
                        "INSERT INTO roster_imports (id, project_id, user_id, filename, status,"
                        " valid_rows, bad_rows, problems, created_at)"
                        " VALUES (:id, 1, 1, :name, 'imported', 1, 3, :problems, '2026-01-01')"
                    ),
                    {"id": import_id, "name": name, "problems": json.dumps(problems)},
                )
            conn.execute(
                text(
                    "INSERT INTO residents (id, project_id, site_id, region_id, import_id,"
                    " name_token, phone_token, phone_digest, created_at)"
                    " VALUES (1, 1, 1, 1, 1, 'n', 'p', 'd', '2026-01-01')"
                )
            )
            for action, detail in details:
                conn.execute(
                    text(
                        "INSERT INTO audit_entries (at, username, action, detail, ip)"
                        " VALUES ('2026-01-01', 'u', :action, :detail, '')"
                    ),
                    {"action": action, "detail": detail},
                )
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            kept = conn.execute(
                text("SELECT id, file_format, file_size, problems FROM roster_imports ORDER BY id")
            ).all()
            lines = conn.execute(text("SELECT detail FROM audit_entries ORDER BY id")).scalars()
            assert conn.execute(text("SELECT import_id FROM residents")).scalar() == 1
        assert [(i, f, s) for i, f, s, _ in kept] == [(1, "xlsx", None), (2, "csv", None)]
        assert _loaded(kept[0][3]) == [
            [3, "点位码有误：没有这个点位"],
            [4, "点位码有误：多个县有这个名称的点位，请改填点位码"],
            [5, "姓名为空"],
        ]
        assert list(lines) == [
            "项目：文件导入 1 人（导入编号 1）",
            "文件（导入编号 2）",
            "项目：文件",
            "项目：导入 3 个点位",
        ]
        flask_migrate.downgrade(revision="0014")
        with db.engine.connect() as conn:
            names = conn.execute(text("SELECT filename FROM roster_imports ORDER BY id"))
            assert list(names.scalars()) == ["roster.xlsx", "roster.csv"]
        db.engine.dispose()


def _index_sql(conn, name: str) -> str:
    if conn.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE name = :name"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    return conn.execute(text(query), {"name": name}).scalar() or ""


def test_answers_index_their_visit_and_reviewer_only_when_they_have_one(scratch_database):
    app = create_app(app_settings(scratch_database))
    names = ("ix_responses_visit_id", "ix_responses_reviewed_by_id")
    with app.app_context():
        _migrate_with_a_site(revision="0015")
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            for name, column in zip(names, ("visit_id", "reviewed_by_id"), strict=True):
                assert f"{column} IS NOT NULL" in _index_sql(conn, name)
        flask_migrate.downgrade(revision="0015")
        with db.engine.connect() as conn:
            assert all("WHERE" not in _index_sql(conn, name) for name in names)
            assert all(_index_sql(conn, name) for name in names)
        db.engine.dispose()
