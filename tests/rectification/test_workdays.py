"""Working-day deadlines counted the way Chinese offices count them, checked against dates
worked out by hand: the 2026 National Day holiday with its swapped working Sunday and
Saturday (from chinese-calendar), the Spring Festival of 2027 (from a notice an admin
enters), and 2027 without a notice (Monday–Friday, and said so)."""

from datetime import date

import pytest

from survey.db import db
from survey.rectification import holidays
from survey.rectification.workdays import (
    Deadline,
    WorkCalendar,
    WorkingDays,
    assumption_note,
    package_years,
    work_calendar,
)
from tests.helpers import post

PACKAGE = WorkCalendar(package_years())

#: A made-up notice for 2027 (the real one is not out): 元旦 Friday 1 January; 春节 Friday
#: 5 to Thursday 11 February, Sunday 31 January and Saturday 20 February worked instead.
NOTICE_2027 = {
    "year": "2027",
    "days_off": "2027/1/1\n2027-02-05至2027-02-11",
    "workdays": "2027-01-31, 2027/2/20",
    "source": "国务院办公厅关于2027年部分节假日安排的通知",
}


def _calendar(app) -> WorkCalendar:
    with app.app_context():
        return work_calendar(db.session)


def test_the_package_has_the_2026_national_day_holiday_and_its_swapped_days():
    # The test's hand counts rest on these: 1–7 October off, Sunday 20 September and
    # Saturday 10 October worked, Friday 25 September (中秋) off.
    october = [date(2026, 10, d) for d in range(1, 8)]
    assert not any(PACKAGE.is_workday(day) for day in october)
    assert PACKAGE.is_workday(date(2026, 9, 20)) and PACKAGE.is_workday(date(2026, 10, 10))
    assert not PACKAGE.is_workday(date(2026, 9, 25))
    assert not PACKAGE.is_workday(date(2026, 10, 11))  # an ordinary Sunday


@pytest.mark.parametrize(
    ("answered", "days", "due"),
    [
        # Wednesday 30 Sept: 1–7 Oct off, so 核实 (1 day) is due Thursday 8 Oct.
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        # 整改 (5 days): Thu 8 (1), Fri 9 (2), Sat 10 worked (3), Sun 11 off, Mon 12 (4),
        # Tue 13 (5).
        (date(2026, 9, 30), 5, date(2026, 10, 13)),
        # 回访 (2 days after 整改完成 on 30 Sept): Thu 8, Fri 9.
        (date(2026, 9, 30), 2, date(2026, 10, 9)),
        # Friday 9 Oct: the next working day is the swapped working Saturday 10 Oct.
        (date(2026, 10, 9), 1, date(2026, 10, 10)),
        # Friday 18 Sept: Saturday 19 off, Sunday 20 worked.
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        # Thursday 24 Sept: Friday 25 中秋 off, the weekend, Monday 28.
        (date(2026, 9, 24), 1, date(2026, 9, 28)),
        # An answer on a holiday: that day is not counted anyway; Thu 8, Fri 9, Sat 10.
        (date(2026, 10, 3), 3, date(2026, 10, 10)),
        # 复杂 (15 days) from 30 Sept: 8, 9, 10, 12–16 (8), 19–23 (13), 26, 27.
        (date(2026, 9, 30), 15, date(2026, 10, 27)),
    ],
)
def test_deadlines_across_the_2026_national_day_holiday(answered, days, due):
    assert PACKAGE.add_working_days(answered, days) == Deadline(due, ())


def test_working_days_between_counts_as_deadlines_do():
    assert PACKAGE.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == WorkingDays(5, ())
    # Overdue through the holiday week: not one working day.
    assert PACKAGE.working_days_between(date(2026, 9, 30), date(2026, 10, 7)).count == 0
    # Due on the 8th, seen on the 12th: Fri 9, Sat 10 (worked), Mon 12.
    assert PACKAGE.working_days_between(date(2026, 10, 8), date(2026, 10, 12)).count == 3
    # Not yet due, or due today: not overdue.
    assert PACKAGE.working_days_between(date(2026, 10, 13), date(2026, 10, 13)).count == 0
    assert PACKAGE.working_days_between(date(2026, 10, 13), date(2026, 10, 1)).count == 0
    for start in (date(2026, 9, 17), date(2026, 9, 30), date(2026, 10, 9), date(2026, 12, 30)):
        for n in (1, 2, 5, 15):
            due = PACKAGE.add_working_days(start, n).due
            assert PACKAGE.working_days_between(start, due).count == n


def test_a_deadline_is_at_least_one_working_day_away():
    with pytest.raises(ValueError):
        PACKAGE.add_working_days(date(2026, 9, 30), 0)


