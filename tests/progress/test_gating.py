"""A site's survey opens when it is built: below 100 % its link answers 「本点位尚未建成，
建成后欢迎评价」 with the hotline, on the form (cached or not), an answer posted to it (taken
before Flask or not) and the API alike, and stores nothing; at 100 % confirmed it opens. A
project set to open surveys from the start (every project older than 进度) is answered at
once."""

from survey.db import db, write_transaction
from survey.progress.models import MilestoneRecord
from survey.responses.models import Response
from survey.sites.models import Project
from tests.helpers import answer, nonce_of, post, staff_client
from tests.progress.conftest import record

NOT_BUILT = "本点位尚未建成，建成后欢迎评价"


def _open_from_start(app, project_id: int, value: bool) -> None:
    with app.app_context(), write_transaction(db.session):
        db.session.get(Project, project_id).open_from_start = value


def test_a_site_below_100_percent_answers_the_not_built_page_and_stores_nothing(
    app, client, world, count
):
    site = world["liandu"]
    # Forms served while the project still opened from the start: the page is cached, and
    # the resident holds a nonce for the form and one from the API.
    _open_from_start(app, site.project_id, True)
    form_nonce = nonce_of(client.get(f"/s/{site.token}").data)
    api_nonce = client.get(f"/api/v1/sites/{site.token}").get_json()["nonce"]
    lishui = staff_client(app, "lishui")
    rows = {"percent": ["20", "40", "60", "80", "100"]}
    rows |= {"name": ["选点", "方案", "场所", "队伍", "服务"], "evidence": [""] * 5}
    rows |= {"planned_on": ["2026-04-30", "2026-05-30", "2026-09-30", "2026-09-30", "2026-10-15"]}
    url = f"/progress/projects/{site.project_id}/milestones"
    assert post(lishui, url, rows, page=url).status_code == 302  # saved without 从一开始

    page = client.get(f"/s/{site.token}")  # the cached page is dropped with the setting
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and NOT_BUILT in text and "tel:" in text
    assert 'name="nonce"' not in text
    posted = answer(client, site.token, form_nonce, overall="5")  # before Flask, then the view
    assert posted.status_code == 409 and NOT_BUILT in posted.get_data(as_text=True)
    payload = {"answers": {"overall": 5}, "nonce": api_nonce}
    submitted = client.post(f"/api/v1/sites/{site.token}/responses", json=payload)
    assert submitted.status_code == 409 and NOT_BUILT in submitted.get_json()["message"]
    assert client.get(f"/api/v1/sites/{site.token}").status_code == 409
    assert count(Response) == 0

    # Built: the county records 100 %, the city confirms, the form opens.
    liandu = staff_client(app, "liandu")
    assert record(liandu, site.id, 100).status_code == 302
    assert NOT_BUILT in client.get(f"/s/{site.token}").get_data(as_text=True)  # waits
    with app.app_context():
        record_id = db.session.scalar(db.select(MilestoneRecord.id))
    assert post(lishui, f"/progress/records/{record_id}/confirm").status_code == 302
    opened = client.get(f"/s/{site.token}")
    assert opened.status_code == 200 and NOT_BUILT not in opened.get_data(as_text=True)
    assert answer(client, site.token, overall="5").status_code == 303
    assert count(Response) == 1


def test_a_project_open_from_the_start_is_answered_before_its_sites_are_built(
    app, client, world, count
):
    site = world["qingtian"]
    assert NOT_BUILT in client.get(f"/s/{site.token}").get_data(as_text=True)
    _open_from_start(app, site.project_id, True)
    assert answer(client, site.token, overall="4").status_code == 303
    assert count(Response) == 1
