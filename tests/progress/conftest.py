"""A 康养联合体 project of 2026 in 丽水 (莲都区 two sites, 青田县 one; targets 2 and 2),
its county and city users, and the app's clock on 2026-10-26 10:00 in Shanghai."""

from datetime import UTC, datetime

import pytest

from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.sites.models import Project, ProjectTarget
from tests.checks.conftest import Clock, jpeg_with_gps
from tests.helpers import PASSWORD, post_files

#: 2026-10-26 10:00 in Shanghai: time progress 10/12, a report on October is late.
LATE_DAY = datetime(2026, 10, 26, 2, 0, tzinfo=UTC)


def pdf_bytes(size: int = 0) -> bytes:
    """A small PDF (made by fpdf2), padded inside to about ``size`` bytes."""
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    data = bytes(document.output())
    if size > len(data):  # a comment before the end keeps it a PDF
        head, tail = data.rsplit(b"%%EOF", 1)
        data = head + b"%" + b"0" * (size - len(data)) + b"\n%%EOF" + tail
    return data


@pytest.fixture
def clock(app):
    clock = Clock(LATE_DAY)
    app.extensions["clock"] = clock
    return clock


@pytest.fixture
def world(app, make_site, make_user, clock):
    sites = {
        "liandu": make_site("紫金街道康养联合体", county="莲都区"),
        "liandu2": make_site("岩泉街道康养联合体", county="莲都区"),
        "qingtian": make_site("鹤城街道康养联合体", county="青田县"),
    }
    with app.app_context(), write_transaction(db.session):
        project = db.session.get(Project, sites["liandu"].project_id)
        project.year, project.open_from_start = 2026, False
        for name in ("莲都区", "青田县"):
            region = db.session.scalars(db.select(Region).filter_by(name=name)).one()
            project.targets.append(ProjectTarget(region=region, site_count=2))
    make_user("liandu", "county", PASSWORD, region="莲都区")
    make_user("qingtian", "county", PASSWORD, region="青田县")
    make_user("lishui", "city", PASSWORD, region="丽水市")
    return sites


def record(client, site_id: int, percent: int, reached_on="2026-10-20", **files):
    """The county's record of ``percent`` with ``files`` (name → (bytes, filename) or a
    list of them); the reply. By default one photo."""
    fields = {"percent": str(percent), "reached_on": reached_on, "note": "按计划完成"}
    fields |= files or {"photos": (jpeg_with_gps(), "site.jpg")}
    url = f"/progress/sites/{site_id}"
    return post_files(client, f"{url}/records", fields, page=url)
