"""Satisfaction per project, county, site and month, read from the rollups (docs/METRICS.md).

Every function takes the reader's Scope: a county user's summaries hold their county only.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, reduce
from operator import add

from sqlalchemy import and_, func, literal_column, select
from sqlalchemy.orm import Session

from survey.regions.models import Region
from survey.regions.scope import Scope
from survey.responses.answers_store import rolled_up
from survey.responses.models import CHANNELS
from survey.responses.rollup_models import LEVELS, ResponseRollup
from survey.responses.rollups import EARLIEST, period
from survey.sites.models import Project, Site
from survey.stats.metrics import (
    MIN_SAMPLE,
    POINTS_PER_LEVEL,
    Rate,
    higher_beyond_chance,
    significantly_higher,
    wilson,
)

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
    #: Answers left out of the rates as suspected stuffing, and by an upheld 申诉
    #: (``flagged.LeftOut``).
    left_out: int = 0
    appealed: int = 0

    @property
    def low(self) -> bool:
        return self.combined.enough and self.combined.value < LOW_RATE


def _in_scope(scope: Scope, project_ids, filters: Filters):
    """A condition on Site: the projects' sites within scope (and the filtered county)."""
    condition = and_(Site.project_id.in_(list(project_ids)), scope.where(Site.region_id))
    if filters.county_id:
        condition = and_(condition, Site.region_id == filters.county_id)
    return condition


def _site_ids(scope: Scope, project_ids, filters: Filters):
    """The ids of ``_in_scope``'s sites as a subquery; a rollup read seeks each site's cells
    by it (the key after the grain)."""
    return select(Site.id).where(_in_scope(scope, project_ids, filters))


def _counted(filters: Filters):
    """A condition on cells: the coarsest that cover the filters' dates (``rollups.period``),
    of the filtered channel."""
    condition = period(filters.date_from, filters.date_to)
    if filters.channel:
        condition = and_(condition, ResponseRollup.channel == filters.channel)
    return condition


def _constant(value: int | str):
    """``value`` (a level or a channel: digits or plain ASCII) written into the SQL rather
    than bound: PostgreSQL's generic plan of a prepared statement cannot fold a bound
    parameter, so each sum evaluated its constants for every cell (1–2 ms of a 10 ms read);
    and, unlike ``literal_execute``, it costs nothing per request."""
    return literal_column(f"'{value}'" if isinstance(value, str) else str(value))


@cache  # the same few expressions every read; building them took ~1 ms a request
def _sums(satisfied_from: int) -> tuple:
    """Summed over cells, for each channel of CHANNELS in turn: its answers, satisfied
    answers and the sum of their levels (proxy answers left out); then the proxy answers.
    One row per group rather than per group and channel: half the rows to read, and no
    regrouping in Python. (FILTER rather than CASE: a tenth faster on SQLite.)"""
    cell = ResponseRollup
    counts = {level: cell.level_count(level) for level in LEVELS}
    answers = reduce(add, counts.values())
    satisfied = reduce(add, (n for level, n in counts.items() if level >= satisfied_from))
    level_sum = reduce(
        add, (n if level == 1 else n * _constant(level) for level, n in counts.items())
    )
    zero, sums = _constant(0), []
    for channel in CHANNELS:
        counted = and_(cell.channel == _constant(channel), ~cell.proxy)
        sums += [
            func.coalesce(func.sum(part).filter(counted), zero)
            for part in (answers, satisfied, level_sum)
        ]
    return (*sums, func.coalesce(func.sum(answers).filter(cell.proxy), zero))


#: A ``_sums`` row of a group without answers.
_NONE = (0,) * (3 * len(CHANNELS) + 1)


def _read(session: Session, query) -> list:
    """The rows of ``query`` over the rollups, every answer stored so far counted in them
    first (``answers_store.rolled_up``); read through the session's connection: plain
    tuples, without the ORM's row handling (a tenth of the time of reading 2,000 sites'
    sums)."""
    rolled_up(session)
    return session.connection().execute(query).all()


