"""What other systems read a page at a time: every row once across the pages, bad cursors
and limits refused, and nothing that names a resident."""

from datetime import date

import pytest
from flask import current_app

from survey.accounts.models import User
from survey.checks.models import CallAttempt, CallTask, Resident, SampleBatch, Visit
from survey.db import db, write_transaction
from survey.sites.models import Site
from tests.helpers import answer, make_token

PHONE = "13812345678"


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _walk(client, url: str, secret: str, limit: int) -> tuple[list, int]:
    """Every item of a list, page by page; and the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = client.get(url + query, headers=_bearer(secret))
        assert reply.status_code == 200, reply.text
        body = reply.get_json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_answers_come_a_page_at_a_time_each_once(app, make_site):
    site = make_site()
    other = make_site("鹤城街道康养联合体", county="青田县")
    client = app.test_client()
    for n in range(7):  # each from a phone of its own: a phone's second answer replaces it
        answer(app.test_client(), site.token, overall=str(n % 5 + 1), comment=f"电话 {PHONE}")
        answer(app.test_client(), other.token, overall="5")
    secret = make_token(app, "莲都区")
    items, pages = _walk(client, f"/api/v1/projects/{site.project_id}/answers", secret, 3)
    ids = [item["id"] for item in items]
    assert pages == 3 and len(ids) == 7 and ids == sorted(set(ids))
    assert {item["site_id"] for item in items} == {site.id}
    first = items[0]
    assert first["county"] == "莲都区" and first["channel"] == "qr" and first["counted"]
    assert first["ratings"][0]["question"] == "overall"
    assert first["overall_label"] == "非常不满意"
    assert "comment" not in first and PHONE not in str(items)
    # A new answer after the last page comes on the next one.
    answer(app.test_client(), site.token, overall="3")
    reply = client.get(
        f"/api/v1/projects/{site.project_id}/answers?cursor="
        + client.get(
            f"/api/v1/projects/{site.project_id}/answers?limit=7", headers=_bearer(secret)
        ).get_json()["next_cursor"],
        headers=_bearer(secret),
    )
    assert [item["overall"] for item in reply.get_json()["items"]] == [3]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=abc", "cursor"),
        ("cursor=YWZ0ZXI6LTE", "cursor"),  # after:-1
        ("cursor=YWZ0ZXI6OTk5OTk5OTk5OTk5", "cursor"),  # past the largest id
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=1.5", "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_refused_with_a_reason(app, make_site, query, field):
    site = make_site()
    secret = make_token(app, "丽水市")
    reply = app.test_client().get(
        f"/api/v1/projects/{site.project_id}/answers?{query}", headers=_bearer(secret)
    )
    assert reply.status_code == 422
    assert field in reply.get_json()["errors"]["query"]


def _checks(app, site_id: int) -> None:
    """A roster entry with a phone number, a call to them with two attempts (the caller's
    note names the number), and a visit."""
    cipher = current_app.extensions["field_cipher"]
    with write_transaction(db.session):
        site = db.session.get(Site, site_id)
        caller = User(username="caller", role="county", password_hash="x", region=site.region)
        resident = Resident(
            project_id=site.project_id,
            site=site,
            region_id=site.region_id,
            name_token=cipher.encrypt("王秀英"),
            phone_token=cipher.encrypt(PHONE),
            phone_digest=cipher.digest(PHONE),
        )
        batch = SampleBatch(
            project_id=site.project_id,
            seed="s",
            mode="count",
            size=1,
            exclude_days=90,
            created_by=caller,
        )
        task = CallTask(batch=batch, resident=resident, site=site)
        for outcome in ("no_answer", "callback"):
            task.attempts.append(CallAttempt(outcome=outcome, caller=caller, note=f"回拨 {PHONE}"))
        visit = Visit(
            site=site,
            visited_on=date(2026, 11, 20),
            inspectors="张检查",
            checklist=[{"item": "康复区域", "required": True, "result": "fail"}],
            findings="康复区域未开放",
            created_by=caller,
        )
        db.session.add_all([caller, resident, batch, task, visit])


def test_calls_and_visits_show_outcomes_and_findings_but_no_person(app, make_site):
    site = make_site()
    with app.app_context():
        _checks(app, site.id)
    secret = make_token(app, "莲都区")
    client = app.test_client()
    calls = client.get(f"/api/v1/projects/{site.project_id}/calls", headers=_bearer(secret))
    (call,) = calls.get_json()["items"]
    assert [a["outcome_label"] for a in call["attempts"]] == ["无人接听", "要求回拨"]
    assert call["status"] == "open" and call["site_name"] == site.name
    visits = client.get(f"/api/v1/projects/{site.project_id}/visits", headers=_bearer(secret))
    (visit,) = visits.get_json()["items"]
    assert visit["findings"] == "康复区域未开放" and visit["checklist"][0]["result"] == "fail"
    for reply in (calls, visits):
        assert PHONE not in reply.text and "王秀英" not in reply.text
        assert "张检查" not in reply.text and "caller" not in reply.text


def test_alerts_and_site_links(app, make_site):
    site = make_site()
    client = app.test_client()
    for _ in range(10):
        answer(app.test_client(), site.token, overall="1")
    secret = make_token(app, "丽水市")
    alerts = client.get(f"/api/v1/projects/{site.project_id}/alerts", headers=_bearer(secret))
    (alert,) = alerts.get_json()["items"]
    assert (alert["kind"], alert["site_id"], alert["name"]) == ("low", site.id, site.name)
    bad = client.get(
        f"/api/v1/projects/{site.project_id}/alerts?month=2026-13", headers=_bearer(secret)
    )
    assert bad.status_code == 422
    links = client.get(f"/api/v1/projects/{site.project_id}/site-links", headers=_bearer(secret))
    (link,) = links.get_json()["items"]
    assert link["code"] == site.token and link["printed_url"].endswith(site.token)
    png = client.get(link["qr_png_url"].removeprefix("http://localhost"))
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get(link["qr_svg_url"].removeprefix("http://localhost"))
    assert svg.content_type.startswith("image/svg+xml")


def test_admin_sessions_read_sites_but_not_answers(admin, make_site):
    site = make_site()
    assert admin.get(f"/api/v1/projects/{site.project_id}/site-links").status_code == 200
    assert admin.get(f"/api/v1/projects/{site.project_id}/answers").status_code == 403
