"""整改 as a county works it, in Chromium against gunicorn: a resident's 非常不满意 on a
phone in WeChat becomes a case for the site's county (opened by the sweep the job worker
runs every minute, here run once by its command), which the county verifies, rectifies with
a photo, and closes as 无法回访 (a QR answer leaves no number); the city sees it too."""

import io

from PIL import Image

from tests.browser import PHONE
from tests.servers import flask_command, server_environment

LISHUI = "2022年建成康养联合体20家"


def _main(page) -> str:
    return page.locator("main").inner_text()


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(out, "JPEG")
    return out.getvalue()


def test_a_bad_rating_is_verified_rectified_and_closed_by_the_county(browse, staff, server):
    site, token = server.sql(
        "SELECT s.name, t.token FROM sites s JOIN site_tokens t ON t.site_id = s.id"
        " JOIN regions r ON r.id = s.region_id JOIN projects p ON p.id = s.project_id"
        " WHERE r.name = '莲都区' AND p.name = :name AND t.retired_at IS NULL"
        " ORDER BY s.id LIMIT 1",
        name=LISHUI,
    )[0]
    phone = browse(**PHONE)
    phone.goto(f"{server.url}/s/{token}")
    phone.locator("label[for='q.overall-1']").tap()
    phone.locator("#comment").fill("饭菜是凉的")
    phone.wait_for_timeout(2500)  # a person reads first (an answer within 2 s is flagged)
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")
    # The worker's minute may have opened it first: either way there is one case now.
    flask_command(server_environment(server.database_url, server.url), "cases", "sweep")
    opened = "SELECT c.state FROM rectification_cases c JOIN sites s ON s.id = c.site_id"
    assert server.sql(f"{opened} WHERE s.name = :site", site=site) == [("verifying",)]

    desk = staff("liandu")
    desk.get_by_role("link", name="整改单", exact=True).click()
    assert "今天到期" in _main(desk)
    desk.locator("tr", has_text=site).get_by_role("link").click()
    assert "待核实" in _main(desk) and "饭菜是凉的" in _main(desk)
    desk.fill("#finding", "属实：保温设备坏了")
    with desk.expect_navigation():
        desk.get_by_role("button", name="核实完毕，开始整改").click()
    assert "整改中" in _main(desk)
    desk.fill("#done", "更换了保温餐车")
    desk.locator("#photos").set_input_files(
        {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    )
    with desk.expect_navigation():
        desk.get_by_role("button", name="整改完成").click()
    assert "待回访" in _main(desk) and "更换了保温餐车" in _main(desk)
    photo = desk.get_by_alt_text("整改照片 1")
    assert photo.evaluate("img => img.complete && img.naturalWidth") > 0
    assert "没有留下联系电话" in _main(desk)
    with desk.expect_navigation():
        desk.get_by_role("button", name="无法回访（没有联系方式），办结").click()
    assert "无法回访" in _main(desk)
    timeline = desk.locator("ol.timeline").inner_text()
    for step in ("差评生成整改单", "核实", "整改完成", "无法回访"):
        assert step in timeline, step

    city = staff("lishui")
    city.goto(f"{server.url}/cases/?all=1")
    assert site in _main(city) and "无法回访" in _main(city)
