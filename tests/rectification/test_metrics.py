"""The 整改 rates on the project's dashboard, per county and in all, checked against counts
worked out by hand (docs/METRICS.md, "整改")."""

import io
import re
from datetime import UTC, datetime

import openpyxl
import pypdfium2
import pytest

from survey.accounts.models import User
from survey.accounts.services import Actor
from survey.db import db, write_transaction
from survey.rectification import services
from survey.rectification.metrics import case_counts
from survey.rectification.models import Case
from survey.rectification.sweep import sweep_cases
from survey.rectification.workdays import work_calendar
from survey.regions.scope import EVERYTHING
from survey.responses.answers_store import import_responses
from survey.sites.models import Project, Site
from tests.helpers import PASSWORD, staff_client

#: Wednesday 2026-09-30 in Shanghai; 整改 is due Oct 13 (5 working days).
ARRIVED = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
ON_TIME = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
LATE = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def counted(app, make_site, make_user):
    """莲都区: a case rectified on time and followed up satisfied (4), one rectified late
    with two bad answers and followed up unsatisfied (2), one still open and overdue;
    青田县: one open, not yet due."""
    sites = [make_site(f"第{n}照料中心", county="莲都区") for n in range(3)]
    qingtian = make_site("鹤城街道康养联合体", county="青田县")
    make_user("lishui", "city", PASSWORD, region="丽水市")
    make_user("liandu", "county", PASSWORD, region="莲都区")
    answers = [(sites[0], ARRIVED), (sites[1], ARRIVED), (sites[1], ARRIVED), (sites[2], ARRIVED)]
    answers.append((qingtian, LATE))
    with app.app_context(), write_transaction(db.session):
        for site, at in answers:
            version = db.session.get(Site, site.id).project.questionnaire.current_version
            row = {"site_id": site.id, "version_id": version.id, "channel": "qr", "overall": 1}
            import_responses(db.session, [row | {"created_at": at}])
    app.extensions["clock"] = lambda: ARRIVED
    sweep_cases(app)
    for site, done, score in ((sites[0], ON_TIME, 4), (sites[1], LATE, 2)):
        _through(app, site.id, done, score)
    app.extensions["clock"] = lambda: LATE
    sweep_cases(app)  # the third 莲都区 case is overdue by now
    return sites[0].project_id


def _through(app, site_id: int, done: datetime, score: int) -> None:
    with app.app_context(), write_transaction(db.session):
        case = db.session.scalars(db.select(Case).filter_by(site_id=site_id)).one()
        actor = Actor(db.session.scalars(db.select(User).filter_by(username="liandu")).one(), "")
        calendar = work_calendar(db.session)
        services.verify(
            db.session, actor, case, calendar, ARRIVED, {"finding": "属实", "complex": False}
        )
        services.rectify(db.session, actor, case, calendar, done, {"done": "已整改"}, [])
        outcome = {"outcome": "reached", "score": score, "solved": score >= 3, "note": ""}
        services.follow_up(db.session, actor, case, done, outcome)


def test_the_rates_match_the_counts_worked_out_by_hand(app, counted):
    with app.app_context():
        project = db.session.get(Project, counted)
        total = case_counts(db.session, EVERYTHING, project, None, None)
        liandu = next(c for c in total.groups if c.name == "莲都区")
    assert (liandu.bad_answers, liandu.cases, liandu.rectified, liandu.on_time) == (4, 3, 2, 1)
    assert (liandu.overdue, liandu.followed_up, liandu.satisfied) == (2, 2, 1)
    assert liandu.rectified_rate == pytest.approx(2 / 3)
    assert liandu.on_time_rate == pytest.approx(1 / 2)
    assert liandu.followup_rate == pytest.approx(1 / 2)
    assert (total.bad_answers, total.cases, total.overdue) == (5, 4, 2)
    assert total.rectified_rate == pytest.approx(2 / 4)
    # By the dates the first bad answer arrived: 青田县's came on Oct 20.
    with app.app_context():
        early = case_counts(db.session, EVERYTHING, project, None, ARRIVED.date())
    assert (early.cases, [c.name for c in early.groups]) == (3, ["莲都区"])


