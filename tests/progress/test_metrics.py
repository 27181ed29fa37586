"""Time progress (month / 12 × 100 %) and average progress, checked against values worked out
by hand for the demo's 丽水 project (2022, 20 sites; docs/METRICS.md 进度) on three days,
and the warnings they give."""

from datetime import date

import pytest

from survey.db import db
from survey.progress.metrics import project_progress, time_progress
from survey.progress.services import milestones_of
from survey.regions.scope import EVERYTHING
from survey.sites.models import Project


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2021, 12, 31), 0.0),
        (date(2022, 1, 1), 100 / 12),
        (date(2022, 6, 30), 50.0),
        (date(2022, 9, 26), 75.0),
        (date(2022, 12, 31), 100.0),
        (date(2023, 1, 1), 100.0),
    ],
)
def test_time_progress_is_the_month_over_twelve_within_the_projects_year(day, expected):
    assert time_progress(2022, day) == pytest.approx(expected)


def _lishui(app, day: date):
    project = db.session.scalars(db.select(Project).filter_by(year=2022)).one()
    return project_progress(
        db.session, project, milestones_of(db.session, project), day, EVERYTHING
    )


def _averages(progress) -> dict[str, float]:
    return {c.region.name: c.average for c in progress.counties}


def test_the_demos_averages_and_warnings_on_three_days(app, runner):
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    with app.app_context():
        # 15 March: nothing confirmed yet (the first on 20 April); time progress 3/12.
        march = _lishui(app, date(2022, 3, 15))
        assert march.time_progress == pytest.approx(25.0)
        assert march.average == 0.0 and len(march.counties) == 10
        assert all(c.warnings == ["平均进度 0.0% 低于时间进度 25.0%"] for c in march.counties)

        # 1 June: 40 % everywhere (25 May) but 莲都区's second site, still at 20 % (its 40 %
        # comes on 15 June) and past the 40 % planned for 30 May: (18 × 40 + 40 + 20) / 20.
        june = _lishui(app, date(2022, 6, 1))
        assert june.time_progress == pytest.approx(50.0)
        assert june.average == pytest.approx(39.0)
        averages = _averages(june)
        assert averages["莲都区"] == pytest.approx(30.0) and averages["青田县"] == 40.0
        liandu = next(c for c in june.counties if c.region.name == "莲都区")
        assert [s.percent for s in liandu.sites] == [40, 20]
        assert liandu.behind_sites[0].missed.percent == 40
        assert liandu.warnings == [
            "平均进度 30.0% 低于时间进度 50.0%",
            "1 个点位超过计划时间未达到进度",
        ]

        # 26 September: 80 % everywhere (20 September); 莲都区 100 % and 40 %, below 75 %:
        # (18 × 80 + 100 + 40) / 20.
        september = _lishui(app, date(2022, 9, 26))
        assert september.time_progress == pytest.approx(75.0)
        assert september.average == pytest.approx(79.0)
        assert _averages(september)["莲都区"] == pytest.approx(70.0)
        assert [c.region.name for c in september.warned] == ["莲都区"]
        assert next(c for c in september.counties if c.region.name == "莲都区").warnings == [
            "平均进度 70.0% 低于时间进度 75.0%"
        ]
