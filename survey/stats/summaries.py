"""Satisfaction per project, county, site and month, read from the rollups (docs/METRICS.md).

Every function takes the reader's Scope: a county user's summaries hold their county only.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from survey.accounts.scope import Scope
from survey.sites.models import Project, Region, Site
from survey.stats.metrics import POINTS_PER_LEVEL, Rate, significantly_higher
from survey.stats.models import LEVELS, ResponseRollup
from survey.stats.rollups import EARLIEST, period

CHANNELS = {"qr": "扫码评价", "phone": "电话抽查", "visit": "现场暗访"}
#: A site under this combined rate (with enough answers) raises an alert.
LOW_RATE = 0.9


@dataclass(frozen=True)
class Filters:
    """What a dashboard view is limited to; every field optional."""

    date_from: date | None = None
    date_to: date | None = None
    county_id: int | None = None
    channel: str | None = None


@dataclass(slots=True)
class Summary:
    """One row of a summary: a project, county or site with its rates."""

    key: int
    name: str
    channels: dict[str, Rate]
    combined: Rate
    proxy: int = 0
    parent: str = ""
    discrepancy: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def low(self) -> bool:
        return self.combined.enough and self.combined.value < LOW_RATE


def _site_ids(scope: Scope, project_ids, filters: Filters):
    """The ids of the projects' sites within scope (and the filtered county) as a subquery;
    a rollup read seeks each site's cells by it (the key after the grain)."""
    query = select(Site.id).where(
        Site.project_id.in_(list(project_ids)), scope.where(Site.region_id)
    )
    if filters.county_id:
        query = query.where(Site.region_id == filters.county_id)
    return query


def _sums(satisfied_from: int):
    """Summed over cells: answers, satisfied answers and the sum of their levels (proxy
    answers left out of all three), and the proxy answers apart."""
    cell = ResponseRollup
    counts = {level: cell.level_count(level) for level in LEVELS}
    answers = sum(counts.values())
    satisfied = sum(n for level, n in counts.items() if level >= satisfied_from)
    level_sum = sum(level * n for level, n in counts.items())
    return (
        func.sum(case((cell.proxy, 0), else_=answers)),
        func.sum(case((cell.proxy, 0), else_=satisfied)),
        func.sum(case((cell.proxy, 0), else_=level_sum)),
        func.sum(case((cell.proxy, answers), else_=0)),
    )


def _totals(
    session: Session, scope: Scope, project_ids, group: str, filters: Filters, satisfied_from
) -> list[tuple]:
    """(group key, channel, n, satisfied, level sum, proxy answers) over the rollups of the
    projects' sites in scope, from the coarsest cells that cover the filters' dates
    (``rollups.period``). Summed in SQL: the database adds the cells up faster than Python
    can read them (at 1M answers a project has ~30,000 all-time cells, ~6,000 totals)."""
    cell = ResponseRollup
    keys = {"project": Site.project_id, "county": Site.region_id, "site": cell.site_id}
    key = keys[group]
    query = (
        select(key, cell.channel, *_sums(satisfied_from))
        .where(
            cell.site_id.in_(_site_ids(scope, project_ids, filters)),
            period(filters.date_from, filters.date_to),
        )
        .group_by(key, cell.channel)
    )
    if group != "site":
        query = query.join(Site, cell.site_id == Site.id)
    if filters.channel:
        query = query.where(cell.channel == filters.channel)
    return session.execute(query).all()


@dataclass
class _Tally:
    """Totals per (key, channel) as [n, satisfied, level sum], and proxy answers per key."""

    counts: dict = field(default_factory=dict)
    proxies: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, totals, group_of=None) -> "_Tally":
        """Add ``_totals`` rows; ``group_of`` maps their keys to the keys to count them
        under (sites → counties)."""
        counts, proxies = self.counts, self.proxies
        for key, channel, n, satisfied, level_sum, proxy in totals:
            key = group_of[key] if group_of else key
            proxies[key] += proxy
            sums = counts.get((key, channel))
            if sums is None:
                counts[(key, channel)] = [n, satisfied, level_sum]
            else:
                sums[0] += n
                sums[1] += satisfied
                sums[2] += level_sum
        return self


_NONE = (0, 0, 0)


