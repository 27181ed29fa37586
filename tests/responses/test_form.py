"""GET /s/<token>: the form a resident sees after scanning a site's QR code."""

import gzip
import re

import pytest

from survey.db import db, now_utc, write_transaction
from survey.responses.models import Response
from survey.sites.models import Project, Site, SiteToken
from tests.helpers import answer, nonce_of


def test_form_names_the_project_and_site(client, make_site):
    site = make_site(name="碧湖镇康养联合体")
    page = client.get(f"/s/{site.token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "碧湖镇康养联合体" in text
    assert "2022年建成康养联合体20家" in text
    assert "莲都区" in text
    assert "乡镇级" not in text and "市县级" not in text  # the bureau's grading, not a resident's


def test_form_offers_the_five_national_levels_best_first(client, make_site):
    text = client.get(f"/s/{make_site().token}").get_data(as_text=True)
    labels = re.findall(r'for="q\.overall-\d">.*?<span class="t">(.*?)</span>', text)
    assert labels == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


def test_form_is_not_cached_and_fits_one_round_trip(client, make_site):
    page = client.get(f"/s/{make_site(name='名' * 60).token}")
    assert page.headers["Cache-Control"] == "no-store"
    head = "".join(f"{k}: {v}\r\n" for k, v in page.headers.items())
    assert len(gzip.compress(head.encode() + page.data)) <= 14 * 1024


def test_form_loads_nothing_from_elsewhere_and_posts_without_script(client, make_site):
    text = client.get(f"/s/{make_site().token}").get_data(as_text=True)
    assert "<script>" in text and not re.search(r"<script[^>]*src=", text)  # inline only
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert re.findall(r"<link[^>]*>", text) == ['<link rel="icon" href="data:,">']
    assert re.search(r'<form id="answer" method="post" action="/s/\w+"', text)


def test_token_is_accepted_in_any_case(client, make_site):
    site = make_site()
    assert client.get(f"/s/{site.token.lower()}").status_code == 200
    assert client.get(f"/S/{site.token}").status_code == 200


def test_unknown_token_answers_404_in_chinese(client, make_site):
    make_site()
    for token in ["AAAAAAAAAA", "short", "%E4%B8%AD" * 4, "A" * 200]:
        page = client.get(f"/s/{token}")
        assert page.status_code == 404
        assert "没有找到这个页面" in page.get_data(as_text=True)


def test_retired_token_answers_410_and_inactive_site_404(app, client, make_site):
    retired, inactive = make_site(name="甲"), make_site(name="乙")
    with app.app_context(), write_transaction(db.session):
        db.session.get(SiteToken, retired.token).retired_at = now_utc()
        db.session.get(Site, inactive.id).active = False
    page = client.get(f"/s/{retired.token}")
    assert page.status_code == 410
    assert "此二维码已停用" in page.get_data(as_text=True)
    assert "12345" in page.get_data(as_text=True)  # the hotline, for residents who cannot scan
    assert client.post(f"/s/{retired.token}", data={"q.overall": "5"}).status_code == 410
    assert client.get(f"/s/{inactive.token}").status_code == 404


def test_every_view_of_a_cached_form_has_its_own_nonce(app, make_site, count):
    site = make_site()
    client = app.test_client(use_cookies=False)
    first, second = (nonce_of(client.get(f"/s/{site.token}").data) for _ in range(2))
    assert first != second
    assert answer(client, site.token, first, overall="5").status_code == 303
    assert answer(client, site.token, second, overall="4").status_code == 303
    assert count(Response) == 2


def test_form_cache_can_be_turned_off(app, client, make_site):
    site = make_site(name="旧名")
    app.config["FORM_CACHE_SECONDS"] = 0
    assert "旧名" in client.get(f"/s/{site.token}").get_data(as_text=True)
    with app.app_context(), write_transaction(db.session):
        db.session.get(Site, site.id).name = "新名"
    assert "新名" in client.get(f"/s/{site.token}").get_data(as_text=True)


def test_the_hotline_on_a_retired_link_and_a_finished_project_dials_in_one_tap(
    app, client, make_site
):
    retired, finished = make_site(name="甲"), make_site(name="乙", project="2021年项目")
    with app.app_context(), write_transaction(db.session):
        db.session.get(SiteToken, retired.token).retired_at = now_utc()
        project = db.session.get(Project, finished.project_id)
        project.status, project.hotline = "finished", "0578-2123456 转 8"
    page = client.get(f"/s/{retired.token}").get_data(as_text=True)
    assert '拨打 <a class="tel" href="tel:12345">12345</a> 评价' in page
    page = client.get(f"/s/{finished.token}").get_data(as_text=True)
    assert '<a class="tel" href="tel:05782123456,8">0578-2123456 转 8</a>' in page


def test_the_form_gives_a_new_phone_its_device_cookie(client, make_site):
    """Set with the form, a lost 303 cannot leave the phone without it."""
    site = make_site()
    first = client.get(f"/s/{site.token}")
    cookie = first.headers["Set-Cookie"]
    assert re.match(r"sid=[0-9a-f]{32};", cookie)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert "Set-Cookie" not in client.get(f"/s/{site.token}").headers  # a known phone keeps it
    client.set_cookie("sid", "not-ours")
    assert re.match(r"sid=[0-9a-f]{32};", client.get(f"/s/{site.token}").headers["Set-Cookie"])
    assert first.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "name",
    ["碧湖镇NONCE-SLOT-3f9c2a康养联合体", '碧湖镇name="nonce" value="NONCE-SLOT-3f9c2a"联合体'],
)
def test_a_site_name_holding_the_caches_nonce_slot_still_takes_answers(
    client, make_site, count, name
):
    site = make_site(name=name)
    page = client.get(f"/s/{site.token}")
    assert page.status_code == 200
    assert nonce_of(page.data).count(".") == 3  # a signed nonce, not the slot
    assert answer(client, site.token, overall="5").status_code == 303
    assert count(Response) == 1


