"""Spreadsheet exports: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX, streamed.

No personal data leaves: responses carry no names or numbers, and device ids are left out.
Text that a spreadsheet would run as a formula is neutralised.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from flask import Response as HttpResponse
from flask import send_file, stream_with_context
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.scope import Scope
from survey.responses.answers import answers_by_response, one_line
from survey.responses.models import SATISFACTION_LEVELS, Response
from survey.sites.models import Region, Site
from survey.stats.feeds import filter_responses
from survey.stats.rollups import ZONE
from survey.stats.summaries import CHANNELS, Filters, Summary

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """A cell value a spreadsheet shows as text, never runs: ``'=…`` for ``=…``."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _percent(rate) -> str:
    return "样本不足" if rate.value is None else f"{rate.value * 100:.1f}%"


def summary_rows(rows: list[Summary], group: str) -> Iterator[list]:
    """The summary table, header first: combined and per-channel rates with n and interval."""
    header = ["县（市、区）" if group == "county" else "点位"]
    if group == "site":
        header.append("县（市、区）")
    header += ["满意率", "95%区间", "平均分", "有效回答"]
    for label in CHANNELS.values():
        header += [f"{label}满意率", f"{label}回答"]
    header += ["家属代答", "自评与抽查差异显著"]
    yield header
    for row in rows:
        combined = row.combined
        interval = (
            f"{combined.interval[0] * 100:.1f}%–{combined.interval[1] * 100:.1f}%"
            if combined.interval
            else ""
        )
        cells = [row.name] + ([row.parent] if group == "site" else [])
        cells += [_percent(combined), interval]
        cells += [round(combined.mean_score, 1) if combined.mean_score is not None else ""]
        cells += [combined.n]
        for channel in CHANNELS:
            cells += [_percent(row.channels[channel]), row.channels[channel].n]
        cells += [row.proxy, "是" if row.discrepancy else ""]
        yield cells


def response_rows(
    session: Session, scope: Scope, project_id: int, filters: Filters
) -> Iterator[list]:
    """Every response of the project in scope, header first, read in batches; the answers
    besides the overall one share a cell, each in the wording of the version answered."""
    yield ["时间", "县（市、区）", "点位", "渠道", "满意度", "分值", "家属代答", "其他回答", "留言"]
    query = (
        select(
            Response.id,
            Response.created_at,
            Region.name,
            Site.name,
            Response.channel,
            Response.overall,
            Response.proxy,
            Response.comment,
        )
        .join(Site, Response.site_id == Site.id)
        .join(Region, Site.region_id == Region.id)
        .where(Site.project_id == project_id, scope.where(Site.region_id))
        .order_by(Response.id)
        .execution_options(yield_per=2000)
    )
    query = filter_responses(query, filters)
    for batch in session.execute(query).partitions():
        answers = answers_by_response(session, [row.id for row in batch])
        for response_id, at, county, site, channel, overall, proxy, comment in batch:
            yield [
                f"{at.astimezone(ZONE):%Y-%m-%d %H:%M}",
                county,
                site,
                CHANNELS[channel],
                SATISFACTION_LEVELS[overall],
                overall,
                "是" if proxy else "",
                one_line(answers.get(response_id, [])),
                comment,
            ]


def _csv_chunks(rows: Iterable[list]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()
    for row in rows:
        writer.writerow([safe(cell) for cell in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def send(rows: Iterable[list], name: str, fmt: str):
    """Send rows as CSV (streamed as they are read) or XLSX (written row by row to a
    temporary file by openpyxl's write-only mode, then sent)."""
    filename = " ".join(name.split()).replace("/", "_")
    if fmt == "csv":
        reply = HttpResponse(stream_with_context(_csv_chunks(rows)), mimetype="text/csv")
        reply.headers.set("Content-Disposition", "attachment", filename=f"{filename}.csv")
        return reply
    book = Workbook(write_only=True)
    sheet = book.create_sheet("数据")
    for row in rows:
        sheet.append([safe(cell) for cell in row])
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return send_file(spool, mimetype=mimetype, as_attachment=True, download_name=f"{filename}.xlsx")


def send_pdf(data: bytes, name: str):
    filename = " ".join(name.split()).replace("/", "_")
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{filename}.pdf",
    )