def _summaries(tally: _Tally, names: dict[int, tuple[str, str]]) -> list[Summary]:
    """Summaries of every key in ``names`` (empty ones too)."""
    counts, proxies = tally.counts, tally.proxies
    rows = []
    for key, (name, parent) in names.items():
        by_channel, n, satisfied, level_sum = {}, 0, 0, 0
        for channel in CHANNELS:
            sums = counts.get((key, channel), _NONE)
            by_channel[channel] = Rate(sums[0], sums[1], POINTS_PER_LEVEL * sums[2])
            n, satisfied, level_sum = n + sums[0], satisfied + sums[1], level_sum + sums[2]
        combined = Rate(n, satisfied, POINTS_PER_LEVEL * level_sum)
        summary = Summary(key, name, by_channel, combined, proxies.get(key, 0), parent)
        summary.discrepancy = significantly_higher(by_channel["qr"], by_channel["phone"])
        rows.append(summary)
    return rows


def project_overview(
    session: Session, scope: Scope, projects: list[Project], filters: Filters
) -> list[Summary]:
    """One summary per project, in the given order."""
    rows = []
    for project in projects:  # one read each: projects count "satisfied" from their own level
        totals = _totals(session, scope, [project.id], "project", filters, project.satisfied_from)
        names = {project.id: (project.name, str(project.year))}
        rows += _summaries(_Tally().add(totals), names)
    return rows


@dataclass
class ProjectView:
    """A project's sites and counties within scope, from one read of the rollups."""

    sites: list[Summary]
    counties: list[Summary]


def _site_names(
    session: Session, scope: Scope, project: Project, filters: Filters
) -> tuple[dict[int, tuple[str, str]], dict[int, int]]:
    """The project's sites within scope: {id: (name, county name)} and {id: county id}."""
    query = (
        select(Site.id, Site.name, Site.region_id, Region.name)
        .join(Region, Site.region_id == Region.id)
        .where(Site.id.in_(_site_ids(scope, [project.id], filters)))
    )
    names, county_of = {}, {}
    for site_id, name, region_id, county in session.execute(query):
        names[site_id] = (name, county)
        county_of[site_id] = region_id
    return names, county_of


def _county_rows(
    session: Session, scope: Scope, project: Project, filters: Filters, tally: _Tally
) -> list[Summary]:
    """The project's counties within scope, ranked, each with its target site count and
    how many sites it has; counties with a target but no site yet included."""
    query = (
        select(Region.id, Region.name, func.count(Site.id))
        .join(Site, Site.region_id == Region.id)
        .where(Site.id.in_(_site_ids(scope, [project.id], filters)))
        .group_by(Region.id, Region.name)
    )
    built = {region_id: (name, n) for region_id, name, n in session.execute(query)}
    targets = {t.region_id: t.site_count for t in project.targets}
    missing = [r for r in targets if r not in built and scope.covers(r)]
    if missing and not filters.county_id:
        for region in session.scalars(select(Region).where(Region.id.in_(missing))):
            built[region.id] = (region.name, 0)
    names = {region_id: (name, "") for region_id, (name, _) in sorted(built.items())}
    rows = _summaries(tally, names)
    for row in rows:
        row.extra = {"target": targets.get(row.key, 0), "sites": built[row.key][1]}
    return sorted(rows, key=_rank)


def project_view(session: Session, scope: Scope, project: Project, filters: Filters) -> ProjectView:
    """Sites and counties of a project, ranked (样本不足 last), from one read of the site
    totals; counties carry their target site count and how many sites they have."""
    names, county_of = _site_names(session, scope, project, filters)
    totals = _totals(session, scope, [project.id], "site", filters, project.satisfied_from)
    site_rows = _summaries(_Tally().add(totals), names)
    counties = _county_rows(session, scope, project, filters, _Tally().add(totals, county_of))
    return ProjectView(sorted(site_rows, key=_rank), counties)


