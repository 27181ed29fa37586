"""The questionnaire editor (issue 7, item 4): server-side buttons change a draft, a phone
preview shows it, publishing makes a version; the overall question stays first; bad drafts
answer 422 in Chinese and change nothing."""

import csv
import html
import io
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from survey.accounts.models import AuditEntry
from survey.db import db, write_transaction
from survey.questionnaires.models import OVERALL_KEY, Questionnaire
from survey.questionnaires.services import create_questionnaire
from survey.regions.models import Region
from survey.responses.models import Response
from survey.sites.models import Project
from tests.helpers import PASSWORD, answer, csrf_of, log_in, open_form, same_session_clients


class EditorForm(HTMLParser):
    """The editor's form fields as a browser would post them (the preview's markup sits in
    an attribute, so it is not read)."""

    def __init__(self, page: str):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select = self._textarea = None
        self._text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name", "")
        if tag == "input" and name.startswith(("questions-", "csrf_token")):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name.startswith("questions-"):
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a["value"]))
        elif tag == "textarea" and name.startswith("questions-"):
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None

    def data(self, **changes) -> MultiDict:
        """The fields with ``changes`` (``questions-1-prompt="…"``; None drops a field)."""
        values = MultiDict(self.fields)
        for name, value in changes.items():
            name = name.replace("_", "-")
            values.pop(name, None)
            if value is not None:
                values.add(name, value)
        return values


def url(project_id: int) -> str:
    return f"/admin/projects/{project_id}/questionnaire"


def press(client, project_id, op, page=None, starter="general", **changes):
    """Press an editor button on ``page`` (default: the editor as it opens) with ``changes``
    made to its fields; returns the reply."""
    page = page if page is not None else client.get(url(project_id)).get_data(as_text=True)
    data = EditorForm(page).data(**changes)
    data.add("op", op)
    data.add("starter", starter)
    return client.post(url(project_id), data=data)


def post_questions(client, project_id, questions: list[dict], op="save"):
    """Post a draft built by hand (as a forged or scripted form would)."""
    token = csrf_of(client.get(url(project_id)).data)
    data = MultiDict([("csrf_token", token), ("op", op)])
    for i, q in enumerate(questions):
        for name, value in q.items():
            if name == "options":
                value = "\n".join(value or [])
            if name == "required":
                if not value:
                    continue
                value = "1"
            data.add(f"questions-{i}-{name}", value)
    return client.post(url(project_id), data=data)


def current(app, project_id) -> tuple[int, list[tuple]]:
    """The project's current version number and its questions."""
    with app.app_context():
        version = db.session.get(Project, project_id).questionnaire.current_version
        return version.number, [
            (q.key, q.kind, q.prompt, q.required, q.options) for q in version.questions
        ]


def published(app) -> list[str]:
    with app.app_context():
        query = db.select(AuditEntry.detail).filter_by(action="questionnaire_published")
        return list(db.session.scalars(query))


def text_of(reply) -> str:
    return reply.get_data(as_text=True)


DEFAULT = [
    ("overall", "satisfaction", "总的来说，您对这里的服务满意吗？", True, None),
    ("attitude", "choice", "服务人员的态度怎么样？", False, ["好", "一般", "不好"]),
    ("facilities", "choice", "这里的环境和设施怎么样？", False, ["好", "一般", "不好"]),
    ("services", "choice", "这里的服务合您的需要吗？", False, ["合需要", "一般", "不合需要"]),
]


def test_an_admin_adds_questions_of_every_kind_orders_them_and_publishes(app, admin, make_site):
    site = make_site()
    pid = site.project_id
    page = text_of(admin.get(url(pid)))
    assert "编辑问卷" in page and "第1版" in page
    # Drop two default questions, then add a single, a multiple choice and a text question.
    page = text_of(press(admin, pid, "remove-3", page))
    reply = press(admin, pid, "remove-2", page)
    assert reply.status_code == 200
    page = text_of(press(admin, pid, "add-multi", text_of(reply)))
    page = text_of(
        press(
            admin,
            pid,
            "add-text",
            page,
            questions_2_prompt="您平时用到哪些服务？",
            questions_2_options="助餐\n助浴\n\n文体活动\n",
            questions_2_required="1",
        )
    )
    page = text_of(press(admin, pid, "add-choice", page, questions_3_prompt="还有什么建议？"))
    page = text_of(press(admin, pid, "up-4", page, questions_4_prompt="您多久来一次？"))
    # Moved above the text question; the blank line between options is refused on saving.
    reply = press(admin, pid, "save", page, questions_3_options="每天\n每周\n更少")
    assert reply.status_code == 422
    assert "第3个选项是空的" in text_of(reply)
    assert current(app, pid) == (1, DEFAULT)
    reply = press(admin, pid, "save", text_of(reply), questions_2_options="助餐\n助浴\n文体活动")
    assert reply.status_code == 303
    assert "已发布第2版问卷" in text_of(admin.get(reply.headers["Location"]))
    number, questions = current(app, pid)
    assert number == 2  # a new version even before any answer: an open form stays valid
    assert questions == [
        DEFAULT[0],
        DEFAULT[1],
        ("q1", "multi", "您平时用到哪些服务？", True, ["助餐", "助浴", "文体活动"]),
        ("q2", "choice", "您多久来一次？", False, ["每天", "每周", "更少"]),
        ("q3", "text", "还有什么建议？", False, None),
    ]
    assert published(app) == ["2022年建成康养联合体20家：第2版，5个问题（发布新版本）"]
    # The resident form shows the new questions at once (its cached page was dropped).
    form = text_of(admin.get(f"/s/{site.token}"))
    assert "您平时用到哪些服务？" in form and 'type="checkbox"' in form


