"""Reading uploaded spreadsheets: CSV (UTF-8, or GBK/GB18030 as Excel saves them) and XLSX.

Rows are streamed one at a time, so a 50,000-row file never sits in memory as cells. XLSX is
read by openpyxl, which parses the workbook's XML through defusedxml when it is installed (it
is: requirements.txt), so entity bombs are refused; formulas are read as their text, never
evaluated. A file whose content is not what its name says is refused with a clear message.

What columns a file must have is the caller's: a ``Layout`` (the roster's, the site list's).
"""

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO
from xml.etree.ElementTree import ParseError

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.utils.exceptions import InvalidFileException

#: An XLSX whose parts unpack to more than this is refused (a zip bomb, or not a plain
#: table); a 50,000-row roster unpacks to about 10 MB.
XLSX_MAX_UNPACKED = 100 * 1024 * 1024
#: openpyxl holds the shared strings in memory even in read-only mode: about 5x their size.
XLSX_MAX_SHARED_STRINGS = 20 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
#: What reading a broken workbook raises: a bad directory or a part whose checksum fails
#: (BadZipFile), a corrupt deflate stream (zlib.error), a truncated one (EOFError), a
#: missing part (KeyError), an unreadable file (OSError), malformed XML (ParseError, or the
#: ValueError openpyxl wraps it in).
_BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ParseError, ValueError)


class SpreadsheetError(ValueError):
    """The file cannot be read as the expected table; the message tells the person what to do."""


@dataclass(frozen=True)
class Layout:
    """The columns a kind of file holds.

    ``columns`` maps each column to the header names accepted for it (compared without case,
    spaces, or the difference between full-width and ASCII parentheses); ``labels`` names
    the columns in messages, ``noun`` the file's content ("名单").
    """

    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    labels: dict[str, str]
    noun: str

    def header_hint(self) -> str:
        """``姓名、电话、点位码，可加备注``: the header as a person should write it."""
        hint = "、".join(self.labels[c] for c in self.required)
        optional = [self.labels[c] for c in self.columns if c not in self.required]
        return hint + (f"，可加{'、'.join(optional)}" if optional else "")


def _unsafe_xml(layout: Layout) -> str:
    return (
        "这个 Excel 文件含有不安全的内容（XML 实体），已拒绝。"
        f"请把{layout.noun}复制到新工作簿后再上传。"
    )


def short_name(filename: str, limit: int = 200) -> str:
    """``filename`` cut to ``limit`` characters, keeping its extension (which says how a
    staged file is read back), without control characters (a browser sends what the name
    holds, and PostgreSQL refuses a NUL in text)."""
    filename = "".join(c for c in filename if c >= " " and c != "\x7f")
    if len(filename) <= limit:
        return filename
    stem, dot, extension = filename.rpartition(".")
    if not dot or len(extension) > 10:
        return filename[:limit]
    return stem[: limit - len(extension) - 1] + "." + extension


def read_rows(file: BinaryIO, filename: str, layout: Layout) -> Iterator[tuple[int, dict]]:
    """(line number, {column: text}) for each data row of a seekable binary ``file``, read
    by its name's extension; every column of ``layout`` is present, "" when absent.

    Raises SpreadsheetError for an unsupported or mislabelled file, an unreadable encoding,
    a missing header, or an empty file — before yielding anything for the first two.
    """
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    head = file.read(8192)
    file.seek(0)
    if extension == "xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise SpreadsheetError("这个文件不是 Excel 工作簿（.xlsx），请检查后重新上传。")
        return _xlsx_rows(file, layout)
    if extension == "csv":
        if head.startswith(_ZIP_MAGIC) or b"\x00" in head:
            raise SpreadsheetError("这个文件不是 CSV 文本文件，请检查后重新上传。")
        return _csv_rows(file, layout)
    if extension == "xls":
        raise SpreadsheetError(
            "不支持旧版 .xls 文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再上传。"
        )
    raise SpreadsheetError("只能上传 .csv 或 .xlsx 文件。")


