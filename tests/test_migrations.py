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
