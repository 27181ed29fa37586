"""A project's 2,000 posters drawn by a real worker process (``flask jobs worker``) on
PostgreSQL and Redis, as in production: the job page shows the progress; the worker is
killed with ``kill -9`` halfway; nothing half-written is ever served; a new worker takes
the job up again and the PDF served at last has a page per site, every one of which
decodes to its site's link."""

import re
import time

import pypdfium2
import pytest
from sqlalchemy import select

from survey import create_app
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.sites.models import Project, Site
from survey.sites.tokens import issue_token
from tests.helpers import app_settings, csrf_of
from tests.qr.test_symbol import decode
from tests.servers import NO_OWN_POSTGRES, NO_OWN_REDIS, Stack, Worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(NO_OWN_POSTGRES is not None, reason=NO_OWN_POSTGRES or ""),
    pytest.mark.skipif(NO_OWN_REDIS is not None, reason=NO_OWN_REDIS or ""),
]

SITES = 2000
#: A killed worker's job is claimed again after this many seconds without a heartbeat.
STALE_SECONDS = 3
PERCENT = re.compile(r'<progress max="100" value="(\d+)"')


def _grow_to(database_url: str, sites: int) -> int:
    """Give the first demo project ``sites`` live sites in all; its id."""
    app = create_app(app_settings(database_url))
    with app.app_context(), write_transaction(db.session):
        project = db.session.scalars(select(Project).order_by(Project.id)).first()
        county = db.session.scalars(
            select(Region).where(Region.parent_id == project.region_id).order_by(Region.id)
        ).first()
        for number in range(sites - len(project.sites)):
            site = Site(project=project, region=county, name=f"第{number + 1}号照料中心")
            db.session.add(site)
            issue_token(db.session, site)
        project_id = project.id
    with app.app_context():
        db.engine.dispose()
    return project_id


def _until(check, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    raise AssertionError(f"not within {seconds} s")


def test_a_2000_poster_job_survives_kill_9_of_its_worker(tmp_path):
    jobs_dir = tmp_path / "jobs"
    settings = {"JOBS_DIR": str(jobs_dir), "JOB_STALE_SECONDS": str(STALE_SECONDS)}
    stack = Stack(tmp_path, settings=settings)
    workers = []
    try:
        project_id = _grow_to(stack.postgres.url, SITES)
        admin = stack.staff("admin", "worker-Passwort-2026")
        workers.append(Worker(stack.env, tmp_path / "worker1.log").start())
        url = f"/admin/projects/{project_id}/posters.pdf?size=A5"
        asked = admin.get(url)
        assert f"共 {SITES} 个在用点位" in asked.get_data(as_text=True)
        started = admin.post(url, {"csrf_token": csrf_of(asked.data)})
        assert started.status_code == 302
        job = started.headers["Location"]
        seen = set()

        def percent() -> int:
            page = admin.get(job).get_data(as_text=True)
            value = int(PERCENT.search(page).group(1))
            seen.add(value)
            return value

        _until(lambda: 20 <= percent() < 90, 120)
        workers[0].kill()
        assert "正在生成" in admin.get(job).get_data(as_text=True)
        assert admin.get(f"{job}/download").status_code == 404  # nothing half-written
        assert [p.suffix for p in jobs_dir.iterdir()] == [".part"]
        time.sleep(STALE_SECONDS + 0.5)  # its heartbeat is now stale
        workers.append(Worker(stack.env, tmp_path / "worker2.log").start())
        _until(lambda: "已完成" in admin.get(job).get_data(as_text=True), 240)
        assert len([v for v in seen if 0 < v < 100]) >= 2, seen  # the page showed progress

        reply = admin.get(f"{job}/download")
        assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/pdf"
        tokens = {
            t
            for (t,) in stack.sql(
                "SELECT t.token FROM site_tokens t JOIN sites s ON s.id = t.site_id"
                " WHERE s.project_id = :p AND t.retired_at IS NULL",
                p=project_id,
            )
        }
        document = pypdfium2.PdfDocument(reply.data)
        try:
            assert len(document) == SITES == len(tokens)
            printed = set()
            for page in document:
                codes = decode(page.render(scale=1).to_pil())
                assert len(codes) == 1, codes
                printed.add(codes[0].rsplit("/", 1)[1])
                page.close()
        finally:
            document.close()
        assert printed == tokens
        (attempt,) = stack.sql("SELECT attempt FROM jobs")[0]
        assert attempt == 2
        assert [p.suffix for p in jobs_dir.iterdir()] == [".pdf"]  # the half file is gone
        for log in ("worker1.log", "worker2.log"):
            assert "Traceback" not in (tmp_path / log).read_text(), log
    finally:
        for worker in workers:
            worker.stop() if worker.process else None
        stack.close()
