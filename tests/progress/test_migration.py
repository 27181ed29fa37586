"""Migration 0027 keeps every live link open: each project that exists before it opens its
surveys from the start, and a site is not built until its 100 % is confirmed."""

import flask_migrate
from sqlalchemy import text

from survey import create_app
from survey.db import db
from tests.helpers import app_settings
from tests.test_migrations import _migrate_with_a_site, scratch_database, scratch_postgresql  # noqa: F401


def test_projects_made_before_progress_open_their_surveys_from_the_start(scratch_database):  # noqa: F811
    app = create_app(app_settings(scratch_database))
    with app.app_context():
        _migrate_with_a_site(revision="0025")
        flask_migrate.upgrade(revision="0027")
        with db.engine.connect() as conn:
            project = conn.execute(text("SELECT open_from_start FROM projects")).one()
            site = conn.execute(text("SELECT completed FROM sites")).one()
        assert project[0] in (True, 1) and site[0] in (False, 0)
        with db.engine.begin() as conn:  # a project made after it waits for its sites
            conn.execute(
                text(
                    "INSERT INTO projects (id, name, year, region_id, questionnaire_id,"
                    " created_at) VALUES (2, '新项目', 2027, 1, 1, '2026-12-01')"
                )
            )
            fresh = conn.execute(text("SELECT open_from_start FROM projects WHERE id = 2"))
            assert fresh.scalar() in (False, 0)
        flask_migrate.downgrade(revision="0025")
        db.engine.dispose()
