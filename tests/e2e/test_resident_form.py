"""A resident answers on a phone in WeChat, against gunicorn: through a dropped network, a
lost reply and with JavaScript off, each answer is stored exactly once."""

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser import PHONE

SAVED = "网络不好，您的评价已保存，网络恢复后会自动提交"


@dataclass
class Site:
    id: int
    link: str
    #: The newest answer's id before the test: what the test stores comes after it.
    before: int


@pytest.fixture
def site(server):
    """A demo site with a live link."""
    site_id, token = server.sql(
        "SELECT sites.id, site_tokens.token FROM sites"
        " JOIN site_tokens ON sites.id = site_tokens.site_id"
        " WHERE site_tokens.retired_at IS NULL AND sites.active ORDER BY sites.id LIMIT 1"
    )[0]
    (before,) = server.sql("SELECT coalesce(max(id), 0) FROM responses")[0]
    return Site(site_id, f"{server.url}/s/{token}", before)


def _stored(server, site: Site) -> list:
    """(overall, comment) of each answer stored for ``site`` during the test."""
    return server.sql(
        "SELECT overall, comment FROM responses WHERE site_id = :s AND id > :before ORDER BY id",
        s=site.id,
        before=site.before,
    )


def test_an_answer_sent_offline_is_stored_once_when_the_network_returns(browse, server, site):
    phone = browse(**PHONE)
    phone.goto(site.link)
    phone.locator("label[for='q.overall-4']").tap()
    phone.locator("label[for='q.services-2']").tap()
    phone.locator("#comment").fill("希望多开几个小时")
    phone.context.set_offline(True)
    phone.get_by_role("button", name="提交评价").tap()
    expect(phone.locator("#say")).to_have_text(SAVED)
    assert _stored(server, site) == []

    online_at = phone.evaluate("() => Date.now()")
    phone.context.set_offline(False)
    phone.wait_for_url("**/thanks", timeout=20_000)
    assert phone.evaluate("() => performance.timeOrigin") - online_at <= 10_000
    assert "谢谢您的评价" in phone.locator("main").inner_text()
    assert _stored(server, site) == [(4, "希望多开几个小时")]


def test_a_lost_reply_then_a_rescan_store_one_answer(browse, server, site):
    phone = browse(**PHONE)
    phone.goto(site.link)

    def lose_the_reply(route):
        if route.request.method == "POST":
            route.fetch(max_redirects=0)  # stored by the server ...
            route.abort("connectionreset")  # ... its 303 lost on the way back
        else:
            route.continue_()

    phone.route("**/s/*", lose_the_reply)
    phone.locator("label[for='q.overall-5']").tap()
    phone.get_by_role("button", name="提交评价").tap()
    expect(phone.locator("#say")).to_have_text(SAVED)
    context = phone.context
    phone.close()

    again = context.new_page()
    again.goto(site.link)  # scanned again: the saved answer goes once more, with its own nonce
    again.wait_for_url("**/thanks")
    assert _stored(server, site) == [(5, "")]


def test_with_javascript_off_the_form_still_posts(browse, server, site):
    phone = browse(java_script_enabled=False, **PHONE)
    phone.goto(site.link)
    phone.get_by_role("button", name="提交评价").tap()
    expect(phone.get_by_role("alert")).to_contain_text("请回答")  # the server's 400
    phone.locator("label[for='q.overall-3']").tap()
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")
    assert _stored(server, site) == [(3, "")]
