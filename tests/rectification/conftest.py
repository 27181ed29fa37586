"""Three sites in two counties with their staff, the clock on the eve of National Day."""

from datetime import UTC, datetime

import pytest

from tests.checks.conftest import Clock
from tests.helpers import PASSWORD

#: 2026-09-30 10:00 in Shanghai, the Wednesday before the National Day holiday (Oct 1–7 off,
#: Saturday Oct 10 worked).
EVE = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(app, make_site, make_user):
    sites = {
        "liandu": make_site("紫金街道康养联合体", county="莲都区"),
        "liandu2": make_site("岩泉街道康养联合体", county="莲都区"),
        "qingtian": make_site("鹤城街道康养联合体", county="青田县"),
    }
    make_user("liandu", "county", PASSWORD, region="莲都区")
    make_user("qingtian", "county", PASSWORD, region="青田县")
    make_user("lishui", "city", PASSWORD, region="丽水市")
    app.extensions["clock"] = Clock(EVE)
    return sites
