"""The staff world of tests/checks (two counties, their users, a clock), and answers made
through the app's bulk path."""

from datetime import UTC, datetime

import pytest

from survey.db import db, write_transaction
from survey.responses.answers_store import import_responses
from survey.sites.models import Site
from tests.checks.conftest import clock, staff, world  # noqa: F401  (fixtures)

#: 2026-11-10 10:00 in Shanghai.
NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def answers(app):
    """answers(site, {level: n}, channel="qr", at=NOVEMBER, comment="") stores answers."""

    def add(site, levels: dict, channel="qr", at=NOVEMBER, comment="", proxy=False):
        with app.app_context(), write_transaction(db.session):
            version = db.session.get(Site, site.id).project.questionnaire.current_version
            rows = [
                {
                    "site_id": site.id,
                    "version_id": version.id,
                    "channel": channel,
                    "overall": level,
                    "created_at": at,
                    "comment": comment,
                    "proxy": proxy,
                }
                for level, n in levels.items()
                for _ in range(n)
            ]
            import_responses(db.session, rows)

    return add
