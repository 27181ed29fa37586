"""A session still on its one-time password reaches nothing but the password page: every
staff page sends it there, the API refuses it in JSON."""

import re

import pytest

from tests.helpers import csrf_of, log_in

#: Reachable before the new password is chosen: the password page itself, logging in and
#: out, and what needs no login at all (the resident form, its recordings, the health check).
OPEN_BEFORE_NEW_PASSWORD = {"accounts.login", "accounts.password", "accounts.logout", "static"}
PUBLIC_BLUEPRINTS = {"form", "health"}


def _url(rule, ids: dict) -> str:
    """The rule's path with every argument filled in: row ids from ``ids`` (1 otherwise),
    the first choice of an ``any(…)``, any text for the rest."""

    def value(match):
        converter, name = match.group(1) or "", match.group(2)
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip()
        if converter == "int":
            return str(ids.get(name, 1))
        return "x"

    return re.sub(r"<(?:([^:>]+):)?(\w+)>", value, rule.rule)


@pytest.fixture
def unchanged(app, client, make_site, make_user):
    """A city user logged in with a one-time password, and a project of their city."""
    site = make_site()
    password = make_user("lishui", role="city", region="丽水市", one_time=True)
    token = csrf_of(client.get("/login").data)
    reply = client.post(
        "/login", data={"username": "lishui", "password": password, "csrf_token": token}
    )
    assert reply.headers["Location"] == "/account/password"
    return client, site


def test_the_stats_api_refuses_a_one_time_password_in_json(unchanged):
    client, site = unchanged
    reply = client.get(f"/api/v1/projects/{site.project_id}/stats")
    assert reply.status_code == 403
    assert "修改" in reply.get_json()["message"] and "密码" in reply.get_json()["message"]


def test_every_staff_route_refuses_a_one_time_password(app, unchanged):
    client, site = unchanged
    ids = {"project_id": site.project_id, "site_id": site.id}
    csrf = csrf_of(client.get("/account/password").data)
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_BEFORE_NEW_PASSWORD:
            continue
        if rule.endpoint.partition(".")[0] in PUBLIC_BLUEPRINTS:
            continue
        url = _url(rule, ids)
        for method in {"GET", "POST"} & rule.methods:
            reply = client.open(url, method=method, data={"csrf_token": csrf})
            where = f"{method} {url}"
            if url.startswith("/api/"):
                assert reply.status_code == 403, where
                assert "密码" in reply.get_json()["message"], where
            else:
                assert reply.status_code == 302, where
                assert reply.headers["Location"] == "/account/password", where
            checked.append(where)
    assert "GET /api/v1/projects" in checked and "GET /admin/audit" in checked
    assert len(checked) > 60


def test_after_the_change_the_same_session_goes_everywhere_its_role_may(unchanged):
    client, site = unchanged
    token = csrf_of(client.get("/account/password").data)
    new = "a new good password"
    client.post(
        "/account/password",
        data={"current": "correct horse battery", "new": new, "confirm": new, "csrf_token": token},
    )
    assert client.get(f"/api/v1/projects/{site.project_id}/stats").status_code == 200
    assert client.get("/checks/").status_code == 200
    log_in(client, "lishui", new)
