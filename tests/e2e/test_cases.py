"""整改 as residents, a county and the city work it, in Chromium against gunicorn:

- a resident's 非常不满意 on a phone in WeChat, with a number left for 回访, becomes a case
  for the site's county, which verifies it, rectifies it with a photo, calls the resident
  back and closes it 已办结; another county's case is 404 to it;
- a phone spot-check's 差评 whose deadline passes is 超期 on the dashboard;
- an appeal the city upholds leaves the answer out of the rate, and the rate says so.

Cases are opened by the sweep the job worker runs every minute, here also run once by its
command (whichever comes first); a later day is the command run with APP_CLOCK."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image

from tests.browser import PHONE
from tests.e2e.test_calls import PROJECT, _batch_id, _gbk_csv, _import, _open_task, _save, _tasks
from tests.servers import flask_command, server_environment

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = (
    "SELECT c.id, c.state FROM rectification_cases c JOIN sites s ON s.id = c.site_id"
    " WHERE s.name = :site AND c.state != 'closed'"
)


def _main(page) -> str:
    return page.locator("main").inner_text()


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(out, "JPEG")
    return out.getvalue()


def _send_with_photo(page, field: str, text: str, photos: str, button: str) -> None:
    """Fill a step's text and one photo, and send it with ``button``."""
    page.fill(field, text)
    page.locator(photos).set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    )
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def _site(server, county: str, n: int) -> tuple[str, str]:
    """The ``n``-th site (name, live code) of the demo project in ``county``."""
    return server.sql(
        "SELECT s.name, t.token FROM sites s JOIN site_tokens t ON t.site_id = s.id"
        " JOIN regions r ON r.id = s.region_id JOIN projects p ON p.id = s.project_id"
        " WHERE r.name = :county AND p.name = :name AND t.retired_at IS NULL"
        " ORDER BY s.id LIMIT 1 OFFSET :n",
        county=county,
        name=PROJECT,
        n=n,
    )[0]


def _rate_badly(browse, server, token: str, comment: str, phone: str = "") -> None:
    """A resident's 非常不满意 on a phone in WeChat, with ``comment`` and the number left."""
    page = browse(**PHONE)
    page.goto(f"{server.url}/s/{token}")
    page.locator("label[for='q.overall-1']").tap()
    page.locator("#comment").fill(comment)
    if phone:
        page.locator("#phone").fill(phone)
    page.wait_for_timeout(2500)  # a person reads first (an answer within 2 s is flagged)
    page.get_by_role("button", name="提交评价").tap()
    page.wait_for_url("**/thanks")


def _sweep(server, at: datetime | None = None) -> None:
    env = server_environment(server.database_url, server.url)
    if at is not None:
        env |= {"APP_CLOCK": at.isoformat()}
    flask_command(env, "cases", "sweep")


def _case(server, site: str) -> tuple[int, str]:
    """(id, state) of the site's open case, once the sweep has opened it."""
    _sweep(server)  # the worker's minute may have opened it first: either way there is one
    (found,) = server.sql(OPENED, site=site)
    return found[0], found[1]


def _open(page, server, case_id: int) -> None:
    page.goto(f"{server.url}/cases/{case_id}")


def test_a_qr_rating_with_a_number_is_verified_rectified_called_back_and_closed(
    browse, staff, server
):
    site, token = _site(server, "莲都区", 0)
    _rate_badly(browse, server, token, "饭菜是凉的", phone="138 1234 5678")
    case_id, state = _case(server, site)
    assert state == "verifying"
    # Kept encrypted: the number is nowhere in the database as typed or as normalised.
    (phone_token,) = server.sql("SELECT phone_token FROM response_contacts")[0]
    assert "13812345678" not in phone_token

    desk = staff("liandu")
    desk.get_by_role("link", name="整改单", exact=True).click()
    assert "今天到期" in _main(desk)
    desk.locator("tr", has_text=site).get_by_role("link").click()
    assert "待核实" in _main(desk) and "饭菜是凉的" in _main(desk)
    desk.fill("#finding", "属实：保温设备坏了")
    with desk.expect_navigation():
        desk.get_by_role("button", name="核实完毕，开始整改").click()
    assert "整改中" in _main(desk)
    _send_with_photo(desk, "#done", "更换了保温餐车", "#photos", "整改完成")
    assert "待回访" in _main(desk) and "更换了保温餐车" in _main(desk)
    photo = desk.get_by_alt_text("整改照片 1")
    assert photo.evaluate("img => img.complete && img.naturalWidth") > 0

    assert "13812345678" not in _main(desk)
    with desk.expect_navigation():
        desk.get_by_role("button", name="显示回访电话").click()
    assert "13812345678" in desk.locator(".phone").inner_text()
    desk.get_by_label("接通", exact=True).check()
    desk.get_by_label("居民说问题已经解决").check()
    desk.locator("fieldset", has_text="重新评价").get_by_label("满意", exact=True).check()
    desk.fill("#note", "老人说饭菜热了")
    with desk.expect_navigation():
        desk.get_by_role("button", name="保存回访").click()
    assert "已办结" in _main(desk)
    timeline = desk.locator("ol.timeline").inner_text()
    for step in ("差评生成整改单", "核实", "整改完成", "回访"):
        assert step in timeline, step
    assert "重新评价：满意" in timeline

    city = staff("lishui")
    city.goto(f"{server.url}/cases/?all=1")
    assert site in _main(city) and "已办结" in _main(city)

    # Another county's case is not the county's to see.
    other, other_token = _site(server, "青田县", 0)
    _rate_badly(browse, server, other_token, "没有人接待")
    other_case, _ = _case(server, other)
    _open(desk, server, other_case)
    assert "没有找到" in _main(desk) and other not in _main(desk)


