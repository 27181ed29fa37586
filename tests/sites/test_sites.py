"""Site tokens and the `sites` command."""

import re

from survey.db import db
from survey.sites.tokens import find_live_token, new_token, normalize_token


def test_tokens_are_ten_upper_case_base32_characters_and_differ():
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[A-Z2-7]{10}", t) for t in tokens)


def test_tokens_are_read_in_any_case_and_junk_is_not_a_token():
    assert normalize_token(" abcdefgh23 ") == "ABCDEFGH23"
    for junk in ["", "short", "ABCDEFGH2!", "ＡＢＣＤＥＦＧＨ２３", "A" * 11]:
        assert normalize_token(junk) is None


def test_live_token_lookup(app, make_site):
    site = make_site()
    with app.app_context():
        assert find_live_token(db.session, site.token.lower()).site.id == site.id
        assert find_live_token(db.session, "AAAAAAAAAA") is None


def test_sites_command_prints_a_tsv_with_survey_links(runner, make_site):
    one = make_site(name="甲\t站点")
    make_site(name="乙", project="另一个项目")
    result = runner.invoke(args=["sites"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "project\tcounty\tsite\turl"
    assert len(lines) == 3
    assert lines[1].split("\t") == [
        one.project_name,
        "莲都区",
        "甲 站点",
        f"http://survey.test/s/{one.token}",
    ]
    only = runner.invoke(args=["sites", "--project", str(one.project_id)])
    assert len(only.output.splitlines()) == 2


def test_sites_command_refuses_an_unknown_project(runner):
    result = runner.invoke(args=["sites", "--project", "999"])
    assert result.exit_code != 0
    assert "没有编号为 999 的项目" in result.output