def test_the_editor_previews_the_draft_in_a_phone_frame_that_cannot_submit(admin, make_site):
    site = make_site()
    pid = site.project_id
    page = text_of(press(admin, pid, "add-multi", questions_1_prompt="态度好吗（草稿）"))
    page = text_of(press(admin, pid, "preview", page, questions_4_options="助餐\n助浴"))
    frame = re.search(r'<iframe[^>]*srcdoc="([^"]*)"', page)
    assert frame and " sandbox " in frame.group(0)
    preview = html.unescape(frame.group(1))
    assert "预览" in preview and "态度好吗（草稿）" in preview
    assert 'type="checkbox"' in preview and "可以选多项" in preview
    assert re.search(r'<button class="btn" type="submit" disabled', preview)
    assert "态度好吗（草稿）" not in text_of(admin.get(f"/s/{site.token}"))  # not saved
    assert "360" in page


def test_publishing_an_answered_questionnaire_makes_version_2_and_old_answers_keep_wording(
    app, admin, make_site, make_user
):
    site = make_site()
    pid = site.project_id
    form = text_of(admin.get(f"/s/{site.token}"))  # cached now
    assert "服务人员的态度怎么样？" in form
    assert answer(admin, site.token, overall="4", attitude="2", comment="还行").status_code == 303
    reply = press(
        admin,
        pid,
        "save",
        questions_1_prompt="工作人员对您热情吗？",
        questions_1_options="热情\n一般\n不热情",
    )
    assert reply.status_code == 303
    assert "已发布第2版" in text_of(admin.get(reply.headers["Location"]))
    number, questions = current(app, pid)
    assert number == 2
    # Same key, so the answers line up across versions.
    assert questions[1] == (
        "attitude",
        "choice",
        "工作人员对您热情吗？",
        False,
        ["热情", "一般", "不热情"],
    )
    with app.app_context():
        old = db.session.scalars(db.select(Response)).one()
        assert old.version.number == 1
    # Residents see version 2 at once; the old answer reads in its own version's words.
    assert "工作人员对您热情吗？" in text_of(admin.get(f"/s/{site.token}"))
    make_user("lishui", "city", PASSWORD, region="丽水市")
    city = log_in(app.test_client(), "lishui", PASSWORD)
    feed = text_of(city.get(f"/dashboard/sites/{site.id}"))
    assert "服务人员的态度怎么样？：不好" in feed
    export = city.get(f"/dashboard/projects/{pid}/responses.csv")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["其他回答", "留言"]
    assert rows[1][-2:] == ["服务人员的态度怎么样？：不好", "还行"]
    # Publishing again makes version 3, answered or not.
    assert press(admin, pid, "save", questions_1_prompt="工作人员热情吗？").status_code == 303
    assert current(app, pid)[0] == 3
    assert len(published(app)) == 2


def test_a_form_opened_before_a_publish_still_submits_against_its_own_version(
    app, admin, make_site
):
    site = make_site()
    resident = app.test_client()
    nonce = open_form(resident, site.token)  # version 1 on the resident's screen
    reply = press(admin, site.project_id, "save", questions_1_prompt="工作人员热情吗？")
    assert reply.status_code == 303
    assert answer(resident, site.token, nonce, overall="5", attitude="0").status_code == 303
    with app.app_context():
        stored = db.session.scalars(db.select(Response)).one()
        assert stored.version.number == 1
        assert [a.question.prompt for a in stored.answers][1] == "服务人员的态度怎么样？"


def test_a_question_whose_kind_changes_gets_a_new_key(app, admin, make_site):
    site = make_site()
    answer(admin, site.token, overall="5")
    reply = press(admin, site.project_id, "save", questions_1_kind="text")
    assert reply.status_code == 303
    keys = [q[0] for q in current(app, site.project_id)[1]]
    assert keys == ["overall", "q1", "facilities", "services"]


