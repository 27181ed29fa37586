"""Ballot stuffing against gunicorn: a script posts answers without cookies, each is stored
and flagged; the city reviewer finds them in Chromium, restores one (the rate counts it) and
confirms the rest."""

import re
import urllib.parse
import urllib.request

from playwright.sync_api import expect

from survey import create_app
from survey.db import db
from survey.responses import answers_store
from tests.browser import PHONE
from tests.e2e.test_dashboard import LISHUI
from tests.helpers import app_settings

NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def _site(server) -> tuple[int, str, str]:
    """(id, name, link token) of a live 丽水 demo site."""
    return server.sql(
        "SELECT sites.id, sites.name, site_tokens.token FROM sites"
        " JOIN site_tokens ON sites.id = site_tokens.site_id"
        " JOIN projects ON sites.project_id = projects.id"
        " WHERE site_tokens.retired_at IS NULL AND sites.active AND projects.name = :p"
        " ORDER BY sites.id LIMIT 1",
        p=LISHUI,
    )[0]


def _bot_answer(server, token: str) -> None:
    """What a stuffing script does: fetch the form, post five stars at once, no cookies."""
    with urllib.request.urlopen(f"{server.url}/s/{token}") as reply:
        nonce = NONCE.search(reply.read().decode()).group(1)
    body = urllib.parse.urlencode({"nonce": nonce, "q.overall": "5"}).encode()
    with urllib.request.urlopen(f"{server.url}/s/{token}", data=body) as reply:
        assert reply.status == 200 and "/thanks" in reply.url  # the 303, followed


def _counted(server, site_id: int) -> tuple[int, int]:
    """(answers stored, answers in the rates) of the site: its all-time rollup cells, read
    as the dashboard reads them (every answer stored counted in them first)."""
    app = create_app(app_settings(server.database_url))
    with app.app_context():
        answers_store.rolled_up(db.session)
        db.session.remove()
        db.engine.dispose()
    ((stored,),) = server.sql("SELECT count(*) FROM responses WHERE site_id = :s", s=site_id)
    ((counted,),) = server.sql(
        "SELECT coalesce(sum(count_1 + count_2 + count_3 + count_4 + count_5), 0)"
        " FROM response_rollups WHERE grain = 'all' AND site_id = :s",
        s=site_id,
    )
    return stored, counted


def test_stuffed_answers_are_flagged_and_a_city_reviewer_restores_or_confirms_them(
    server, staff, browse
):
    site_id, site_name, token = _site(server)
    stored, counted = _counted(server, site_id)
    # A resident who takes their time on a phone counts as ever...
    phone = browse(**PHONE)
    phone.goto(f"{server.url}/s/{token}")
    phone.locator("label[for='q.overall-4']").tap()
    phone.wait_for_timeout(2100)
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")
    assert _counted(server, site_id) == (stored + 1, counted + 1)
    # ... and a script's answers are all kept, none counted.
    for _ in range(8):
        _bot_answer(server, token)
    assert _counted(server, site_id) == (stored + 9, counted + 1)

    city = staff("lishui")
    city.goto(f"{server.url}/dashboard/")
    city.get_by_role("link", name=LISHUI, exact=True).click()
    expect(city.locator("main")).to_contain_text("份疑似刷评未计入")
    city.get_by_role("link", name="疑似刷评审核").click()
    expect(city.locator("main")).to_contain_text("待审核（8）")
    row = city.locator("tbody tr", has_text=site_name).first
    expect(row).to_contain_text("打开页面后立即提交")
    row.locator("input[type=checkbox]").check()
    city.get_by_role("button", name="恢复计入", exact=True).click()
    expect(city.locator(".flash")).to_have_text("已处理 1 份回答。")
    expect(city.locator("main")).to_contain_text("待审核（7）")
    assert _counted(server, site_id) == (stored + 9, counted + 2)

    city.get_by_label(re.compile("处理当前列表全部 7 份")).check()
    city.get_by_role("button", name="确认刷评", exact=True).click()
    expect(city.locator(".flash")).to_have_text("已处理 7 份回答。")
    expect(city.locator("main")).to_contain_text("确认刷评（7）")
    assert _counted(server, site_id) == (stored + 9, counted + 2)
    ((audited,),) = server.sql(
        "SELECT count(*) FROM audit_entries WHERE action = 'stuffing_reviewed'"
    )
    assert audited == 2