def test_the_form_neither_reads_nor_writes_a_staff_session(admin, make_site):
    site = make_site()
    page = admin.get(f"/s/{site.token}")
    assert page.status_code == 200
    cookies = page.headers.getlist("Set-Cookie")
    assert not any(cookie.startswith("session=") for cookie in cookies), cookies
    assert "Cookie" not in page.headers.get("Vary", "")
    assert admin.get("/admin/").status_code == 200  # still logged in


def test_a_cached_form_is_answered_as_flask_answers_it(app, client, make_site, monkeypatch):
    site = make_site()
    first = client.get(f"/s/{site.token}")  # rendered by the view, then cached
    served = []
    monkeypatch.setattr(app, "full_dispatch_request", lambda: served.append(1) / 0)
    second = app.test_client().get(f"/S/{site.token.lower()}")  # from the cache, before Flask
    monkeypatch.undo()
    assert served == [] and second.status_code == first.status_code == 200
    fixed = ("Content-Type", "Cache-Control", "Content-Security-Policy", "Referrer-Policy")
    fixed += ("X-Frame-Options", "X-Content-Type-Options")
    assert all(second.headers[name] == first.headers[name] for name in fixed)
    for reply in (first, second):
        cookie = reply.headers["Set-Cookie"]
        assert cookie.startswith("sid=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert nonce_of(first.data) != nonce_of(second.data)
    assert re.sub(r'name="nonce" value="[^"]+"', "", second.get_data(as_text=True)) == re.sub(
        r'name="nonce" value="[^"]+"', "", first.get_data(as_text=True)
    )
    # A phone with its device cookie keeps it; the thank-you page still goes through Flask.
    assert "Set-Cookie" not in client.get(f"/s/{site.token}").headers
    assert client.get(f"/s/{site.token}/thanks").status_code in (200, 302, 303)