def test_the_dashboard_shows_them_to_the_city_and_a_county_its_own(app, counted):
    page = staff_client(app, "lishui").get(f"/dashboard/projects/{counted}")
    text = page.get_data(as_text=True)
    assert "差评整改" in text and "66.7%（2）" in text and "50.0%（2 人）" in text
    assert "青田县" in text.split("差评整改")[1]
    alerts = text.split("提醒")[1].split("各县")[0]
    assert "整改超期" in alerts and "莲都区 1 个整改单超期未办结" in alerts
    county = (
        staff_client(app, "liandu").get(f"/dashboard/projects/{counted}").get_data(as_text=True)
    )
    assert "青田县" not in county.split("差评整改")[1]


def _cells(page: str, name: str) -> list[str]:
    """The cells of the 差评整改 table's row named ``name``."""
    table = page.split("<h2>差评整改</h2>")[1].split("</table>")[0]
    row = next(r for r in table.split("<tr")[1:] if f"<td>{name}</td>" in r)
    return re.findall(r"<td>(.*?)</td>", row.replace("\n", ""))


def test_a_countys_page_counts_per_site_and_a_sites_page_its_own(app, counted):
    with app.app_context():
        sites = db.session.scalars(db.select(Site).order_by(Site.id)).all()
        liandu_id, names = sites[0].region_id, [site.name for site in sites]
        site_ids = [site.id for site in sites]
    city = staff_client(app, "liandu")
    page = city.get(f"/dashboard/projects/{counted}/counties/{liandu_id}").get_data(as_text=True)
    # 第0: rectified on time, satisfied on 回访; 第1: two answers, late, not satisfied;
    # 第2: open and overdue. 青田县's site is not the county's.
    assert _cells(page, names[0])[1:7] == ["1", "1", "100.0%（1）", "100.0%", "0", "100.0%（1 人）"]
    assert _cells(page, names[1])[1:3] == ["2", "1"]
    assert "1" in _cells(page, names[2])[5]
    assert _cells(page, "合计")[1:3] == ["4", "3"]
    assert names[3] not in page.split("<h2>差评整改</h2>")[1]
    site = city.get(f"/dashboard/sites/{site_ids[1]}").get_data(as_text=True)
    assert _cells(site, names[1])[1:4] == ["2", "1", "100.0%（1）"]
    assert "合计" not in site.split("<h2>差评整改</h2>")[1].split("</table>")[0]


def test_the_monthly_report_and_its_pdf_count_the_months_cases(app, counted):
    client = staff_client(app, "lishui")
    september = client.get(f"/dashboard/projects/{counted}/report?month=2026-09")
    text = september.get_data(as_text=True).split("差评整改")[1]
    assert "莲都区" in text and "66.7%" in text and "50.0%" in text and "青田县" not in text
    october = client.get(f"/dashboard/projects/{counted}/report?month=2026-10").get_data(
        as_text=True
    )
    assert "青田县" in october.split("差评整改")[1]
    pdf = client.get(f"/dashboard/projects/{counted}/report.pdf?month=2026-09")
    document = pypdfium2.PdfDocument(pdf.data)
    try:
        words = "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    assert "差评整改" in words and "66.7%" in words and "合计" in words


def test_the_county_summary_export_has_each_countys_rates(app, counted):
    client = staff_client(app, "lishui")
    reply = client.get(f"/dashboard/projects/{counted}/summary.xlsx?group=county")
    sheet = openpyxl.load_workbook(io.BytesIO(reply.data)).active
    header = [cell.value for cell in sheet[1]]
    rows = {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}
    liandu = rows["莲都区"]
    assert liandu["差评整改单"].value == 3 and liandu["整改超期"].value == 2
    assert liandu["整改率"].value == pytest.approx(2 / 3) and "%" in liandu["整改率"].number_format
    assert liandu["回访满意率"].value == pytest.approx(1 / 2)
    assert rows["青田县"]["按期整改率"].value in ("", None)  # nothing rectified there yet
    by_site = client.get(f"/dashboard/projects/{counted}/summary.csv?group=site")
    assert "差评整改单" not in by_site.data.decode("utf-8-sig")
