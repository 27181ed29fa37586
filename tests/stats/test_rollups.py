"""Rollups always equal the counts of the raw responses, whatever happens to them."""

from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from survey.accounts.models import User
from survey.accounts.services import Actor
from survey.checks.models import Visit
from survey.checks.visits import add_interview, delete_visit, record_visit
from survey.db import db, write_transaction
from survey.regions.scope import EVERYTHING
from survey.responses import answers_store, rollups
from survey.responses.models import Answer, FormNonce, Response
from survey.responses.rollup_models import ResponseRollup, RollupWatermark
from survey.responses.services import Origin, submit_response
from survey.sites.models import Site
from survey.stats import flagged
from survey.stats.flagged import ReviewFilter
from survey.stats.summaries import Filters
from tests.helpers import raw_counts, rolled_counts

#: One step: ("answer", site index, device or None, level, flagged as stuffing) or
#: ("visit", site index, levels) or ("delete visit", index among the visits so far) or
#: ("review", index among the answers so far, decision) or ("read",): a reader of the
#: rollups, which counts the answers behind (on SQLite) before the steps that follow.
STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("answer"),
            st.integers(0, 1),
            st.one_of(st.none(), st.sampled_from(["d1", "d2"])),
            st.integers(1, 5),
            st.booleans(),
        ),
        st.tuples(st.just("visit"), st.integers(0, 1), st.lists(st.integers(1, 5), max_size=3)),
        st.tuples(st.just("delete visit"), st.integers(0, 5)),
        st.tuples(st.just("review"), st.integers(0, 9), st.sampled_from(["restore", "confirm"])),
        st.tuples(st.just("read")),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_rollups_equal_the_raw_counts_after_any_inserts_updates_and_deletions(
    app, make_site, make_user, steps
):
    with app.app_context():
        # Emptied past answers_store, on a bare connection, as a test's fresh start.
        with db.engine.begin() as connection:
            for model in (FormNonce, Answer, ResponseRollup, RollupWatermark, Response, Visit):
                connection.execute(delete(model))
        fresh = db.session.scalar(select(User.id)) is None
    if fresh:
        make_user("liandu", "county")
        make_site("紫金街道康养联合体")
        make_site("岩泉街道康养联合体")
    with app.app_context():
        session = db.session
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        user = session.scalars(select(User)).first()
        actor = Actor(user, "")
        questions = sites[0].project.questionnaire.current_version.questions
        visits = []
        with write_transaction(session):
            for step in steps:
                if step[0] == "answer":
                    _, site, device, level, suspect = step
                    submit_response(
                        session,
                        sites[site].id,
                        questions[0].version_id,
                        questions,
                        channel="qr",
                        answers={"overall": level},
                        origin=Origin(
                            device_id=device,
                            device_window=timedelta(hours=12),
                            flag_reasons=("burst",) if suspect else (),
                        ),
                    )
                elif step[0] == "review":
                    _, index, decision = step
                    answered = session.scalars(select(Response.id).order_by(Response.id)).all()
                    if answered:
                        flagged.review(
                            session,
                            EVERYTHING,
                            sites[0].project_id,
                            [answered[index % len(answered)]],
                            decision,
                            actor=actor,
                            filters=Filters(),
                            wanted=ReviewFilter(),
                        )
                elif step[0] == "read":
                    answers_store.rolled_up(session)
                elif step[0] == "visit":
                    _, site, levels = step
                    entry = {"visited_on": date(2026, 11, 20), "inspectors": "甲", "findings": ""}
                    visit = record_visit(session, sites[site], actor, entry, photos=[])
                    for level in levels:
                        add_interview(session, actor, visit, questions, {"overall": level})
                    visits.append(visit)
                elif visits:
                    visit = visits.pop(step[1] % len(visits))
                    session.refresh(visit)
                    delete_visit(session, actor, visit)
                session.flush()
        assert rolled_counts(session) == raw_counts(session)
        with write_transaction(session):
            answers_store.recount(session)
        assert rolled_counts(session) == raw_counts(session)


def test_the_rebuild_command_repairs_damaged_counts(app, runner, make_site, client):
    from tests.helpers import answer

    site = make_site()
    answer(client, site.token, overall="4")
    with app.app_context(), write_transaction(db.session):
        db.session.execute(delete(ResponseRollup))
    result = runner.invoke(args=["rebuild-rollups"])
    assert result.exit_code == 0 and "1 条" in result.output
    with app.app_context():
        assert rolled_counts(db.session) == raw_counts(db.session) != Counter()


def test_the_bulk_path_stores_answers_and_counts_together(app, make_site):
    from datetime import UTC, datetime

    site = make_site()
    with app.app_context():
        version = db.session.get(Site, site.id).project.questionnaire.current_version
        at = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)  # 1 June, 01:00 in Shanghai
        rows = [
            {
                "site_id": site.id,
                "version_id": version.id,
                "channel": ch,
                "overall": level,
                "created_at": at,
            }
            for ch, level in [("qr", 5), ("qr", 5), ("phone", 2)]
        ]
        with write_transaction(db.session):
            assert answers_store.import_responses(db.session, rows) == 3
        assert rolled_counts(db.session) == raw_counts(db.session)
        days = {key[2] for key in rolled_counts(db.session) if key[0] == "day"}
        assert days == {date(2026, 6, 1)}
        assert db.session.scalar(select(db.func.count()).select_from(Answer)) == 3


DAYS = st.dates(min_value=date(2025, 11, 1), max_value=date(2027, 2, 28))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answered=st.lists(DAYS, max_size=30),
    low=st.one_of(st.none(), DAYS),
    high=st.one_of(st.none(), DAYS),
)
def test_a_date_range_counts_each_answer_once_from_the_coarsest_cells(
    app, make_site, answered, low, high
):
    with app.app_context():
        with write_transaction(db.session):
            db.session.execute(delete(ResponseRollup))
        site_id = db.session.scalar(select(Site.id))
    site_id = site_id or make_site().id
    cells = Counter()
    for day in answered:
        rollups.cells_of(site_id, day, "qr", False, 5, cells)
    with app.app_context(), write_transaction(db.session):  # emptied by the next example
        answers_store._add_counts(db.session.connection(), cells)
        query = select(db.func.coalesce(db.func.sum(ResponseRollup.count_5), 0)).where(
            rollups.period(low, high)
        )
        got = db.session.scalar(query)
    expected = sum(1 for d in answered if (low is None or d >= low) and (high is None or d <= high))
    assert got == expected