def test_2027_without_a_notice_is_counted_monday_to_friday_and_says_so():
    # Thursday 4 Feb 2027: Friday 5 counted as a working day, for want of the notice.
    deadline = PACKAGE.add_working_days(date(2027, 2, 4), 1)
    assert deadline == Deadline(date(2027, 2, 5), (2027,))
    assert assumption_note(deadline.assumed_years) == "2027年的放假安排尚未录入，按周一至周五计算"
    # Fri 5, Mon 8 … Thu 11.
    assert PACKAGE.add_working_days(date(2027, 2, 4), 5).due == date(2027, 2, 11)
    # Crossing into 2027 from the last day of 2026: New Year's Day counted too.
    assert PACKAGE.add_working_days(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 1), (2027,))
    # Dec 31 (2026, known), Jan 1, 4, 5 (2027, assumed).
    between = PACKAGE.working_days_between(date(2026, 12, 30), date(2027, 1, 5))
    assert between == WorkingDays(4, (2027,))
    # A deadline inside 2026 assumes nothing; one across two missing years names both.
    assert PACKAGE.add_working_days(date(2026, 12, 1), 5).assumed_years == ()
    across = PACKAGE.working_days_between(date(2026, 12, 1), date(2028, 1, 3))
    assert assumption_note(across.assumed_years) == (
        "2027年、2028年的放假安排尚未录入，按周一至周五计算"
    )
    assert assumption_note(()) == ""


def test_the_2027_spring_festival_from_a_notice_an_admin_entered(app, admin):
    assert post(admin, "/admin/holidays/new", NOTICE_2027).status_code == 302
    calendar = _calendar(app)
    # Thursday 4 Feb: 5–11 Feb off, so 核实 is due Friday 12 Feb, and nothing is assumed.
    assert calendar.add_working_days(date(2027, 2, 4), 1) == Deadline(date(2027, 2, 12), ())
    # 整改: Fri 12 (1), the weekend, Mon 15 … Thu 18 (5).
    assert calendar.add_working_days(date(2027, 2, 4), 5).due == date(2027, 2, 18)
    # 复杂: … Fri 19 (6), Sat 20 worked (7), Mon 22 … Fri 26 (12), Mon 1 … Wed 3 March (15).
    assert calendar.add_working_days(date(2027, 2, 4), 15).due == date(2027, 3, 3)
    # Friday 29 Jan: Saturday 30 off, Sunday 31 worked.
    assert calendar.add_working_days(date(2027, 1, 29), 1).due == date(2027, 1, 31)
    # Thursday 31 Dec 2026: New Year's Day off, the weekend, Monday 4 Jan.
    assert calendar.add_working_days(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 4), ())
    # Dec 31, Jan 4, Jan 5.
    between = calendar.working_days_between(date(2026, 12, 30), date(2027, 1, 5))
    assert between == WorkingDays(3, ())
    # Due Thursday 4 Feb, seen Monday 15 Feb: overdue by Fri 12 and Mon 15.
    assert calendar.working_days_between(date(2027, 2, 4), date(2027, 2, 15)).count == 2


def test_a_notice_for_a_year_the_package_covers_replaces_that_year_whole(app, admin):
    # Say the package had 2026 wrong: only 1–7 October off, no weekend worked.
    notice = {
        "year": "2026",
        "days_off": "2026-10-01至2026-10-07",
        "source": "更正：国务院办公厅关于2026年部分节假日安排的通知",
    }
    assert (
        post(admin, "/admin/holidays/2026", notice, page="/admin/holidays/2026").status_code == 302
    )
    calendar = _calendar(app)
    assert calendar.add_working_days(date(2026, 9, 30), 1).due == date(2026, 10, 8)
    # Saturday 10 Oct is no longer worked: Friday 9 → Monday 12.
    assert calendar.add_working_days(date(2026, 10, 9), 1).due == date(2026, 10, 12)
    # Nor is Sunday 20 Sept; and 中秋 (25 Sept), which the notice leaves out, is worked.
    assert calendar.add_working_days(date(2026, 9, 18), 1).due == date(2026, 9, 21)
    assert calendar.add_working_days(date(2026, 9, 24), 1).due == date(2026, 9, 25)
    # The other years are still the package's.
    assert calendar.add_working_days(date(2025, 9, 30), 1).due == date(2025, 10, 9)


def test_the_holidays_page_says_which_of_this_year_and_the_next_are_missing(app, admin):
    with app.app_context():
        page = holidays.calendar_page(db.session, 2026)
        assert page.missing == "2027年的放假安排尚未录入，按周一至周五计算"
        assert holidays.calendar_page(db.session, 2025).missing == ""
    post(admin, "/admin/holidays/new", NOTICE_2027)
    with app.app_context():
        page = holidays.calendar_page(db.session, 2026)
        assert page.missing == ""
        assert [row.year for row in page.years[:2]] == [2027, 2026]
        assert page.years[0].days_off == "1月1日、2月5日至2月11日"
        assert page.years[0].workdays == "1月31日、2月20日"
        assert page.years[1].from_package and not page.years[0].from_package
