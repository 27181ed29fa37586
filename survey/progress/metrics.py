"""Progress against time progress (docs/METRICS.md, 进度): a site's progress is its highest
milestone the city confirmed by a day; a county's and a project's average progress count
every site they must build; 进度预警 when a county's average is below time progress or a
site is past a milestone's planned date without it."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.progress.models import Milestone, MilestoneRecord
from survey.regions.models import Region
from survey.regions.scope import Scope
from survey.responses.rollups import local_day
from survey.sites.models import Project, ProjectTarget, Site


def time_progress(year: int, day: date) -> float:
    """Time progress of a project of ``year`` on ``day``, in percent: month number / 12 ×
    100 (seed 000 §二); 0 before its year, 100 after it."""
    if day.year < year:
        return 0.0
    if day.year > year:
        return 100.0
    return day.month / 12 * 100


@dataclass
class SiteProgress:
    site: Site
    #: The highest milestone confirmed by the day (0: none).
    percent: int = 0
    #: The local day that milestone was confirmed.
    confirmed_on: date | None = None
    #: The earliest milestone past its planned date and not reached, if any.
    missed: Milestone | None = None
    #: The next milestone to reach (None once the last is reached).
    next: Milestone | None = None

    @property
    def behind(self) -> bool:
        return self.missed is not None

    @property
    def next_percent(self) -> int | None:
        return self.next.percent if self.next else None

    @property
    def next_planned_on(self) -> date | None:
        return self.next.planned_on if self.next else None

    @property
    def missed_planned_on(self) -> date | None:
        return self.missed.planned_on if self.missed else None


@dataclass
class CountyProgress:
    region: Region
    #: Sites the county must build (its target), or its sites when it has more.
    counted: int
    sites: list[SiteProgress] = field(default_factory=list)
    time_progress: float = 0.0

    @property
    def total(self) -> int:
        return sum(s.percent for s in self.sites)

    @property
    def average(self) -> float | None:
        """Average progress in percent: every site it must build counts, those not yet
        entered at 0. None when it must build none."""
        return self.total / self.counted if self.counted else None

    @property
    def behind_sites(self) -> list[SiteProgress]:
        return [s for s in self.sites if s.behind]

    @property
    def below_time(self) -> bool:
        return self.average is not None and self.average < self.time_progress

    @property
    def warnings(self) -> list[str]:
        """The county's 进度预警, as the pages say them (none: on schedule)."""
        found = []
        if self.below_time:
            found.append(
                f"平均进度 {percent_text(self.average)} 低于时间进度 "
                f"{percent_text(self.time_progress)}"
            )
        if self.behind_sites:
            found.append(f"{len(self.behind_sites)} 个点位超过计划时间未达到进度")
        return found


@dataclass
class ProjectProgress:
    project: Project
    day: date
    time_progress: float
    milestones: list[Milestone]
    counties: list[CountyProgress]

    @property
    def counted(self) -> int:
        return sum(c.counted for c in self.counties)

    @property
    def average(self) -> float | None:
        """The project's average progress over the counties shown (every site counted)."""
        counted = self.counted
        return sum(c.total for c in self.counties) / counted if counted else None

    @property
    def warned(self) -> list[CountyProgress]:
        return [c for c in self.counties if c.warnings]

    @property
    def regions(self) -> list[Region]:
        return [c.region for c in self.counties]

    @property
    def sites(self) -> list[SiteProgress]:
        return [s for c in self.counties for s in c.sites]


def percent_text(value: float | None) -> str:
    """``83.3%``; 「—」 for nothing to count."""
    return "—" if value is None else f"{value:.1f}%"


def confirmed_by(session: Session, project_id: int, day: date) -> dict[int, tuple[int, date]]:
    """Each site's highest milestone confirmed by the end of ``day`` (local): site id →
    (percent, the day it was confirmed)."""
    query = select(
        MilestoneRecord.site_id, MilestoneRecord.percent, MilestoneRecord.decided_at
    ).where(MilestoneRecord.project_id == project_id, MilestoneRecord.state == "confirmed")
    best: dict[int, tuple[int, date]] = {}
    for site_id, percent, decided_at in session.execute(query):
        on = local_day(decided_at)
        if on <= day and percent > best.get(site_id, (0, None))[0]:
            best[site_id] = (percent, on)
    return best


def _site_progress(site: Site, reached, milestones: list[Milestone], day: date) -> SiteProgress:
    percent, on = reached.get(site.id, (0, None))
    ahead = [m for m in milestones if m.percent > percent]
    missed = next((m for m in ahead if m.planned_on < day), None)
    return SiteProgress(site, percent, on, missed, ahead[0] if ahead else None)


def project_progress(
    session: Session, project: Project, milestones: list[Milestone], day: date, scope: Scope
) -> ProjectProgress:
    """The project's progress on ``day`` per county in ``scope``: each active site's
    milestone, the counties' averages against time progress, and their warnings."""
    now = time_progress(project.year, day)
    reached = confirmed_by(session, project.id, day)
    sites = session.scalars(
        select(Site)
        .where(Site.project_id == project.id, Site.active, scope.where(Site.region_id))
        .order_by(Site.region_id, Site.id)
    )
    by_county: dict[int, list[SiteProgress]] = defaultdict(list)
    for site in sites:
        by_county[site.region_id].append(_site_progress(site, reached, milestones, day))
    targets = {
        t.region_id: t.site_count
        for t in session.scalars(
            select(ProjectTarget).where(ProjectTarget.project_id == project.id)
        )
        if scope.covers(t.region_id)
    }
    counties = []
    regions = session.scalars(select(Region).where(Region.id.in_(set(targets) | set(by_county))))
    for region in sorted(regions, key=lambda r: r.id):
        shown = by_county.get(region.id, [])
        counted = max(targets.get(region.id, 0), len(shown))
        counties.append(CountyProgress(region, counted, shown, now))
    return ProjectProgress(project, day, now, milestones, counties)
