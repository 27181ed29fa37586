"""The counts kept with each answer (survey.responses.answers_store): every route that adds,
replaces or deletes an answer keeps them equal to a recount, and a write past the store fails."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from survey import create_app
from survey.checks.models import CallTask
from survey.db import db, write_transaction
from survey.responses import answers_store
from survey.responses.models import Response
from survey.responses.rollup_models import ResponseRollup
from survey.sites.models import Site
from tests.checks.conftest import (  # noqa: F401  (fixtures)
    clock,
    import_roster,
    phone,
    record_visit,
    roster_csv,
    staff,
    world,
)
from tests.helpers import answer, app_settings, post, raw_counts, rolled_counts

INTERVIEW = {"q.overall": "3", "q.attitude": "0"}


def _located(reply) -> int:
    assert reply.status_code == 302, reply.get_data(as_text=True)[:2000]
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def _ids(app, **filters) -> list[int]:
    with app.app_context():
        query = select(Response.id).filter_by(**filters).order_by(Response.id)
        return db.session.scalars(query).all()


def test_every_route_that_changes_answers_keeps_the_counts_equal_to_a_recount(
    app,
    world,  # noqa: F811
    staff,  # noqa: F811
    clock,  # noqa: F811
    runner,
):
    # The resident form, then the same phone's replacement (5 becomes 2).
    phone_client = app.test_client()
    answer(phone_client, world.liandu.token, overall="5")
    answer(phone_client, world.liandu.token, overall="2")
    assert len(_ids(app)) == 1
    # The API.
    api = app.test_client()
    nonce = api.get(f"/api/v1/sites/{world.qingtian.token}").get_json()["nonce"]
    payload = {"answers": {"overall": 4}, "nonce": nonce}
    reply = api.post(f"/api/v1/sites/{world.qingtian.token}/responses", json=payload)
    assert reply.status_code == 201
    # A phone call, a proxy's answer.
    county = staff("liandu")
    rows = [(f"张{i}", phone(i), world.liandu2.token, "") for i in range(6)]
    assert import_roster(county, world.project_id, roster_csv(rows)).status_code == 302
    draw = {"mode": "count", "size": "2"}
    batch = _located(post(county, f"/checks/projects/{world.project_id}/samples", draw))
    with app.app_context():
        task = db.session.scalars(select(CallTask.id).filter_by(batch_id=batch)).first()
    data = {"outcome": "proxy", "q.overall": "1", "q.attitude": "1"}
    assert post(county, f"/checks/tasks/{task}/attempts", data).status_code == 302
    # Interviews during two visits, one visit deleted with its interview.
    kept = _located(record_visit(county, world.liandu2))
    gone = _located(record_visit(county, world.liandu))
    for visit in (kept, gone):
        assert post(county, f"/checks/visits/{visit}/interviews", INTERVIEW).status_code == 302
    assert post(county, f"/checks/visits/{gone}/delete").status_code == 302
    assert len(_ids(app, channel="visit")) == 1
    # A bulk import, at 01:00 local time on the first of a month.
    with app.app_context(), write_transaction(db.session):
        version = db.session.get(Site, world.liandu.id).project.questionnaire.current_version
        at = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)
        rows = [
            {"site_id": world.liandu.id, "version_id": version.id, "channel": "qr", "overall": 5}
            | {"created_at": at},
            {"site_id": world.qingtian.id, "version_id": version.id, "channel": "phone"}
            | {"overall": 3, "created_at": at, "proxy": True},
        ]
        answers_store.import_responses(db.session, rows)
    # Answers flagged as stuffing; one restored, one confirmed, one restored then confirmed.
    app.config["STUFFING_CHECKS"] = True
    bot = app.test_client(use_cookies=False)
    bot.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for level in ("5", "4", "3"):
        answer(bot, world.liandu2.token, overall=level)
    first, second, third = _ids(app, flag="pending")
    city, url = staff("lishui"), f"/dashboard/projects/{world.project_id}/flagged"
    for decision, ids in (("restore", [first, third]), ("confirm", [second]), ("confirm", [third])):
        reply = post(city, url, {"decision": decision, "id": [str(i) for i in ids]}, page=url)
        assert reply.status_code == 302
    assert _ids(app, flag="restored") == [first]
    # The demo's answers.
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    with app.app_context():
        counted = raw_counts(db.session)
        assert rolled_counts(db.session) == counted
        assert sum(n for (grain, *_), n in counted.items() if grain == "all") > 1000
        channels = {key[3] for key in counted if key[1] in (world.liandu.id, world.liandu2.id)}
        assert channels == {"qr", "phone", "visit"}


def test_an_answer_written_past_the_store_is_refused(app, make_site):
    site = make_site()
    with app.app_context():
        version = db.session.get(Site, site.id).project.questionnaire.current_version
        loose = Response(site_id=site.id, version_id=version.id, channel="qr", overall=5)
        with pytest.raises(answers_store.UncountedAnswer):
            with write_transaction(db.session):
                db.session.add(loose)
        with write_transaction(db.session):
            answers_store.add_all(db.session, [loose])
        with pytest.raises(answers_store.UncountedAnswer):
            with write_transaction(db.session):
                db.session.get(Response, loose.id).overall = 1
        with pytest.raises(answers_store.UncountedAnswer):
            with write_transaction(db.session):
                db.session.execute(db.delete(Response))
        assert rolled_counts(db.session) == raw_counts(db.session) != {}


def test_answers_count_on_the_local_day_of_the_configured_time_zone(make_site, database_url):
    site = make_site()
    at = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)  # 1 June 01:00 in Shanghai
    for zone, day in (("Asia/Shanghai", date(2026, 6, 1)), ("UTC", date(2026, 5, 31))):
        app = create_app(app_settings(database_url) | {"TIMEZONE": zone})
        with app.app_context():
            version = db.session.get(Site, site.id).project.questionnaire.current_version
            row = {"site_id": site.id, "version_id": version.id, "channel": "qr", "overall": 5}
            with write_transaction(db.session):
                answers_store.import_responses(db.session, [row | {"created_at": at}])
            cells = select(ResponseRollup.day).where(
                ResponseRollup.grain == "day", ResponseRollup.count_5 > 0
            )
            assert day in db.session.scalars(cells).all()
            with write_transaction(db.session):  # the zone changed since the last import
                answers_store.recount(db.session)
            assert set(db.session.scalars(cells)) == {day}
            assert rolled_counts(db.session) == raw_counts(db.session)
            db.session.remove()
            db.engine.dispose()


def test_on_sqlite_new_answers_are_counted_behind_and_every_reader_sees_them(
    app, client, make_site
):
    """The resident's transaction writes no cell on SQLite; the next reader counts it first.
    A deleted newest answer gives its id to the next one, which is still counted."""
    site = make_site()
    with app.app_context():
        on_sqlite = db.engine.dialect.name == "sqlite"
        cells_before = db.session.scalar(select(db.func.count()).select_from(ResponseRollup))
    answer(client, site.token, overall="5")
    with app.app_context():
        cells = db.session.scalar(select(db.func.count()).select_from(ResponseRollup))
        assert cells == cells_before if on_sqlite else cells > cells_before
        assert rolled_counts(db.session) == raw_counts(db.session) != {}  # rolled up first
        newest = db.session.scalars(select(Response).order_by(Response.id.desc())).first()
        with write_transaction(db.session):
            answers_store.remove(db.session, [newest])
        assert rolled_counts(db.session) == raw_counts(db.session)
    answer(client, site.token, overall="2")  # a phone of its own: a new answer, its id again
    with app.app_context():
        if on_sqlite:
            assert db.session.scalar(select(db.func.max(Response.id))) == newest.id
        assert rolled_counts(db.session) == raw_counts(db.session) != {}


def test_a_backlog_is_counted_in_turns_of_a_few_ids(app, client, make_site, monkeypatch):
    """A reader counts a long backlog ROLL_BATCH ids per write transaction, never in one
    long hold of the write lock, and misses none."""
    monkeypatch.setattr(answers_store, "ROLL_BATCH", 2)
    site = make_site()
    for level in ("5", "4", "3", "2", "1"):
        resident = app.test_client()  # a phone of its own each
        assert answer(resident, site.token, overall=level).status_code == 303
    with app.app_context():
        assert rolled_counts(db.session) == raw_counts(db.session) != {}
