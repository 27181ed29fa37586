"""Reading roster files: CSV (UTF-8, or GBK/GB18030 as Excel saves them) and XLSX.

The reading itself (encodings, XLSX through defusedxml, formulas as text, size caps) is
``survey.spreadsheets``'; this module says what columns a roster has.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from survey import spreadsheets

ROSTER = spreadsheets.Layout(
    columns={
        "name": ("姓名", "名字", "name"),
        "phone": ("电话", "手机", "手机号", "手机号码", "联系电话", "电话号码", "phone"),
        "site": ("点位码", "点位", "点位名称", "sitecode", "site"),
        "note": ("备注", "note"),
    },
    required=("name", "phone", "site"),
    labels={"name": "姓名", "phone": "电话", "site": "点位码", "note": "备注"},
    noun="名单",
)

#: The roster's name for the error every spreadsheet reader raises.
RosterFileError = spreadsheets.SpreadsheetError


@dataclass
class RawRow:
    """One data row as written in the file, with its line (row) number."""

    line: int
    name: str
    phone: str
    site: str
    note: str


def read_rows(file: BinaryIO, filename: str) -> Iterator[RawRow]:
    """The data rows of a roster file (seekable binary ``file``), by its name's extension.

    Raises RosterFileError for an unsupported or mislabelled file, an unreadable encoding,
    a missing header, or an empty file — before yielding anything for the first two.
    """
    rows = spreadsheets.read_rows(file, filename, ROSTER)
    return (
        RawRow(line, values["name"], values["phone"], values["site"], values["note"])
        for line, values in rows
    )
