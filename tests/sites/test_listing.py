"""The one mechanism every long staff list filters and pages by (survey.sites.listing): a
site is found the same way on the site, roster, task and visit lists."""

import pytest
from sqlalchemy import select

from survey.db import db, now_utc, write_transaction
from survey.regions.models import Region
from survey.regions.scope import EVERYTHING, Scope
from survey.sites.listing import SiteFilter, counties, page_of
from survey.sites.models import Site
from survey.sites.schemas import list_query_schema
from survey.sites.tokens import issue_token


@pytest.fixture
def sites(make_site):
    """Four sites of one project in three counties, and one of another project."""
    return {
        "yuhu": make_site("Yuhu 康养中心", county="莲都区"),
        "percent": make_site("百分之100%照料中心", county="莲都区"),
        "under": make_site("紫金_街道康养联合体", county="青田县"),
        "jinyun": make_site("五云街道康养联合体", county="缙云县"),
        "other": make_site("鹿城康养中心", project="另一个项目", county="鹿城区"),
    }


def _found(app, project_id, sites: SiteFilter) -> list[str]:
    with app.app_context():
        query = select(Site.name).where(Site.project_id == project_id, sites.where())
        return sorted(db.session.scalars(query.order_by(Site.id)))


def test_names_match_in_any_case_and_wildcards_are_plain_characters(app, sites):
    project = sites["yuhu"].project_id
    assert _found(app, project, SiteFilter(text="YUHU")) == ["Yuhu 康养中心"]
    assert _found(app, project, SiteFilter(text="yuhu 康养")) == ["Yuhu 康养中心"]
    assert _found(app, project, SiteFilter(text="%")) == ["百分之100%照料中心"]
    assert _found(app, project, SiteFilter(text="_")) == ["紫金_街道康养联合体"]
    assert len(_found(app, project, SiteFilter())) == 4


def test_a_code_matches_in_any_case_current_or_retired(app, sites):
    ref = sites["under"]
    project = ref.project_id
    assert _found(app, project, SiteFilter(text=ref.token.lower())) == [ref.name]
    with app.app_context():  # a new poster: the old code still tells which site it was
        with write_transaction(db.session):
            site = db.session.get(Site, ref.id)
            site.tokens[0].retired_at = now_utc()
            db.session.flush()
            new = issue_token(db.session, site).token
    assert _found(app, project, SiteFilter(text=ref.token)) == [ref.name]
    assert _found(app, project, SiteFilter(text=new.lower())) == [ref.name]
    # Another project's code finds nothing here.
    assert _found(app, project, SiteFilter(text=sites["other"].token)) == []


def test_county_and_text_narrow_together(app, sites):
    project = sites["yuhu"].project_id
    with app.app_context():
        liandu = db.session.scalars(select(Region.id).filter_by(name="莲都区")).one()
    assert _found(app, project, SiteFilter(liandu)) == ["Yuhu 康养中心", "百分之100%照料中心"]
    assert _found(app, project, SiteFilter(liandu, "街道")) == []
    assert not SiteFilter().active and SiteFilter(liandu).active and SiteFilter(text="x").active
    assert SiteFilter(liandu, "").args == {"county": liandu}


def test_a_page_past_the_last_is_the_last(app, sites):
    query = select(Site).where(Site.project_id == sites["yuhu"].project_id).order_by(Site.id)
    with app.app_context():
        page = page_of(db.session, query, 99, per_page=3)
        assert (page.number, page.pages, page.total, len(page.items)) == (2, 2, 4, 1)
        first = page_of(db.session, query, 1, per_page=3)
        assert [s.name for s in first.items][:1] == ["Yuhu 康养中心"] and first.pages == 2
        empty = page_of(db.session, query.where(Site.id < 0), 5, per_page=3)
        assert (empty.number, empty.pages, empty.items) == (1, 1, [])


def test_the_county_choices_are_those_with_sites_within_scope(app, sites):
    project = sites["yuhu"].project_id
    with app.app_context():
        ids = dict(db.session.execute(select(Region.name, Region.id)).all())

        def names(scope):
            return [r.name for r in counties(db.session, project, scope)]

        assert names(EVERYTHING) == sorted(["莲都区", "青田县", "缙云县"])
        assert names(Scope(frozenset({ids["莲都区"], ids["鹿城区"]}))) == ["莲都区"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"county": "abc", "q": "紫金"}, "请从列表中选择县（市、区）。"),
        ({"page": "0", "q": "紫金"}, "页码应是正整数。"),
        ({"q": "长" * 101}, "搜索内容不超过 100 个字。"),
        ({"q": "紫\x00金"}, "内容里有无法识别的字符，请重新输入。"),
    ],
)
def test_a_bad_query_value_is_dropped_and_named(args, named):
    query, problems = list_query_schema.load_leniently(args)
    assert problems == [named]
    assert query["page"] >= 1 and query["sites"] == SiteFilter(query["county"], query["q"])
    if "q" in args and len(args["q"]) <= 100 and "\x00" not in args["q"]:
        assert query["q"] == "紫金"


def test_a_good_query_loads_with_its_filter():
    query, problems = list_query_schema.load_leniently({"county": "3", "q": " 紫金 ", "page": ""})
    assert problems == []
    assert query["sites"] == SiteFilter(3, "紫金") and query["page"] == 1
