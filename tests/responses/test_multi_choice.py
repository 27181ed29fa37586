"""Multiple-choice questions: checkboxes on the resident form and the staff forms, a JSON list
in the API, the sorted indexes in Answer.choices, the option labels wherever answers show."""

import csv
import io

import pytest
from sqlalchemy import func

from survey.db import db, write_transaction
from survey.questionnaires.services import revise_questionnaire
from survey.responses import answers_store
from survey.responses.models import Answer, Response
from survey.responses.rollup_models import ResponseRollup
from survey.sites.models import Project
from tests.checks.conftest import record_visit, staff, world  # noqa: F401  (fixtures)
from tests.helpers import open_form, post

QUESTIONS = [
    {"key": "overall", "kind": "satisfaction", "prompt": "您满意吗？", "required": True},
    {
        "key": "used",
        "kind": "multi",
        "prompt": "您用过哪些服务？",
        "required": True,
        "options": ["助餐", "助浴", "理发", "文体活动"],
    },
    {
        "key": "wishes",
        "kind": "multi",
        "prompt": "还希望有哪些服务？",
        "options": ["上门看病", "陪同就医", "心理慰藉"],
    },
]


def with_multi(app, project_id: int) -> None:
    with app.app_context(), write_transaction(db.session):
        project = db.session.get(Project, project_id)
        revise_questionnaire(db.session, project.questionnaire, QUESTIONS)


@pytest.fixture
def site(app, make_site):
    made = make_site()
    with_multi(app, made.project_id)
    return made


def stored(app) -> list[dict]:
    """Every stored answer but the overall one: key → (choice, choices, text)."""
    with app.app_context():
        return [
            {a.question.key: (a.choice, a.choices, a.text) for a in r.answers if a.choice is None}
            for r in db.session.scalars(db.select(Response).order_by(Response.id))
        ]


def submit(client, token, **fields):
    data = {"nonce": open_form(client, token)}
    data |= {f"q.{key}": value for key, value in fields.items()}
    return client.post(f"/s/{token}", data=data)


def test_the_form_shows_large_checkboxes_with_the_usual_tags(client, site):
    page = client.get(f"/s/{site.token}").get_data(as_text=True)
    assert 'type="checkbox" id="q.used-0" name="q.used" value="0"' in page
    assert page.count('type="checkbox"') == 7
    assert page.count("可以选多项") == 2
    assert '您用过哪些服务？ <span class="tag">（必答）' in page
    assert '还希望有哪些服务？ <span class="tag">（可不答）' in page
    assert '<div class="opts opts-multi">' in page


def test_ticked_boxes_post_repeated_fields_and_are_stored_sorted_in_choices(
    app, client, site, count
):
    assert submit(client, site.token, overall="5", used=["2", "0"]).status_code == 303
    client.delete_cookie("sid")  # another phone
    assert submit(client, site.token, overall="4", used="1", wishes=["1", "1"]).status_code == 303
    assert stored(app) == [
        {"used": (None, [0, 2], None)},
        {"used": (None, [1], None), "wishes": (None, [1], None)},
    ]
    with app.app_context():
        assert db.session.scalar(func.count(Answer.id)) == 5
        # Rollups count the overall answer alone, as before.
        answers_store.rolled_up(db.session)
        cells = db.session.scalars(db.select(ResponseRollup).filter_by(grain="all")).all()
        assert [(c.count_4, c.count_5) for c in cells] == [(1, 1)]


@pytest.mark.parametrize(
    "used, message",
    [
        (None, "请至少选一项"),
        (["0", "4"], "请从给出的选项中选择（可以选多项）"),
        ("x", "请从给出的选项中选择（可以选多项）"),
        (["-1"], "请从给出的选项中选择（可以选多项）"),
    ],
)
def test_bad_multi_answers_show_the_form_again_and_store_nothing(
    client, site, count, used, message
):
    fields = {"overall": "5", "wishes": ["0", "2"]} | ({"used": used} if used else {})
    reply = submit(client, site.token, **fields)
    assert reply.status_code == 400
    page = reply.get_data(as_text=True)
    assert message in page
    # What was ticked stays ticked.
    assert 'id="q.wishes-0" name="q.wishes" value="0" checked' in page
    assert 'id="q.wishes-2" name="q.wishes" value="2" checked' in page
    assert 'id="q.wishes-1" name="q.wishes" value="1">' in page
    assert count(Response) == 0 and count(Answer) == 0


