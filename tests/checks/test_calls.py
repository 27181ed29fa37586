"""Phone spot-checks: drawing samples, calling hours, attempts, outcomes, response rates."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from survey.accounts.models import AuditEntry
from survey.checks.calls import CallingHours
from survey.checks.models import CallAttempt, CallTask, Notice, Resident
from survey.checks.sampling import recommended_size, sample_size
from survey.db import db, write_transaction
from survey.responses.models import Response
from tests.checks.conftest import MORNING, import_roster, phone, roster_csv
from tests.helpers import post

ANSWERS = {"q.overall": "4", "q.attitude": "0", "q.services": "1"}


@pytest.mark.parametrize(
    ("population", "expected"),
    [(0, 0), (1, 1), (10, 10), (50, 45), (100, 80), (500, 218), (1000, 278), (100_000, 383)],
)
def test_recommended_size_gives_5_points_at_95_percent_with_fpc(population, expected):
    assert recommended_size(population) == expected


def test_sample_size_by_count_or_percent_with_a_minimum():
    assert sample_size("count", 10, 0, 4) == 4
    assert sample_size("count", 10, 0, 40) == 10
    assert sample_size("percent", 5, 3, 40) == 3
    assert sample_size("percent", 5, 3, 200) == 10
    assert sample_size("percent", 5, 30, 20) == 20


def test_calling_hours_and_half_days_are_local_time():
    hours = CallingHours.parse("09:00-11:30,14:30-17:30", "Asia/Shanghai")
    assert hours.is_open(MORNING)
    assert not hours.is_open(MORNING + timedelta(hours=2))  # 12:00
    assert hours.is_open(MORNING + timedelta(hours=5))  # 15:00
    assert not hours.is_open(MORNING + timedelta(hours=8))  # 18:00
    assert hours.half_day(MORNING) != hours.half_day(MORNING + timedelta(hours=5))
    with pytest.raises(ValueError):
        CallingHours.parse("11:00-09:00", "Asia/Shanghai")
    # 24:00 ends the day: round the clock leaves no minute out (23:59 left out 23:59-24:00).
    always = CallingHours.parse("00:00-24:00", "Asia/Shanghai")
    assert always.is_open(datetime(2026, 11, 24, 15, 59, 30, tzinfo=UTC))  # 23:59:30 local


def _roster(staff, world, n=20, username="liandu", site=None):
    client = staff(username)
    site = site or world.liandu
    rows = [(f"张{i}", phone(i), site.token, "") for i in range(n)]
    assert import_roster(client, world.project_id, roster_csv(rows)).status_code == 302
    return client


def _draw(client, world, **fields):
    data = {"mode": "count", "size": "5"} | fields
    reply = post(client, f"/checks/projects/{world.project_id}/samples", data)
    assert reply.status_code == 302, reply.get_data(as_text=True)[:3000]
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def _sampled(app, batch_id):
    with app.app_context():
        query = select(CallTask.resident_id).where(CallTask.batch_id == batch_id)
        return sorted(db.session.scalars(query))


def _attempt(client, task_id, outcome, **extra):
    data = {"outcome": outcome} | extra
    return post(client, f"/checks/tasks/{task_id}/attempts", data)


def _tasks(app, batch_id):
    with app.app_context():
        query = select(CallTask.id).where(CallTask.batch_id == batch_id).order_by(CallTask.id)
        return list(db.session.scalars(query))


def test_the_same_seed_draws_the_same_residents(app, staff, world, clock):
    client = _roster(staff, world)
    first = _draw(client, world, seed="abc")
    drawn = _sampled(app, first)
    assert len(drawn) == 5
    with app.app_context(), write_transaction(db.session):  # put them back in the pool
        db.session.execute(db.delete(CallTask))
    assert _sampled(app, _draw(client, world, seed="abc")) == drawn
    with app.app_context(), write_transaction(db.session):
        db.session.execute(db.delete(CallTask))
    assert _sampled(app, _draw(client, world, seed="other")) != drawn


def test_pending_and_recently_called_residents_are_left_out(app, staff, world, clock):
    client = _roster(staff, world, n=10)
    first = _draw(client, world, size="6")
    second = _draw(client, world, size="6")
    assert len(_sampled(app, second)) == 4  # six are still waiting for their call
    assert not set(_sampled(app, first)) & set(_sampled(app, second))
    task = _tasks(app, first)[0]
    assert _attempt(client, task, "refused").status_code == 302
    clock.now += timedelta(days=30)
    assert _sampled(app, _draw(client, world, size="6")) == []  # refused 30 days ago
    clock.now += timedelta(days=61)
    assert len(_sampled(app, _draw(client, world, size="6"))) == 1


def test_a_percent_sample_and_the_guidance_are_shown(staff, world, clock):
    client = _roster(staff, world, n=100)
    page = client.get(f"/checks/projects/{world.project_id}/samples").get_data(as_text=True)
    assert "<td>100</td><td>100</td><td>80</td>" in page
    batch = _draw(client, world, mode="percent", size="5", minimum="8")
    page = client.get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert "共 8 人" in page


def test_bad_sample_forms_answer_422_in_chinese(staff, world, clock, count):
    client = _roster(staff, world, n=3)
    url = f"/checks/projects/{world.project_id}/samples"
    for data, message in [
        ({"mode": "count", "size": "0"}, "1 到 1000"),
        ({"mode": "count", "size": "abc"}, "整数"),
        ({"mode": "percent", "size": "150"}, "1 到 100"),
        ({"mode": "sometimes", "size": "5"}, "抽样方式"),
        ({"mode": "count", "size": "5", "seed": "<script>"}, "随机种子"),
    ]:
        reply = post(client, url, data)
        assert reply.status_code == 422 and message in reply.get_data(as_text=True), data
    assert count(CallTask) == 0


def test_three_unanswered_attempts_on_different_half_days_close_the_task(app, staff, world, clock):
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    assert _attempt(client, task, "no_answer").status_code == 302
    # The same half-day again is refused, and the task is not offered.
    reply = _attempt(client, task, "busy")
    assert reply.status_code == 409 and "本半天已经拨打过" in reply.get_data(as_text=True)
    clock.now += timedelta(hours=5)  # 15:00 the same day
    assert _attempt(client, task, "busy").status_code == 302
    clock.now += timedelta(hours=19)  # 10:00 the next day
    assert _attempt(client, task, "switched_off").status_code == 302
    with app.app_context():
        closed = db.session.get(CallTask, task)
        assert closed.status == "unreachable" and len(closed.attempts) == 3
    reply = _attempt(client, task, "no_answer")
    assert reply.status_code == 409 and "已结束" in reply.get_data(as_text=True)


def test_calls_are_refused_outside_calling_hours(app, staff, world, clock, count):
    client = _roster(staff, world)
    batch = _draw(client, world)
    clock.now += timedelta(hours=10)  # 20:00
    page = client.get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert "现在不是通话时间" in page and "现在没有可以拨打的任务" in page
    reply = _attempt(client, _tasks(app, batch)[0], "no_answer")
    assert reply.status_code == 409 and "现在不是通话时间" in reply.get_data(as_text=True)
    assert count(CallAttempt) == 0


def test_a_callback_waits_for_its_time_then_comes_first(app, staff, world, clock):
    client = _roster(staff, world)
    batch = _draw(client, world)
    task = _tasks(app, batch)[-1]
    reply = _attempt(client, task, "callback")
    assert reply.status_code == 422 and "回拨时间" in reply.get_data(as_text=True)
    assert _attempt(client, task, "callback", callback_at="2026-11-24T15:00").status_code == 302
    page = client.get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert f"拨打任务 {task}<" not in page
    clock.now += timedelta(hours=5, minutes=1)  # 15:01 in Shanghai
    page = client.get(f"/checks/batches/{batch}").get_data(as_text=True)
    assert page.index(f"拨打任务 {task}<") < page.index(f"拨打任务 {_tasks(app, batch)[0]}<")


def test_a_completed_call_stores_a_phone_response_with_the_notice_version(
    app, staff, world, clock, count
):
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    reply = _attempt(client, task, "completed")
    assert reply.status_code == 422 and "请回答" in reply.get_data(as_text=True)
    assert count(Response) == 0 and count(CallAttempt) == 0
    reply = _attempt(client, task, "completed", note="老人说饭菜可口", **ANSWERS)
    assert reply.status_code == 302
    with app.app_context():
        done = db.session.get(CallTask, task)
        assert done.status == "completed"
        assert done.response.channel == "phone" and done.response.overall == 4
        assert done.response.proxy is False and done.response.comment == ""
        assert done.attempts[-1].note == "老人说饭菜可口"  # the caller's words stay with the call
        assert done.notice.version == 1
    # A second post of the same form stores nothing more.
    assert _attempt(client, task, "completed", **ANSWERS).status_code == 409
    assert count(Response) == 1


def test_proxy_answers_are_kept_and_marked(app, staff, world, clock):
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    assert _attempt(client, task, "proxy", **ANSWERS).status_code == 302
    with app.app_context():
        assert db.session.get(CallTask, task).response.proxy is True


def test_a_deceased_resident_is_never_sampled_again(app, staff, world, clock):
    client = _roster(staff, world, n=1)
    task = _tasks(app, _draw(client, world))[0]
    assert _attempt(client, task, "deceased").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Resident.deceased_at)) is not None
    clock.now += timedelta(days=400)
    assert _sampled(app, _draw(client, world)) == []


def test_hearing_difficulty_turns_the_task_into_a_visit(app, staff, world, clock):
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    assert _attempt(client, task, "hearing").status_code == 302
    with app.app_context():
        assert db.session.get(CallTask, task).status == "to_visit"


def test_the_batch_reports_rr1_and_the_outcome_mix(app, staff, world, clock):
    client = _roster(staff, world)
    batch = _draw(client, world)
    tasks = _tasks(app, batch)
    _attempt(client, tasks[0], "completed", **ANSWERS)
    _attempt(client, tasks[1], "proxy", **ANSWERS)
    _attempt(client, tasks[2], "refused")
    _attempt(client, tasks[3], "deceased")
    page = client.get(f"/checks/batches/{batch}").get_data(as_text=True)
    # 2 completed of 4 eligible (5 sampled, 1 deceased).
    assert "应答率 50.0 %" in page and "家属代答 1 人" in page
    assert "<td>拒访</td><td>1</td>" in page


def test_the_number_is_masked_and_each_reveal_is_audited(app, staff, world, clock, count):
    client = _roster(staff, world, n=1)
    task = _tasks(app, _draw(client, world))[0]
    page = client.get(f"/checks/tasks/{task}").get_data(as_text=True)
    assert "138****0000" in page and "13800000000" not in page
    assert "张0" in page and "您好！我是民政局的工作人员" in page
    for _ in range(2):
        page = post(client, f"/checks/tasks/{task}/reveal").get_data(as_text=True)
        assert "13800000000" in page
    assert count(AuditEntry, action="phone_revealed") == 2
    audit = staff("lishui").get("/admin/audit?action=phone_revealed").get_data(as_text=True)
    assert audit.count("查看电话号码") >= 2 and "liandu" in audit


def test_a_new_notice_version_is_stored_with_later_calls(app, staff, world, clock, count):
    client = _roster(staff, world)
    tasks = _tasks(app, _draw(client, world))
    _attempt(client, tasks[0], "completed", **ANSWERS)
    city = staff("lishui")
    reply = post(city, "/checks/notice", {"body": "您好，这里是丽水市民政局满意度回访。"})
    assert reply.status_code == 302
    assert post(city, "/checks/notice", {"body": "   "}).status_code == 422
    assert staff("liandu").get("/checks/notice").status_code == 403
    _attempt(client, tasks[1], "completed", **ANSWERS)
    with app.app_context():
        versions = [db.session.get(CallTask, t).notice.label for t in tasks[:2]]
    # The built-in wording was the default's version 1; the city's own starts its own count.
    assert versions == ["默认告知语第 1 版", "丽水市告知语第 1 版"] and count(Notice) == 2


def test_callback_times_must_lie_ahead_within_30_days(app, staff, world, clock, count):
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    for when in ("0001-01-01T00:00", "2026-11-24T09:00", "2027-06-01T10:00"):
        reply = _attempt(client, task, "callback", callback_at=when)
        assert reply.status_code == 422 and "30 天之内" in reply.get_data(as_text=True), when
    assert count(CallAttempt) == 0


def test_a_closed_task_no_longer_reveals_the_number(app, staff, world, clock, count):
    client = _roster(staff, world, n=1)
    task = _tasks(app, _draw(client, world))[0]
    _attempt(client, task, "refused")
    reply = post(client, f"/checks/tasks/{task}/reveal")
    assert reply.status_code == 409 and "13800000000" not in reply.get_data(as_text=True)
    assert count(AuditEntry, action="phone_revealed") == 0


def test_the_roster_note_helps_the_caller(app, staff, world, clock):
    client = staff("liandu")
    rows = [("张三", phone(1), world.liandu.token, "听力不好，请大声说话")]
    import_roster(client, world.project_id, roster_csv(rows))
    task = _tasks(app, _draw(client, world))[0]
    assert "听力不好，请大声说话" in client.get(f"/checks/tasks/{task}").get_data(as_text=True)


def test_the_batch_export_is_excel_ready_and_neutralises_formulas(staff, world, make_site, clock):
    site = make_site("=HYPERLINK(1)", county="莲都区")
    client = _roster(staff, world, n=2, site=site)
    batch = _draw(client, world)
    reply = client.get(f"/checks/batches/{batch}/tasks.csv")
    assert reply.data.startswith("\ufeff".encode())
    body = reply.data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body and "138****0000" in body and "张" not in body


def test_forms_posted_as_a_browser_does_with_empty_optional_fields_are_saved(
    app, staff, world, clock
):
    """A browser posts every field: the empty 回拨时间, 备注, 最少人数 and 随机种子 too."""
    client = _roster(staff, world)
    batch = _draw(client, world, mode="count", size="5", minimum="", seed="")
    tasks = _tasks(app, batch)
    for task, outcome in [(tasks[0], "no_answer"), (tasks[1], "refused"), (tasks[2], "completed")]:
        fields = {"callback_at": "", "note": ""} | (ANSWERS if outcome == "completed" else {})
        reply = _attempt(client, task, outcome, **fields)
        assert reply.status_code == 302, reply.get_data(as_text=True)[:2000]
    with app.app_context():
        statuses = [db.session.get(CallTask, t).status for t in tasks[:3]]
    assert statuses == ["open", "refused", "completed"]
    reply = _attempt(client, tasks[3], "callback", callback_at="", note="")
    assert reply.status_code == 422 and "要求回拨时，请填写回拨时间" in reply.get_data(as_text=True)


def test_away_defers_the_task_and_uses_up_no_attempt(app, staff, world, clock):
    app.config["CALL_AWAY_DAYS"] = 14
    client = _roster(staff, world)
    batch = _draw(client, world)
    task = _tasks(app, batch)[0]
    reply = _attempt(client, task, "away", callback_at="", note="住院了")
    assert reply.status_code == 302
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "已记录：住院或外出，12月08日 10:00 以后再拨。" in page
    assert f"拨打任务 {task}<" not in page  # not offered meanwhile
    page = client.get(f"/checks/tasks/{task}").get_data(as_text=True)
    assert "对方住院或外出，12月08日 10:00 以后再拨。" in page and "待拨打" in page
    clock.now += timedelta(days=13, hours=5)  # 12月07日 15:00: still away
    reply = _attempt(client, task, "no_answer")
    assert reply.status_code == 409 and "12月08日 10:00 以后再拨" in reply.get_data(as_text=True)
    clock.now += timedelta(hours=19)  # 12月08日 10:00: may be called again
    assert f"拨打任务 {task}<" in client.get(f"/checks/batches/{batch}").get_data(as_text=True)
    for step in (timedelta(0), timedelta(hours=5)):
        clock.now += step
        assert _attempt(client, task, "no_answer").status_code == 302
    with app.app_context():  # two unanswered attempts of three: the away one is not counted
        assert db.session.get(CallTask, task).status == "open"
    clock.now += timedelta(hours=19)
    assert _attempt(client, task, "busy").status_code == 302
    with app.app_context():
        closed = db.session.get(CallTask, task)
        assert closed.status == "unreachable" and len(closed.attempts) == 4


def test_the_away_delay_comes_from_the_configuration(app, staff, world, clock):
    app.config["CALL_AWAY_DAYS"] = 2
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    assert _attempt(client, task, "away").status_code == 302
    page = client.get(f"/checks/tasks/{task}").get_data(as_text=True)
    assert "11月26日 10:00 以后再拨" in page


def test_the_save_message_does_not_double_the_status(app, staff, world, clock):
    client = _roster(staff, world)
    tasks = _tasks(app, _draw(client, world))
    for task, outcome, message in [
        (tasks[0], "hearing", "已记录：听力困难（改为上门）。"),
        (tasks[1], "refused", "已记录：拒访。"),
        (tasks[2], "no_answer", "已记录：无人接听（待拨打）。"),
        (tasks[4], "deceased", "已记录：已故（不在调查范围）。"),
        (tasks[3], "callback", "已记录：要求回拨，11月24日 15:00 回拨。"),
    ]:
        reply = _attempt(client, task, outcome, callback_at="2026-11-24T15:00")
        page = client.get(reply.headers["Location"]).get_data(as_text=True)
        assert message in page, outcome
    assert "（改为上门）（改为上门）" not in page


def test_a_second_attempt_in_the_same_half_day_is_refused_once_on_the_page(
    app, staff, world, clock, count
):
    client = _roster(staff, world)
    task = _tasks(app, _draw(client, world))[0]
    assert _attempt(client, task, "no_answer").status_code == 302
    reply = _attempt(client, task, "busy", callback_at="", note="")
    assert reply.status_code == 409
    assert reply.get_data(as_text=True).count("本半天已经拨打过") == 1
    assert count(CallAttempt) == 1
