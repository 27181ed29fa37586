"""The monthly report of a project: the same content for the A4 page and the PDF."""

import io
from dataclasses import dataclass
from datetime import date, timedelta

from fpdf import FPDF, FontFace
from sqlalchemy.orm import Session

from qr import fonts
from survey.progress.metrics import ProjectProgress, percent_text
from survey.progress.services import progress_on, report_states
from survey.rectification.metrics import CaseCounts, case_counts, shown_share
from survey.regions.scope import Scope
from survey.sites.models import Project
from survey.stats import charts, flagged, summaries
from survey.stats.metrics import Rate


@dataclass
class MonthlyReport:
    project: Project
    month: date
    total: summaries.Summary
    counties: list[summaries.Summary]
    alerts: list[summaries.Alert]
    months: list[tuple[str, dict[str, Rate], Rate]]
    #: The month's 整改 (cases whose first bad answer arrived in it), per county and in all.
    cases: CaseCounts
    #: Progress at the month's end (or today, within it), per county with its warnings.
    progress: ProjectProgress
    #: Each county's report on the month: (county, its report or None, its state).
    reported: list

    @property
    def progress_day(self) -> date:
        return self.progress.day

    @property
    def trend_svg(self):
        return charts.trend(self.months)


def monthly_report(
    session: Session, scope: Scope, project: Project, month: date, today: date
) -> MonthlyReport:
    """The report of ``month`` (its first day) on ``today``: totals, counties, alerts, a
    year's trend, 整改, and progress with each county's warnings and monthly report."""
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    filters = summaries.Filters(start, end)
    total = summaries.project_overview(session, scope, [project], filters)[0]
    year_ago = (start - timedelta(days=335)).replace(day=1)
    site_ids = [s.id for s in project.sites if scope.covers(s.region_id)]
    months = summaries.monthly(
        session, scope, site_ids, summaries.Filters(year_ago, end), project.satisfied_from
    )
    view = summaries.project_view(session, scope, project, filters)
    left_out = flagged.left_out(session, scope, [project.id], filters)
    left_out.attach([total], "project")
    left_out.attach(view.counties, "county")
    progress = progress_on(session, project, min(end, today), scope)
    return MonthlyReport(
        project=project,
        month=start,
        total=total,
        counties=view.counties,
        alerts=summaries.alerts(session, scope, project, filters, start, view),
        months=months,
        cases=case_counts(session, scope, project, start, end),
        progress=progress,
        reported=report_states(
            session, project, [c.region for c in progress.counties], start, today
        ),
    )


def _pct(rate: Rate) -> str:
    return "样本不足" if rate.value is None else f"{rate.value * 100:.1f}%"