def test_a_repeated_field_of_a_single_choice_question_is_refused(app, client, make_site, count):
    made = make_site()
    data = {"nonce": open_form(client, made.token), "q.overall": ["5", "1"]}
    reply = client.post(f"/s/{made.token}", data=data)
    assert reply.status_code == 400 and "请从五个选项中选择一个" in reply.get_data(as_text=True)
    assert count(Response) == 0


def test_the_api_takes_a_json_list_and_refuses_anything_else(app, client, site, count):
    form = client.get(f"/api/v1/sites/{site.token}").get_json()
    used = form["questionnaire"]["questions"][1]
    assert used["kind"] == "multi"
    assert [o["label"] for o in used["options"]] == ["助餐", "助浴", "理发", "文体活动"]

    def send(answers):
        nonce = client.get(f"/api/v1/sites/{site.token}").get_json()["nonce"]
        body = {"answers": {"overall": 5} | answers, "nonce": nonce}
        return client.post(f"/api/v1/sites/{site.token}/responses", json=body)

    for bad, message in [
        ({"used": 1}, "请从给出的选项中选择"),
        ({"used": {"0": True}}, "请从给出的选项中选择"),
        ({"used": [True]}, "请从给出的选项中选择"),
        ({"used": [0.5]}, "请从给出的选项中选择"),
        ({"used": [4]}, "请从给出的选项中选择"),
        ({"used": []}, "请至少选一项"),
        ({"used": None}, "请至少选一项"),
        ({}, "请至少选一项"),
    ]:
        reply = send(bad)
        assert reply.status_code == 422, bad
        (found,) = reply.get_json()["errors"]["answers"]["used"]
        assert found.startswith(message), bad
    assert count(Response) == 0
    reply = send({"used": [3, 1, 3], "wishes": []})
    assert reply.status_code == 201
    assert stored(app) == [{"used": (None, [1, 3], None)}]


def test_multi_answers_show_and_export_with_their_labels(app, staff, world):  # noqa: F811
    with_multi(app, world.project_id)
    client = app.test_client()
    submit(client, world.liandu.token, overall="5", used=["0", "2"], wishes="1")
    with app.app_context(), write_transaction(db.session):
        response = db.session.scalars(db.select(Response)).one()
        with answers_store.changing(db.session, [response]):
            response.comment = "很好"
    city = staff("lishui")
    page = city.get(f"/dashboard/sites/{world.liandu.id}").get_data(as_text=True)
    assert "您用过哪些服务？：助餐、理发" in page and "还希望有哪些服务？：陪同就医" in page
    reply = city.get(f"/dashboard/projects/{world.project_id}/responses.csv")
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert rows[1][-2:] == ["您用过哪些服务？：助餐、理发；还希望有哪些服务？：陪同就医", "很好"]


def test_staff_record_a_visit_interview_with_checkboxes(app, staff, world, count):  # noqa: F811
    with_multi(app, world.project_id)
    client = staff("liandu")
    reply = record_visit(client, world.liandu)
    visit_url = reply.headers["Location"]
    page = client.get(visit_url).get_data(as_text=True)
    assert 'type="checkbox" name="q.used" value="0"' in page and "（可多选）" in page
    url = f"{visit_url}/interviews"
    refused = post(client, url, {"q.overall": "4"})
    assert refused.status_code == 422 and "请至少选一项" in refused.get_data(as_text=True)
    assert post(client, url, {"q.overall": "4", "q.used": ["3", "1"]}).status_code == 302
    assert stored(app) == [{"used": (None, [1, 3], None)}]
