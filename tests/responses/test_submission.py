"""POST /s/<token>: a resident's answer is stored exactly once, or refused with a clear page."""

from datetime import timedelta

import pytest

from survey import create_app
from survey.db import db, now_utc, write_transaction
from survey.responses import answers_store, nonces
from survey.responses.models import Answer, FormNonce, Response
from survey.sites.models import SiteToken
from tests.helpers import SECRET, answer, app_settings, nonce_of, open_form


def test_answer_is_stored_and_thanked(app, client, make_site, count):
    site = make_site()
    posted = answer(client, site.token, overall="4", attitude="0", comment="饭菜可口")
    assert posted.status_code == 303
    assert posted.headers["Location"].endswith(f"/s/{site.token}/thanks")
    thanks = client.get(posted.headers["Location"])
    assert "谢谢您的评价" in thanks.get_data(as_text=True)
    with app.app_context():
        (response,) = db.session.scalars(db.select(Response)).all()
        assert (response.site_id, response.channel, response.overall) == (site.id, "qr", 4)
        assert response.comment == "饭菜可口"
        answers = {a.question.key: a.choice for a in response.answers}
        assert answers == {"overall": 4, "attitude": 0}
        assert response.version.number == 1


def test_replayed_nonce_is_thanked_and_stores_nothing(client, make_site, count):
    site = make_site()
    nonce = open_form(client, site.token)
    first = answer(client, site.token, nonce, overall="5")
    client.delete_cookie("sid")  # a reload after clearing cookies is still the same form
    again = answer(client, site.token, nonce, overall="5")
    assert first.status_code == again.status_code == 303
    assert "/thanks" in again.headers["Location"]
    assert count(Response) == 1
    assert count(FormNonce) == 1


def test_same_device_within_the_window_updates_its_answer(app, client, make_site, count):
    site = make_site()
    answer(client, site.token, overall="2", attitude="2", comment="等太久")
    second = answer(client, site.token, overall="5")
    assert second.headers["Location"].endswith("/thanks?updated=1")
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "已替换上一次" in page
    assert count(Response) == 1
    assert count(Answer) == 1  # the old attitude answer went with the old answer
    with app.app_context():
        response = db.session.scalars(db.select(Response)).one()
        assert (response.overall, response.comment) == (5, "")
        assert response.updated_at is not None


def test_same_device_after_the_window_adds_a_new_answer(app, client, make_site, count):
    site = make_site()
    answer(client, site.token, overall="2")
    with app.app_context(), write_transaction(db.session):
        response = db.session.scalars(db.select(Response)).one()
        with answers_store.changing(db.session, [response]):  # counted on its new day
            response.created_at -= timedelta(hours=13)
    answer(client, site.token, overall="5")
    assert count(Response) == 2


def test_same_device_at_another_site_counts_separately(client, make_site, count):
    one, two = make_site(name="甲"), make_site(name="乙")
    answer(client, one.token, overall="5")
    answer(client, two.token, overall="5")
    assert count(Response) == 2


def test_blocked_cookies_still_work_without_the_device_window(app, make_site, count):
    site = make_site()
    client = app.test_client(use_cookies=False)
    assert answer(client, site.token, overall="5").status_code == 303
    assert answer(client, site.token, overall="4").status_code == 303
    assert count(Response) == 2


def _refused(client, token, **fields):
    page = answer(client, token, **fields)
    assert page.status_code == 400
    return page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"overall": "6"}, "请从五个选项中选择一个"),
        ({"overall": "0"}, "请从五个选项中选择一个"),
        ({"overall": "很好"}, "请从五个选项中选择一个"),
        ({"attitude": "0"}, "请回答“总的来说，您对这里的服务满意吗？”"),
        ({"overall": "5", "attitude": "3"}, "请从给出的选项中选择"),
        ({"overall": "5", "bogus": "1"}, "问卷里没有这个问题"),
        ({"overall": "5", "comment": "x" * 10_000}, "留言请不超过500字"),
        ({"overall": "5", "comment": "坏\x00字"}, "无法识别的字符"),
    ],
)
def test_bad_answers_get_a_chinese_400_and_store_nothing(client, make_site, count, fields, message):
    page = _refused(client, make_site().token, **fields)
    assert message in page
    assert count(Response) == 0


def test_refused_form_keeps_what_the_resident_chose(client, make_site):
    page = _refused(client, make_site().token, overall="4", attitude="1", comment="x" * 600)
    assert 'value="4" checked' in page
    assert 'value="1" checked' in page
    assert "x" * 600 in page


def test_refused_form_can_be_resubmitted_with_the_same_nonce(client, make_site, count):
    site = make_site()
    page = _refused(client, site.token, comment="没选")
    assert answer(client, site.token, nonce_of(page), overall="3").status_code == 303
    assert count(Response) == 1


