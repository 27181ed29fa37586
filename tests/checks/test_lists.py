"""A city's batch seen from a county, and the long lists (roster, call tasks): a page at a
time, by county, by a site's name or code."""

import csv
import io
import re

from sqlalchemy import select

from survey.checks.models import CallTask
from survey.db import db
from tests.checks.conftest import import_roster, phone, roster_csv
from tests.helpers import post


def _city_roster_and_batch(staff, world, per_site=3, size="3"):
    """The city user imports a roster for three sites in two counties and draws a batch."""
    city = staff("lishui")
    rows = [
        (f"钱{n}", phone(1000 * s + n), site.token, "")
        for s, site in enumerate((world.liandu, world.liandu2, world.qingtian))
        for n in range(per_site)
    ]
    assert import_roster(city, world.project_id, roster_csv(rows)).status_code == 302
    reply = post(
        city, f"/checks/projects/{world.project_id}/samples", {"mode": "count", "size": size}
    )
    assert reply.status_code == 302
    return city, int(reply.headers["Location"].rsplit("/", 1)[1])


def _task_of(app, batch, site):
    with app.app_context():
        query = select(CallTask.id).where(CallTask.batch_id == batch, CallTask.site_id == site.id)
        return db.session.scalars(query).first()


def test_a_county_user_sees_their_part_of_a_city_batch(app, staff, world, clock):
    _, batch = _city_roster_and_batch(staff, world)
    liandu = staff("liandu")
    samples = liandu.get(f"/checks/projects/{world.project_id}/samples").get_data(as_text=True)
    assert f"/checks/batches/{batch}" in samples
    page = liandu.get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert "共 6 人" in page and "只列出您所在地区的任务" in page
    assert world.liandu.name in page and world.qingtian.name not in page
    assert "全部任务（6）" in page and "现在可以拨打（6）" in page
    export = liandu.get(f"/checks/batches/{batch}/tasks.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(export)))[1:]
    assert len(rows) == 6 and {row[1] for row in rows} == {"莲都区"}
    # Another county's task of the same batch stays out of reach.
    assert liandu.get(f"/checks/tasks/{_task_of(app, batch, world.qingtian)}").status_code == 404
    assert liandu.get(f"/checks/tasks/{_task_of(app, batch, world.liandu)}").status_code == 200
    qingtian = staff("qingtian")
    page = qingtian.get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert "共 3 人" in page and world.liandu.name not in page
    # The city sees all of it, with nothing left out.
    page = staff("lishui").get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert "共 9 人" in page and "只列出" not in page


def test_a_county_batch_stays_hidden_from_other_counties(app, staff, world, clock):
    liandu = staff("liandu")
    rows = [(f"孙{n}", phone(n), world.liandu.token, "") for n in range(3)]
    import_roster(liandu, world.project_id, roster_csv(rows))
    reply = post(
        liandu, f"/checks/projects/{world.project_id}/samples", {"mode": "count", "size": "2"}
    )
    batch = int(reply.headers["Location"].rsplit("/", 1)[1])
    qingtian = staff("qingtian")
    assert qingtian.get(f"/checks/batches/{batch}").status_code == 404
    assert qingtian.get(f"/checks/batches/{batch}/tasks.csv").status_code == 404
    samples = qingtian.get(f"/checks/projects/{world.project_id}/samples").get_data(as_text=True)
    assert f"/checks/batches/{batch}" not in samples


def _names(page: str) -> list[str]:
    return re.findall(r"<td>(\S+康养联合体)</td>", page)


def test_the_roster_is_paged_and_filtered_by_county_and_site(staff, world, clock):
    city, _ = _city_roster_and_batch(staff, world, per_site=60, size="1")
    url = f"/checks/projects/{world.project_id}/roster"
    page = city.get(url).get_data(as_text=True)
    assert "共 180 人" in page and "第 1 / 2 页" in page and len(_names(page)) == 100
    county = re.search(r'<option value="(\d+)">青田县</option>', page).group(1)
    page = city.get(f"{url}?county={county}&q=").get_data(as_text=True)
    assert "符合条件的 60 人" in page and set(_names(page)) == {world.qingtian.name}
    page = city.get(f"{url}?county=&q=岩泉").get_data(as_text=True)
    assert "符合条件的 60 人" in page and set(_names(page)) == {world.liandu2.name}
    page = city.get(f"{url}?q={world.liandu.token.lower()}").get_data(as_text=True)
    assert "符合条件的 60 人" in page and set(_names(page)) == {world.liandu.name}
    page = city.get(f"{url}?q=%25").get_data(as_text=True)  # LIKE's wildcard is just a character
    assert "没有符合条件的人员" in page
    # The next page keeps the filter.
    page = city.get(f"{url}?q=街道").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" rel="next">下一页', page).group(1).replace("&amp;", "&")
    assert "q=%E8%A1%97%E9%81%93" in link and "page=2" in link
    assert len(_names(city.get(link).get_data(as_text=True))) == 80
    assert city.get(f"{url}?county=abc").status_code == 400
    # A county user has no county to choose, and another county's filter shows nothing.
    liandu = staff("liandu").get(url).get_data(as_text=True)
    assert "共 120 人" in liandu and '<select name="county">' not in liandu
    page = staff("liandu").get(f"{url}?county={county}").get_data(as_text=True)
    assert "没有符合条件的人员" in page


def test_the_task_list_is_paged_and_filtered_by_county_and_site(staff, world, clock):
    city, batch = _city_roster_and_batch(staff, world, per_site=60, size="50")
    url = f"/checks/batches/{batch}"
    page = city.get(url).get_data(as_text=True)
    assert "全部任务（150）" in page and "第 1 / 2 页" in page
    assert "现在可以拨打（150）" in page and "只列出前 100 个" in page
    page = city.get(f"{url}?q=紫金&county=").get_data(as_text=True)
    assert "全部任务（50）" in page and "现在可以拨打（50）" in page
    assert world.liandu2.name not in page and "第 1 / 2 页" not in page
    page = city.get(f"{url}?q={world.qingtian.token}").get_data(as_text=True)
    assert "全部任务（50）" in page and world.liandu.name not in page
    page = city.get(f"{url}?page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in page and "上一页" in page
    assert city.get(f"{url}?page=0").status_code == 400


def test_the_lists_answer_a_stale_or_mangled_query_as_the_site_list_does(staff, world, clock):
    """A page past the last shows the last; a bad value is dropped and named beside the
    filters (400), the rest still applies; a search as long as the box allows is taken."""
    city, batch = _city_roster_and_batch(staff, world, per_site=60, size="50")
    roster = f"/checks/projects/{world.project_id}/roster"
    page = city.get(f"{roster}?page=99").get_data(as_text=True)
    assert "第 2 / 2 页" in page and len(_names(page)) == 80
    tasks = f"/checks/batches/{batch}"
    assert "第 2 / 2 页" in city.get(f"{tasks}?page=99").get_data(as_text=True)
    lists = (roster, tasks, f"/checks/projects/{world.project_id}/visits")
    for url in lists:
        reply = city.get(f"{url}?county=abc&q=紫金")
        page = reply.get_data(as_text=True)
        assert reply.status_code == 400, url
        assert "请从列表中选择县（市、区）。" in page and 'value="紫金"' in page, url
        reply = city.get(f"{url}?q=" + "长" * 100)
        assert reply.status_code == 200, url
    page = city.get(f"{roster}?county=abc&q=紫金").get_data(as_text=True)
    assert "符合条件的 60 人" in page and set(_names(page)) == {world.liandu.name}