def _project_sums(session: Session, scope: Scope, project: Project, filters: Filters) -> tuple:
    """The ``_sums`` of the project's sites within scope. Summed in SQL: the database adds
    the cells up faster than Python can read them."""
    cell = ResponseRollup
    query = (
        select(*_sums(project.satisfied_from))
        .join(Site, cell.site_id == Site.id)
        .where(_in_scope(scope, [project.id], filters), _counted(filters))
    )
    return tuple(_read(session, query)[0])


def _site_sums(session: Session, scope: Scope, project: Project, filters: Filters) -> list:
    """(id, name, county id, *``_sums``) of each of the project's sites within scope, those
    without answers too. Names and sums in one read: a second read of 2,000 names, and
    matching them up, cost a tenth of the stats request."""
    cell = ResponseRollup
    query = (
        select(Site.id, Site.name, Site.region_id, *_sums(project.satisfied_from))
        .outerjoin(cell, and_(cell.site_id == Site.id, _counted(filters)))
        .where(_in_scope(scope, [project.id], filters))
        .group_by(Site.id, Site.name, Site.region_id)
    )
    return _read(session, query)


def _added_up(totals: dict, group_of) -> dict:
    """``totals`` added up under other keys: ``group_of(key)`` (sites → counties)."""
    added = {}
    for key, sums in totals.items():
        into = group_of(key)
        before = added.get(into)
        added[into] = sums if before is None else tuple(map(add, before, sums))
    return added


def _groups(names: dict, totals: dict) -> list[tuple]:
    """(key, name, parent, ``_sums``) of every key of ``names`` ({key: (name, parent)}),
    with its sums from ``totals``; empty ones too."""
    return [(key, name, parent, totals.get(key, _NONE)) for key, (name, parent) in names.items()]


#: Where each channel's (answers, satisfied answers, level sum) lie in a ``_sums`` row.
_PARTS = {channel: slice(3 * i, 3 * i + 3) for i, channel in enumerate(CHANNELS)}
_END = 3 * len(CHANNELS)


def _combined(sums: tuple) -> tuple:
    """(answers, satisfied answers, level sum) of all channels together, of a ``_sums`` row."""
    return sum(sums[0:_END:3]), sum(sums[1:_END:3]), sum(sums[2:_END:3])


def _rate(counts: tuple) -> Rate:
    n, satisfied, level_sum = counts
    return Rate(n, satisfied, POINTS_PER_LEVEL * level_sum)


def _rates(sums: tuple) -> tuple[dict[str, Rate], Rate]:
    """The rate per channel and the combined rate of a ``_sums`` row."""
    by_channel = {channel: _rate(sums[part]) for channel, part in _PARTS.items()}
    return by_channel, _rate(_combined(sums))


def _summaries(groups) -> list[Summary]:
    """A Summary of each of ``groups`` (``_groups``), in their order."""
    rows = []
    for key, name, parent, sums in groups:
        by_channel, combined = _rates(sums)
        summary = Summary(key, name, by_channel, combined, sums[-1], parent)
        summary.discrepancy = significantly_higher(by_channel["qr"], by_channel["phone"])
        rows.append(summary)
    return rows


def _rate_fields(n: int, satisfied: int, level_sum: int) -> dict:
    """``schemas.RateSchema``'s fields of a rate given by its answers, satisfied answers and
    level sum: Rate's numbers, computed without making one (at 1M answers most counts are
    distinct, and a Rate and its properties took as long as the rest of the row)."""
    if n < MIN_SAMPLE:
        return {"n": n, "rate": None, "low": None, "high": None, "mean_score": None}
    low, high = wilson(satisfied, n)
    mean_score = POINTS_PER_LEVEL * level_sum / n
    return {"n": n, "rate": satisfied / n, "low": low, "high": high, "mean_score": mean_score}


