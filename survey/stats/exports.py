"""The dashboard's exports as rows: the summary per county or site, and every response.
``survey.downloads`` writes them as CSV or XLSX.

No personal data leaves: responses carry no names or numbers, and device ids are left out.
"""

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from survey.downloads import Percent, write_rows
from survey.jobs.kinds import JobRefused, Output, Progress
from survey.progress.metrics import ProjectProgress
from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.rectification.metrics import CaseCounts
from survey.regions.models import Region
from survey.regions.scope import Scope, scope_of
from survey.responses.answers import answers_by_response, one_line
from survey.responses.models import FLAGS, Response
from survey.responses.rollups import zone
from survey.sites.models import Project, Site
from survey.sites.scoping import project_in_scope
from survey.stats.comment_list import filter_responses
from survey.stats.schemas import filter_schema
from survey.stats.summaries import CHANNELS, Filters, Summary

#: Shown instead of a rate below ``metrics.MIN_SAMPLE`` answers (the n beside it says why).
TOO_FEW = "样本不足"


def _percent(value: float | None):
    return TOO_FEW if value is None else Percent(value)


def _share(value: float | None):
    """A 整改 rate: every case counted, so no sample size; "" with nothing to count."""
    return "" if value is None else Percent(value)


def summary_rows(
    rows: list[Summary],
    group: str,
    cases: CaseCounts | None = None,
    progress: ProjectProgress | None = None,
) -> Iterator[list]:
    """The summary table, header first: combined and per-channel rates with n and interval;
    by county with ``cases``, each county's 整改 too (docs/METRICS.md, "整改"), and with
    ``progress`` its average progress, time progress and 进度预警 ("进度")."""
    header = ["县（市、区）" if group == "county" else "点位"]
    if group == "site":
        header.append("县（市、区）")
    header += ["满意率", "95%区间下限", "95%区间上限", "平均分", "有效回答", "疑似刷评未计入"]
    header += ["申诉成立未计入"]
    for label in CHANNELS.values():
        header += [f"{label}满意率", f"{label}回答"]
    header += ["家属代答", "自评与抽查差异显著"]
    if cases is not None:
        header += ["差评整改单", "整改率", "按期整改率", "整改超期", "回访满意率", "申诉成立"]
    if progress is not None:
        header += ["平均进度", "时间进度", "进度预警"]
    by_name = {county.name: county for county in cases.groups} if cases else {}
    progress_of = {c.region.name: c for c in progress.counties} if progress else {}
    yield header
    for row in rows:
        combined = row.combined
        cells = [row.name] + ([row.parent] if group == "site" else [])
        cells += [_percent(combined.value), _percent(combined.low), _percent(combined.high)]
        cells += [round(combined.mean_score, 1) if combined.mean_score is not None else ""]
        cells += [combined.n, row.left_out, row.appealed]
        for channel in CHANNELS:
            cells += [_percent(row.channels[channel].value), row.channels[channel].n]
        cells += [row.proxy, "是" if row.discrepancy else ""]
        if cases is not None:
            county = by_name.get(row.name, CaseCounts(row.name))
            cells += [county.cases, _share(county.rectified_rate), _share(county.on_time_rate)]
            cells += [county.overdue, _share(county.followup_rate), county.appeals_upheld]
        if progress is not None:
            found = progress_of.get(row.name)
            average = found.average if found else None
            cells += [_share(None if average is None else average / 100)]
            cells += [Percent(progress.time_progress / 100)]
            cells += ["；".join(found.warnings) if found else ""]
        yield cells


def _responses(scope: Scope, project_id: int, filters: Filters, *columns):
    query = (
        select(*columns)
        .join(Site, Response.site_id == Site.id)
        .join(Region, Site.region_id == Region.id)
        .where(Site.project_id == project_id, scope.where(Site.region_id))
    )
    return filter_responses(query, filters)


def response_count(session: Session, scope: Scope, project_id: int, filters: Filters) -> int:
    """How many rows ``response_rows`` gives, its header aside."""
    return session.scalar(_responses(scope, project_id, filters, func.count(Response.id)))


def response_rows(
    session: Session, scope: Scope, project_id: int, filters: Filters
) -> Iterator[list]:
    """Every response of the project in scope, header first, read in batches; the answers
    besides the overall one share a cell, each in the wording of the version answered."""
    yield [
        "时间",
        "县（市、区）",
        "点位",
        "渠道",
        "满意度",
        "分值",
        "家属代答",
        "疑似刷评",
        "其他回答",
        "留言",
    ]
    columns = (
        Response.id,
        Response.created_at,
        Region.name,
        Site.name,
        Response.channel,
        Response.overall,
        Response.proxy,
        Response.comment,
        Response.flag,
    )
    query = _responses(scope, project_id, filters, *columns)
    query = query.order_by(Response.id).execution_options(yield_per=2000)
    tz = zone()
    for batch in session.execute(query).partitions():
        answers = answers_by_response(session, [row.id for row in batch])
        for response_id, at, county, site, channel, overall, proxy, comment, flag in batch:
            yield [
                at.astimezone(tz).replace(tzinfo=None),
                county,
                site,
                CHANNELS[channel],
                SATISFACTION_LEVELS[overall],
                overall,
                "是" if proxy else "",
                FLAGS.get(flag, ""),
                one_line(answers.get(response_id, [])),
                comment,
            ]


#: The background job that writes a project's responses (survey.jobs), when there are more
#: of them than EXPORT_DIRECT_ROWS.
RESPONSES_JOB = "responses-export"


def responses_title(project: Project, fmt: str, count: int) -> str:
    """What the staff see of a responses export job."""
    return f"{project.name} 评价明细 {fmt.upper()}（{count} 条）"


def responses_job(session: Session, job, out, progress: Progress) -> Output:
    """The responses export job (survey.jobs.kinds), in its asker's scope. ``job.params``:
    project_id, fmt ("csv" or "xlsx"), the dashboard's filters as given in the URL, and the
    asker's address (``ip``) for the audit line."""
    params, scope = job.params, scope_of(session, job.user)
    try:
        project = project_in_scope(session, scope, params["project_id"])
    except NotFound as gone:
        raise JobRefused("这个项目已不在您的查看范围内。") from gone
    filters = Filters(**filter_schema.load(params["filters"]))
    if filters.county_id and not scope.covers(filters.county_id):
        raise JobRefused("这个县（市、区）已不在您的查看范围内。")
    total = response_count(session, scope, project.id, filters)
    rows = response_rows(session, scope, project.id, filters)

    def counted():
        yield next(rows)  # the header
        for done, row in enumerate(rows, 1):
            yield row
            progress(done, total)

    fmt = params["fmt"]
    mimetype = write_rows(counted(), fmt, out)
    name = f"{project.name}-评价明细.{fmt}"
    return Output(name, mimetype, exported=f"{project.name}：评价明细（{fmt}，后台生成）")
