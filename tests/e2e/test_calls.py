"""Phone spot-checks in Chromium against gunicorn, as a county does them: a roster imported
from a GBK CSV and an XLSX, a sample drawn, and a call with each outcome; and a city's batch
across counties, found by the county it reaches."""

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
from playwright.sync_api import expect

PROJECT = "2022年建成康养联合体20家"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _sites(server, county: str) -> list[tuple[str, str]]:
    """(name, live code) of the demo project's sites in ``county``, by name."""
    return server.sql(
        "SELECT s.name, t.token FROM sites s"
        " JOIN regions r ON r.id = s.region_id"
        " JOIN projects p ON p.id = s.project_id"
        " JOIN site_tokens t ON t.site_id = s.id AND t.retired_at IS NULL"
        " WHERE r.name = :county AND p.name = :project ORDER BY s.name",
        county=county,
        project=PROJECT,
    )


def _gbk_csv(rows: list[tuple]) -> bytes:
    """A roster as Excel saves a CSV on a Chinese Windows: GBK, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([("姓名", "电话", "点位码", "备注"), *rows])
    return out.getvalue().encode("gbk")


def _xlsx(rows: list[tuple]) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["姓名", "手机号码", "点位名称", "备注"])
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _main(page) -> str:
    return page.locator("main").inner_text()


def _flash(page) -> str:
    return page.locator("p.flash").first.inner_text()


def _import(page, filename: str, data: bytes, mime: str, valid: int, bad: int) -> str:
    """Upload a roster on its page, read the check's report, import the valid rows;
    returns the report's text."""
    page.get_by_role("link", name="服务对象名单").first.click()
    page.locator("input[name=file]").set_input_files(
        {"name": filename, "mimeType": mime, "buffer": data}
    )
    page.get_by_role("button", name="上传并检查").click()
    page.wait_for_load_state()
    report = _main(page)
    assert f"可以导入 {valid} 行" in report and f"有问题 {bad} 行" in report, report
    page.get_by_role("button", name=f"导入有效的 {valid} 行").click()
    page.wait_for_load_state()
    assert _flash(page) == f"已导入 {valid} 人。"
    return report


