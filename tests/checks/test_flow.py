"""The issue's "done when", end to end through the pages, as a county and a city user."""

import re
from datetime import timedelta

from tests.checks.conftest import import_roster, jpeg_with_gps, phone, record_visit, roster_csv
from tests.helpers import first_login, post

ANSWERS = {"q.overall": "5", "q.attitude": "0", "q.facilities": "1"}


def test_county_and_city_users_run_spot_checks_and_visits(app, runner, world, clock):
    county = first_login(app, runner, "lianduchief", "county", "莲都区")
    p = world.project_id

    # Import a roster; another county's rows are refused as unknown sites.
    rows = [(f"张{i}", phone(i), world.liandu.token, "") for i in range(12)]
    rows.append(("李四", phone(99), world.qingtian.token, ""))
    assert import_roster(county, p, roster_csv(rows)).status_code == 302
    assert "共 12 人" in county.get(f"/checks/projects/{p}/roster").get_data(as_text=True)

    # Draw a sample and open the batch.
    reply = post(county, f"/checks/projects/{p}/samples", {"mode": "count", "size": "4"})
    batch_url = reply.headers["Location"]
    page = county.get(batch_url).get_data(as_text=True)
    tasks = [int(t) for t in re.findall(r"拨打任务 (\d+)<", page)]
    assert len(tasks) == 4

    # Reveal a number (audited), then three attempts over different half-days.
    assert phone(0)[:3] in post(county, f"/checks/tasks/{tasks[0]}/reveal").get_data(as_text=True)
    for outcome, later in (("no_answer", 5), ("busy", 19), ("switched_off", 0)):
        reply = post(county, f"/checks/tasks/{tasks[0]}/attempts", {"outcome": outcome})
        assert reply.status_code == 302
        clock.now += timedelta(hours=later)
    # A completed call with answers on another task.
    post(county, f"/checks/tasks/{tasks[1]}/reveal")
    reply = post(county, f"/checks/tasks/{tasks[1]}/attempts", {"outcome": "completed"} | ANSWERS)
    assert reply.status_code == 302
    page = county.get(batch_url).get_data(as_text=True)
    assert "应答率 25.0 %" in page
    assert "<td>联系不上</td><td>1</td>" in page and "<td>已完成</td><td>1</td>" in page

    # A visit with a photo.
    reply = record_visit(county, world.liandu, photos=[(jpeg_with_gps(), "现场.jpg")])
    visit_url = reply.headers["Location"]
    assert "暗访照片 1" in county.get(visit_url).get_data(as_text=True)

    # Only their county: the other county's site and records do not exist for them.
    assert county.get(f"/checks/sites/{world.qingtian.id}/visits/new").status_code == 404
    visits = county.get(f"/checks/projects/{p}/visits").get_data(as_text=True)
    assert "鹤城" not in visits

    # The city user sees all of it, and the audit log shows every reveal.
    city = first_login(app, runner, "lishuichief", "city", "丽水市")
    assert city.get(batch_url).status_code == 200
    assert city.get(visit_url).status_code == 200
    assert "鹤城" in city.get(f"/checks/projects/{p}/visits").get_data(as_text=True)
    audit = city.get("/admin/audit?action=phone_revealed").get_data(as_text=True)
    assert audit.count("lianduchief") == 2
    assert f"电话抽查任务 {tasks[0]}" in audit and f"电话抽查任务 {tasks[1]}" in audit
    assert phone(0) not in audit
