"""What happens to progress: a project's milestones (its kind's from the seeds until edited),
a county records a site's milestone with its evidence, the city confirms it (the site built
at 100 %, its survey open) or returns it with a reason, and a county sends its monthly
report. Services take the session and values and never commit (docs/ARCHITECTURE.md); each
writes its audit line."""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.form_posts import FieldError
from survey.progress.evidence import Evidence
from survey.progress.metrics import ProjectProgress, percent_text, project_progress
from survey.progress.models import EvidenceFile, Milestone, MilestoneRecord, MonthlyReport
from survey.progress.standards import standards_for
from survey.regions.models import Region
from survey.regions.scope import Scope
from survey.responses.rollups import local_day
from survey.sites.models import Project, Site

#: A month's report is due by this day of the month (seed 000 §三(三): 每月 25 日前).
REPORT_DUE_DAY = 25


class ProgressError(FieldError):
    """A change that cannot be made as asked (a field's reason)."""


def milestones_of(session: Session, project: Project) -> list[Milestone]:
    """The project's milestones by percent: its own once saved, else its kind's from the
    seeds (not stored: nothing is written on a read)."""
    query = select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.percent)
    stored = list(session.scalars(query))
    if stored:
        return stored
    return [
        Milestone(
            project_id=project.id,
            percent=s.percent,
            name=s.name,
            evidence=s.evidence,
            planned_on=s.planned_on(project.year),
        )
        for s in standards_for(project.name)
    ]


def progress_on(session: Session, project: Project, day: date, scope: Scope) -> ProjectProgress:
    """The project's progress on ``day`` in ``scope``, by its milestones (docs/METRICS.md,
    进度): what the pages, the dashboard, the monthly report, the exports and the API show."""
    return project_progress(session, project, milestones_of(session, project), day, scope)


def save_milestones(
    session: Session, actor: Actor, project: Project, rows: list[dict], open_from_start: bool
) -> None:
    """Replace the project's milestones with ``rows`` (percent, name, evidence, planned_on;
    increasing, the last 100, as MilestonesFormSchema checked) and set whether its sites'
    surveys open from the start. Records keep their percent: a site's progress stays what
    was confirmed."""
    for old in session.scalars(select(Milestone).where(Milestone.project_id == project.id)):
        session.delete(old)
    session.flush()  # the unique (project, percent) is free for the new rows
    session.add_all(Milestone(project_id=project.id, **row) for row in rows)
    project.open_from_start = open_from_start
    opens = "建成前即开放评价" if open_from_start else "点位建成（100%）后开放评价"
    listed = "、".join(f"{row['percent']}% {row['name']}" for row in rows)
    record(session, "milestones_saved", actor, f"{project.name}：{listed}；{opens}")


def site_percent(session: Session, site: Site) -> int:
    """The site's progress now: its highest confirmed milestone (0: none)."""
    query = select(MilestoneRecord.percent).where(
        MilestoneRecord.site_id == site.id, MilestoneRecord.state == "confirmed"
    )
    return max(session.scalars(query), default=0)


def records_of(session: Session, site: Site) -> list[MilestoneRecord]:
    """The site's records, newest first."""
    query = (
        select(MilestoneRecord)
        .where(MilestoneRecord.site_id == site.id)
        .order_by(MilestoneRecord.id.desc())
    )
    return list(session.scalars(query))


def waiting_records(session: Session, project: Project, scope) -> list[MilestoneRecord]:
    """The project's records in ``scope`` that wait for the city, oldest first."""
    query = (
        select(MilestoneRecord)
        .where(
            MilestoneRecord.project_id == project.id,
            MilestoneRecord.state == "submitted",
            scope.where(MilestoneRecord.region_id),
        )
        .order_by(MilestoneRecord.id)
    )
    return list(session.scalars(query))


def record_milestone(
    session: Session,
    actor: Actor,
    site: Site,
    now: datetime,
    values: dict,
    evidence: list[Evidence],
) -> MilestoneRecord:
    """A county's record that ``site`` reached the milestone ``values["percent"]`` on
    ``reached_on``, with its ``evidence`` (checked files) and ``note``; it waits for the city.

    Raises ProgressError for a percent that is not one of the project's milestones or not
    above the site's progress, a day in the future, or a record of it still waiting."""
    percent, reached_on = values["percent"], values["reached_on"]
    milestones = {m.percent: m for m in milestones_of(session, site.project)}
    if percent not in milestones:
        raise ProgressError("percent", "请选择项目的一个进度节点。")
    if percent <= site_percent(session, site):
        raise ProgressError("percent", f"这个点位已确认达到 {percent}% 或更高的进度。")
    if reached_on > local_day(now):
        raise ProgressError("reached_on", "达到的日期不能晚于今天。")
    waiting = select(MilestoneRecord.id).where(
        MilestoneRecord.site_id == site.id,
        MilestoneRecord.percent == percent,
        MilestoneRecord.state == "submitted",
    )
    if session.scalar(waiting) is not None:
        raise ProgressError("percent", f"{percent}% 的填报正在等待市里确认。")
    found = MilestoneRecord(
        project_id=site.project_id,
        site=site,
        region_id=site.region_id,
        percent=percent,
        reached_on=reached_on,
        note=values["note"],
        recorded_by=actor.user,
        recorded_at=now,
        reason="",
        files=[
            EvidenceFile(kind=e.kind, filename=e.filename, content_type=e.content_type, data=e.data)
            for e in evidence
        ],
    )
    session.add(found)
    session.flush()
    name = milestones[percent].name
    record(
        session,
        "milestone_recorded",
        actor,
        f"{site.name}：{percent}% {name}（{len(evidence)} 个文件）",
    )
    return found


