"""Background jobs in one process: a job's page and download are its asker's alone; a worker
claims a job once, a vanished worker's job is claimed again and at last given up; a refused
or failed job says why and leaves no file; files expire; the queue's depth is scraped.

Real worker processes (a job surviving ``kill -9``) are in test_worker.py.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from survey.accounts.models import User
from survey.db import db, now_utc, write_transaction
from survey.jobs import kinds, runner, services
from survey.jobs.models import Job, JobLease
from survey.jobs.queue import init_app, queue_of
from tests.helpers import staff_client

STALE = timedelta(seconds=60)


def _write(text: str):
    """A kind that writes ``text`` in three steps."""

    def run(session, job, out, progress):
        for step in range(3):
            out.write(text.encode())
            progress(step + 1, 3)
        return kinds.Output(job.params.get("name", "结果.txt"), "text/plain", "测试导出")

    return run


def _refuse(session, job, out, progress):
    out.write(b"half")
    raise kinds.JobRefused("点位名称里有海报字体没有的字。")


def _crash(session, job, out, progress):
    out.write(b"half")
    raise RuntimeError("a bug")


kinds.register("test-write", _write("三行"))
kinds.register("test-refuse", _refuse)
kinds.register("test-crash", _crash)


def _immediately(app, immediate: bool = True) -> None:
    """Jobs from now on run inside the call that queues them, or wait in the queue file."""
    app.config["JOBS_IMMEDIATE"] = immediate
    init_app(app)  # a new queue, made with these settings at its first use


def _start(app, username: str, kind: str, params=None, immediate=True) -> int:
    _immediately(app, immediate)
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(username=username)).one()
        return queue_of(app).start(db.session, user, kind, params or {}, f"测试任务 {kind}").id


def _job(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def _files(app) -> set[str]:
    folder = Path(app.config["JOBS_DIR"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.fixture
def users(app, make_site, make_user):
    make_site()
    make_user("admin")
    make_user("lishui", role="city", region="丽水市")
    return {name: staff_client(app, name) for name in ("admin", "lishui")}


def test_a_finished_job_is_downloaded_by_its_asker_only(app, users):
    job_id = _start(app, "admin", "test-write", {"name": "三行.txt"})
    page = users["admin"].get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成" in page and 'value="100"' in page and "下载 三行.txt" in page
    assert 'http-equiv="refresh"' not in page  # a finished job's page stops reloading
    reply = users["admin"].get(f"/jobs/{job_id}/download")
    assert reply.data == "三行".encode() * 3
    assert "attachment" in reply.headers["Content-Disposition"]
    assert "测试任务 test-write" in users["admin"].get("/jobs/").get_data(as_text=True)
    for url in (f"/jobs/{job_id}", f"/jobs/{job_id}/download", "/jobs/999"):
        assert users["lishui"].get(url).status_code == 404, url
    assert "测试任务" not in users["lishui"].get("/jobs/").get_data(as_text=True)
    assert app.test_client().get(f"/jobs/{job_id}").status_code == 302  # to the login page


def test_a_waiting_job_shows_its_progress_and_reloads_with_nothing_to_download(app, users):
    job_id = _start(app, "admin", "test-write", immediate=False)
    with app.app_context(), write_transaction(db.session):
        attempt = services.claim(db.session, job_id, now_utc(), STALE, 3)
        services.beat(db.session, job_id, attempt, {"done": 1, "total": 4})
    page = users["admin"].get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "正在生成" in page and 'value="25"' in page and "（1 / 4）" in page
    assert 'http-equiv="refresh" content="2"' in page
    assert users["admin"].get(f"/jobs/{job_id}/download").status_code == 404


def test_a_job_is_claimed_once_and_a_presumed_dead_worker_changes_nothing(app, users):
    job_id = _start(app, "admin", "test-write", immediate=False)
    now = now_utc()
    with app.app_context(), write_transaction(db.session):
        first = services.claim(db.session, job_id, now, STALE, 3)
        assert first == 1
        assert services.claim(db.session, job_id, now, STALE, 3) is None  # alive: not again
        later = now + STALE + timedelta(seconds=1)
        second = services.claim(db.session, job_id, later, STALE, 3)
        assert second == 2  # the first worker stopped beating: claimed again
        assert not services.beat(db.session, job_id, first, {"done": 2, "heartbeat_at": later})
        output = kinds.Output("a.txt", "text/plain")
        assert not services.finish(db.session, job_id, first, output, "x", later)
        assert services.finish(db.session, job_id, second, output, "y", later)
        assert services.claim(db.session, job_id, later + STALE * 2, STALE, 3) is None  # done
    assert _job(app, job_id).path == "y"


def test_the_sweep_queues_vanished_and_lost_jobs_again_and_gives_up_at_last(app, users):
    vanished = _start(app, "admin", "test-write", {"name": "a.txt"}, immediate=False)
    lost = _start(app, "admin", "test-write", {"name": "b.txt"}, immediate=False)
    now = now_utc()
    with app.app_context(), write_transaction(db.session):
        services.claim(db.session, vanished, now, STALE, 3)
    wait = timedelta(minutes=10)
    with app.app_context(), write_transaction(db.session):
        assert services.to_enqueue(db.session, now + timedelta(seconds=30), STALE, wait, 3) == []
        soon = now + STALE + timedelta(seconds=1)
        assert services.to_enqueue(db.session, soon, STALE, wait, 3) == [vanished]
        late = now + wait + timedelta(seconds=1)
        assert services.to_enqueue(db.session, late, STALE, wait, 3) == [vanished, lost]
        for minutes in (20, 40):  # killed twice more
            services.claim(db.session, vanished, now + timedelta(minutes=minutes), STALE, 3)
        services.to_enqueue(db.session, now + timedelta(hours=1), STALE, wait, 3)
    assert _job(app, vanished).state == "failed"
    assert _job(app, vanished).error == services.GAVE_UP
    page = users["admin"].get(f"/jobs/{vanished}").get_data(as_text=True)
    assert "多次中断" in page and "下载" not in page.split("<main>")[1].split("后台任务")[0]


def test_the_sweep_runs_what_a_killed_worker_left(app, users):
    job_id = _start(app, "admin", "test-write", immediate=False)
    with app.app_context(), write_transaction(db.session):
        services.claim(db.session, job_id, now_utc() - STALE * 2, STALE, 3)  # then killed
    folder = runner.jobs_dir(app)
    (folder / f"{job_id}-1-deadbeef.part").write_bytes(b"half a file")
    _immediately(app)
    assert runner.sweep(app) == [job_id]
    job = _job(app, job_id)
    assert (job.state, job.attempt) == ("done", 2)
    assert not any(name.startswith(f"{job_id}-1-") for name in _files(app))
    reply = users["admin"].get(f"/jobs/{job_id}/download")
    assert reply.data == "三行".encode() * 3


@pytest.mark.parametrize(
    "kind, says", [("test-refuse", "海报字体没有的字"), ("test-crash", runner.FAULT)]
)
def test_a_refused_or_failed_job_says_why_and_leaves_no_file(app, users, kind, says):
    before = _files(app)
    job_id = _start(app, "admin", kind)
    job = _job(app, job_id)
    assert (job.state, job.path) == ("failed", None)
    page = users["admin"].get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "未完成" in page and says in page
    assert users["admin"].get(f"/jobs/{job_id}/download").status_code == 404
    assert _files(app) == before


def test_a_finished_file_expires(app, users):
    job_id = _start(app, "admin", "test-write")
    path = runner.jobs_dir(app) / _job(app, job_id).path
    assert path.exists()
    app.config["JOB_KEEP_HOURS"] = 0
    runner.sweep(app)
    assert not path.exists()
    assert users["admin"].get(f"/jobs/{job_id}/download").status_code == 404
    assert "文件已过期删除" in users["admin"].get(f"/jobs/{job_id}").get_data(as_text=True)


def test_an_unreachable_queue_keeps_the_job_for_the_sweep(app, users, caplog):
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    job_id = _start(app, "admin", "test-write", immediate=False)
    assert _job(app, job_id).state == "queued"
    assert "could not be queued" in caplog.text


def test_the_queue_depth_is_scraped(app, users):
    _start(app, "admin", "test-write", {"name": "a.txt"}, immediate=False)
    _start(app, "admin", "test-write", {"name": "b.txt"}, immediate=False)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'survey_job_queue_depth{state="queued"} 2.0' in text
    assert 'survey_job_queue_depth{state="running"} 0.0' in text


def test_the_sweep_command_says_what_it_queued(app, users):
    job_id = _start(app, "admin", "test-write", immediate=False)
    app.config["JOB_REQUEUE_SECONDS"] = 0
    _immediately(app)
    result = app.test_cli_runner().invoke(args=["jobs", "sweep"])
    assert result.exit_code == 0 and "重新排队 1 个任务" in result.output
    assert _job(app, job_id).state == "done"


@pytest.fixture(autouse=True)
def _own_queue_file(app, tmp_path):
    """Jobs not run at once wait in a queue file of the test's own; files go to a folder of
    the test's own."""
    app.config["JOBS_QUEUE_FILE"] = str(tmp_path / "queue.db")
    app.config["JOBS_DIR"] = str(tmp_path / "jobs")