def test_a_phone_rating_left_past_its_deadline_is_overdue_on_the_dashboard(staff, server):
    site, code = _site(server, "莲都区", 1)
    page = staff("liandu")
    page.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    page.locator("tr", has_text=PROJECT).get_by_role("link", name="抽样与拨打").click()
    _import(page, "名单.csv", _gbk_csv([("王一", "13900009999", code, "")]), "text/csv", 1, 0)
    page.get_by_role("link", name="电话抽查", exact=True).first.click()
    page.fill("input[name=size]", "1")
    page.get_by_role("button", name="抽取").click()
    page.wait_for_load_state()
    (task,) = _tasks(server, _batch_id(page))
    _open_task(page, task)
    page.locator("fieldset", has_text="总的来说").get_by_label("不满意", exact=True).check()
    page.locator("fieldset", has_text="服务人员的态度").get_by_label("不好", exact=True).check()
    assert _save(page, "接通完成", note="说送餐总迟到").startswith("已记录：接通完成")

    case_id, state = _case(server, site)
    assert state == "verifying"
    # Two weeks on, nobody has verified it: the sweep marks it 超期.
    _sweep(server, datetime.now(SHANGHAI) + timedelta(days=14))
    assert server.sql("SELECT overdue FROM rectification_cases WHERE id = :id", id=case_id) in (
        [(True,)],
        [(1,)],
    )
    city = staff("lishui")
    city.get_by_role("link", name="满意度", exact=True).click()
    city.get_by_role("link", name=PROJECT).first.click()
    main = _main(city)
    assert "整改超期" in main and "个整改单超期未办结" in main
    row = city.locator("tr", has_text="莲都区").filter(has=city.locator("strong.overdue"))
    assert row.count() == 1
    _open(city, server, case_id)
    assert "超期" in _main(city) and "电话抽查" in _main(city)


def test_an_appeal_upheld_by_the_city_leaves_the_rating_out_of_the_rate(browse, staff, server):
    # The county's first site again (the demo gives it two): its earlier case is closed.
    site, token = _site(server, "莲都区", 0)
    _rate_badly(browse, server, token, "骂人的话")
    case_id, _ = _case(server, site)

    county = staff("liandu")
    _open(county, server, case_id)
    county.get_by_text("提出申诉").click()
    county.locator("input[name=answers]").check()
    why = "该留言系辱骂，评价人当天未到过本中心（见监控截图）"
    _send_with_photo(county, "#reason", why, "#appeal-photos", "提交申诉")
    assert "申诉中" in _main(county) and "等待市级审核" in _main(county)

    city = staff("lishui")
    _open(city, server, case_id)
    city.get_by_label("申诉成立", exact=True).check()
    city.fill("#note", "核查属实，不计入满意率")
    with city.expect_navigation():
        city.get_by_role("button", name="提交审核意见").click()
    assert "申诉成立" in _main(city)
    assert "申诉成立，不计入满意率" in city.locator("table").first.inner_text()

    city.get_by_role("link", name="满意度", exact=True).click()
    city.get_by_role("link", name=PROJECT).first.click()
    liandu = city.locator("tr", has_text="莲都区").first.inner_text()
    assert "另有 1 份申诉成立未计入" in liandu
    # The answer itself is kept.
    assert server.sql("SELECT flag FROM responses WHERE comment = '骂人的话'") == [("appealed",)]
