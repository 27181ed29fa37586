"""API tokens: made by admins (shown once, kept as a digest), scoped to a region like its
staff, revoked for good, every use in the audit log."""

import re

from survey.accounts.models import AuditEntry
from survey.api.models import ApiToken
from survey.db import db
from tests.helpers import database_text, make_token, post, staff_client

SECRET = re.compile(r'<code id="token-secret">([^<]+)</code>')


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_an_admin_makes_a_token_shown_once_and_kept_only_as_its_digest(
    app, admin, make_site, make_user
):
    make_site()
    with app.app_context():
        city = db.session.scalars(db.select(ApiToken.region_id)).first()
    assert city is None
    page = admin.get("/admin/api-tokens/new")
    assert page.status_code == 200 and "丽水市" in page.text
    region = re.search(r'<option value="(\d+)">丽水市', page.text).group(1)
    form = {"name": "省民生实事系统", "region_id": region, "webhook_url": "https://hook.example/x"}
    reply = post(admin, "/admin/api-tokens/new", form)
    assert reply.status_code == 201 and "只显示这一次" in reply.text
    secret = SECRET.search(reply.text).group(1)
    webhook_secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', reply.text).group(1)
    assert len(secret) >= 43
    stored = database_text(app)
    assert secret not in stored and webhook_secret not in stored
    with app.app_context():
        token = db.session.scalars(db.select(ApiToken)).one()
    # Never shown again: not on the list, nor on the token's page.
    assert secret not in admin.get("/admin/api-tokens/").text
    assert secret not in admin.get(f"/admin/api-tokens/{token.id}").text
    assert admin.get("/api/v1/projects", headers=_bearer(secret)).status_code == 200
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEntry.action)).all()
    assert "api_token_created" in actions


def test_a_bad_token_form_comes_back_with_the_reasons(admin, make_site):
    make_site()
    form = {"name": "", "region_id": "", "webhook_url": "ftp://example.com/"}
    reply = post(admin, "/admin/api-tokens/new", form)
    assert reply.status_code == 422
    assert "请填写名称" in reply.text and "请选择令牌可读取的地区" in reply.text
    assert "http:// 或 https://" in reply.text


def test_only_admins_reach_the_token_pages(app, make_site, make_user):
    make_site()
    make_user("lishui", "city", region="丽水市")
    assert staff_client(app, "lishui").get("/admin/api-tokens/").status_code == 403


def test_a_county_token_reads_its_county_only(app, make_site):
    liandu = make_site()
    qingtian = make_site("鹤城街道康养联合体", county="青田县")
    other = make_site("鹤城照料中心", project="2023年照料中心", county="青田县")
    secret = make_token(app, "莲都区")
    client = app.test_client()
    (project,) = client.get("/api/v1/projects", headers=_bearer(secret)).get_json()
    assert project["id"] == liandu.project_id
    sites = client.get(f"/api/v1/projects/{liandu.project_id}/sites", headers=_bearer(secret))
    assert [s["name"] for s in sites.get_json()] == [liandu.name]
    links = client.get(f"/api/v1/projects/{liandu.project_id}/site-links", headers=_bearer(secret))
    assert [item["site"]["id"] for item in links.get_json()["items"]] == [liandu.id]
    assert qingtian.name not in links.text and qingtian.token not in links.text
    for url in (
        f"/api/v1/projects/{other.project_id}",
        f"/api/v1/projects/{other.project_id}/answers",
    ):
        reply = client.get(url, headers=_bearer(secret))
        assert reply.status_code == 404 and reply.is_json


def test_missing_bad_and_revoked_tokens_get_401_in_json(app, admin, make_site):
    site = make_site()
    secret = make_token(app, "丽水市")
    client = app.test_client()
    url = f"/api/v1/projects/{site.project_id}/answers"
    for headers in ({}, _bearer("not-a-token"), {"Authorization": f"Basic {secret}"}):
        reply = client.get(url, headers=headers)
        assert reply.status_code == 401 and reply.get_json()["message"]
    assert client.get(url, headers=_bearer(secret)).status_code == 200
    with app.app_context():
        token = db.session.scalars(db.select(ApiToken)).one()
    confirm = admin.get(f"/admin/api-tokens/{token.id}/revoke")
    assert "确认吊销令牌" in confirm.text
    # Asking is not revoking.
    assert client.get(url, headers=_bearer(secret)).status_code == 200
    page = f"/admin/api-tokens/{token.id}/revoke"
    assert post(admin, page, page=page).status_code == 302
    reply = client.get(url, headers=_bearer(secret))
    assert reply.status_code == 401 and "吊销" in reply.get_json()["message"]
    assert "已吊销" in admin.get("/admin/api-tokens/").text


def test_every_use_is_an_audit_line_of_the_tokens_region_without_the_query(
    app, make_site, make_user
):
    site = make_site()
    secret = make_token(app, "莲都区", name="县看板")
    client = app.test_client()
    client.get(f"/api/v1/projects/{site.project_id}/answers?limit=5", headers=_bearer(secret))
    client.get("/api/v1/projects", headers=_bearer(secret))
    with app.app_context():
        lines = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "api_used").order_by(AuditEntry.id)
        ).all()
        token = db.session.scalars(db.select(ApiToken)).one()
        assert token.last_used_at is not None
        county = token.region_id
    assert [line.detail for line in lines] == [
        f"GET /api/v1/projects/{site.project_id}/answers",
        "GET /api/v1/projects",
    ]
    assert {(line.username, line.region_id, line.user_id) for line in lines} == {
        ("令牌:县看板", county, None)
    }
    # The county's own staff read it in their audit log? Counties have none; the city does.
    make_user("lishui", "city", region="丽水市")
    assert "令牌:县看板" in staff_client(app, "lishui").get("/admin/audit").text


def test_the_openapi_declares_the_bearer_token(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    answers = spec["paths"]["/api/v1/projects/{project_id}/answers"]["get"]
    assert {"bearerAuth": []} in answers["security"] and "401" in answers["responses"]
    assert "security" not in spec["paths"]["/api/v1/sites/{token}"]["get"]
