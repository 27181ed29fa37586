"""A dashboard filter that does not hold: which field and why, beside it, the values kept."""

import re
from html import unescape

import pytest


def _form_values(page: str) -> dict:
    """The names and values of the filter form's inputs and selected options."""
    page = page[page.index('<form class="batch') :]
    values = dict(
        re.findall(r'<input type="(?:date|month|hidden)" name="(\w+)" value="([^"]*)"', page)
    )
    for name, select in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', select)
        values[name] = chosen.group(1) if chosen else ""
    return values


def _beside(page: str, field: str) -> str:
    """The message shown right after the field's input."""
    found = re.search(
        rf'name="{field}"[^>]*aria-invalid="true"[^>]*>(?:.*?</select>)?</label> '
        rf'<span class="err" id="{field}-error">([^<]+)</span>',
        page,
    )
    assert found, page
    return unescape(found.group(1))


def test_the_empty_fields_a_browser_sends_are_filters_not_given(staff, world, answers):
    answers(world.liandu, {5: 10})
    client = staff("lishui")
    for url in (
        f"/dashboard/projects/{world.project_id}",
        f"/api/v1/projects/{world.project_id}/stats",
    ):
        reply = client.get(f"{url}?from=&to=&county=&channel=&group=county")
        assert reply.status_code == 200, url
    page = client.get(f"/dashboard/projects/{world.project_id}?from=&to=2026-11-30&channel=")
    assert "100.0%" in page.get_data(as_text=True)
    url = f"/dashboard/projects/{world.project_id}/summary.csv?group=&from="
    reply = client.get(url)
    assert reply.status_code == 200 and reply.data.decode("utf-8-sig").startswith("县（市、区）")


def test_a_reversed_date_range_says_which_field_and_keeps_the_filter(app, staff, world):
    county = _county_id(app, world)
    query = f"from=2026-11-30&to=2026-11-01&county={county}&channel=phone"
    url = f"/dashboard/projects/{world.project_id}?{query}"
    reply = staff("lishui").get(url)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert _beside(page, "to") == "结束日期不能早于开始日期。"
    assert "提交的内容有误" not in page
    assert _form_values(page) == {
        "from": "2026-11-30",
        "to": "2026-11-01",
        "county": str(county),
        "channel": "phone",
    }


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-13-01", "from", "开始日期的格式不对，应为 2026-01-31 这样的日期。"),
        ("to=nonsense", "to", "结束日期的格式不对，应为 2026-01-31 这样的日期。"),
        ("channel=fax", "channel", "渠道只能是扫码、电话抽查或现场暗访。"),
    ],
)
def test_each_bad_filter_is_named_beside_its_field(staff, world, query, field, message):
    for url in (
        "/dashboard/",
        f"/dashboard/projects/{world.project_id}",
        f"/dashboard/sites/{world.liandu.id}",
        f"/dashboard/projects/{world.project_id}/comments",
    ):
        reply = staff("lishui").get(f"{url}?{query}")
        assert reply.status_code == 422, url
        assert _beside(reply.get_data(as_text=True), field) == message, url


def test_a_county_that_is_not_a_number_is_named(staff, world):
    reply = staff("lishui").get(
        f"/dashboard/projects/{world.project_id}?county=abc&from=2026-11-01"
    )
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "没有这个县（市、区）。" in page
    assert _form_values(page)["from"] == "2026-11-01"


def test_an_export_with_a_reversed_range_answers_the_form_and_keeps_its_group(staff, world, count):
    from survey.accounts.models import AuditEntry

    query = "group=site&from=2026-11-30&to=2026-11-01"
    url = f"/dashboard/projects/{world.project_id}/summary.xlsx?{query}"
    reply = staff("lishui").get(url)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422 and reply.mimetype == "text/html"
    assert _beside(page, "to") == "结束日期不能早于开始日期。"
    assert _form_values(page)["group"] == "site"  # sent again with the corrected dates
    assert count(AuditEntry, action="exported") == 0


def test_an_unknown_summary_group_is_named_and_dropped(staff, world):
    url = f"/dashboard/projects/{world.project_id}/summary.csv?group=town&channel=qr"
    page = staff("lishui").get(url).get_data(as_text=True)
    assert "group 只能是 county（按县汇总）或 site（按点位汇总）。" in page
    assert "group" not in _form_values(page) and _form_values(page)["channel"] == "qr"


@pytest.mark.parametrize("path", ["report", "report.pdf"])
def test_a_bad_report_month_is_named_beside_the_month(staff, world, path):
    reply = staff("lishui").get(f"/dashboard/projects/{world.project_id}/{path}?month=2026-13")
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert _beside(page, "month") == "月份的格式不对，应为 2026-11 这样的年月。"
    assert _form_values(page) == {"month": "2026-13"}


def test_the_report_page_lets_the_reader_choose_its_month(staff, world):
    page = staff("lishui").get(f"/dashboard/projects/{world.project_id}/report?month=2026-10")
    assert _form_values(page.get_data(as_text=True)) == {"month": "2026-10"}


def test_the_form_of_a_county_user_offers_only_their_county(app, staff, world):
    county = _county_id(app, world, world.qingtian)
    base = f"/dashboard/projects/{world.project_id}?county={county}"
    client = staff("liandu")
    assert client.get(base).status_code == 404
    reply = client.get(f"{base}&from=2026-11-30&to=2026-11-01")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "莲都区" in page and "青田县" not in page


def test_the_api_answers_a_reversed_range_with_the_field_in_json(staff, world):
    url = f"/api/v1/projects/{world.project_id}/stats?from=2026-11-30&to=2026-11-01"
    reply = staff("lishui").get(url)
    assert reply.status_code == 422
    assert reply.get_json()["errors"]["query"] == {"to": ["结束日期不能早于开始日期。"]}


def _county_id(app, world, site=None) -> int:
    from survey.db import db
    from survey.sites.models import Site

    with app.app_context():
        return db.session.get(Site, (site or world.liandu).id).region_id
