"""First login with the demo's one-time password, the forced change, and a wrong password."""

from tests.e2e.conftest import NEW_PASSWORD, log_in


def test_first_login_forces_a_new_password_then_the_new_one_works(browse, server):
    page = browse()
    page.goto(f"{server.url}/login")
    page.fill("#username", "liandu")
    page.fill("#password", server.passwords["liandu"])
    page.get_by_role("button", name="登录").click()
    assert "/account/password" in page.url
    assert "您用的是一次性密码" in page.locator("main").inner_text()

    # Pages stay closed until the password is changed.
    page.goto(f"{server.url}/checks/")
    assert "/account/password" in page.url

    page.fill("#current", server.passwords["liandu"])
    page.fill("#new", "short")
    page.fill("#confirm", "short")
    page.get_by_role("button", name="保存新密码").click()
    assert "新密码至少 10 位" in page.locator("main").inner_text()

    page.fill("#current", server.passwords["liandu"])
    page.fill("#new", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_load_state()
    server.changed.add("liandu")
    assert "/account/password" not in page.url

    # The one-time password no longer works; the new one does.
    again = browse()
    again.goto(f"{server.url}/login")
    again.fill("#username", "liandu")
    again.fill("#password", server.passwords["liandu"])
    again.get_by_role("button", name="登录").click()
    assert "/login" in again.url
    log_in(again, server, "liandu")


def test_every_demo_role_reaches_its_pages(staff, server):
    for username, link in [
        ("admin", "用户"),
        ("zhejiang", "满意度"),
        ("lishui", "项目与点位"),
        ("liandu", "电话抽查与暗访"),
    ]:
        page = staff(username)
        page.get_by_role("link", name=link, exact=True).click()
        page.wait_for_load_state()
        assert page.locator("h1").count() == 1, page.url