def test_every_minute_work_runs_at_each_tick_but_not_while_another_worker_holds_it(
    app, monkeypatch
):
    from survey.api.webhooks import send_webhooks
    from survey.jobs import queue

    assert send_webhooks in queue._EVERY_MINUTE  # create_app registered the webhooks
    runs = []

    def work(app):
        runs.append(app)

    monkeypatch.setattr(queue, "_EVERY_MINUTE", [work])
    jobs = queue_of(app)
    jobs.tick()
    assert runs == [app]
    name = f"{work.__module__}.work"
    with app.app_context(), write_transaction(db.session):  # another worker runs it now
        assert services.take_lease(db.session, name, now_utc(), queue.LEASE)
    jobs.tick()
    assert runs == [app]
    with app.app_context(), write_transaction(db.session):  # that worker died: it lapsed
        db.session.get(JobLease, name).until = now_utc() - timedelta(seconds=1)
    jobs.tick()
    assert runs == [app, app]


def test_a_job_asked_twice_is_one_job(app, users):
    first = _start(app, "admin", "test-write", {"name": "a.txt"}, immediate=False)
    assert _start(app, "admin", "test-write", {"name": "a.txt"}, immediate=False) == first
    assert _start(app, "admin", "test-write", {"name": "b.txt"}, immediate=False) != first


