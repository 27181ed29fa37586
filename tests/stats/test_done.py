"""Issue 6's "done when", on the demo data, as the demo's province-level city user."""

import io
import re

import openpyxl
import pypdfium2
from sqlalchemy import select

from survey.db import db
from survey.sites.models import Site
from tests.helpers import first_login
from tests.stats.conftest import NOVEMBER


def test_the_city_user_drills_down_exports_and_sees_the_discrepancy(app, runner, answers):
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    with app.app_context():
        site = db.session.scalars(select(Site).order_by(Site.id)).first()
        ref = type("Ref", (), {"id": site.id, "name": site.name})
        project_id, county_id = site.project_id, site.region_id
    answers(ref, {5: 40}, at=NOVEMBER)  # constructed: 100 % by QR …
    answers(ref, {5: 12, 2: 8}, channel="phone", at=NOVEMBER)  # … 60 % by phone

    # A user of a city's bureau, created as the README says, sees that city only.
    lishui = first_login(app, runner, "lishuichief", "city", "丽水市")
    page = lishui.get("/dashboard/").get_data(as_text=True)
    assert "康养联合体" in page and "照料中心" not in page

    # The demo's province-level user sees both demo projects and drills to the site.
    client = _first_login_demo(app, runner)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "2022年建成康养联合体20家" in page and "居家养老服务照料中心改造提升" in page
    project = client.get(f"/dashboard/projects/{project_id}?to=2026-11-30").get_data(as_text=True)
    assert "自评与抽查差异显著" in project and ref.name in project
    county = client.get(f"/dashboard/projects/{project_id}/counties/{county_id}")
    assert ref.name in county.get_data(as_text=True)
    site_page = client.get(f"/dashboard/sites/{ref.id}").get_data(as_text=True)
    assert "<svg" in site_page and "自评与抽查差异显著" not in site_page.split("<h2>")[0]

    xlsx = client.get(f"/dashboard/projects/{project_id}/summary.xlsx?group=site")
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    flagged = next(r for r in rows if r[0] == ref.name)
    assert flagged[-1] == "是"
    pdf = client.get(f"/dashboard/projects/{project_id}/report.pdf?month=2026-11")
    document = pypdfium2.PdfDocument(pdf.data)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    assert "2026年11月 满意度月报" in text and "自评与抽查差异显著" in text


def _first_login_demo(app, runner):
    """Log in as the demo's province user with the one-time password demo-data printed."""
    output = runner.invoke(args=["demo-data"]).output
    password = re.search(r"zhejiang（浙江省），一次性密码：(\S{14})", output).group(1)
    from tests.helpers import csrf_of

    client = app.test_client()
    token = csrf_of(client.get("/login").data)
    data = {"username": "zhejiang", "password": password, "csrf_token": token}
    assert client.post("/login", data=data).headers["Location"] == "/account/password"
    token = csrf_of(client.get("/account/password").data)
    new = {"current": password, "new": "a new long password", "confirm": "a new long password"}
    assert client.post("/account/password", data=new | {"csrf_token": token}).status_code == 302
    return client
