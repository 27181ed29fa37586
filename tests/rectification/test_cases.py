"""整改单: bad answers open cases for the site's county (one open case per site, the next
bad answers join it; flagged ones wait until restored); deadlines in working days from the
day the answer arrived; 核实 and 整改完成 on the case page, each a step on the timeline; a
passed deadline marks the case 超期 for good; another county's case is 404."""

import io
from datetime import UTC, date, datetime

from PIL import Image

from survey.accounts.models import AuditEntry
from survey.checks.models import CallTask
from survey.db import db, write_transaction
from survey.rectification.models import Case, CaseStep, StepPhoto
from survey.rectification.sweep import sweep_cases
from survey.responses.answers_store import changing, import_responses
from survey.responses.models import Response
from survey.sites.models import Site
from tests.checks.conftest import Clock
from tests.helpers import csrf_of, post, post_files, staff_client
from tests.rectification.conftest import EVE


def _answered(app, site, overall: str, at: datetime = EVE, comment="") -> int:
    """A resident's answer to ``site`` that arrived ``at``; its id."""
    with app.app_context(), write_transaction(db.session):
        version = db.session.get(Site, site.id).project.questionnaire.current_version
        row = {"site_id": site.id, "version_id": version.id, "channel": "qr"}
        row |= {"overall": int(overall), "created_at": at, "comment": comment}
        import_responses(db.session, [row])
        return db.session.scalar(db.select(db.func.max(Response.id)))


def _flag(app, response_id: int, flag: str | None) -> None:
    with app.app_context(), write_transaction(db.session):
        response = db.session.get(Response, response_id)
        with changing(db.session, [response]):
            response.flag = flag


def _cases(app) -> list[Case]:
    with app.app_context():
        cases = list(db.session.scalars(db.select(Case).order_by(Case.id)))
        for case in cases:
            db.session.expunge(case)
        return cases


def _steps(app, case_id: int) -> list[tuple[str, bool]]:
    with app.app_context():
        query = db.select(CaseStep).filter_by(case_id=case_id).order_by(CaseStep.id)
        return [(step.kind, step.late) for step in db.session.scalars(query)]


def test_bad_answers_open_one_case_per_site_and_join_it(app, world):
    _answered(app, world["liandu"], "1", comment="饭菜是凉的")
    _answered(app, world["liandu"], "2")
    _answered(app, world["liandu"], "4")  # satisfied: no case
    _answered(app, world["qingtian"], "2")
    assert sweep_cases(app) == (2, 1, 0)
    assert sweep_cases(app) == (0, 0, 0)  # each answer is in one case, once
    liandu, qingtian = _cases(app)
    assert (liandu.state, qingtian.state) == ("verifying", "verifying")
    assert liandu.arrived_on == EVE.date()
    # 1 and 5 working days after Wednesday Sep 30: Oct 1–7 are off, Saturday Oct 10 is worked.
    assert (liandu.verify_due, liandu.rectify_due) == (date(2026, 10, 8), date(2026, 10, 13))
    assert liandu.assumed_years == []
    assert _steps(app, liandu.id) == [("opened", False), ("joined", False)]


def test_flagged_answers_wait_until_restored(app, world):
    response_id = _answered(app, world["liandu"], "1")
    _flag(app, response_id, "pending")
    assert sweep_cases(app) == (0, 0, 0)
    _flag(app, response_id, "restored")
    assert sweep_cases(app) == (1, 0, 0)


def test_the_county_sees_its_cases_and_no_other_countys(app, world):
    _answered(app, world["liandu"], "1")
    _answered(app, world["qingtian"], "1")
    sweep_cases(app)
    liandu_case, qingtian_case = _cases(app)
    liandu = staff_client(app, "liandu")
    listing = liandu.get("/cases/").get_data(as_text=True)
    assert world["liandu"].name in listing and world["qingtian"].name not in listing
    assert liandu.get(f"/cases/{qingtian_case.id}").status_code == 404
    assert staff_client(app, "qingtian").get(f"/cases/{liandu_case.id}").status_code == 404
    city = staff_client(app, "lishui").get("/cases/").get_data(as_text=True)
    assert world["liandu"].name in city and world["qingtian"].name in city


