"""A project's milestones: its kind's from the seeds until edited (康养联合体 20–100 %, 照料中心
25–100 %, planned in the project's year); admins and its city edit them, in order and ending
at 100 %, and set whether its sites' surveys open from the start; a county user may not."""

from datetime import date

from survey.accounts.models import AuditEntry
from survey.db import db
from survey.progress.models import Milestone
from survey.progress.services import milestones_of
from survey.progress.standards import standards_for
from survey.sites.models import Project
from tests.helpers import post, staff_client

ROWS = {
    "percent": ["30", "100", ""],
    "name": ["方案", "建成", ""],
    "evidence": ["批复", "验收单", ""],
    "planned_on": ["2026-05-31", "2026-10-31", ""],
}


def test_a_project_starts_with_its_kinds_milestones_planned_in_its_year(app, world, count):
    assert [s.percent for s in standards_for("2022年建成康养联合体20家")] == [20, 40, 60, 80, 100]
    assert [s.percent for s in standards_for("居家养老服务照料中心改造提升")] == [25, 50, 75, 100]
    with app.app_context():
        project = db.session.get(Project, world["liandu"].project_id)
        found = milestones_of(db.session, project)
        assert [(m.percent, m.planned_on) for m in found][-1] == (100, date(2026, 10, 15))
    assert count(Milestone) == 0  # read, not stored


def test_the_city_edits_the_milestones_and_bad_rows_are_refused(app, world, count):
    lishui = staff_client(app, "lishui")
    url = f"/progress/projects/{world['liandu'].project_id}/milestones"
    assert "确定项目建设点位" in lishui.get(url).get_data(as_text=True)
    refusals = {
        "最后一个进度节点应为 100%": ROWS | {"percent": ["30", "90", ""]},
        "从小到大": ROWS | {"percent": ["100", "30", ""]},
        "进度应为 1 到 100": ROWS | {"percent": ["abc", "100", ""]},
        "计划完成日期": ROWS | {"planned_on": ["2026-13-01", "2026-10-31", ""]},
        "随进度先后": ROWS | {"planned_on": ["2026-11-30", "2026-10-31", ""]},
        "名称": ROWS | {"name": ["", "建成", ""]},
    }
    for reason, rows in refusals.items():
        reply = post(lishui, url, rows, page=url)
        assert reply.status_code == 422 and reason in reply.get_data(as_text=True), reason
    assert count(Milestone) == 0
    saved = post(lishui, url, ROWS | {"open_from_start": "1"}, page=url)
    assert saved.status_code == 302
    with app.app_context():
        project = db.session.get(Project, world["liandu"].project_id)
        assert [(m.percent, m.name) for m in milestones_of(db.session, project)] == [
            (30, "方案"),
            (100, "建成"),
        ]
        assert project.open_from_start
        assert db.session.scalars(db.select(AuditEntry).filter_by(action="milestones_saved")).one()
    assert post(staff_client(app, "liandu"), url, ROWS, page=url).status_code == 403