def test_a_forged_long_key_never_makes_a_new_key_too_long_to_store(app, admin, make_site):
    pid = make_site().project_id
    overall = {"key": "overall", "kind": "satisfaction", "prompt": "总体满意吗？", "required": True}
    forged = ["q" + "9" * 39, "q1000000000", "q1"]  # each a valid key as posted
    extra = [{"key": key, "kind": "text", "prompt": f"问题{key[:5]}"} for key in forged]
    new = {"key": "", "kind": "text", "prompt": "新问题"}
    reply = post_questions(admin, pid, [overall, *extra, new])
    assert reply.status_code == 303
    keys = [q[0] for q in current(app, pid)[1]]
    assert keys == ["overall", *forged, "q2"]


def test_saving_without_a_change_publishes_nothing(app, admin, make_site):
    pid = make_site().project_id
    reply = press(admin, pid, "save")
    assert reply.status_code == 303
    assert "问卷没有改动" in text_of(admin.get(reply.headers["Location"]))
    assert published(app) == []


def test_a_starter_replaces_the_draft_and_is_saved_only_when_published(app, admin, make_site):
    pid = make_site().project_id
    page = press(admin, pid, "starter", starter="canteen")
    assert page.status_code == 200 and "饭菜合您的口味吗？" in text_of(page)
    assert current(app, pid) == (1, DEFAULT)
    assert press(admin, pid, "save", text_of(page)).status_code == 303
    keys = [q[0] for q in current(app, pid)[1]]
    assert keys == ["overall", "taste", "price", "hygiene"]
    assert press(admin, pid, "starter", starter="nope").status_code == 422


def test_the_overall_question_keeps_its_place_and_kind_but_its_wording_may_change(
    app, admin, make_site
):
    pid = make_site().project_id
    for op in ("remove-0", "up-0", "down-0", "up-1"):
        reply = press(admin, pid, op)
        assert reply.status_code == 422, op
        assert "总体满意度" in text_of(reply), op
    assert press(admin, pid, "down-3").status_code == 422  # already last
    for changes in (
        {"questions_0_kind": "choice", "questions_0_options": "好\n不好"},
        {"questions_0_required": "0"},
        {"questions_0_key": "q9"},
        {"questions_1_key": OVERALL_KEY},
    ):
        reply = press(admin, pid, "save", **changes)
        assert reply.status_code == 422, changes
        assert "第一个问题必须是总体满意度问题" in text_of(reply), changes
    moved = [DEFAULT[1], DEFAULT[0]]
    reply = post_questions(
        admin,
        pid,
        [
            dict(zip(("key", "kind", "prompt", "required", "options"), q, strict=True))
            for q in moved
        ],
    )
    assert reply.status_code == 422 and "第一个问题必须是总体满意度问题" in text_of(reply)
    assert current(app, pid) == (1, DEFAULT) and published(app) == []
    assert press(admin, pid, "save", questions_0_prompt="您对这里满意吗？").status_code == 303
    assert current(app, pid)[1][0] == ("overall", "satisfaction", "您对这里满意吗？", True, None)


OVERALL = {"key": "overall", "kind": "satisfaction", "prompt": "满意吗？", "required": True}


def _choice(**kw):
    return {"key": "", "kind": "choice", "prompt": "态度怎么样？", "options": ["好", "不好"]} | kw


@pytest.mark.parametrize(
    "questions, message",
    [
        ([], "问卷里至少要有一个问题"),
        ([OVERALL, _choice(options=[])], "至少要有2个选项"),
        ([OVERALL, _choice(kind="multi", options=["好"])], "至少要有2个选项"),
        ([OVERALL, _choice(options=["好", "  ", "不好"])], "第2个选项是空的"),
        ([OVERALL, _choice(options=["好", "一般", "好"])], "选项重复了：好"),
        ([OVERALL, _choice(options=[str(i) for i in range(11)])], "选项最多10个"),
        ([OVERALL, _choice(options=["好", "长" * 51])], "第2个选项太长了"),
        ([OVERALL, _choice(prompt="问" * 2000)], "题目最多200字，现在有2000字"),
        ([OVERALL, _choice(prompt="   ")], "请填写题目"),
        ([OVERALL, _choice(prompt="态度\x07")], "无法识别的字符"),
        ([OVERALL, _choice(kind="ranking")], "没有这种题型"),
        ([OVERALL, _choice(key="问题1")], "问题编号的格式不对"),
        ([OVERALL, _choice(key="attitude"), _choice(key="attitude")], "编号相同"),
        ([OVERALL] + [_choice()] * 20, "问题最多20个，现在有21个"),
    ],
)
def test_bad_questionnaires_answer_422_in_chinese_and_change_nothing(
    app, admin, make_site, questions, message
):
    pid = make_site().project_id
    reply = post_questions(admin, pid, questions)
    assert reply.status_code == 422
    assert message in text_of(reply)
    assert current(app, pid) == (1, DEFAULT) and published(app) == []


