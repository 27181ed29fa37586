"""Spreadsheet exports: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX, and the one
way every download is sent.

No personal data leaves: responses carry no names or numbers, and device ids are left out.
Text that a spreadsheet would run as a formula is neutralised. Rates travel as ``Percent``
and times as ``datetime``: XLSX gets numbers with a number format (Excel sorts and charts
them), CSV the text Excel reads back as the same numbers (``95.6%``).
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import send_file
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
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
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT_FORMAT = "0.0%"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
#: Shown instead of a rate below ``metrics.MIN_SAMPLE`` answers (the n beside it says why).
TOO_FEW = "样本不足"


class Percent(float):
    """A share (0–1) that a spreadsheet shows as a percentage."""


def safe(value):
    """A cell value a spreadsheet shows as text, never runs: ``'=…`` for ``=…``."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _percent(value: float | None):
    return TOO_FEW if value is None else Percent(value)


def summary_rows(rows: list[Summary], group: str) -> Iterator[list]:
    """The summary table, header first: combined and per-channel rates with n and interval."""
    header = ["县（市、区）" if group == "county" else "点位"]
    if group == "site":
        header.append("县（市、区）")
    header += ["满意率", "95%区间下限", "95%区间上限", "平均分", "有效回答"]
    for label in CHANNELS.values():
        header += [f"{label}满意率", f"{label}回答"]
    header += ["家属代答", "自评与抽查差异显著"]
    yield header
    for row in rows:
        combined = row.combined
        cells = [row.name] + ([row.parent] if group == "site" else [])
        cells += [_percent(combined.value), _percent(combined.low), _percent(combined.high)]
        cells += [round(combined.mean_score, 1) if combined.mean_score is not None else ""]
        cells += [combined.n]
        for channel in CHANNELS:
            cells += [_percent(row.channels[channel].value), row.channels[channel].n]
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
                at.astimezone(ZONE).replace(tzinfo=None),
                county,
                site,
                CHANNELS[channel],
                SATISFACTION_LEVELS[overall],
                overall,
                "是" if proxy else "",
                one_line(answers.get(response_id, [])),
                comment,
            ]


def _csv_text(cell):
    if isinstance(cell, Percent):
        return f"{cell * 100:.1f}%"
    if isinstance(cell, datetime):
        return f"{cell:%Y-%m-%d %H:%M}"
    return safe(cell)


def _write_csv(rows: Iterable[list], file) -> None:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    for row in rows:
        writer.writerow([_csv_text(cell) for cell in row])
    text.flush()
    text.detach()  # the file stays open for sending


def _xlsx_cell(sheet, cell):
    if isinstance(cell, Percent | datetime):
        typed = WriteOnlyCell(sheet, value=float(cell) if isinstance(cell, Percent) else cell)
        typed.number_format = PERCENT_FORMAT if isinstance(cell, Percent) else TIME_FORMAT
        return typed
    return safe(cell)


def _write_xlsx(rows: Iterable[list], file) -> None:
    book = Workbook(write_only=True)  # row by row, never the whole sheet in memory
    sheet = book.create_sheet("数据")
    try:
        for row in rows:
            sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    except BaseException:
        sheet.close()  # ends openpyxl's row writer, a generator left open otherwise
        raise
    book.save(file)


def download(file, filename: str, mimetype: str):
    """Send ``file`` (binary, at its start) as an attachment named ``filename``.

    Every download goes through here: Werkzeug's ``send_file`` writes Content-Disposition in
    the RFC 6266 form, an ASCII ``filename=`` fallback and ``filename*=UTF-8''…``. A raw
    Chinese name is not latin-1, which gunicorn refuses with a 500 (and the development
    server hangs on).
    """
    name = " ".join(filename.split()).replace("/", "_").replace("\\", "_")
    return send_file(file, mimetype=mimetype, as_attachment=True, download_name=name)


def send(rows: Iterable[list], name: str, fmt: str):
    """The reply with ``rows`` as ``name``.csv or .xlsx, written whole to a temporary file
    first: a failure while reading is a 500, never a 200 with a cut-off file, so whoever
    records the export after this returns records only files that were made."""
    spool = tempfile.TemporaryFile()
    try:
        (_write_csv if fmt == "csv" else _write_xlsx)(rows, spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    mimetype = "text/csv" if fmt == "csv" else XLSX_MIMETYPE
    return download(spool, f"{name}.{fmt}", mimetype)


def send_pdf(data: bytes, name: str):
    """The reply with the PDF ``data`` as ``name``.pdf."""
    return download(io.BytesIO(data), f"{name}.pdf", "application/pdf")