def _post(client, url, data, files=None):
    token = csrf_of(client.get(url.rsplit("/", 1)[0]).data)
    if files:
        return post_files(client, url, data | files, page=url.rsplit("/", 1)[0])
    return client.post(url, data={"csrf_token": token, **data})


def test_verify_then_rectify_with_a_photo_and_the_timeline_says_who_when(app, world):
    _answered(app, world["liandu"], "1", comment="饭菜是凉的")
    sweep_cases(app)
    (case,) = _cases(app)
    liandu = staff_client(app, "liandu")
    page = liandu.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "待核实" in page and "饭菜是凉的" in page and "2026-10-08" in page

    refused = _post(liandu, f"/cases/{case.id}/verify", {"finding": ""})
    assert refused.status_code == 422 and "请填写核实情况" in refused.get_data(as_text=True)
    refused = _post(liandu, f"/cases/{case.id}/verify", {"finding": "属实", "complex": "1"})
    assert refused.status_code == 422 and "请写明原因" in refused.get_data(as_text=True)
    assert _cases(app)[0].state == "verifying"  # nothing stored

    app.extensions["clock"].now = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)  # on time
    reply = _post(
        liandu,
        f"/cases/{case.id}/verify",
        {"finding": "属实：保温箱坏了", "complex": "1", "complex_reason": "需要采购新设备"},
    )
    assert reply.status_code == 302
    case = _cases(app)[0]
    assert case.state == "rectifying" and case.complex
    # 15 working days after Sep 30 for a complex case.
    assert case.rectify_due == date(2026, 10, 27)
    again = _post(liandu, f"/cases/{case.id}/verify", {"finding": "又一次"})
    assert again.status_code == 302 and _steps(app, case.id).count(("verified", False)) == 1

    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(photo, "JPEG")
    reply = _post(
        liandu,
        f"/cases/{case.id}/rectify",
        {"done": "更换保温箱"},
        {"photos": (photo.getvalue(), "after.jpg")},
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)[:500]
    case = _cases(app)[0]
    # 回访 within 2 working days of 整改完成 (Oct 8): Oct 9 and Saturday Oct 10, worked.
    assert (case.state, case.followup_due) == ("following_up", date(2026, 10, 10))
    page = liandu.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "待回访" in page and "更换保温箱" in page and "liandu" in page
    with app.app_context():
        (stored,) = db.session.scalars(db.select(StepPhoto)).all()
        photo_id = stored.id
    assert liandu.get(f"/cases/photos/{photo_id}").mimetype == "image/jpeg"
    assert staff_client(app, "qingtian").get(f"/cases/photos/{photo_id}").status_code == 404
    assert [kind for kind, _ in _steps(app, case.id)] == [
        "opened",
        "verified",
        "complex",
        "rectified",
    ]


def test_a_passed_deadline_marks_the_case_overdue_for_good(app, world):
    _answered(app, world["liandu"], "2")
    sweep_cases(app)
    (case,) = _cases(app)
    app.extensions["clock"].now = datetime(2026, 10, 8, 12, 0, tzinfo=UTC)  # due today
    assert sweep_cases(app) == (0, 0, 0)
    listing = staff_client(app, "liandu").get("/cases/").get_data(as_text=True)
    assert "今天到期 1 个" in listing
    app.extensions["clock"].now = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
    assert sweep_cases(app) == (0, 0, 1)
    assert sweep_cases(app) == (0, 0, 0)
    liandu = staff_client(app, "liandu")
    assert _post(liandu, f"/cases/{case.id}/verify", {"finding": "属实"}).status_code == 302
    case = _cases(app)[0]
    assert case.overdue and case.state == "rectifying"
    assert _steps(app, case.id)[-2:] == [("overdue", True), ("verified", True)]
    assert "超期" in liandu.get(f"/cases/{case.id}").get_data(as_text=True)


def _to_followup(app, client, case_id: int) -> None:
    assert _post(client, f"/cases/{case_id}/verify", {"finding": "属实"}).status_code == 302
    assert _post(client, f"/cases/{case_id}/rectify", {"done": "已整改"}).status_code == 302


