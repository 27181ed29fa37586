"""Satisfaction per project, county, site and month, read from the rollups (docs/METRICS.md).

Every function takes the reader's Scope: a county user's summaries hold their county only.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from survey.accounts.scope import Scope
from survey.sites.models import Project, Region, Site
from survey.stats.metrics import Rate, rate, rate_of, significantly_higher
from survey.stats.models import ResponseRollup
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


@dataclass
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


def _cells(session: Session, scope: Scope, project_ids, group: str, filters: Filters):
    """(group key, channel, proxy, level, count) summed over the rollups in scope, read
    from the coarsest cells that cover the filters' dates (``rollups.period``)."""
    keys = {"project": Site.project_id, "county": Site.region_id, "site": Site.id}
    key = keys[group]
    query = (
        select(
            key,
            ResponseRollup.channel,
            ResponseRollup.proxy,
            ResponseRollup.level,
            func.sum(ResponseRollup.count),
        )
        .join(Site, ResponseRollup.site_id == Site.id)
        .where(
            Site.project_id.in_(list(project_ids)),
            scope.where(Site.region_id),
            period(filters.date_from, filters.date_to),
        )
        .group_by(key, ResponseRollup.channel, ResponseRollup.proxy, ResponseRollup.level)
    )
    if filters.county_id:
        query = query.where(Site.region_id == filters.county_id)
    if filters.channel:
        query = query.where(ResponseRollup.channel == filters.channel)
    return session.execute(query).all()


def _tally(cells, group_of=None) -> tuple[dict, dict]:
    """Counts per (key, channel) as lists indexed by level, and proxy answers per key;
    ``group_of`` maps a cell's key to the key to count it under (sites → counties)."""
    counts: dict[tuple, list[int]] = {}
    proxies: dict[int, int] = defaultdict(int)
    for key, channel, proxy, level, n in cells:
        key = group_of[key] if group_of else key
        if proxy:
            proxies[key] += n  # reported apart, never in a rate
            continue
        levels = counts.get((key, channel))
        if levels is None:
            levels = counts[(key, channel)] = [0] * 6
        levels[level] += n
    return counts, proxies


def _summaries(tally, names: dict[int, tuple[str, str]], satisfied_from) -> list[Summary]:
    """Summaries of every key in ``names`` (empty ones too), from a ``_tally``."""
    counts, proxies = tally
    empty = [0] * 6
    rows = []
    for key, (name, parent) in names.items():
        threshold = satisfied_from(key) if callable(satisfied_from) else satisfied_from
        per_channel = {ch: counts.get((key, ch), empty) for ch in CHANNELS}
        combined = [sum(levels[i] for levels in per_channel.values()) for i in range(6)]
        by_channel = {ch: rate_of(levels, threshold) for ch, levels in per_channel.items()}
        summary = Summary(key, name, by_channel, rate_of(combined, threshold), proxies[key], parent)
        summary.discrepancy = significantly_higher(by_channel["qr"], by_channel["phone"])
        rows.append(summary)
    return rows


def project_overview(
    session: Session, scope: Scope, projects: list[Project], filters: Filters
) -> list[Summary]:
    """One summary per project, in the given order."""
    names = {p.id: (p.name, str(p.year)) for p in projects}
    thresholds = {p.id: p.satisfied_from for p in projects}
    tally = _tally(_cells(session, scope, names, "project", filters))
    return _summaries(tally, names, thresholds.get)


@dataclass
class ProjectView:
    """A project's sites and counties within scope, from one read of the rollups."""

    sites: list[Summary]
    counties: list[Summary]


@dataclass
class _Layout:
    """A project's sites within scope: names, counties, targets."""

    site_names: dict[int, tuple[str, str]]
    county_of: dict[int, int]
    county_names: dict[int, tuple[str, str]]
    targets: dict[int, int]


def _layout(session: Session, scope: Scope, project: Project, filters: Filters) -> _Layout:
    query = select(Site.id, Site.name, Site.region_id, Region.name).join(
        Region, Site.region_id == Region.id
    )
    query = query.where(Site.project_id == project.id, scope.where(Site.region_id))
    if filters.county_id:
        query = query.where(Site.region_id == filters.county_id)
    sites = session.execute(query).all()
    targets = {t.region_id: t.site_count for t in project.targets}
    counties = {region_id: (county, "") for _, _, region_id, county in sites}
    missing = [r for r in targets if r not in counties and scope.covers(r)]
    if missing and not filters.county_id:  # counties with a target but no site yet
        for region in session.scalars(select(Region).where(Region.id.in_(missing))):
            counties[region.id] = (region.name, "")
    return _Layout(
        {site_id: (name, county) for site_id, name, _, county in sites},
        {site_id: region_id for site_id, _, region_id, _ in sites},
        dict(sorted(counties.items())),
        targets,
    )


