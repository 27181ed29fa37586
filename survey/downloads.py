"""How every file leaves the app: spreadsheets (CSV in UTF-8 with BOM, so Excel shows
Chinese, and XLSX) written whole before they are sent, PDFs and images, each as an attachment
whose Chinese name survives the trip in a header.

Text that a spreadsheet would run as a formula is neutralised. Rates travel as ``Percent``
and times as ``datetime``: XLSX gets numbers with a number format (Excel sorts and charts
them), CSV the text Excel reads back as the same numbers (``95.6%``).
"""

import csv
import io
import tempfile
from collections.abc import Iterable
from datetime import datetime

from flask import send_file
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT_FORMAT = "0.0%"
TIME_FORMAT = "yyyy-mm-dd hh:mm"


class Percent(float):
    """A share (0–1) that a spreadsheet shows as a percentage."""


def safe(value):
    """A cell value a spreadsheet shows as text, never runs: ``'=…`` for ``=…``."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


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


def private_image(data: bytes, mimetype: str):
    """A stored photo shown inline, never kept in a cache: after logging out, the browser
    must not show it again."""
    reply = send_file(io.BytesIO(data), mimetype=mimetype)
    reply.headers["Cache-Control"] = "private, no-store"
    return reply


def spooled(write, filename: str, mimetype: str):
    """Send what ``write(file)`` writes, as ``filename``: spooled through a temporary file (a
    project's posters never all in memory) and written whole before anything is sent, so a
    failure is a 500, never a 200 with a cut-off file, and whoever records the download after
    this returns records only files that were made."""
    spool = tempfile.TemporaryFile()
    try:
        write(spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return download(spool, filename, mimetype)


def write_rows(rows: Iterable[list], fmt: str, file) -> str:
    """Write ``rows`` to the binary ``file`` as CSV or XLSX (``fmt``); the file's type."""
    if fmt == "csv":
        _write_csv(rows, file)
        return "text/csv"
    _write_xlsx(rows, file)
    return XLSX_MIMETYPE


def send(rows: Iterable[list], name: str, fmt: str):
    """The reply with ``rows`` as ``name``.csv or .xlsx."""
    mimetype = "text/csv" if fmt == "csv" else XLSX_MIMETYPE
    return spooled(lambda file: write_rows(rows, fmt, file), f"{name}.{fmt}", mimetype)


def send_pdf(data: bytes, name: str):
    """The reply with the PDF ``data`` as ``name``.pdf."""
    return download(io.BytesIO(data), f"{name}.pdf", "application/pdf")
