"""整改单 in the JSON API: a project's cases a page at a time and one case with its timeline,
scoped like the pages (a county reads its own, a token its region's), no personal data."""

from datetime import UTC, datetime

import pytest

from survey.db import db, write_transaction
from survey.rectification.sweep import sweep_cases
from survey.responses.answers_store import import_responses
from survey.sites.models import Site
from tests.helpers import PASSWORD, make_token, staff_client

ARRIVED = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def cases(app, make_site, make_user):
    """Three cases in 莲都区 and one in 青田县; their ids by county."""
    sites = [make_site(f"第{n}照料中心", county="莲都区") for n in range(3)]
    sites.append(make_site("鹤城街道康养联合体", county="青田县"))
    make_user("liandu", "county", PASSWORD, region="莲都区")
    app.extensions["clock"] = lambda: ARRIVED
    with app.app_context(), write_transaction(db.session):
        for site in sites:
            version = db.session.get(Site, site.id).project.questionnaire.current_version
            row = {"site_id": site.id, "version_id": version.id, "channel": "qr"}
            comment = "王大妈 13912345678 说饭是凉的"
            row |= {"overall": 1, "created_at": ARRIVED, "comment": comment}
            import_responses(db.session, [row])
    assert sweep_cases(app) == (4, 0, 0)
    return {"liandu": [1, 2, 3], "qingtian": [4], "project": sites[0].project_id}


def test_a_county_reads_its_cases_a_page_at_a_time(app, cases):
    client = staff_client(app, "liandu")
    url = f"/api/v1/projects/{cases['project']}/cases?limit=2"
    first = client.get(url).get_json()
    assert [c["id"] for c in first["items"]] == [1, 2] and first["next_cursor"]
    second = client.get(f"{url}&cursor={first['next_cursor']}").get_json()
    assert [c["id"] for c in second["items"]] == [3] and second["next_cursor"] is None
    item = first["items"][0]
    assert item["state"] == "verifying" and item["state_label"] == "待核实"
    assert (item["opened_on"], item["verify_due"], item["rectify_due"]) == (
        "2026-09-30",
        "2026-10-08",
        "2026-10-13",
    )
    assert item["county"] == "莲都区" and item["answers"] == 1 and item["overdue"] is False
    assert client.get("/api/v1/cases/4").status_code == 404  # 青田县's
    detail = client.get("/api/v1/cases/1").get_json()
    assert [step["kind"] for step in detail["steps"]] == ["opened"]
    text = client.get(url).get_data(as_text=True) + client.get("/api/v1/cases/1").get_data(
        as_text=True
    )
    assert "13912345678" not in text and "王大妈" not in text


def test_a_token_reads_its_regions_cases_and_nobody_else_any(app, cases):
    secret = make_token(app, "青田县")
    bearer = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    reply = client.get(f"/api/v1/projects/{cases['project']}/cases", headers=bearer)
    assert [c["id"] for c in reply.get_json()["items"]] == [4]
    assert client.get("/api/v1/cases/4", headers=bearer).status_code == 200
    assert client.get("/api/v1/cases/1", headers=bearer).status_code == 404
    assert client.get("/api/v1/cases/1").status_code == 401
    bad = client.get(f"/api/v1/projects/{cases['project']}/cases?cursor=x", headers=bearer)
    assert bad.status_code == 422
