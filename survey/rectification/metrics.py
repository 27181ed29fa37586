"""What the bureau is judged by in 整改 (docs/METRICS.md, "整改"): per county or site of a
project, the bad ratings, cases, 整改率, 按期整改率, cases overdue, 回访满意率 and upheld
appeals, over the cases whose first bad answer arrived within the dashboard's dates."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from survey.rectification.models import Case
from survey.regions.scope import Scope
from survey.sites.models import Project


def shown_share(value: float | None) -> str:
    """A 整改 rate as pages and the PDF show it: 「95.0%」, or 「—」 with nothing to count."""
    return "—" if value is None else f"{value * 100:.1f}%"


@dataclass
class CaseCounts:
    """One county's or site's (or the project's) cases, as counted for the rates."""

    name: str
    bad_answers: int = 0
    cases: int = 0
    #: Cases whose 整改 is done, and of them those done by their deadline.
    rectified: int = 0
    on_time: int = 0
    overdue: int = 0
    #: Overdue and still open: the dashboard's alert.
    overdue_open: int = 0
    #: Cases whose resident was reached on 回访, and of them those satisfied (the project's
    #: ``satisfied_from`` or better, as for every rate).
    followed_up: int = 0
    satisfied: int = 0
    #: Bad answers left out by an upheld 申诉, and the cases that closed so (all of theirs).
    appeals_upheld: int = 0
    closed_by_appeal: int = 0
    #: The same per county or per site (case_counts' ``by``), by name.
    groups: list = field(default_factory=list)

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def rectified_rate(self) -> float | None:
        """整改率: rectified cases of the cases to rectify (an upheld appeal's are not)."""
        return self._share(self.rectified, self.cases - self.closed_by_appeal)

    @property
    def on_time_rate(self) -> float | None:
        """按期整改率: rectified by the deadline, of the rectified."""
        return self._share(self.on_time, self.rectified)

    @property
    def followup_rate(self) -> float | None:
        """回访满意率: satisfied on 回访, of those reached."""
        return self._share(self.satisfied, self.followed_up)

    def add(self, case: Case, satisfied_from: int) -> None:
        self.cases += 1
        self.bad_answers += len(case.answers)
        rectified = next((s for s in case.steps if s.kind == "rectified"), None)
        if rectified is not None:
            self.rectified += 1
            self.on_time += not rectified.late
        self.overdue += case.overdue
        self.overdue_open += case.overdue and case.is_open
        if case.followup_score is not None:
            self.followed_up += 1
            self.satisfied += case.followup_score >= satisfied_from
        self.appeals_upheld += sum(link.excluded for link in case.answers)
        self.closed_by_appeal += case.outcome == "appeal_upheld"


#: What case_counts may group by → the name of a case's group.
GROUP_NAMES = {"county": lambda case: case.region.name, "site": lambda case: case.site.name}


def case_counts(
    session: Session,
    scope: Scope,
    project: Project,
    first: date | None,
    last: date | None,
    *,
    by: str = "county",
    county_id: int | None = None,
    site_id: int | None = None,
) -> CaseCounts:
    """The project's counts in scope (its ``groups`` the same per county or per site, as
    ``by`` says, by name), over the cases whose first bad answer arrived from ``first`` to
    ``last`` (either open), of one county or one site when given."""
    query = (
        select(Case)
        .where(Case.project_id == project.id, scope.where(Case.region_id))
        .options(
            selectinload(Case.steps),
            selectinload(Case.answers),
            joinedload(Case.region),
            joinedload(Case.site),
        )
    )
    if first:
        query = query.where(Case.arrived_on >= first)
    if last:
        query = query.where(Case.arrived_on <= last)
    if county_id:
        query = query.where(Case.region_id == county_id)
    if site_id:
        query = query.where(Case.site_id == site_id)
    name_of = GROUP_NAMES[by]
    total = CaseCounts(project.name)
    groups: dict[str, CaseCounts] = {}
    for case in session.scalars(query):
        total.add(case, project.satisfied_from)
        name = name_of(case)
        groups.setdefault(name, CaseCounts(name)).add(case, project.satisfied_from)
    total.groups = sorted(groups.values(), key=lambda c: c.name)
    return total
