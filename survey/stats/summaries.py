"""Satisfaction per project, county, site and month, read from the rollups (docs/METRICS.md).

Every function takes the reader's Scope: a county user's summaries hold their county only.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select
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


def _sums(satisfied_from: int) -> list:
    """Summed over cells, for each channel of CHANNELS in turn: its answers, satisfied
    answers and the sum of their levels (proxy answers left out); then the proxy answers.
    One row per group rather than per group and channel: half the rows to read, and no
    regrouping in Python."""
    cell = ResponseRollup
    counts = {level: cell.level_count(level) for level in LEVELS}
    answers = sum(counts.values())
    satisfied = sum(n for level, n in counts.items() if level >= satisfied_from)
    level_sum = sum(level * n for level, n in counts.items())
    sums = []
    for channel in CHANNELS:
        counted = and_(cell.channel == channel, ~cell.proxy)
        sums += [
            func.sum(case((counted, part), else_=0)) for part in (answers, satisfied, level_sum)
        ]
    return [*sums, func.sum(case((cell.proxy, answers), else_=0))]


#: A ``_sums`` row of a group without answers.
_NONE = (0,) * (3 * len(CHANNELS) + 1)


def _totals(
    session: Session, scope: Scope, project_ids, group: str, filters: Filters, satisfied_from
) -> dict[int, list]:
    """{group key: its ``_sums``} over the rollups of the projects' sites in scope, from the
    coarsest cells that cover the filters' dates (``rollups.period``). Summed in SQL: the
    database adds the cells up faster than Python can read them."""
    cell = ResponseRollup
    keys = {"project": Site.project_id, "county": Site.region_id, "site": cell.site_id}
    key = keys[group]
    query = (
        select(key, *_sums(satisfied_from))
        .where(
            cell.site_id.in_(_site_ids(scope, project_ids, filters)),
            period(filters.date_from, filters.date_to),
        )
        .group_by(key)
    )
    if group != "site":
        query = query.join(Site, cell.site_id == Site.id)
    if filters.channel:
        query = query.where(cell.channel == filters.channel)
    return {key: sums for key, *sums in session.execute(query)}


def _added_up(totals: dict, group_of) -> dict:
    """``totals`` added up under other keys: ``group_of(key)`` (sites → counties)."""
    added = {}
    for key, sums in totals.items():
        into = group_of(key)
        before = added.get(into)
        added[into] = sums if before is None else [a + b for a, b in zip(before, sums, strict=True)]
    return added


def _rates(sums) -> tuple[dict[str, Rate], Rate]:
    """The rate per channel and the combined rate of a ``_sums`` row."""
    by_channel, n, satisfied, level_sum = {}, 0, 0, 0
    for i, channel in enumerate(CHANNELS):
        c_n, c_satisfied, c_sum = sums[3 * i : 3 * i + 3]
        by_channel[channel] = Rate(c_n, c_satisfied, POINTS_PER_LEVEL * c_sum)
        n, satisfied, level_sum = n + c_n, satisfied + c_satisfied, level_sum + c_sum
    return by_channel, Rate(n, satisfied, POINTS_PER_LEVEL * level_sum)


def _summaries(totals: dict, names: dict[int, tuple[str, str]]) -> list[Summary]:
    """Summaries of every key in ``names`` (empty ones too)."""
    rows = []
    for key, (name, parent) in names.items():
        sums = totals.get(key, _NONE)
        by_channel, combined = _rates(sums)
        summary = Summary(key, name, by_channel, combined, sums[-1], parent)
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
        rows += _summaries(totals, names)
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
    session: Session, scope: Scope, project: Project, filters: Filters, totals: dict
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
    rows = _summaries(totals, names)
    for row in rows:
        row.extra = {"target": targets.get(row.key, 0), "sites": built[row.key][1]}
    return sorted(rows, key=_rank)


def project_view(session: Session, scope: Scope, project: Project, filters: Filters) -> ProjectView:
    """Sites and counties of a project, ranked (样本不足 last), from one read of the site
    totals; counties carry their target site count and how many sites they have."""
    names, county_of = _site_names(session, scope, project, filters)
    totals = _totals(session, scope, [project.id], "site", filters, project.satisfied_from)
    site_rows = _summaries(totals, names)
    counties = _county_rows(session, scope, project, filters, _added_up(totals, county_of.get))
    return ProjectView(sorted(site_rows, key=_rank), counties)


def by_county(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's counties within scope, ranked (totals summed by county in SQL)."""
    totals = _totals(session, scope, [project.id], "county", filters, project.satisfied_from)
    return _county_rows(session, scope, project, filters, totals)


def by_site(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's sites within scope (one county with ``filters.county_id``), ranked."""
    names, _ = _site_names(session, scope, project, filters)
    totals = _totals(session, scope, [project.id], "site", filters, project.satisfied_from)
    return sorted(_summaries(totals, names), key=_rank)


def _rank(row: Summary):
    value = row.combined.value
    return (value is None, -(value or 0), -row.combined.n, row.name)


def monthly(
    session: Session, scope: Scope, site_ids: list[int], filters: Filters, satisfied_from: int
) -> list[tuple[str, dict[str, Rate], Rate]]:
    """(month "YYYY-MM", rate per channel, combined rate) for the sites, oldest first."""
    cell = ResponseRollup
    query = (
        select(cell.day, *_sums(satisfied_from))
        .join(Site, cell.site_id == Site.id)
        .where(
            cell.site_id.in_(site_ids),
            scope.where(Site.region_id),
            # By month: whole months from the month cells, partial ones from the days.
            period(filters.date_from or EARLIEST, filters.date_to),
        )
        .group_by(cell.day)
    )
    by_day = {day: sums for day, *sums in session.execute(query)}
    totals = _added_up(by_day, lambda day: f"{day:%Y-%m}")
    rows = _summaries(totals, {month: (month, "") for month in sorted(totals)})
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
        select(cell.site_id, cell.day, *_sums(project.satisfied_from))
        .where(
            cell.grain == "month",
            cell.site_id.in_(_site_ids(scope, [project.id], Filters())),
            cell.day.in_([before, start]),
        )
        .group_by(cell.site_id, cell.day)
    )
    rates = defaultdict(dict)
    for site_id, day, *sums in session.execute(query):
        rates[site_id][day] = _rates(sums)[1]
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
