"""Fixtures of the account tests."""

import pytest

from survey import create_app
from survey.db import db
from tests.helpers import app_settings


@pytest.fixture
def make_app(database_url):
    """make_app(**settings): another app on the test database, closed after the test."""
    made = []

    def make(**settings):
        app = create_app(
            app_settings(database_url) | {"LOGIN_RATE_LIMIT": "3 per minute"} | settings
        )
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()
