"""听力困难（改为上门）: the resident goes on the county's home-visit list, shown on the visits
page until a visit is recorded for them."""

import re

from sqlalchemy import select

from survey.checks.models import CallTask, HomeVisit, Visit
from survey.db import db
from tests.checks.conftest import import_roster, phone, record_visit, roster_csv
from tests.helpers import post


def _hearing_task(app, staff, world, username="liandu", site=None):
    """A call task of ``username``'s county ended as 听力困难; returns its id."""
    site = site or world.liandu
    client = staff(username)
    base = 500 if username == "qingtian" else 0
    rows = [(f"王{i}", phone(base + i), site.token, "住三楼") for i in range(2)]
    assert import_roster(client, world.project_id, roster_csv(rows)).status_code == 302
    reply = post(
        client, f"/checks/projects/{world.project_id}/samples", {"mode": "count", "size": "1"}
    )
    batch = int(reply.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        task = db.session.scalar(select(CallTask.id).where(CallTask.batch_id == batch))
    assert post(client, f"/checks/tasks/{task}/attempts", {"outcome": "hearing"}).status_code == 302
    return task


def _list(client, world) -> str:
    return client.get(f"/checks/projects/{world.project_id}/visits").get_data(as_text=True)


def test_hearing_difficulty_puts_the_resident_on_the_home_visit_list(app, staff, world, clock):
    task = _hearing_task(app, staff, world)
    with app.app_context():
        home = db.session.scalars(select(HomeVisit)).one()
        assert (home.call_task_id, home.site_id, home.visit_id) == (task, world.liandu.id, None)
        assert db.session.get(CallTask, task).status == "to_visit"
    page = _list(staff("liandu"), world)
    listed = page.split("待上门走访")[1].split("</table>")[0]
    assert "待上门走访（1 人）" in page and "138****" in listed
    # A list shows masked names only; the full name and note are on the visit's own form.
    assert "王*" in listed and not re.search("王[01]", listed) and "住三楼" not in listed
    assert "待上门走访（1 人）" in _list(staff("lishui"), world)  # the city sees its counties'
    assert "待上门走访（0 人）" in _list(staff("qingtian"), world)  # another county does not


def test_recording_the_visit_from_the_list_closes_it_and_deleting_it_reopens(
    app, staff, world, clock, count
):
    _hearing_task(app, staff, world)
    client = staff("liandu")
    with app.app_context():
        home_id = db.session.scalars(select(HomeVisit.id)).one()
    form_url = f"/checks/sites/{world.liandu.id}/visits/new?home_visit={home_id}"
    assert f'href="{form_url}">录入上门走访' in _list(client, world)
    form = client.get(form_url).get_data(as_text=True)
    # Either of the two on the roster was drawn.
    assert "上门走访" in form and re.search("王[01]（电话 138", form) and "住三楼" in form
    # Another county's user cannot use it, from any URL.
    assert staff("qingtian").get(form_url).status_code == 404
    reply = record_visit(client, world.liandu, home_visit=str(home_id))
    assert reply.status_code == 302
    visit_id = int(reply.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(HomeVisit, home_id).visit_id == visit_id
    assert "待上门走访（0 人）" in _list(client, world)
    # Recorded twice (a second tab): refused, nothing stored.
    again = record_visit(client, world.liandu, home_visit=str(home_id))
    assert again.status_code == 409 and "已经录入过了" in again.get_data(as_text=True)
    assert count(Visit) == 1
    # A home visit of another site cannot be closed by this site's visit.
    assert record_visit(client, world.liandu2, home_visit=str(home_id)).status_code == 404
    assert post(client, f"/checks/visits/{visit_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(HomeVisit, home_id).visit_id is None
    assert "待上门走访（1 人）" in _list(client, world)


def test_a_home_visit_id_no_row_can_have_is_a_404_or_a_422_not_a_500(staff, world, count):
    client = staff("liandu")
    huge = "99999999999999999999"
    form = client.get(f"/checks/sites/{world.liandu.id}/visits/new?home_visit={huge}")
    assert form.status_code == 404
    assert record_visit(client, world.liandu, home_visit=huge).status_code == 404
    reply = record_visit(client, world.liandu, home_visit="abc")
    assert reply.status_code == 422 and "上门走访有误" in reply.get_data(as_text=True)
    assert count(Visit) == 0