def _county_rows(layout: _Layout, tally, satisfied_from: int) -> list[Summary]:
    rows = _summaries(tally, layout.county_names, satisfied_from)
    built = Counter(layout.county_of.values())
    for row in rows:
        row.extra = {"target": layout.targets.get(row.key, 0), "sites": built.get(row.key, 0)}
    return sorted(rows, key=_rank)


def project_view(session: Session, scope: Scope, project: Project, filters: Filters) -> ProjectView:
    """Sites and counties of a project, ranked (样本不足 last), from one read of the site
    cells; counties carry their target site count and how many sites they have."""
    layout = _layout(session, scope, project, filters)
    cells = _cells(session, scope, [project.id], "site", filters)
    site_rows = _summaries(_tally(cells), layout.site_names, project.satisfied_from)
    county_tally = _tally([c for c in cells if c[0] in layout.county_of], layout.county_of)
    counties = _county_rows(layout, county_tally, project.satisfied_from)
    return ProjectView(sorted(site_rows, key=_rank), counties)


def by_county(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's counties within scope, ranked (cells read grouped by county)."""
    layout = _layout(session, scope, project, filters)
    tally = _tally(_cells(session, scope, [project.id], "county", filters))
    return _county_rows(layout, tally, project.satisfied_from)


def by_site(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's sites within scope (one county with ``filters.county_id``), ranked."""
    layout = _layout(session, scope, project, filters)
    tally = _tally(_cells(session, scope, [project.id], "site", filters))
    return sorted(_summaries(tally, layout.site_names, project.satisfied_from), key=_rank)


def _rank(row: Summary):
    value = row.combined.value
    return (value is None, -(value or 0), -row.combined.n, row.name)


def monthly(
    session: Session, scope: Scope, site_ids: list[int], filters: Filters, satisfied_from: int
) -> list[tuple[str, dict[str, Rate], Rate]]:
    """(month "YYYY-MM", rate per channel, combined rate) for the sites, oldest first."""
    query = (
        select(
            ResponseRollup.day,
            ResponseRollup.channel,
            ResponseRollup.level,
            func.sum(ResponseRollup.count),
        )
        .join(Site, ResponseRollup.site_id == Site.id)
        .where(
            ResponseRollup.site_id.in_(site_ids),
            scope.where(Site.region_id),
            ResponseRollup.proxy.is_(False),
            # By month: whole months from the month cells, partial ones from the days.
            period(filters.date_from or EARLIEST, filters.date_to),
        )
        .group_by(ResponseRollup.day, ResponseRollup.channel, ResponseRollup.level)
    )
    counts = defaultdict(lambda: defaultdict(lambda: [0] * 6))
    for day, channel, level, n in session.execute(query):
        counts[f"{day:%Y-%m}"][channel][level] += n
    months = []
    for month in sorted(counts):
        per_channel = {ch: counts[month][ch] for ch in CHANNELS}
        combined = [sum(levels[i] for levels in per_channel.values()) for i in range(6)]
        rates = {ch: rate_of(levels, satisfied_from) for ch, levels in per_channel.items()}
        months.append((month, rates, rate_of(combined, satisfied_from)))
    return months


def distribution(session: Session, scope: Scope, site_id: int, filters: Filters) -> dict:
    """Answers per level (5 … 1) at one site, proxies left out."""
    query = (
        select(ResponseRollup.level, func.sum(ResponseRollup.count))
        .join(Site, ResponseRollup.site_id == Site.id)
        .where(
            ResponseRollup.site_id == site_id,
            scope.where(Site.region_id),
            ResponseRollup.proxy.is_(False),
        )
        .where(period(filters.date_from, filters.date_to))
        .group_by(ResponseRollup.level)
    )
    if filters.channel:
        query = query.where(ResponseRollup.channel == filters.channel)
    counts = dict(session.execute(query).all())
    return {level: counts.get(level, 0) for level in (5, 4, 3, 2, 1)}


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
    latest = case((ResponseRollup.day >= start, 1), else_=0)
    query = (
        select(Site.id, Site.name, latest, ResponseRollup.level, func.sum(ResponseRollup.count))
        .join(Site, ResponseRollup.site_id == Site.id)
        .where(
            Site.project_id == project.id,
            scope.where(Site.region_id),
            ResponseRollup.proxy.is_(False),
            ResponseRollup.grain == "month",
            ResponseRollup.day.in_([before, start]),
        )
        .group_by(Site.id, Site.name, latest, ResponseRollup.level)
    )
    counts = defaultdict(lambda: ({}, {}))
    names = {}
    for site_id, name, is_latest, level, n in session.execute(query):
        counts[site_id][is_latest][level] = n
        names[site_id] = name
    fallen = []
    for site_id, (earlier, later) in counts.items():
        then, now = rate(earlier, project.satisfied_from), rate(later, project.satisfied_from)
        if significantly_higher(then, now):
            fallen.append(Summary(site_id, names[site_id], {}, now, extra={"before": then}))
    return sorted(fallen, key=lambda row: row.name)


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