def test_more_than_five_questions_is_advised_against_but_allowed(app, admin, make_site):
    pid = make_site().project_id
    questions = [OVERALL] + [_choice(prompt=f"第{i}个问题？") for i in range(5)]
    page = text_of(press(admin, pid, "preview", page=None))
    assert "建议不超过" not in page
    reply = post_questions(admin, pid, questions, op="preview")
    assert reply.status_code == 200 and "建议不超过 5 个" in text_of(reply)
    assert post_questions(admin, pid, questions).status_code == 303
    _, saved = current(app, pid)
    assert [q[0] for q in saved] == ["overall", "q1", "q2", "q3", "q4", "q5"]
    many = [OVERALL] + [_choice(prompt=f"第{i}个问题？") for i in range(19)]
    page = text_of(post_questions(admin, pid, many, op="preview"))
    assert "不能再加" in page
    assert post_questions(admin, pid, many, op="add-text").status_code == 422


def test_a_shared_questionnaire_is_copied_for_the_project_being_edited(app, admin, make_site):
    first, second = make_site(project="甲项目"), make_site(name="乙点位", project="乙项目")
    with app.app_context(), write_transaction(db.session):
        shared = db.session.get(Project, first.project_id).questionnaire
        db.session.get(Project, second.project_id).questionnaire = shared
    reply = press(admin, first.project_id, "save", questions_1_prompt="改过的问题？")
    assert reply.status_code == 303
    assert current(app, first.project_id)[1][1][2] == "改过的问题？"
    assert current(app, second.project_id) == (1, DEFAULT)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Questionnaire)) == 3


def test_bad_buttons_and_a_missing_csrf_token_answer_400(admin, make_site):
    pid = make_site().project_id
    assert press(admin, pid, "explode").status_code == 400
    assert press(admin, pid, "up-x").status_code == 400
    assert press(admin, pid, "remove-9").status_code == 422
    assert admin.post(url(pid), data={"op": "save"}).status_code == 400


@pytest.fixture
def wenzhou(app, make_site, make_user):
    """A second city with its own project; users of both cities and a county user."""
    lishui = make_site()
    with app.app_context():
        with write_transaction(db.session):
            city = Region(name="温州市", level="city")
            questionnaire = create_questionnaire(db.session, "问卷", [OVERALL])
            project = Project(name="温州项目", year=2026, region=city, questionnaire=questionnaire)
            db.session.add(project)
        other = project.id
    make_user("lishui", "city", PASSWORD, region="丽水市")
    make_user("wenzhou", "city", PASSWORD, region="温州市")
    make_user("liandu", "county", PASSWORD, region="莲都区")
    return lishui.project_id, other


def test_city_users_edit_their_own_citys_questionnaires_only_and_counties_none(
    app, client, wenzhou
):
    lishui, other = wenzhou
    assert client.get(url(lishui)).status_code == 302  # to the login page
    city = log_in(app.test_client(), "lishui", PASSWORD)
    assert city.get(url(lishui)).status_code == 200
    assert city.get(url(other)).status_code == 404
    assert city.get(url(12345)).status_code == 404
    page = text_of(city.get(url(lishui)))
    assert press(city, other, "save", page, questions_0_prompt="改了？").status_code == 404
    assert press(city, lishui, "save", page, questions_0_prompt="改了？").status_code == 303
    county = log_in(app.test_client(), "liandu", PASSWORD)
    assert county.get(url(lishui)).status_code == 403
    token = csrf_of(county.get("/account/password").data)
    reply = county.post(url(lishui), data={"csrf_token": token, "op": "save"})
    assert reply.status_code == 403
    wz = log_in(app.test_client(), "wenzhou", PASSWORD)
    assert wz.get(url(other)).status_code == 200 and wz.get(url(lishui)).status_code == 404
    assert current(app, lishui)[0] == 2 and current(app, other)[0] == 1


def test_publishing_the_same_change_many_times_at_once_makes_one_version(app, admin, make_site):
    pid = make_site().project_id
    page = text_of(admin.get(url(pid)))
    data = EditorForm(page).data(questions_1_prompt="服务人员热情吗？")
    data.add("op", "save")
    clients = same_session_clients(app, admin, 6)
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda c: c.post(url(pid), data=data).status_code, clients))
    assert statuses == [303] * 6
    assert current(app, pid)[0] == 2
    assert len(published(app)) == 1