def pdf_bytes(report: MonthlyReport) -> bytes:
    """The report as an A4 PDF with the CJK font from PyPI (the same as the posters)."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, 15)
    pdf.add_font("noto", fname=str(fonts.FONT_PATH))
    pdf.set_title(f"{report.project.name} {report.month:%Y年%m月} 满意度月报")
    pdf.add_page()
    pdf.set_font("noto", size=16)
    pdf.multi_cell(
        0,
        9,
        f"{report.project.name}\n{report.month:%Y年%m月} 满意度月报",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("noto", size=11)
    total = report.total.combined
    interval = (
        f"，95% 区间 {total.interval[0] * 100:.1f}%–{total.interval[1] * 100:.1f}%"
        if total.interval
        else ""
    )
    left_out = report.total.left_out
    left_out = f"；另有 {left_out} 份疑似刷评未计入" if left_out else ""
    if appealed := report.total.appealed:
        left_out += f"；另有 {appealed} 份申诉成立未计入"
    pdf.multi_cell(
        0,
        7,
        f"本月满意率 {_pct(total)}（{total.n} 份{interval}{left_out}）",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    rows = []
    for row in report.counties:
        cells = [row.name, _pct(row.combined), str(row.combined.n)]
        rows.append(cells + [_pct(row.channels[ch]) for ch in ("qr", "phone", "visit")])
    header = ["县（市、区）", "满意率", "回答", "扫码", "电话抽查", "现场暗访"]
    _table(pdf, [40, 30, 22, 30, 30, 28], header, rows)
    pdf.ln(4)
    pdf.set_font("noto", size=13)
    pdf.cell(0, 8, "近一年月度满意率", new_x="LMARGIN", new_y="NEXT")
    _trend(pdf, report.months)
    _cases(pdf, report.cases)
    _progress(pdf, report)
    pdf.set_font("noto", size=13)
    pdf.cell(0, 8, "提醒", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=10)
    kinds = {"low": "满意率偏低", "drop": "环比显著下降", "discrepancy": "自评与抽查差异显著"}
    for alert in report.alerts or []:
        pdf.multi_cell(
            0,
            6,
            f"· {kinds[alert.kind]}：{alert.scope_name} {alert.message}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if not report.alerts:
        pdf.cell(0, 6, "本月没有需要关注的点位。", new_x="LMARGIN", new_y="NEXT")
    out = io.BytesIO()
    pdf.output(out)
    for font in pdf.fonts.values():  # fpdf2 opens the font file lazily and never closes it
        if getattr(font, "ttfont", None) is not None:
            font.ttfont.close()
    return out.getvalue()


def _cases(pdf: FPDF, cases: CaseCounts) -> None:
    """The month's 整改 per county and in all (docs/METRICS.md, "整改")."""
    pdf.set_font("noto", size=13)
    pdf.cell(0, 8, "差评整改", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=10)
    if not cases.cases:
        pdf.cell(0, 6, "本月没有差评整改单。", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        return
    header = [
        "县（市、区）",
        "差评",
        "整改单",
        "整改率",
        "按期整改率",
        "超期",
        "回访满意率",
        "申诉成立",
    ]
    rows = []
    for row in [*cases.groups, cases]:
        cells = [row.name if row is not cases else "合计", str(row.bad_answers), str(row.cases)]
        cells += [shown_share(row.rectified_rate), shown_share(row.on_time_rate), str(row.overdue)]
        rows.append([*cells, shown_share(row.followup_rate), str(row.appeals_upheld)])
    _table(pdf, [30, 16, 18, 24, 26, 16, 28, 22], header, rows)
    pdf.ln(3)


def _progress(pdf: FPDF, report: MonthlyReport) -> None:
    """Progress against time progress per county, its warnings and its monthly report's
    state (docs/METRICS.md, "进度")."""
    progress = report.progress
    pdf.set_font("noto", size=13)
    pdf.cell(0, 8, "项目进度与进度预警", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=10)
    pdf.multi_cell(
        0,
        6,
        f"截至 {progress.day}：平均进度 {percent_text(progress.average)}，"
        f"时间进度 {percent_text(progress.time_progress)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    states = {region.id: state for region, _, state in report.reported}
    rows = []
    for county in progress.counties:
        cells = [county.region.name, percent_text(county.average)]
        cells += [percent_text(county.time_progress), states.get(county.region.id, "")]
        rows.append([*cells, "；".join(county.warnings) or "无"])
    header = ["县（市、区）", "平均进度", "时间进度", "月报", "进度预警"]
    _table(pdf, [30, 20, 20, 22, 88], header, rows)
    pdf.ln(3)


#: The tables' heading row.
_HEADINGS = FontFace(fill_color=(238, 243, 240))


def _table(pdf: FPDF, widths: list[int], header: list[str], rows: list[list[str]]) -> None:
    """A table as wide as the page's text (180 mm), every cell's text wrapped within its
    column, the heading row repeated on a new page (fpdf2's tables). Black on white,
    whatever the chart drawn before it left set."""
    pdf.set_fill_color(255, 255, 255)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        text_align="LEFT",
        line_height=6,
        headings_style=_HEADINGS,
        first_row_as_headings=True,
    ) as table:
        for cells in [header, *rows]:
            table.row(cells)


def _trend(pdf: FPDF, months) -> None:
    """Monthly combined rates as vector bars on a 0–100 % scale (样本不足: no bar)."""
    x0, height = pdf.get_x(), 40
    y0 = pdf.get_y() + height
    width = min(14, 180 / max(len(months), 1))
    pdf.set_font("noto", size=7)
    pdf.set_draw_color(200, 200, 200)
    pdf.line(x0, y0, x0 + width * len(months), y0)
    for i, (month, _, combined) in enumerate(months):
        x = x0 + i * width
        if combined.value is not None:
            bar = height * combined.value
            pdf.set_fill_color(4, 97, 47)
            pdf.rect(x + 1, y0 - bar, width - 2, bar, style="F")
            pdf.text(x + 1, y0 - bar - 1, f"{combined.value * 100:.0f}%")
        pdf.text(x + 1, y0 + 4, month[2:])
    pdf.set_y(y0 + 8)
