"""The resident form in a real headless Chromium, as a phone in WeChat shows it."""

import re

import pytest
from playwright.sync_api import expect

from survey.responses.models import Response
from tests.browser import WECHAT_UA, needs_chromium

pytestmark = needs_chromium

# WCAG relative-luminance contrast of an element's text against its first opaque background.
CONTRAST_JS = """
el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = el, c;
  while (bg) {
    c = getComputedStyle(bg).backgroundColor;
    if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') break;
    bg = bg.parentElement;
  }
  const back = bg ? rgb(c) : [255, 255, 255];
  const [l1, l2] = [lum(rgb(getComputedStyle(el).color)), lum(back)].sort((a, b) => b - a);
  return (l1 + 0.05) / (l2 + 0.05);
}
"""


@pytest.fixture
def phone(chromium, live_server):
    context = chromium.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=WECHAT_UA,
        locale="zh-CN",
    )
    yield context.new_page()
    context.close()


def _boxes(page, selector):
    return [
        page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())
    ]


def test_resident_answers_on_a_phone_in_wechat(phone, live_server, make_site, count, tmp_path):
    site = make_site(name="碧湖镇康养联合体")
    requested = []
    phone.on("request", lambda r: requested.append(r.url))
    phone.goto(f"{live_server}/s/{site.token}")
    assert phone.locator("h1").inner_text() == "碧湖镇康养联合体"

    # Text size: body and every answer label at least 18 CSS px.
    sizes = phone.eval_on_selector_all(
        "body, legend, .opts label, .btn",
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))",
    )
    assert min(sizes) >= 18

    # Tap targets: at least 48x48 and at least 8 px apart.
    targets = _boxes(phone, ".opts label") + _boxes(phone, ".btn")
    assert all(b["width"] >= 48 and b["height"] >= 48 for b in targets)
    faces = _boxes(phone, ".opts-satisfaction label")
    assert len(faces) == 5
    assert all(b["y"] - (a["y"] + a["height"]) >= 8 for a, b in zip(faces, faces[1:], strict=False))

    # Contrast: text against its background at least 7:1 (WCAG AAA; AA asks 4.5:1).
    for selector in ["h1", ".hd p", "legend", ".opts label", ".tag", ".btn", ".note"]:
        assert phone.eval_on_selector(selector, CONTRAST_JS) >= 7, selector

    # No sideways scrolling, also with the phone's font size at 200%.
    width = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert phone.evaluate(width)
    phone.evaluate("() => document.documentElement.style.fontSize = '200%'")
    assert phone.evaluate(width)
    phone.screenshot(path=tmp_path / "form-200.png", full_page=True)
    phone.evaluate("() => document.documentElement.style.fontSize = ''")

    phone.locator("label[for='q.overall-4']").tap()
    assert phone.get_by_role("radio", name="满意", exact=True).is_checked()
    phone.locator("label[for='q.attitude-0']").tap()
    phone.locator("#comment").fill("护理员很耐心")
    phone.screenshot(path=tmp_path / "form.png", full_page=True)
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")
    assert "谢谢您的评价" in phone.locator("main").inner_text()

    assert count(Response) == 1
    assert count(Response, overall=4, comment="护理员很耐心") == 1
    assert all(url.startswith(live_server) for url in requested), requested


def test_double_tap_on_submit_stores_once(phone, live_server, make_site, count):
    site = make_site()
    phone.goto(f"{live_server}/s/{site.token}")
    phone.locator("label[for='q.overall-5']").tap()
    button = phone.get_by_role("button", name="提交评价")
    button.dblclick()
    # The second click starts a second navigation that aborts the first one's, so wait for
    # where the page ends up rather than for one particular navigation.
    expect(phone).to_have_url(re.compile(r"/thanks$"))
    phone.go_back()
    phone.wait_for_load_state()
    if phone.get_by_role("button", name="提交评价").count():
        phone.locator("label[for='q.overall-5']").tap()
        phone.get_by_role("button", name="提交评价").tap()
        expect(phone).to_have_url(re.compile(r"/thanks"))
    assert count(Response) == 1
