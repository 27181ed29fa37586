"""Migrations keep the data they find: upgrading and downgrading loses no answer."""

import flask_migrate
from sqlalchemy import text

from survey import create_app
from survey.db import db
from tests.conftest import _settings

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


def _counts(app):
    with db.engine.connect() as conn:
        return [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("responses", "answers", "form_nonces")
        ]


def test_migrating_up_and_down_keeps_every_answer(tmp_path):
    app = create_app(_settings(f"sqlite:///{tmp_path / 'm.db'}"))
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
    app = create_app(_settings(f"sqlite:///{tmp_path / 'r.db'}"))
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
        with db.engine.begin() as conn:
            for statement in ROWS[:-3]:
                conn.execute(text(statement))
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
