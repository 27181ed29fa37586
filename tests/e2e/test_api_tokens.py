"""An admin gives another system an API token, which that system uses over HTTP until the
admin revokes it."""

import requests


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(staff, server):
    page = staff("admin")
    page.get_by_role("link", name="API 令牌").click()
    page.get_by_role("link", name="新建令牌").click()
    page.fill("#name", "省民生实事系统")
    page.select_option("#region_id", label="丽水市（市）")
    with page.expect_navigation():
        page.get_by_role("button", name="创建令牌").click()
    assert "令牌只显示这一次" in page.locator("main").inner_text()
    secret = page.locator("#token-secret").inner_text().strip()

    bearer = {"Authorization": f"Bearer {secret}"}
    projects = requests.get(f"{server.url}/api/v1/projects", headers=bearer, timeout=10)
    assert projects.status_code == 200
    assert {p["city"] for p in projects.json()} == {"丽水市"}
    project = projects.json()[0]["id"]
    answers = requests.get(
        f"{server.url}/api/v1/projects/{project}/answers?limit=5", headers=bearer, timeout=10
    )
    assert answers.status_code == 200 and len(answers.json()["items"]) <= 5

    page.get_by_role("link", name="查看令牌").click()
    assert secret not in page.content()
    page.get_by_role("link", name="吊销令牌").click()
    with page.expect_navigation():
        page.get_by_role("button", name="确认吊销令牌").click()
    assert "已吊销" in page.locator("main").inner_text()

    refused = requests.get(f"{server.url}/api/v1/projects", headers=bearer, timeout=10)
    assert refused.status_code == 401 and "吊销" in refused.json()["message"]
