"""The Content-Security-Policy in a real Chromium (issue 15): the resident form in WeChat and
the staff pages with scripts load without a single violation, and their scripts still work —
the answer goes by fetch, 朗读 speaks, photos are scaled on a canvas, a recording is made and
sent, a dangerous button asks first."""

import io
import os

import pytest
from PIL import Image
from playwright.sync_api import expect

from survey.checks.models import VisitPhoto
from survey.db import db
from survey.responses.models import Recording, Response
from survey.sites.models import Site
from tests.browser import PHONE, needs_chromium
from tests.helpers import PASSWORD
from tests.responses.test_read_aloud import fake_speech

pytestmark = needs_chromium

#: Collects the page's CSP violations (each document its own list).
WATCH_CSP = """
window.violations = [];
document.addEventListener("securitypolicyviolation", e => {
  window.violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sample);
});
"""


@pytest.fixture
def browse(chromium):
    """browse(**context options) → (page, violations): a page whose CSP violations, as the
    console and the documents report them, end up in ``violations``."""
    contexts = []

    def open_page(**options):
        context = chromium.new_context(**options)
        contexts.append(context)
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        violations = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        return page, violations

    yield open_page
    for context in contexts:
        context.close()


def _seen(page) -> list[str]:
    return page.evaluate("() => window.violations")


def test_the_resident_form_runs_its_scripts_under_the_policy(browse, live_server, make_site, count):
    site = make_site()
    page, violations = browse(**PHONE)
    page.add_init_script(fake_speech("zh-CN"))
    posted = []
    page.on("request", lambda r: posted.append(r.resource_type) if r.method == "POST" else None)
    page.goto(f"{live_server}/s/{site.token}")
    first = page.locator(".aloud").first
    expect(first).to_be_visible()  # shown by the 朗读 script
    first.tap()
    assert page.evaluate("() => window.spoken")[0]
    page.locator("label[for='q.overall-5']").tap()
    page.locator("label[for='q.attitude-0']").tap()
    assert _seen(page) == []
    page.get_by_role("button", name="提交评价").tap()
    page.wait_for_url("**/thanks")
    assert posted == ["fetch"]  # sent by the submit script, not by the plain form
    assert count(Response) == 1
    expect(page.locator(".aloud")).to_be_visible()
    assert _seen(page) == [] and violations == []


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _noise_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def test_staff_pages_run_their_scripts_under_the_policy(
    app, browse, live_server, make_site, make_user
):
    site = make_site()
    make_user("admin", "admin", PASSWORD)
    make_user("liandu", "county", PASSWORD, region="莲都区")
    page, violations = browse(viewport={"width": 1280, "height": 900}, locale="zh-CN")

    # A county user records a visit: the photo is scaled on a canvas (blob: images) and the
    # form sent with the smaller JPEG instead of the PNG.
    _log_in(page, live_server, "liandu")
    page.goto(f"{live_server}/checks/sites/{site.id}/visits/new")
    page.fill("input[name=inspectors]", "李明")
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "墙.png", "mimeType": "image/png", "buffer": _noise_png(1200, 900)}],
    )
    page.get_by_role("button", name="保存暗访记录").click()
    page.wait_for_url("**/checks/visits/*")
    expect(page.locator(".photos img")).to_be_visible()
    with app.app_context():
        photo = db.session.scalars(db.select(VisitPhoto)).one()
        assert photo.content_type == "image/jpeg"  # scaled in the browser
    assert _seen(page) == []
    page.goto(f"{live_server}/checks/")
    page.get_by_role("button", name="退出").click()

    # An admin records a question read aloud (fetch), hears it, previews the form, and is
    # asked before retiring a site (no inline handler: static/confirm.js).
    _log_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/projects/{site.project_id}/questionnaire/recordings")
    record = page.locator(".rec-start").first
    expect(record).to_be_visible()  # shown by recorder.js
    record.click()
    page.wait_for_timeout(1500)
    with page.expect_navigation():
        record.click()  # stop: sent with fetch, then the page reloads
    expect(page.locator("audio").first).to_be_attached()
    page.locator("audio").first.evaluate("a => a.play()")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0")
    assert _seen(page) == []
    with app.app_context():
        assert db.session.scalars(db.select(Recording)).one()
    page.goto(f"{live_server}/admin/projects/{site.project_id}/questionnaire")
    frame = page.frame_locator("iframe")
    expect(frame.locator(".alert.preview")).to_be_visible()
    assert _seen(page) == []
    page.goto(f"{live_server}/admin/projects/{site.project_id}")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.get_by_role("button", name="停用").first.click()
    page.wait_for_timeout(300)
    assert asked and "确定停用" in asked[0]
    with app.app_context():
        assert db.session.get(Site, site.id).active  # dismissed: nothing sent
    page.goto(f"{live_server}/admin/regions/")
    assert _seen(page) == [] and violations == []
