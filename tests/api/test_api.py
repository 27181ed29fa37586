"""The JSON API: projects, sites, and submissions with the same rules as the form."""

from survey.responses import nonces
from survey.responses.models import Response


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


def test_projects_and_their_sites_are_listed(client, make_site):
    site = make_site()
    (project,) = client.get("/api/v1/projects").get_json()
    assert project["name"] == site.project_name
    assert project["city"] == "丽水市"
    assert client.get(f"/api/v1/projects/{project['id']}").get_json()["id"] == project["id"]
    (listed,) = client.get(f"/api/v1/projects/{project['id']}/sites").get_json()
    assert (listed["name"], listed["county"], listed["level_label"]) == (
        site.name,
        "莲都区",
        "乡镇级",
    )
    assert "token" not in listed


def test_unknown_project_or_site_answers_json_404(client):
    for url in ("/api/v1/projects/999", "/api/v1/projects/999/sites", "/api/v1/sites/NOPE000000"):
        reply = client.get(url)
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