def _stats_rows(groups) -> list[dict]:
    """``_summaries`` of ``groups`` as ``schemas.StatsRowSchema`` dumps them, ranked, but
    straight from the sums: no Summary or Rates per row, and no marshmallow (for 2,000
    sites that way took 20 ms of a 45 ms request; bench/dashboard.py). The sums are
    unpacked by name rather than sliced and summed per channel: 13 -> 8 ms for 2,000 sites."""
    fields_of = cache(_rate_fields)  # per request: many sites share counts (a few calls …)
    rows = []
    for key, name, _parent, sums in groups:
        # _sums' order: CHANNELS (qr, phone, visit), then the proxy answers.
        qr_n, qr_ok, qr_sum, ph_n, ph_ok, ph_sum, vi_n, vi_ok, vi_sum, proxy = sums
        n = qr_n + ph_n + vi_n
        combined = fields_of(n, qr_ok + ph_ok + vi_ok, qr_sum + ph_sum + vi_sum)
        channels = {
            "qr": fields_of(qr_n, qr_ok, qr_sum),
            "phone": fields_of(ph_n, ph_ok, ph_sum),
            "visit": fields_of(vi_n, vi_ok, vi_sum),
        }
        discrepancy = higher_beyond_chance(qr_n, qr_ok, ph_n, ph_ok)
        rows.append(
            {
                "id": key,
                "name": name,
                "combined": combined,
                "channels": channels,
                "proxy": proxy,
                "discrepancy": discrepancy,
                "left_out": 0,  # flagged.LeftOut.attach fills these in
                "appealed": 0,
            }
        )
    rows.sort(key=lambda row: _rank_key(row["combined"]["rate"], row["combined"]["n"], row["name"]))
    return rows


def project_overview(
    session: Session, scope: Scope, projects: list[Project], filters: Filters
) -> list[Summary]:
    """One summary per project, in the given order."""
    rows = []
    for project in projects:  # one read each: projects count "satisfied" from their own level
        sums = _project_sums(session, scope, project, filters)
        rows += _summaries([(project.id, project.name, str(project.year), sums)])
    return rows


@dataclass
class ProjectView:
    """A project's sites and counties within scope, from one read of the rollups."""

    sites: list[Summary]
    counties: list[Summary]


def _site_groups(
    session: Session, scope: Scope, project: Project, filters: Filters
) -> tuple[list[tuple], dict[int, int]]:
    """``_groups`` of the project's sites within scope, each with its county's name as
    parent, and {site id: county id}."""
    sites = _site_sums(session, scope, project, filters)
    county_of = {site[0]: site[2] for site in sites}
    counties = session.execute(
        select(Region.id, Region.name).where(Region.id.in_(sorted(set(county_of.values()))))
    )
    county_names = dict(counties.all())
    groups = [(site[0], site[1], county_names[site[2]], site[3:]) for site in sites]
    return groups, county_of


def _county_sums(
    session: Session, scope: Scope, project: Project, filters: Filters
) -> tuple[dict[int, tuple[str, int]], dict[int, tuple]]:
    """{id: (name, how many sites)} of each county where the project has sites within
    scope, and {id: ``_sums``} of those with answers. (One read joining sites, regions and
    cells, with a DISTINCT count of sites, took longer than these two.)"""
    in_scope = _in_scope(scope, [project.id], filters)
    counties = (
        select(Region.id, Region.name, func.count(Site.id))
        .join(Site, Site.region_id == Region.id)
        .where(in_scope)
        .group_by(Region.id, Region.name)
    )
    cell = ResponseRollup
    totals = (
        select(Site.region_id, *_sums(project.satisfied_from))
        .join(Site, cell.site_id == Site.id)
        .where(in_scope, _counted(filters))
        .group_by(Site.region_id)
    )
    found = {region_id: (name, n) for region_id, name, n in _read(session, counties)}
    return found, {row[0]: row[1:] for row in _read(session, totals)}