def _encoding(file: BinaryIO) -> str:
    """UTF-8 (with or without Excel's BOM) if the whole file decodes as such, else GB18030,
    the superset of GBK that Excel uses for CSV on Chinese Windows."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := file.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
    file.seek(0)
    return encoding


def _csv_rows(file: BinaryIO, layout: Layout) -> Iterator[tuple[int, dict]]:
    text = io.TextIOWrapper(file, encoding=_encoding(file), newline="")
    reader = csv.reader(text)
    try:
        yield from _rows_from(((reader.line_num, row) for row in reader), layout)
    except UnicodeDecodeError:
        raise SpreadsheetError(
            "无法识别文件的文字编码，请用 Excel 另存为“CSV UTF-8”后再上传。"
        ) from None
    except csv.Error as err:
        raise SpreadsheetError(f"第 {reader.line_num} 行的格式无法识别（{err}）。") from None
    finally:
        text.detach()


def _cell_text(value) -> str:
    """A cell's value as the text a person sees: 13812341234 rather than 13812341234.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(file: BinaryIO, layout: Layout) -> Iterator[tuple[int, dict]]:
    not_a_workbook = "这个文件不是有效的 Excel 工作簿（.xlsx），请检查后重新上传。"
    try:
        with zipfile.ZipFile(file) as archive:
            parts = archive.infolist()
    except _BROKEN:
        raise SpreadsheetError(not_a_workbook) from None
    file.seek(0)
    shared = sum(p.file_size for p in parts if p.filename.lower().endswith("sharedstrings.xml"))
    if sum(p.file_size for p in parts) > XLSX_MAX_UNPACKED or shared > XLSX_MAX_SHARED_STRINGS:
        raise SpreadsheetError(f"这个 Excel 文件解压后过大，请只保留{layout.noun}后重新上传。")
    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=False)
    except DefusedXmlException:
        raise SpreadsheetError(_unsafe_xml(layout)) from None
    except (*_BROKEN, InvalidFileException) as err:
        # openpyxl wraps what its XML parser raised in a ValueError.
        unsafe = isinstance(err.__cause__ or err.__context__, DefusedXmlException)
        raise SpreadsheetError(_unsafe_xml(layout) if unsafe else not_a_workbook) from None
    try:
        sheet = workbook.worksheets[0]
        numbered = (
            (number, [_cell_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        yield from _rows_from(numbered, layout)
    except (*_BROKEN, IndexError, TypeError) as err:
        # The sheets are unpacked and parsed as rows are read: a broken cell (a number that
        # is not one, a bad date), a broken part or a workbook without sheets surfaces here.
        if isinstance(err, SpreadsheetError):
            raise
        raise SpreadsheetError(not_a_workbook) from None
    except DefusedXmlException:
        raise SpreadsheetError(_unsafe_xml(layout)) from None
    finally:
        workbook.close()


def _header_name(cell: str) -> str:
    return "".join(cell.split()).lower().replace("（", "(").replace("）", ")")


def _header_columns(header: list[str], layout: Layout) -> dict[str, int]:
    """Column → index in the header row; SpreadsheetError when a required column is missing."""
    names = [_header_name(cell) for cell in header]
    found = {}
    for column, accepted in layout.columns.items():
        accepted = {_header_name(name) for name in accepted}
        for index, name in enumerate(names):
            if name in accepted:
                found[column] = index
                break
    missing = [layout.labels[c] for c in layout.required if c not in found]
    if missing:
        raise SpreadsheetError(
            f"第一行应是列名（{layout.header_hint()}），没有找到：{'、'.join(missing)}。"
        )
    return found


def _rows_from(
    numbered: Iterator[tuple[int, list[str]]], layout: Layout
) -> Iterator[tuple[int, dict]]:
    """(line, values) from (line number, cells) pairs whose first non-blank one is the header."""
    columns = None
    for line, cells in numbered:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if columns is None:
            columns = _header_columns(cells, layout)
            continue
        values = dict.fromkeys(layout.columns, "")
        values.update(
            {column: cells[index] for column, index in columns.items() if index < len(cells)}
        )
        yield line, values
    if columns is None:
        raise SpreadsheetError("文件是空的，请检查后重新上传。")
