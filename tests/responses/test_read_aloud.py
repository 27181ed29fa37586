"""The 朗读 buttons in a real headless Chromium, as a phone in WeChat shows them (issue 14,
part 4): a recording plays on a tap (and only then loads), a second tap stops it; without
one the phone's Chinese voice speaks the question; without either no button shows."""

import pytest
from playwright.sync_api import expect

from tests.audio import tone
from tests.browser import WECHAT_UA, needs_chromium
from tests.helpers import log_in
from tests.responses.test_recordings import region_id, upload

pytestmark = needs_chromium

#: Keeps every media element the page plays, to read its state afterwards.
WATCH_PLAY = """
window.played = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { window.played.push(this); return play.call(this); };
"""


def fake_speech(*langs: str) -> str:
    """A speechSynthesis with voices of ``langs`` that records what it is asked to say
    (headless Chromium has no voices of its own)."""
    voices = ",".join(f'{{lang: "{lang}", name: "{lang}"}}' for lang in langs)
    return f"""
window.spoken = []; window.cancelled = 0;
const fake = {{
  getVoices: () => [{voices}],
  speak: u => window.spoken.push(u.text),
  cancel: () => window.cancelled++,
  onvoiceschanged: null,
}};
Object.defineProperty(window, "speechSynthesis", {{value: fake, configurable: true}});
window.SpeechSynthesisUtterance = function (text) {{ this.text = text; }};
"""


@pytest.fixture
def phone(chromium, live_server):
    """phone(init_script, **context options) → a WeChat-sized page running ``init_script``
    before the page's own."""
    contexts = []

    def open_page(script: str = "", **options):
        context = chromium.new_context(
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            user_agent=WECHAT_UA,
            locale="zh-CN",
            **options,
        )
        contexts.append(context)
        if script:
            context.add_init_script(script)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_the_button_plays_the_recording_when_tapped_and_stops_on_a_second_tap(
    app, phone, live_server, make_site, make_user
):
    site = make_site()
    admin = log_in(app.test_client(), "admin", make_user())
    assert (
        upload(
            admin, site.project_id, region_id(app, "丽水市"), data=tone("wav", 8, layout="mono")
        ).status_code
        == 303
    )
    page = phone(WATCH_PLAY + fake_speech())  # no voice: only the recorded question shows
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if "/audio/" in r.url else None)
    page.goto(f"{live_server}/s/{site.token}")
    buttons = page.locator(".aloud")
    first = page.locator("fieldset").first.locator(".aloud")
    expect(first).to_be_visible()
    assert [buttons.nth(i).is_visible() for i in range(buttons.count())] == [
        True,
        False,
        False,
        False,
    ]
    page.wait_for_load_state("networkidle")
    assert fetched == []  # nothing loads before the tap
    first.tap()
    page.wait_for_function("() => window.played.length === 1 && window.played[0].currentTime > 0.3")
    assert len(fetched) >= 1
    expect(first).to_have_attribute("aria-pressed", "true")
    first.tap()
    assert page.evaluate("() => window.played[0].paused")
    expect(first).to_have_attribute("aria-pressed", "false")


def test_without_a_recording_the_chinese_voice_speaks_the_question_and_its_options(
    phone, live_server, make_site
):
    site = make_site()
    page = phone(WATCH_PLAY + fake_speech("en-US", "zh-CN"))
    page.goto(f"{live_server}/s/{site.token}")
    buttons = page.locator(".aloud")
    expect(buttons.first).to_be_visible()
    assert all(buttons.nth(i).is_visible() for i in range(buttons.count()))
    page.locator("fieldset").nth(1).locator(".aloud").tap()
    [said] = page.evaluate("() => window.spoken")
    assert said.startswith("服务人员的态度怎么样？")
    assert all(label in said for label in ("好", "一般", "不好"))
    assert "朗读" not in said and "🔊" not in said
    assert page.evaluate("() => window.played") == []
    page.locator("fieldset").nth(1).locator(".aloud").tap()  # a second tap stops it
    assert page.evaluate("() => window.cancelled") >= 1
    # The thank-you page reads its text too.
    page.goto(f"{live_server}/s/{site.token}/thanks")
    page.locator(".aloud").tap()
    assert page.evaluate("() => window.spoken")[0].startswith("谢谢您的评价！")


def test_with_neither_a_recording_nor_a_chinese_voice_no_button_shows(
    phone, live_server, make_site
):
    site = make_site()
    page = phone(fake_speech("en-US"))
    page.goto(f"{live_server}/s/{site.token}")
    page.wait_for_load_state("load")
    assert page.locator(".aloud").count() == 4
    assert not any(page.locator(".aloud").nth(i).is_visible() for i in range(4))
    # Nor without JavaScript, whatever the phone can do.
    page = phone(java_script_enabled=False)
    page.goto(f"{live_server}/s/{site.token}")
    assert not page.locator(".aloud").first.is_visible()