def by_county(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's counties within scope, ranked (totals summed by county in SQL)."""
    totals = _totals(session, scope, [project.id], "county", filters, project.satisfied_from)
    return _county_rows(session, scope, project, filters, _Tally().add(totals))


def by_site(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's sites within scope (one county with ``filters.county_id``), ranked."""
    names, _ = _site_names(session, scope, project, filters)
    totals = _totals(session, scope, [project.id], "site", filters, project.satisfied_from)
    return sorted(_summaries(_Tally().add(totals), names), key=_rank)


def _rank(row: Summary):
    value = row.combined.value
    return (value is None, -(value or 0), -row.combined.n, row.name)


def monthly(
    session: Session, scope: Scope, site_ids: list[int], filters: Filters, satisfied_from: int
) -> list[tuple[str, dict[str, Rate], Rate]]:
    """(month "YYYY-MM", rate per channel, combined rate) for the sites, oldest first."""
    cell = ResponseRollup
    query = (
        select(cell.day, cell.channel, *_sums(satisfied_from))
        .join(Site, cell.site_id == Site.id)
        .where(
            cell.site_id.in_(site_ids),
            scope.where(Site.region_id),
            # By month: whole months from the month cells, partial ones from the days.
            period(filters.date_from or EARLIEST, filters.date_to),
        )
        .group_by(cell.day, cell.channel)
    )
    totals = [(f"{day:%Y-%m}", *sums) for day, *sums in session.execute(query)]
    months = sorted({month for month, *_ in totals})
    rows = _summaries(_Tally().add(totals), {month: (month, "") for month in months})
    return [(row.key, row.channels, row.combined) for row in rows]


def distribution(session: Session, scope: Scope, site_id: int, filters: Filters) -> dict:
    """Answers per level (5 … 1) at one site, proxies left out."""
    cell = ResponseRollup
    levels = (5, 4, 3, 2, 1)
    query = (
        select(*(func.coalesce(func.sum(cell.level_count(level)), 0) for level in levels))
        .join(Site, cell.site_id == Site.id)
        .where(
            cell.site_id == site_id,
            scope.where(Site.region_id),
            cell.proxy.is_(False),
            period(filters.date_from, filters.date_to),
        )
    )
    if filters.channel:
        query = query.where(cell.channel == filters.channel)
    return dict(zip(levels, session.execute(query).one(), strict=True))


@dataclass
class Alert:
    kind: str  # low | drop | discrepancy
    scope_name: str  # site or county name
    message: str
    site_id: int | None = None


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(day: date) -> date:
    first = month_start(day)
    return (first - timedelta(days=1)).replace(day=1)


def drops(session: Session, scope: Scope, project: Project, month: date) -> list[Summary]:
    """Sites whose combined rate in ``month`` fell below the month before beyond chance
    (one-sided two-proportion test, both months with enough answers)."""
    start, before = month_start(month), previous_month(month)
    cell = ResponseRollup
    query = (
        select(cell.site_id, cell.day, *_sums(project.satisfied_from)[:3])
        .where(
            cell.grain == "month",
            cell.site_id.in_(_site_ids(scope, [project.id], Filters())),
            cell.day.in_([before, start]),
        )
        .group_by(cell.site_id, cell.day)
    )
    rates = defaultdict(dict)
    for site_id, day, n, satisfied_n, level_sum in session.execute(query):
        rates[site_id][day] = Rate(n, satisfied_n, POINTS_PER_LEVEL * level_sum)
    empty = Rate(0, 0, 0)
    fallen = {
        site_id: (then, now)
        for site_id, by_month in rates.items()
        if significantly_higher(
            then := by_month.get(before, empty), now := by_month.get(start, empty)
        )
    }
    names = dict(session.execute(select(Site.id, Site.name).where(Site.id.in_(fallen))).all())
    rows = [
        Summary(site_id, names[site_id], {}, now, extra={"before": then})
        for site_id, (then, now) in fallen.items()
    ]
    return sorted(rows, key=lambda row: row.name)


def alerts(
    session: Session,
    scope: Scope,
    project: Project,
    filters: Filters,
    month: date,
    view: ProjectView | None = None,
) -> list[Alert]:
    """Everything the bureau should look at in a project: low sites, sites and counties
    whose QR rate is significantly above the phone rate, and month-over-month drops.
    ``view``: the project's rows when the caller has them already."""
    view = view or project_view(session, scope, project, filters)
    found = []
    for row in view.sites:
        if row.low:
            message = f"满意率 {row.combined.value:.1%}（{row.combined.n} 份）"
            found.append(Alert("low", row.name, message, row.key))
        if row.discrepancy:
            found.append(Alert("discrepancy", row.name, _gap(row), row.key))
    for row in view.counties:
        if row.discrepancy:
            found.append(Alert("discrepancy", row.name, _gap(row)))
    for row in drops(session, scope, project, month):
        before = row.extra["before"]
        message = f"{before.value:.1%} → {row.combined.value:.1%}（{month:%Y年%m月}）"
        found.append(Alert("drop", row.name, message, row.key))
    return found


def _gap(row: Summary) -> str:
    qr, phone = row.channels["qr"], row.channels["phone"]
    return f"扫码 {qr.value:.1%}（{qr.n} 份） / 电话抽查 {phone.value:.1%}（{phone.n} 份）"