def test_html_in_a_comment_is_kept_as_text_and_never_rendered(app, client, make_site):
    site = make_site()
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = _refused(client, site.token, overall="9", comment=script)
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    answer(client, site.token, overall="3", comment=script)
    with app.app_context():
        assert db.session.scalars(db.select(Response.comment)).one() == script


def test_invalid_utf8_is_refused_with_nothing_stored(client, make_site, count):
    site = make_site()
    nonce = open_form(client, site.token)
    body = f"nonce={nonce}&q.overall=5&comment=%FF%FE%E4".encode()
    page = client.post(
        f"/s/{site.token}", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert page.status_code == 400
    assert "无法识别的字符" in page.get_data(as_text=True)
    assert count(Response) == 0


@pytest.mark.parametrize(
    "nonce",
    ["", "forged", nonces.issue("another-secret", "AAAAAAAAAA", 1)],
    ids=["empty", "forged", "another-key"],  # a random nonce would differ per xdist worker
)
def test_forged_nonce_is_refused_and_a_fresh_form_offered(client, make_site, count, nonce):
    site = make_site()
    page = answer(client, site.token, nonce, overall="5")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "请再点一次" in text
    assert 'value="5" checked' in text
    assert nonce_of(text) != nonce
    assert count(Response) == 0


def test_nonce_of_another_site_is_refused(client, make_site, count):
    one, two = make_site(name="甲"), make_site(name="乙")
    nonce = open_form(client, one.token)
    assert answer(client, two.token, nonce, overall="5").status_code == 400
    assert count(Response) == 0


def test_expired_nonce_is_refused(app, client, make_site, count):
    site = make_site()
    app.config["FORM_NONCE_MAX_AGE_HOURS"] = -1
    assert answer(client, site.token, overall="5").status_code == 400
    assert count(Response) == 0


def test_oversize_body_answers_413_in_chinese(client, make_site, count):
    site = make_site()
    page = answer(client, site.token, overall="5", comment="长" * 30_000)
    assert page.status_code == 413
    assert "太长" in page.get_data(as_text=True)
    assert count(Response) == 0


def test_unknown_token_cannot_be_answered(client, make_site, count):
    make_site()
    nonce = nonces.issue(SECRET, "ZZZZZZZZZZ", 1)
    page = client.post("/s/ZZZZZZZZZZ", data={"nonce": nonce, "q.overall": "5"})
    assert page.status_code == 404
    assert count(Response) == 0


def test_retired_token_cannot_be_answered_even_with_its_own_form(app, client, make_site, count):
    site = make_site()
    nonce = open_form(client, site.token)
    with app.app_context(), write_transaction(db.session):
        db.session.get(SiteToken, site.token).retired_at = now_utc()
    page = answer(client, site.token, nonce, overall="5")
    assert page.status_code == 410
    assert "此二维码已停用" in page.get_data(as_text=True)
    assert count(Response) == 0


def test_a_repeat_from_a_new_phone_cookie_keeps_the_phone_on_its_first_answer(
    app, client, make_site, count
):
    """A double tap sends two posts without a cookie; whichever answer arrives last must
    leave the phone with the cookie of the stored answer, so a later change replaces it."""
    site = make_site()
    nonce = open_form(client, site.token)
    answer(client, site.token, nonce, overall="5")
    stored = client.get_cookie("sid").value
    client.delete_cookie("sid")
    repeat = answer(client, site.token, nonce, overall="5")
    assert "/thanks" in repeat.headers["Location"]
    assert client.get_cookie("sid").value == stored
    answer(client, site.token, overall="2")
    assert count(Response) == 1


def test_device_window_comes_from_the_configuration(app, client, make_site, count):
    site = make_site()
    app.config["DEVICE_WINDOW_HOURS"] = 1
    answer(client, site.token, overall="2")
    with app.app_context(), write_transaction(db.session):
        response = db.session.scalars(db.select(Response)).one()
        with answers_store.changing(db.session, [response]):
            response.created_at -= timedelta(hours=2)
    answer(client, site.token, overall="5")
    assert count(Response) == 2


def test_device_cookie_is_secure_behind_an_https_proxy(make_site, database_url):
    site = make_site()
    app = create_app(app_settings(database_url) | {"TRUSTED_PROXIES": 1})
    client = app.test_client()
    nonce = nonce_of(client.get(f"/s/{site.token}").data)
    reply = client.post(
        f"/s/{site.token}",
        data={"nonce": nonce, "q.overall": "5"},
        headers={"X-Forwarded-Proto": "https"},
    )
    cookie = reply.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = answer(app.test_client(), site.token, overall="4")
    assert "Secure" not in plain.headers["Set-Cookie"]
    assert plain.headers["X-Frame-Options"] == "DENY"
    with app.app_context():
        db.engine.dispose()