def _open_task(page, task: int) -> None:
    """From the batch page, open a task offered for calling now."""
    page.get_by_role("link", name=f"拨打任务 {task}", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(f"拨打任务 {task}")


def _save(page, outcome: str, note: str = "") -> str:
    """Choose the outcome, save the call as the form is (every field posted); the flash."""
    page.get_by_label(outcome, exact=True).check()
    if note:
        page.fill("textarea[name=note]", note)
    page.get_by_role("button", name="保存本次通话").click()
    page.wait_for_load_state()
    return _flash(page)


def _answer(page) -> None:
    page.locator("fieldset", has_text="总的来说").get_by_label("满意", exact=True).check()
    page.locator("fieldset", has_text="服务人员的态度").get_by_label("好", exact=True).check()


def _status(server, task: int) -> str:
    return server.sql("SELECT status FROM call_tasks WHERE id = :id", id=task)[0][0]


def _backdate_attempts(server, task: int) -> None:
    """Move the task's attempts a day back, so the next one falls on another half-day."""
    if server.database_url.startswith("sqlite"):
        moved = "datetime(at, '-1 day')"
    else:
        moved = "at - interval '1 day'"
    server.sql(f"UPDATE call_attempts SET at = {moved} WHERE task_id = :id", id=task)


def _batch_id(page) -> int:
    return int(re.search(r"/checks/batches/(\d+)", page.url).group(1))


def _tasks(server, batch: int) -> list[int]:
    rows = server.sql("SELECT id FROM call_tasks WHERE batch_id = :b ORDER BY id", b=batch)
    return [task for (task,) in rows]


def test_a_county_imports_a_roster_draws_a_sample_and_calls_with_every_outcome(staff, server):
    (first, first_code), (second, _) = _sites(server, "莲都区")
    page = staff("liandu")
    page.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    page.locator("tr", has_text=PROJECT).get_by_role("link", name="抽样与拨打").click()

    # A GBK CSV by site code (any case), with a bad number and a number given twice.
    rows = [
        (f"王{n}", f"1390000{n:04d}", first_code.lower(), "耳背" if n == 0 else "")
        for n in range(7)
    ]
    rows += [("坏号码", "12345", first_code, ""), ("重复", "13900000001", first_code, "")]
    report = _import(page, "名单.csv", _gbk_csv(rows), "text/csv", valid=7, bad=2)
    assert "第 9 行" in report and "电话有误" in report
    assert "第 10 行" in report and "与第 3 行的电话号码重复" in report

    # An XLSX by site name, numbers typed as numbers, with a site the project does not have.
    rows = [(f"李{n}", 13800000000 + n, second, "") for n in range(6)]
    rows.append(("赵六", 13700000000, "不存在的点位", ""))
    report = _import(page, "名单.xlsx", _xlsx(rows), "application/octet-stream", valid=6, bad=1)
    assert "第 8 行" in report and "没有这个点位" in report
    roster = _main(page)
    assert "共 13 人" in roster and "139****0000" in roster and "13900000000" not in roster

    # The roster's search by site (never by number in the URL): the second site only.
    page.fill("input[name=q]", second[:4])
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert "符合条件的 6 人" in _main(page) and "13800000000" not in page.url

    # The sample form as it comes: an empty 最少人数 and 随机种子 are not given.
    page.get_by_role("link", name="电话抽查", exact=True).first.click()
    page.fill("input[name=size]", "7")  # everyone: 7 and 6
    page.fill("input[name=minimum]", "")
    page.get_by_role("button", name="抽取").click()
    page.wait_for_load_state()
    assert _flash(page).startswith("已抽取 13 人")
    batch = _batch_id(page)
    tasks = _tasks(server, batch)
    assert len(tasks) == 13

    # The task list's search and filter: the first site's seven tasks.
    page.fill("input[name=q]", first_code)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert "全部任务（7）" in _main(page) and "现在可以拨打（7）" in _main(page)
    assert second not in page.locator("table").last.inner_text()
    page.get_by_role("link", name="显示全部").click()
    page.wait_for_load_state()
    assert "全部任务（13）" in _main(page)

    completed, proxy, unanswered, callback, away, deceased, hearing = tasks[:7]

    _open_task(page, completed)
    assert "您好" in _main(page) and "***" in page.locator(".phone").inner_text()
    # A caller on a phone: the call page fits 360 px, no sideways scrolling.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="显示号码").click()
    page.wait_for_load_state()
    assert re.fullmatch(r"1[3-9]\d{9}", page.locator(".phone").inner_text())
    _answer(page)
    assert _save(page, "接通完成", note="老人说饭菜可口") == "已记录：接通完成（已完成）。"
    assert _status(server, completed) == "completed"
    assert server.sql(
        "SELECT r.channel, r.overall, r.proxy FROM call_tasks t"
        " JOIN responses r ON r.id = t.response_id WHERE t.id = :id",
        id=completed,
    ) == [("phone", 4, False)]

    _open_task(page, proxy)
    _answer(page)
    assert _save(page, "家属代答") == "已记录：家属代答（已完成）。"
    assert server.sql(
        "SELECT r.proxy FROM call_tasks t JOIN responses r ON r.id = t.response_id"
        " WHERE t.id = :id",
        id=proxy,
    ) == [(True,)]

    # 无人接听 three times, each on another half-day; the same half-day is refused once.
    _open_task(page, unanswered)
    assert _save(page, "无人接听") == "已记录：无人接听（待拨打）。"
    page.get_by_role("link", name=f"任务 {unanswered}", exact=True).click()
    page.wait_for_load_state()
    assert _main(page).count("本半天已经拨打过") == 1
    _save(page, "占线")
    assert _main(page).count("本半天已经拨打过") == 1  # refused, said once
    _backdate_attempts(server, unanswered)
    page.get_by_role("link", name=f"返回批次 {batch}").click()
    _open_task(page, unanswered)
    assert _save(page, "无人接听") == "已记录：无人接听（待拨打）。"
    _backdate_attempts(server, unanswered)
    page.reload()  # offered again now that the attempts lie on other half-days
    _open_task(page, unanswered)
    assert _save(page, "无人接听") == "已记录：无人接听（联系不上）。"
    assert _status(server, unanswered) == "unreachable"

    _open_task(page, callback)
    when = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(hour=10, minute=0)
    page.fill("input[name=callback_at]", f"{when:%Y-%m-%dT%H:%M}")
    assert _save(page, "要求回拨") == f"已记录：要求回拨，{when:%m月%d日} 10:00 回拨。"
    assert _status(server, callback) == "open"
    expect(page.get_by_role("link", name=f"拨打任务 {callback}", exact=True)).to_have_count(0)

    # 住院或外出 defers the task: still open, not offered, and its page says until when.
    _open_task(page, away)
    message = _save(page, "住院或外出")
    later = datetime.now(SHANGHAI) + timedelta(days=14)
    assert message.startswith("已记录：住院或外出，") and f"{later:%m月%d日}" in message
    assert _status(server, away) == "open"
    expect(page.get_by_role("link", name=f"拨打任务 {away}", exact=True)).to_have_count(0)
    page.get_by_role("link", name=f"任务 {away}", exact=True).click()
    page.wait_for_load_state()
    assert f"对方住院或外出，{later:%m月%d日}" in _main(page) and "待拨打" in _main(page)
    page.go_back()

    _open_task(page, deceased)
    assert _save(page, "已故") == "已记录：已故（不在调查范围）。"
    assert server.sql(
        "SELECT r.deceased_at IS NOT NULL FROM call_tasks t JOIN residents r"
        " ON r.id = t.resident_id WHERE t.id = :id",
        id=deceased,
    ) == [(True,)]

    _open_task(page, hearing)
    message = _save(page, "听力困难（改为上门）")
    assert message == "已记录：听力困难（改为上门）。" and message.count("改为上门") == 1
    assert _status(server, hearing) == "to_visit"

    results = _main(page)
    assert "应答率 16.7 %" in results and "家属代答 1 人" in results  # 2 of 12 eligible


def test_a_county_finds_its_tasks_in_a_batch_the_city_drew(staff, server):
    (liandu_site, liandu_code), _ = _sites(server, "莲都区")
    qingtian = _sites(server, "青田县")
    city = staff("lishui")
    city.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    city.locator("tr", has_text=PROJECT).get_by_role("link", name="抽样与拨打").click()
    rows = [(f"周{n}", f"1350000{n:04d}", liandu_code, "") for n in range(3)]
    rows += [(f"吴{n}", f"1360000{n:04d}", qingtian[0][1], "") for n in range(3)]
    _import(city, "全市名单.csv", _gbk_csv(rows), "text/csv", valid=6, bad=0)
    city.get_by_role("link", name="电话抽查", exact=True).first.click()
    city.fill("input[name=size]", "2")
    city.get_by_role("button", name="抽取").click()
    city.wait_for_load_state()
    batch = _batch_id(city)
    counties = dict(
        server.sql(
            "SELECT r.name, count(*) FROM call_tasks t JOIN sites s ON s.id = t.site_id"
            " JOIN regions r ON r.id = s.region_id WHERE t.batch_id = :b GROUP BY r.name",
            b=batch,
        )
    )
    assert counties == {"莲都区": 2, "青田县": 2}
    # The city filters its batch by county.
    city.locator("select[name=county]").select_option(label="青田县")
    city.get_by_role("button", name="筛选").click()
    city.wait_for_load_state()
    assert "全部任务（2）" in _main(city) and liandu_site not in _main(city)

    county = staff("liandu")
    county.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    county.locator("tr", has_text=PROJECT).get_by_role("link", name="抽样与拨打").click()
    county.get_by_role("link", name=f"批次 {batch}", exact=True).click()
    county.wait_for_load_state()
    text = _main(county)
    assert "只列出您所在地区的任务" in text and "共 2 人" in text and "全部任务（2）" in text
    assert qingtian[0][0] not in text and "青田县" not in text
    ours = [t for t in _tasks(server, batch) if re.search(rf"拨打任务 {t}\b", text)]
    assert len(ours) == 2
    county.fill("input[name=q]", liandu_code)
    county.get_by_role("button", name="筛选").click()
    county.wait_for_load_state()
    assert "全部任务（2）" in _main(county)
    _open_task(county, ours[0])
    assert _save(county, "拒访") == "已记录：拒访。"
    assert _status(server, ours[0]) == "refused"
