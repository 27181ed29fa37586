"""An admin enters the 2027 holiday notice in the browser, after a typo shown back with its
reason, and sees it listed where chinese-calendar's years are."""

from playwright.sync_api import expect


def test_an_admin_enters_the_2027_notice_and_sees_it_listed(staff, server):
    page = staff("admin")
    page.get_by_role("link", name="节假日").click()
    main = page.locator("main")
    expect(main).to_contain_text("系统内置")
    page.get_by_role("link", name="录入一年的放假安排").click()
    page.fill("#year", "2027")
    page.fill("#days_off", "2027-01-01\n2027/2/5 至 2027/2/11")
    page.fill("#workdays", "2027-01-31\n2027-02-08")  # a Monday: refused
    page.fill("#source", "国务院办公厅关于2027年部分节假日安排的通知")
    with page.expect_navigation():
        page.get_by_role("button", name="保存放假安排").click()
    expect(main).to_contain_text("调休上班日应是周六或周日，这些是工作日：2027-02-08（周一）。")
    assert server.sql("SELECT count(*) FROM holiday_notices") == [(0,)]

    page.fill("#workdays", "2027-01-31, 2027-02-20")
    with page.expect_navigation():
        page.get_by_role("button", name="保存放假安排").click()
    expect(main).to_contain_text("已保存2027年的放假安排")
    row = page.locator("tr", has_text="2027年")
    expect(row).to_contain_text("1月1日、2月5日至2月11日")
    expect(row).to_contain_text("1月31日、2月20日")
    expect(row).to_contain_text("国务院办公厅关于2027年部分节假日安排的通知")
    expect(main).not_to_contain_text("2027年的放假安排尚未录入")
    assert server.sql("SELECT year FROM holiday_notices") == [(2027,)]
