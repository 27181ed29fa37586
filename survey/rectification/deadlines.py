"""A case's deadlines: working days after a day, by the project's rules, on the working-day
calendar (survey.rectification.workdays), noting the years counted Monday–Friday."""

from datetime import date

from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.rectification.models import DEFAULT_DAYS, Case, RectificationRules
from survey.rectification.workdays import WorkCalendar
from survey.sites.models import Project


def rules_of(session: Session, project_id: int) -> dict[str, int]:
    """The project's deadlines in working days (DEFAULT_DAYS where it sets none)."""
    rules = session.get(RectificationRules, project_id)
    if rules is None:
        return dict(DEFAULT_DAYS)
    return {name: getattr(rules, name) for name in DEFAULT_DAYS}


def _after(case: Case, calendar: WorkCalendar, start: date, days: int) -> date:
    deadline = calendar.add_working_days(start, days)
    case.assumed_years = sorted(set(case.assumed_years) | set(deadline.assumed_years))
    return deadline.due


def set_opening_deadlines(case: Case, calendar: WorkCalendar, rules: dict) -> None:
    """核实 and 整改 deadlines, counted from the day the first answer arrived."""
    case.verify_due = _after(case, calendar, case.arrived_on, rules["verify_days"])
    days = rules["complex_days"] if case.complex else rules["rectify_days"]
    case.rectify_due = _after(case, calendar, case.arrived_on, days)


def set_followup_deadline(case: Case, calendar: WorkCalendar, rules: dict, done: date) -> None:
    """回访 deadline, counted from the day 整改 was done."""
    case.followup_due = _after(case, calendar, done, rules["followup_days"])


#: The deadlines still ahead of a case at each step an appeal may return it to.
AHEAD = {"verifying": ("verify_due", "rectify_due"), "rectifying": ("rectify_due",)}


def extend_by_appeal(case: Case, calendar: WorkCalendar, appealed: date, decided: date) -> int:
    """Move the deadlines still ahead of the case (back at its step) on by the working days
    its 申诉 took, from the day after it was made to the day it was decided: the county is
    not charged for the city's time. Returns those days."""
    days = calendar.working_days_between(appealed, decided).count
    if days:
        for column in AHEAD[case.state]:
            setattr(case, column, _after(case, calendar, getattr(case, column), days))
    return days


def save_rules(session: Session, actor: Actor, project: Project, values: dict) -> None:
    """Set the project's deadlines (working days, DEFAULT_DAYS' keys); audited. Cases
    already open keep the deadlines they were given."""
    rules = session.get(RectificationRules, project.id) or RectificationRules(project_id=project.id)
    for name in DEFAULT_DAYS:
        setattr(rules, name, values[name])
    session.add(rules)
    days = "，".join(f"{values[name]}" for name in DEFAULT_DAYS)
    record(
        session,
        "rectification_rules_saved",
        actor,
        f"{project.name}：核实/整改/复杂/回访 {days} 个工作日",
    )
