"""The stats API's rows, built without marshmallow, are exactly what its documented schema
dumps of the summaries the pages show."""

from datetime import timedelta

import pytest

from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.regions.scope import EVERYTHING, Scope
from survey.sites.models import Project, ProjectTarget
from survey.stats import summaries
from survey.stats.schemas import StatsRowSchema
from tests.stats.conftest import NOVEMBER


@pytest.fixture
def answered(app, world, answers):
    """Every kind of row: a QR-versus-phone discrepancy, rates shared by several sites,
    too few answers, proxy answers, a site without any, and a county with a target but no
    site (丽水市's 缙云县)."""
    answers(world.liandu, {5: 30})
    answers(world.liandu, {5: 12, 2: 8}, channel="phone")
    answers(world.liandu, {4: 3}, channel="phone", proxy=True)
    answers(world.liandu, {3: 2, 1: 1}, channel="visit", at=NOVEMBER - timedelta(days=40))
    answers(world.liandu2, {5: 9})
    answers(world.liandu2, {5: 12, 2: 8}, channel="phone")
    with app.app_context(), write_transaction(db.session):
        city = db.session.scalars(db.select(Region).filter_by(name="丽水市")).one()
        empty = Region(name="缙云县", level="county", parent=city)
        db.session.add(empty)
        project = db.session.get(Project, world.project_id)
        project.targets.append(ProjectTarget(region=empty, site_count=4))
    return world


FILTERS = [
    summaries.Filters(),
    summaries.Filters(date_from=NOVEMBER.date().replace(day=1)),
    summaries.Filters(channel="phone"),
]


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("group", ["county", "site"])
def test_stats_rows_are_the_schemas_dump_of_the_summaries(app, answered, group, filters):
    read = summaries.by_county if group == "county" else summaries.by_site
    with app.app_context():
        project = db.session.get(Project, answered.project_id)
        liandu = db.session.scalars(db.select(Region.id).filter_by(name="莲都区")).one()
        for scope in (EVERYTHING, Scope(frozenset({liandu}))):
            fast = summaries.stats(db.session, scope, project, filters, group)
            documented = StatsRowSchema(many=True).dump(read(db.session, scope, project, filters))
            assert fast == documented
            assert StatsRowSchema(many=True).validate(fast) == {}


def test_the_rows_hold_every_kind_of_row(app, answered):
    with app.app_context():
        project = db.session.get(Project, answered.project_id)
        counties = summaries.stats(db.session, EVERYTHING, project, summaries.Filters(), "county")
        sites = summaries.stats(db.session, EVERYTHING, project, summaries.Filters(), "site")
    by_name = {row["name"]: row for row in counties + sites}
    assert by_name["缙云县"]["combined"]["n"] == 0
    liandu = by_name[answered.liandu.name]
    assert liandu["discrepancy"] and liandu["proxy"] == 3 and liandu["channels"]["visit"]["n"] == 3
    assert sites[-1]["name"] == answered.qingtian.name  # no answers: ranked last
    assert by_name[answered.liandu2.name]["channels"]["phone"] == liandu["channels"]["phone"]
