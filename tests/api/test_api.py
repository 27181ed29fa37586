"""The JSON API: projects, sites, and submissions with the same rules as the form."""

from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.responses import nonces
from survey.responses.models import Response
from survey.sites.models import Project, ProjectTarget
from tests.helpers import log_in


def _form(client, token):
    reply = client.get(f"/api/v1/sites/{token}")
    assert reply.status_code == 200
    return reply.get_json()


def test_openapi_describes_every_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {
        "/api/v1/projects",
        "/api/v1/projects/{project_id}",
        "/api/v1/projects/{project_id}/sites",
        "/api/v1/sites/{token}",
        "/api/v1/sites/{token}/responses",
    } <= set(spec["paths"])
    body = spec["paths"]["/api/v1/sites/{token}/responses"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ApiSubmission")


def test_projects_and_their_sites_are_listed_to_staff_within_their_region(
    app, make_site, make_user
):
    site = make_site()
    make_site("鹤城街道康养联合体", county="青田县")  # the same project, another county
    make_site("鹤城照料中心", project="2023年照料中心", county="青田县")  # none in 莲都区
    make_user("lishui", "city", region="丽水市")
    make_user("liandu", "county", region="莲都区")
    city = log_in(app.test_client(), "lishui", "correct horse battery")
    project, other = city.get("/api/v1/projects").get_json()
    assert project["name"] == site.project_name and other["name"] == "2023年照料中心"
    assert project["city"] == "丽水市"
    assert {t["county"] for t in project["targets"]} <= {"莲都区", "青田县"}
    assert city.get(f"/api/v1/projects/{project['id']}").get_json()["id"] == project["id"]
    listed = city.get(f"/api/v1/projects/{project['id']}/sites").get_json()
    assert {s["county"] for s in listed} == {"莲都区", "青田县"}
    assert all("token" not in s for s in listed)
    # A county user sees the projects reaching their county, and only its sites.
    county = log_in(app.test_client(), "liandu", "correct horse battery")
    (seen,) = county.get("/api/v1/projects").get_json()
    assert seen["id"] == project["id"]
    (only,) = county.get(f"/api/v1/projects/{project['id']}/sites").get_json()
    assert (only["name"], only["county"], only["level_label"]) == (site.name, "莲都区", "乡镇级")
    assert county.get(f"/api/v1/projects/{other['id']}").status_code == 404


def test_a_county_sees_only_its_own_countys_targets(app, make_site, make_user):
    site = make_site()
    make_site("鹤城街道康养联合体", county="青田县")
    with app.app_context(), write_transaction(db.session):
        project = db.session.get(Project, site.project_id)
        for region in db.session.scalars(db.select(Region).filter_by(level="county")):
            db.session.add(ProjectTarget(project=project, region=region, site_count=7))
    make_user("liandu", "county", region="莲都区")
    county = log_in(app.test_client(), "liandu", "correct horse battery")
    (project,) = county.get("/api/v1/projects").get_json()
    assert project["targets"] == [{"county": "莲都区", "site_count": 7}]
    assert county.get(f"/api/v1/projects/{project['id']}").get_json()["targets"] == [
        {"county": "莲都区", "site_count": 7}
    ]


def test_anonymous_callers_get_only_a_sites_form_by_its_token(client, make_site):
    site = make_site()
    for url in (
        "/api/v1/projects",
        f"/api/v1/projects/{site.project_id}",
        f"/api/v1/projects/{site.project_id}/sites",
        f"/api/v1/projects/{site.project_id}/stats",
    ):
        reply = client.get(url)
        assert reply.status_code == 401 and reply.is_json, url
        assert site.name not in reply.get_data(as_text=True)
    assert client.get(f"/api/v1/sites/{site.token}").get_json()["site"]["name"] == site.name


def test_staff_with_a_one_time_password_get_no_lists(app, make_site, make_user):
    site = make_site()
    password = make_user("lishui", "city", one_time=True, region="丽水市")
    client = log_in(app.test_client(), "lishui", password)
    for url in ("/api/v1/projects", f"/api/v1/projects/{site.project_id}/sites"):
        reply = client.get(url)
        assert reply.status_code == 403 and "修改一次性密码" in reply.get_json()["message"]


def test_unknown_project_or_site_answers_json_404(admin):
    for url in ("/api/v1/projects/999", "/api/v1/projects/999/sites", "/api/v1/sites/NOPE000000"):
        reply = admin.get(url)
        assert reply.status_code == 404
        assert reply.is_json and reply.get_json()["message"]


def test_site_form_gives_questions_and_a_nonce(client, make_site):
    form = _form(client, make_site().token)
    questions = form["questionnaire"]["questions"]
    assert questions[0]["key"] == "overall"
    assert [o["label"] for o in questions[0]["options"]][0] == "非常满意"
    assert form["nonce"]


def test_submission_counts_once_per_nonce(client, make_site, count):
    site = make_site()
    nonce = _form(client, site.token)["nonce"]
    payload = {"answers": {"overall": 5, "attitude": 0}, "comment": "好", "nonce": nonce}
    first = client.post(f"/api/v1/sites/{site.token}/responses", json=payload)
    assert first.status_code == 201
    assert first.get_json()["outcome"] == "created"
    again = client.post(f"/api/v1/sites/{site.token}/responses", json=payload)
    assert again.status_code == 200
    expected = {"id": first.get_json()["id"], "outcome": "duplicate", "flagged": False}
    assert again.get_json() == expected
    assert count(Response, channel="qr") == 1


def _rejected(client, token, payload, status=422):
    reply = client.post(f"/api/v1/sites/{token}/responses", json=payload)
    assert reply.status_code == status
    assert reply.is_json
    return reply.get_json()


def test_bad_submissions_are_refused_in_json_and_store_nothing(client, make_site, count):
    site = make_site()
    nonce = _form(client, site.token)["nonce"]
    cases = [
        ({"answers": {"overall": 6}, "nonce": nonce}, "answers"),
        ({"answers": {"overall": 5, "bogus": 1}, "nonce": nonce}, "answers"),
        ({"answers": {"attitude": 1}, "nonce": nonce}, "answers"),
        ({"answers": {"overall": "五"}, "nonce": nonce}, "answers"),
        ({"answers": {"overall": 4.7}, "nonce": nonce}, "answers"),
        ({"answers": {"overall": True}, "nonce": nonce}, "answers"),
        ({"answers": {"overall": 5, "attitude": "0.5"}, "nonce": nonce}, "answers"),
        ({"answers": {"overall": 5}, "nonce": nonce, "comment": "x" * 10_000}, "json"),
        ({"answers": {"overall": 5}}, "json"),
        ({"answers": {"overall": 5}, "nonce": nonce, "extra": 1}, "json"),
        ({"answers": [5], "nonce": nonce}, "json"),
    ]
    for payload, where in cases:
        body = _rejected(client, site.token, payload)
        assert body["message"]
        assert where in body["errors"], payload
    assert count(Response) == 0


def test_forged_nonce_is_refused(client, make_site, count):
    site = make_site()
    body = _rejected(client, site.token, {"answers": {"overall": 5}, "nonce": "forged"})
    assert "nonce" in body["errors"]
    signed_elsewhere = nonces.issue("another-secret", site.token, 1)
    body = _rejected(client, site.token, {"answers": {"overall": 5}, "nonce": signed_elsewhere})
    assert "nonce" in body["errors"]
    assert count(Response) == 0


def test_broken_json_and_invalid_utf8_answer_400(client, make_site, count):
    site = make_site()
    for data in (b"{not json", b'{"answers": {"overall": 5}, "nonce": "\xff\xfe"}'):
        reply = client.post(
            f"/api/v1/sites/{site.token}/responses", data=data, content_type="application/json"
        )
        assert reply.status_code == 400
        assert reply.is_json and reply.get_json()["message"]
    assert count(Response) == 0


def test_oversize_body_answers_json_413(client, make_site, count):
    site = make_site()
    payload = {"answers": {"overall": 5}, "nonce": "n", "comment": "x" * 70_000}
    body = _rejected(client, site.token, payload, status=413)
    assert body["code"] == 413
    assert count(Response) == 0