def _with_targets(
    session: Session, scope: Scope, project: Project, filters: Filters, counties: dict
) -> tuple[dict[int, tuple[str, str]], dict[int, dict]]:
    """``counties`` ({id: (name, how many sites)}) and those in scope with a target but no
    site yet (unless one county is filtered), as {id: (name, "")} in id order and {id: its
    target site count and how many sites it has}."""
    counties = dict(counties)
    targets = {t.region_id: t.site_count for t in project.targets}
    missing = [r for r in targets if r not in counties and scope.covers(r)]
    if missing and not filters.county_id:
        for region in session.scalars(select(Region).where(Region.id.in_(missing))):
            counties[region.id] = (region.name, 0)
    names = {region_id: (name, "") for region_id, (name, _) in sorted(counties.items())}
    extra = {key: {"target": targets.get(key, 0), "sites": n} for key, (_, n) in counties.items()}
    return names, extra


def _county_rows(
    session: Session, scope: Scope, project: Project, filters: Filters, counties: dict, totals: dict
) -> list[Summary]:
    """The counties (``_with_targets``) ranked, with their ``totals``; each carries its
    target site count and how many sites it has."""
    names, extra = _with_targets(session, scope, project, filters, counties)
    rows = _summaries(_groups(names, totals))
    for row in rows:
        row.extra = extra[row.key]
    return sorted(rows, key=_rank)


def project_view(session: Session, scope: Scope, project: Project, filters: Filters) -> ProjectView:
    """Sites and counties of a project, ranked (样本不足 last), from one read of the site
    totals; counties carry their target site count and how many sites they have."""
    groups, county_of = _site_groups(session, scope, project, filters)
    totals = {key: sums for key, _name, _parent, sums in groups}
    names = {county_of[key]: parent for key, _name, parent, _sums in groups}
    sites = Counter(county_of.values())
    counties = {county: (name, sites[county]) for county, name in names.items()}
    county_totals = _added_up(totals, county_of.get)
    county_rows = _county_rows(session, scope, project, filters, counties, county_totals)
    return ProjectView(sorted(_summaries(groups), key=_rank), county_rows)


def by_county(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's counties within scope, ranked (totals summed by county in SQL)."""
    counties, totals = _county_sums(session, scope, project, filters)
    return _county_rows(session, scope, project, filters, counties, totals)


def by_site(session: Session, scope: Scope, project: Project, filters: Filters) -> list[Summary]:
    """The project's sites within scope (one county with ``filters.county_id``), ranked."""
    groups, _ = _site_groups(session, scope, project, filters)
    return sorted(_summaries(groups), key=_rank)


def stats(
    session: Session, scope: Scope, project: Project, filters: Filters, group: str
) -> list[dict]:
    """``by_county`` or ``by_site`` (``group``) as the stats API answers them:
    ``schemas.StatsRowSchema``'s dump, built without it (``_stats_rows``)."""
    if group == "site":  # no county names: the API leaves them out
        sites = _site_sums(session, scope, project, filters)
        return _stats_rows((site[0], site[1], "", site[3:]) for site in sites)
    counties, totals = _county_sums(session, scope, project, filters)
    names, _ = _with_targets(session, scope, project, filters, counties)
    return _stats_rows(_groups(names, totals))


def _rank_key(value: float | None, n: int, name: str) -> tuple:
    """Best rate first, 样本不足 last; ties by more answers, then by name."""
    return (value is None, -(value or 0), -n, name)


def _rank(row: Summary) -> tuple:
    return _rank_key(row.combined.value, row.combined.n, row.name)


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
    by_day = {row[0]: row[1:] for row in _read(session, query)}
    totals = _added_up(by_day, lambda day: f"{day:%Y-%m}")
    rows = _summaries(_groups({month: (month, "") for month in sorted(totals)}, totals))
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
    return dict(zip(levels, _read(session, query)[0], strict=True))


@dataclass
class Alert:
    kind: str  # low | drop | discrepancy | overdue (整改超期, stats.views)
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
    for site_id, day, *sums in _read(session, query):
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