def test_a_job_waiting_long_says_the_worker_may_not_run(app, users):
    job_id = _start(app, "admin", "test-write", immediate=False)
    assert "马上开始" in users["admin"].get(f"/jobs/{job_id}").get_data(as_text=True)
    with app.app_context(), write_transaction(db.session):
        db.session.get(Job, job_id).enqueued_at = now_utc() - timedelta(minutes=2)
    page = users["admin"].get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "后台任务进程可能没有运行" in page


def test_a_long_quiet_step_keeps_its_job_from_being_taken_for_dead(app, users):
    job_id = _start(app, "admin", "test-write", immediate=False)
    with app.app_context(), write_transaction(db.session):
        attempt = services.claim(db.session, job_id, now_utc(), STALE, 3)
    with app.app_context():
        beats = runner._Beats(db.session, job_id, attempt)
        beats.quiet_for(300)
    later = now_utc() + STALE * 2
    with app.app_context(), write_transaction(db.session):
        assert services.claim(db.session, job_id, later, STALE, 3) is None
        assert services.to_enqueue(db.session, later, STALE, timedelta(hours=1), 3) == []


def test_a_missing_file_is_404_not_an_error(app, users):
    job_id = _start(app, "admin", "test-write")
    (runner.jobs_dir(app) / _job(app, job_id).path).unlink()
    assert users["admin"].get(f"/jobs/{job_id}/download").status_code == 404


def test_a_finished_file_no_job_names_is_deleted_by_the_sweep(app, users):
    job_id = _start(app, "admin", "test-write")
    folder = runner.jobs_dir(app)
    orphan = folder / f"{job_id}-9-deadbeef.txt"  # renamed, then its worker was killed
    orphan.write_bytes(b"whole but never named")
    os.utime(orphan, (0, 0))
    runner.sweep(app)
    assert not orphan.exists()
    assert (folder / _job(app, job_id).path).exists()


def test_a_failing_minute_work_is_logged_and_the_others_still_run(app, monkeypatch, caplog):
    from survey.jobs import queue

    runs = []

    def broken(app):
        raise RuntimeError("the database is down")

    monkeypatch.setattr(queue, "_EVERY_MINUTE", [broken, runs.append])
    queue_of(app).tick()
    assert runs == [app]
    assert "broken failed; it runs again in a minute" in caplog.text


def test_the_sweep_leaves_files_that_are_no_jobs_alone(app, users):
    folder = runner.jobs_dir(app)
    (folder / "lost+found").mkdir()
    (folder / "README.txt").write_text("the operator's note")
    job_id = _start(app, "admin", "test-write", immediate=False)
    app.config["JOB_REQUEUE_SECONDS"] = 0
    _immediately(app)
    assert runner.sweep(app) == [job_id]  # the sweep went on past them
    assert (folder / "README.txt").exists() and (folder / "lost+found").is_dir()