def test_a_qr_case_without_a_number_closes_as_unreachable(app, world):
    _answered(app, world["liandu"], "1")
    sweep_cases(app)
    (case,) = _cases(app)
    liandu = staff_client(app, "liandu")
    _to_followup(app, liandu, case.id)
    page = liandu.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "没有留下联系电话" in page and "显示回访电话" not in page
    assert _post(liandu, f"/cases/{case.id}/reveal", {}).status_code == 409
    assert _post(liandu, f"/cases/{case.id}/unreachable", {}).status_code == 302
    case = _cases(app)[0]
    assert (case.state, case.outcome, case.followup_score) == ("closed", "unreachable", None)
    assert "无法回访" in liandu.get("/cases/?all=1").get_data(as_text=True)
    assert world["liandu"].name not in liandu.get("/cases/").get_data(as_text=True)


def _phone_case(app, world, client) -> int:
    """A resident on the roster called by the county, who rates 非常不满意: the case's id."""
    project = world["liandu"].project_id
    roster = f"姓名,电话,点位码,备注\r\n王芳,13912345678,{world['liandu'].token},\r\n"
    url = f"/checks/projects/{project}/roster/import"
    staged = post_files(client, url, {"file": (roster.encode(), "r.csv")})
    assert post(client, staged.headers["Location"] + "/confirm").status_code == 302
    drawn = post(client, f"/checks/projects/{project}/samples", {"mode": "count", "size": "1"})
    assert drawn.status_code == 302, drawn.get_data(as_text=True)[:500]
    with app.app_context():
        task = db.session.scalar(db.select(CallTask.id))
    called = post(
        client, f"/checks/tasks/{task}/attempts", {"outcome": "completed", "q.overall": "1"}
    )
    assert called.status_code == 302, called.get_data(as_text=True)[:500]
    sweep_cases(app)
    (case,) = _cases(app)
    return case.id


def test_a_phone_case_is_called_back_with_the_number_revealed_and_audited(app, world):
    liandu = staff_client(app, "liandu")
    case_id = _phone_case(app, world, liandu)
    _to_followup(app, liandu, case_id)
    assert "显示回访电话" in liandu.get(f"/cases/{case_id}").get_data(as_text=True)
    shown = _post(liandu, f"/cases/{case_id}/reveal", {}).get_data(as_text=True)
    assert "13912345678" in shown
    assert "13912345678" not in liandu.get(f"/cases/{case_id}").get_data(as_text=True)
    with app.app_context():
        details = db.session.scalars(
            db.select(AuditEntry.detail).filter_by(action="phone_revealed")
        ).all()
    assert any(f"整改单 {case_id} 回访" in d for d in details)

    refused = _post(liandu, f"/cases/{case_id}/followup", {"outcome": "reached"})
    assert refused.status_code == 422 and "请选择居民的重新评价" in refused.get_data(as_text=True)
    reached = {"outcome": "reached", "score": "4", "solved": "1", "note": "饭菜热了"}
    assert _post(liandu, f"/cases/{case_id}/followup", reached).status_code == 302
    case = _cases(app)[0]
    assert (case.state, case.outcome) == ("closed", "done")
    assert (case.followup_score, case.followup_solved) == (4, True)
    page = liandu.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已办结" in page and "已解决，重新评价：满意" in page


def test_three_unanswered_calls_close_a_case_as_unreachable(app, world):
    liandu = staff_client(app, "liandu")
    case_id = _phone_case(app, world, liandu)
    _to_followup(app, liandu, case_id)
    for calls in range(1, 4):
        assert _post(liandu, f"/cases/{case_id}/followup", {"outcome": "missed"}).status_code == 302
        case = _cases(app)[0]
        assert case.followup_missed == calls
    assert (case.state, case.outcome) == ("closed", "unreachable")
    kinds = [kind for kind, _ in _steps(app, case_id)]
    assert kinds[-4:] == ["followup_missed"] * 3 + ["unreachable"]


