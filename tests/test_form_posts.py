"""Staff forms as a browser posts them: every field of the form, the empty ones as ""."""

import pytest
from marshmallow import ValidationError

from survey.accounts.schemas import audit_query_schema, user_schema
from survey.checks import schemas as checks
from survey.sites.schemas import (
    list_query_schema,
    new_project_schema,
    poster_query_schema,
    region_schema,
    site_schema,
)
from survey.stats.schemas import filter_schema
from tests.helpers import log_in

#: Each staff form or page query with the values its required fields need.
FORMS = {
    "call": (checks.attempt_schema, {"outcome": "no_answer"}),
    "sample": (checks.sample_schema, {"mode": "count", "size": "5"}),
    "visit pick": (checks.pick_schema, {}),
    "visit": (checks.visit_schema, {"visited_on": "2026-11-20", "inspectors": "李明"}),
    "interview": (checks.interview_schema, {}),
    "notice": (checks.notice_schema, {"body": "您好"}),
    "roster query": (checks.roster_query_schema, {}),
    "list query": (list_query_schema, {}),
    "dashboard filters": (filter_schema, {}),
    "audit filters": (audit_query_schema, {}),
    "user": (user_schema, {"username": "wang", "role": "admin"}),
    "region": (region_schema, {"name": "新区"}),
    "project": (
        new_project_schema,
        {"name": "项目", "year": "2026", "region_id": "1", "starter": "general"},
    ),
    "poster size": (poster_query_schema, {}),
    "site": (site_schema, {"name": "点位", "level": "city_county", "region_id": "1"}),
}


def _browser_post(schema, required: dict) -> dict:
    """Every field the schema reads, as a browser sends it: empty unless filled in."""
    names = [field.data_key or name for name, field in schema.load_fields.items()]
    return {name: "" for name in names} | required | {"csrf_token": "x"}


@pytest.mark.parametrize("form", list(FORMS))
def test_empty_optional_fields_are_not_given(form):
    schema, required = FORMS[form]
    loaded = schema.load(_browser_post(schema, required))
    for name, field in schema.load_fields.items():
        if not field.required and name in loaded and field.load_default is not None:
            default = field.load_default() if callable(field.load_default) else field.load_default
            assert loaded[name] == default, (form, name)


def test_an_empty_required_field_is_still_refused():
    with pytest.raises(ValidationError) as refused:
        checks.sample_schema.load({"mode": "count", "size": "", "minimum": ""})
    assert "size" in refused.value.messages
    with pytest.raises(ValidationError) as refused:
        checks.visit_schema.load({"visited_on": "  ", "inspectors": "李明"})
    assert "visited_on" in refused.value.messages


def test_a_malformed_optional_field_is_still_refused():
    with pytest.raises(ValidationError) as refused:
        checks.attempt_schema.load({"outcome": "callback", "callback_at": "tomorrow"})
    assert refused.value.messages["callback_at"] == ["回拨时间的格式不对。"]
    with pytest.raises(ValidationError):
        filter_schema.load({"from": "2026-13-01"})


def test_the_dashboard_filter_form_sent_with_every_field_empty_shows_everything(
    client, make_site, make_user
):
    site = make_site()
    log_in(client, "lishui", make_user("lishui", "city", region="丽水市"))
    query = "?from=&to=&county=&channel="
    for url in ("/dashboard/", f"/dashboard/projects/{site.project_id}"):
        reply = client.get(url + query)
        assert reply.status_code == 200 and site.project_name in reply.get_data(as_text=True)