def _expect_waiting(found: MilestoneRecord) -> None:
    if found.state != "submitted":
        raise ProgressError("_schema", f"这条填报已经{found.state_label}了。")


def confirm(session: Session, actor: Actor, found: MilestoneRecord, now: datetime) -> None:
    """The city confirms a waiting record: the site's progress rises to it, and at the
    project's last milestone (100 %) the site is built and its survey opens. Raises
    ProgressError when it was decided meanwhile."""
    _expect_waiting(found)
    found.state, found.decided_by, found.decided_at = "confirmed", actor.user, now
    if found.percent >= 100:
        found.site.completed = True
    record(session, "milestone_confirmed", actor, f"{found.site.name}：{found.percent}%")


def return_record(
    session: Session, actor: Actor, found: MilestoneRecord, now: datetime, reason: str
) -> None:
    """The city returns a waiting record with its ``reason``; the county may record it
    again. Raises ProgressError when it was decided meanwhile."""
    _expect_waiting(found)
    found.state, found.decided_by, found.decided_at = "returned", actor.user, now
    found.reason = reason
    record(session, "milestone_returned", actor, f"{found.site.name}：{found.percent}%：{reason}")


# -- monthly reports --------------------------------------------------------------------


def report_due(month: date) -> date:
    """The last day a report on ``month`` is on time."""
    return month.replace(day=REPORT_DUE_DAY)


def report_of(session: Session, project: Project, region_id: int, month: date):
    """The county's report on ``month`` (its first day), or None."""
    query = select(MonthlyReport).where(
        MonthlyReport.project_id == project.id,
        MonthlyReport.region_id == region_id,
        MonthlyReport.month == month,
    )
    return session.scalars(query).first()


def prefilled_report(session: Session, project: Project, region: Region, month: date) -> str:
    """The month's progress as the county's milestone records tell it, to start its report
    from: what was confirmed, what waits, what was returned."""
    query = (
        select(MilestoneRecord)
        .where(MilestoneRecord.project_id == project.id, MilestoneRecord.region_id == region.id)
        .order_by(MilestoneRecord.id)
    )
    lines = []
    for found in session.scalars(query):
        if local_day(found.recorded_at).replace(day=1) != month and (
            found.decided_at is None or local_day(found.decided_at).replace(day=1) != month
        ):
            continue
        lines.append(f"{found.site.name}：{found.percent}%（{found.state_label}）")
    if not lines:
        return "本月没有新的进度填报。"
    return "本月进度填报：\n" + "\n".join(lines)


def send_report(
    session: Session,
    actor: Actor,
    project: Project,
    region: Region,
    now: datetime,
    values: dict,
    average: float | None,
) -> MonthlyReport:
    """The county's report on this month (by ``now``): progress and problems; sent again,
    it replaces the month's text; ``late`` when first sent after the 25th. ``average``: the county's
    average progress now, for the audit line."""
    today = local_day(now)
    month = today.replace(day=1)
    late = today > report_due(month)
    found = report_of(session, project, region.id, month)
    if found is None:  # late or not as first sent: a correction later keeps it
        found = MonthlyReport(project_id=project.id, region_id=region.id, month=month, late=late)
        session.add(found)
    found.progress, found.problems = values["progress"], values["problems"]
    found.submitted_by, found.submitted_at = actor.user, now
    session.flush()
    when = "（逾期）" if found.late else ""
    record(
        session,
        "progress_reported",
        actor,
        f"{project.name} {month:%Y年%m月} {region.name}{when}：平均进度 {percent_text(average)}",
    )
    return found


#: A county's report on a month, as the city's list says it.
REPORT_STATES = {
    "on_time": "已报送",
    "late": "逾期报送",
    "waiting": "未报送",
    "missing": "逾期未报",
}


def report_states(
    session: Session, project: Project, counties: list[Region], month: date, today: date
) -> list[tuple[Region, MonthlyReport | None, str]]:
    """Each county's report on ``month`` and its state (REPORT_STATES) on ``today``."""
    query = select(MonthlyReport).where(
        MonthlyReport.project_id == project.id, MonthlyReport.month == month
    )
    sent = {r.region_id: r for r in session.scalars(query)}
    overdue = today > report_due(month)
    rows = []
    for county in counties:
        found = sent.get(county.id)
        if found is not None:
            state = "late" if found.late else "on_time"
        else:
            state = "missing" if overdue else "waiting"
        rows.append((county, found, REPORT_STATES[state]))
    return rows