def test_the_demos_history_opens_no_case_but_a_new_bad_answer_does(app):
    assert app.test_cli_runner().invoke(args=["demo-data"]).exit_code == 0
    app.extensions["clock"] = Clock(EVE)
    assert sweep_cases(app) == (0, 0, 0)
    with app.app_context():
        site = db.session.scalars(db.select(Site).order_by(Site.id)).first()
        token = site.tokens[0].token
    fresh = type("SiteRef", (), {"id": site.id, "token": token})
    _answered(app, fresh, "2")
    assert sweep_cases(app)[0] == 1
    result = app.test_cli_runner().invoke(args=["cases", "sweep"])
    assert "新开整改单 0 个" in result.output


def test_a_comment_marked_as_a_complaint_opens_a_case_from_that_day(app, world):
    response_id = _answered(app, world["liandu"], "4", comment="门口台阶太高，轮椅上不去")
    app.extensions["clock"].now = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)  # marked on Friday
    liandu = staff_client(app, "liandu")
    comments = liandu.get(f"/dashboard/projects/{world['liandu'].project_id}/comments")
    assert "作为投诉转整改单" in comments.get_data(as_text=True)
    assert "<td>满意</td>" in comments.get_data(as_text=True)  # the rating in words, not 4
    page = f"/dashboard/projects/{world['liandu'].project_id}/comments"
    token = csrf_of(liandu.get(page).data)
    reply = liandu.post(f"/cases/complaints/{response_id}", data={"csrf_token": token})
    assert reply.status_code == 302
    (case,) = _cases(app)
    # From the day it was marked: +1 working day is Saturday Oct 10, a swapped working day.
    assert (case.arrived_on, case.verify_due) == (date(2026, 10, 9), date(2026, 10, 10))
    assert _steps(app, case.id) == [("complaint", False)]
    again = liandu.post(f"/cases/complaints/{response_id}", data={"csrf_token": token})
    assert again.headers["Location"].endswith(f"/cases/{case.id}") and len(_cases(app)) == 1
    qingtian = staff_client(app, "qingtian")
    token = csrf_of(qingtian.get("/cases/").data)
    assert (
        qingtian.post(f"/cases/complaints/{response_id}", data={"csrf_token": token}).status_code
        == 404
    )
    assert sweep_cases(app) == (0, 0, 0)  # a satisfied score opens nothing by itself


def test_a_projects_deadlines_are_set_by_its_city_and_apply_to_new_cases(app, world):
    project = world["liandu"].project_id
    city = staff_client(app, "lishui")
    url = f"/cases/rules/{project}"
    page = city.get(url).get_data(as_text=True)
    assert 'value="5"' in page and 'value="15"' in page
    token = csrf_of(page.encode())
    bad = {"verify_days": "0", "rectify_days": "10", "complex_days": "3", "followup_days": "x"}
    refused = city.post(url, data={"csrf_token": token, **bad})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "核实期限应是 1 到 60 之间的工作日数" in text
    assert "回访期限应是" in text
    good = {"verify_days": "2", "rectify_days": "3", "complex_days": "10", "followup_days": "1"}
    assert city.post(url, data={"csrf_token": token, **good}).status_code == 302
    assert staff_client(app, "liandu").get(url).status_code == 403  # counties do not set them
    _answered(app, world["liandu"], "1")
    sweep_cases(app)
    (case,) = _cases(app)
    # 2 and 3 working days after Wednesday Sep 30: Oct 9, then Saturday Oct 10 (worked).
    assert (case.verify_due, case.rectify_due) == (date(2026, 10, 9), date(2026, 10, 10))


def test_the_countys_home_says_how_many_cases_are_open_due_and_overdue(app, world):
    _answered(app, world["liandu"], "1")
    _answered(app, world["liandu2"], "2", at=datetime(2026, 9, 25, 2, 0, tzinfo=UTC))
    app.extensions["clock"].now = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
    sweep_cases(app)
    home = staff_client(app, "liandu").get("/checks/").get_data(as_text=True)
    assert "整改单：2 个未办结，今天到期 1 个，已超期 1 个" in home
    assert "未办结" not in staff_client(app, "qingtian").get("/checks/").get_data(as_text=True)
