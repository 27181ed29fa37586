"""The resident form in a real headless Chromium, as a phone in WeChat shows it."""

import re

import pytest
from playwright.sync_api import expect

from survey.responses.models import Response, ResponseContact
from tests.browser import needs_chromium

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
#: Visible text set smaller than 18 CSS px (MIIT's floor for elderly-friendly pages).
SMALL_TEXT_JS = """
() => {
  const small = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walk.nextNode());) {
    const el = node.parentElement, style = getComputedStyle(el);
    if (!node.data.trim() || style.visibility === 'hidden' || !el.getClientRects().length) continue;
    if (parseFloat(style.fontSize) < 18) small.push(node.data.trim());
  }
  return small;
}
"""
#: Options, tags and the button whose words are laid out on more than one line.
BROKEN_WORDS_JS = """
() => [...document.querySelectorAll('.t, .tag, .btn')].filter(el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(el => el.textContent)
"""
#: Whether the element is wholly in the viewport and nothing covers its middle.
IN_REACH_JS = """
selector => {
  const el = document.querySelector(selector), r = el.getBoundingClientRect();
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return r.top >= 0 && r.bottom <= innerHeight && el.contains(top);
}
"""
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


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
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    phone.evaluate("() => document.documentElement.style.fontSize = '200%'")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
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


@pytest.mark.parametrize("text_size", ["100%", "150%", "200%"])
def test_the_form_meets_the_elderly_care_bar_at_every_text_size(
    phone, live_server, make_site, text_size, tmp_path
):
    site = make_site()
    phone.goto(f"{live_server}/s/{site.token}")
    # The phone's text size, as the earlier test sets it: everything is in rem.
    phone.evaluate("size => document.documentElement.style.fontSize = size", text_size)

    targets = _boxes(phone, ".opts-satisfaction label") + _boxes(phone, ".btn")
    assert all(b["width"] >= 60 and b["height"] >= 60 for b in targets), targets
    assert phone.evaluate(SMALL_TEXT_JS) == []
    assert phone.evaluate(BROKEN_WORDS_JS) == []  # 「不合需要」, 「非常不满意」 whole
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)

    # Once the required question is answered, 提交 is on screen without scrolling; at the
    # end of the page the bar covers nothing (the last field, the number for 回访).
    assert not phone.evaluate(IN_REACH_JS, ".btn")
    phone.locator("label[for='q.overall-4']").tap()
    assert phone.evaluate(IN_REACH_JS, ".btn")
    phone.screenshot(path=tmp_path / f"form-{text_size}.png")
    phone.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    assert phone.evaluate(IN_REACH_JS, "#phone")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)


def test_a_chosen_three_way_option_is_marked_as_clearly_as_an_overall_one(
    phone, live_server, make_site
):
    site = make_site()
    phone.goto(f"{live_server}/s/{site.token}")
    looks = []
    for option in ["q.overall-4", "q.attitude-1"]:
        label = phone.locator(f"label[for='{option}']")
        label.tap()
        tick = label.locator(".tick")
        expect(tick).to_be_visible()
        assert tick.inner_text() == "✓"
        assert tick.evaluate(CONTRAST_JS) >= 3  # WCAG 1.4.11, non-text contrast
        looks.append(
            label.evaluate(
                "el => ['borderTopColor', 'borderTopWidth', 'backgroundColor', 'fontWeight']"
                ".map(p => getComputedStyle(el)[p])"
            )
        )
    assert looks[0] == looks[1]
    assert not phone.locator("label[for='q.attitude-0'] .tick").is_visible()


def test_a_missing_answer_is_announced_focused_and_marked_invalid(
    phone, live_server, make_site, count
):
    site = make_site()
    posts = []
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    phone.goto(f"{live_server}/s/{site.token}")
    phone.locator("label[for='q.attitude-0']").tap()
    phone.get_by_role("button", name="提交评价").tap()

    expect(phone.get_by_role("alert")).to_have_text("请回答“总的来说，您对这里的服务满意吗？”。")
    assert phone.evaluate("() => document.activeElement.name") == "q.overall"
    overall = phone.locator("[name='q.overall']")
    assert [overall.nth(i).get_attribute("aria-invalid") for i in range(5)] == ["true"] * 5
    assert phone.locator("fieldset.q-bad").get_attribute("aria-describedby") == "q.overall-err"
    assert posts == [] and count(Response) == 0

    phone.locator("label[for='q.overall-3']").tap()  # answered: the mark goes
    expect(phone.get_by_role("alert")).to_have_count(0)
    assert phone.locator("[aria-invalid]").count() == 0
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")
    assert count(Response, overall=3) == 1


def test_the_servers_error_page_is_announced_and_focused_too(phone, live_server, make_site):
    site = make_site()
    phone.goto(f"{live_server}/s/{site.token}")
    phone.locator("label[for='q.attitude-0']").tap()
    # A plain POST, as a phone without fetch sends it: the server's 400 page.
    with phone.expect_navigation():
        phone.evaluate("() => HTMLFormElement.prototype.submit.call(document.forms[0])")
    expect(phone.get_by_role("alert")).to_have_text("请回答“总的来说，您对这里的服务满意吗？”。")
    assert phone.evaluate("() => document.activeElement.id") == "q.overall-5"
    assert phone.locator("[name='q.overall'][aria-invalid='true']").count() == 5
    assert phone.get_by_role("radio", name="好", exact=True).first.is_checked()


def test_a_number_left_for_callback_is_not_kept_in_the_phones_draft(
    phone, live_server, make_site, count
):
    site = make_site()
    phone.goto(f"{live_server}/s/{site.token}")
    phone.locator("label[for='q.overall-2']").tap()
    phone.locator("#comment").fill("饭菜凉")
    phone.locator("#phone").fill("13812345678")
    drafts = phone.evaluate("() => JSON.stringify(localStorage)")
    assert "q.overall" in drafts and "13812345678" not in drafts
    # A draft the resident left is restored without it: the next person on this phone
    # does not find their number filled in.
    phone.reload()
    assert phone.locator("label[for='q.overall-2']").evaluate("l => l.control.checked")
    assert phone.locator("#phone").input_value() == ""
    phone.locator("#phone").fill("13812345678")
    phone.wait_for_timeout(2100)  # read first: an answer within 2 s is flagged
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")
    assert count(ResponseContact) == 1
    assert phone.evaluate("() => localStorage.length") == 0
