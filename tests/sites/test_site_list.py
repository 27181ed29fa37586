"""The admin project page's site list: a page at a time, filtered by county, searched by
name or site code; the filters travel in the pager links; bad values answer sensibly."""

import re

import pytest

from survey.db import db, now_utc, write_transaction
from survey.sites.models import Site
from survey.sites.tokens import issue_token
from tests.helpers import staff_client
from tests.sites.site_helpers import make_world

ROW = re.compile(r"<tr>\s*<td>")


@pytest.fixture
def world(app, make_site, make_user):
    """The site world, its project grown to 80 sites in 莲都区 and 40 in 青田县."""
    world = make_world(app, make_site, make_user)
    with app.app_context(), write_transaction(db.session):
        for county, n in (("莲都区", 79), ("青田县", 39)):
            for i in range(n):
                site = Site(
                    project_id=world.project_id,
                    region_id=world.counties[county],
                    name=f"{county}第{i:03}号照料中心",
                )
                db.session.add(site)
                issue_token(db.session, site)
    return world


def _page(client, world, query="", status=200):
    reply = client.get(f"/admin/projects/{world.project_id}{query}")
    assert reply.status_code == status
    return reply.get_data(as_text=True)


def _rows(page: str) -> int:
    return len(ROW.findall(page))


def test_a_large_project_is_listed_fifty_sites_a_page(app, world):
    admin = staff_client(app, "admin")
    first = _page(admin, world)
    assert _rows(first) == 50
    assert "共 120 个点位，第 1 / 3 页" in first
    assert f'href="/admin/projects/{world.project_id}?page=2" rel="next"' in first
    last = _page(admin, world, "?page=3")
    assert _rows(last) == 20
    assert "青田县第038号照料中心" in last and "紫金街道康养联合体" not in last
    assert "下一页" not in last


def test_a_page_past_the_last_shows_the_last(app, world):
    page = _page(staff_client(app, "admin"), world, "?page=99")
    assert "第 3 / 3 页" in page and _rows(page) == 20


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "１", "99999999999"])
def test_a_bad_page_number_is_named_and_the_first_page_shown(app, world, bad):
    page = _page(staff_client(app, "admin"), world, f"?page={bad}&county=", status=400)
    assert "页码应是正整数" in page
    assert "第 1 / 3 页" in page and _rows(page) == 50


def test_filtering_by_county_keeps_the_filter_in_the_pager(app, world):
    county = world.counties["莲都区"]
    admin = staff_client(app, "admin")
    page = _page(admin, world, f"?county={county}")
    assert "找到 80 个点位，第 1 / 2 页" in page
    assert "青田县" not in page.split("<tbody>")[1]
    assert f'href="/admin/projects/{world.project_id}?page=2&amp;county={county}"' in page
    assert f'<option value="{county}" selected>莲都区</option>' in page
    second = _page(admin, world, f"?page=2&county={county}")
    assert _rows(second) == 30 and "莲都区第078号照料中心" in second


def test_searching_by_name_with_the_county(app, world):
    county = world.counties["青田县"]
    page = _page(staff_client(app, "admin"), world, f"?county={county}&q=第01")
    assert "找到 10 个点位" in page and _rows(page) == 10
    assert "莲都区第01" not in page
    assert 'value="第01"' in page  # the search stays in its box


def test_searching_by_site_code_in_any_case_finds_current_and_retired_codes(app, world):
    admin = staff_client(app, "admin")
    page = _page(admin, world, f"?q={world.qingtian.token.lower()}")
    assert "找到 1 个点位" in page and "鹤城街道康养联合体" in page
    with app.app_context():  # a damaged old poster still tells which site it was
        with write_transaction(db.session):
            site = db.session.get(Site, world.qingtian.id)
            site.tokens[0].retired_at = now_utc()
            db.session.flush()
            issue_token(db.session, site)
    page = _page(admin, world, f"?q={world.qingtian.token}")
    assert "找到 1 个点位" in page and "鹤城街道康养联合体" in page


@pytest.mark.parametrize("query", ["?q=%25", "?q=_", "?q=没有这个点位", "?county=999999"])
def test_a_search_that_matches_nothing_says_so(app, world, query):
    page = _page(staff_client(app, "admin"), world, query)
    assert "找到 0 个点位" in page and _rows(page) == 0


def test_a_bad_county_or_too_long_search_is_named_and_dropped(app, world):
    admin = staff_client(app, "admin")
    page = _page(admin, world, "?county=abc&q=第00", status=400)
    assert "请从列表中选择县（市、区）" in page and "找到 20 个点位" in page
    page = _page(admin, world, "?q=" + "长" * 101, status=400)
    assert "搜索内容不超过 100 个字" in page and "共 120 个点位" in page


def test_a_city_user_pages_their_own_project_only(app, world):
    lishui = staff_client(app, "lishui")
    assert "共 120 个点位" in _page(lishui, world, "?page=2")
    wenzhou = staff_client(app, "wenzhou")
    assert wenzhou.get(f"/admin/projects/{world.project_id}?page=2").status_code == 404


def test_a_project_of_2001_sites_gives_a_small_page(app, make_site, make_user):
    """The issue's case: 2,001 sites made a 2.4 MB page; a page of 50 stays small."""
    world = make_world(app, make_site, make_user)
    with app.app_context(), write_transaction(db.session):
        for i in range(1999):
            site = Site(
                project_id=world.project_id, region_id=world.counties["莲都区"], name=f"点位{i:04}"
            )
            db.session.add(site)
            issue_token(db.session, site)
    page = _page(staff_client(app, "admin"), world)
    assert "共 2001 个点位，第 1 / 41 页" in page and _rows(page) == 50
    assert len(page.encode()) < 150_000
