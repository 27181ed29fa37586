"""What every browser test shares: Debian's Chromium, the flags it needs here, a WeChat
phone's user agent, and the skip when Chromium or Playwright is missing. The browser itself
is one per session (the ``chromium`` fixture in tests/conftest.py): Playwright's sync API
runs one instance per thread, so a second one started beside it fails."""

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 10; V1916A Build/QP1A.190711.020; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/86.0.4240.99 XWEB/4317 MMWEBSDK/20220903 "
    "Mobile Safari/537.36 MMWEBID/6170 MicroMessenger/8.0.28.2240(0x28001C35) WeChat/arm64"
)
#: A mid-range Android phone in WeChat: 360×740 CSS px, touch, the WeChat user agent.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": WECHAT_UA,
    "locale": "zh-CN",
}
# Flags the probe found necessary on this machine's closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A microphone for the recordings page's 录音 button (a beep; no permission prompt).
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


#: Marks a test that drives Chromium, skipped with the reason when it cannot run here.
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) or shutil.which("chromium")),
        reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)",
    ),
]
