"""Phone numbers, masking, field encryption and reading roster files."""

import io
import zipfile

import openpyxl
import openpyxl.xml
import pytest

from survey.checks.roster_files import RosterFileError, read_rows
from survey.field_cipher import FieldCipher, InvalidToken, new_key
from survey.phones import BadPhone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("0578-2123456", "0578-2123456"),
        ("(0578)21234567", "0578-21234567"),
        ("010-62345678", "010-62345678"),
        ("02112345678", "021-12345678".replace("021-1", "021-1")),
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    if expected.startswith("021-1"):  # a local number cannot start with 1
        with pytest.raises(BadPhone):
            normalize_phone(raw)
        return
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "为空"),
        ("1381234567", "11 位"),
        ("12812345678", "11 位"),
        ("2123456", "区号"),
        ("138abc45678", "数字以外"),
        ("13٨١٢٣٤١٢٣٤", "数字以外"),  # Arabic-Indic digits: stored as typed, never dialled
        ("0578-123", "位数"),
    ],
)
def test_bad_phone_numbers_say_why(raw, reason):
    with pytest.raises(BadPhone, match=reason):
        normalize_phone(raw)


def test_numbers_are_masked_for_display():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0578-2123456") == "0578-***3456"


def test_the_cipher_round_trips_and_digests_with_its_key():
    cipher, other = FieldCipher(new_key()), FieldCipher(new_key())
    token = cipher.encrypt("13812345678")
    assert "13812345678" not in token and cipher.decrypt(token) == "13812345678"
    assert cipher.encrypt("x") != cipher.encrypt("x")  # random IV: equal values differ
    assert cipher.digest("13812345678") == cipher.digest("13812345678")
    assert cipher.digest("13812345678") != other.digest("13812345678")
    with pytest.raises(InvalidToken):
        other.decrypt(token)
    with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEY"):
        FieldCipher("not a key")


def _rows(content: bytes, name: str):
    return list(read_rows(io.BytesIO(content), name))


def test_csv_in_utf8_with_bom_gbk_and_gb18030_reads_the_same():
    text = "姓名,电话,点位码\r\n张𠮷,13812345678,ABC\r\n"
    for encoding in ("utf-8-sig", "utf-8", "gb18030"):
        rows = _rows(text.encode(encoding), "a.csv")
        assert [(r.line, r.name, r.phone, r.site) for r in rows] == [
            (2, "张𠮷", "13812345678", "ABC")
        ]
    gbk = "姓名,电话,点位码\r\n王秀英,13812345678,ABC\r\n".encode("gbk")
    assert _rows(gbk, "a.CSV")[0].name == "王秀英"


def test_headers_may_be_chinese_or_english_in_any_order_and_blank_rows_are_skipped():
    content = "\n\nPhone,Site Code,Name,备注\n13812345678,ABC,Li,独居\n,,,\n".encode()
    rows = _rows(content, "a.csv")
    assert [(r.line, r.name, r.phone, r.site, r.note) for r in rows] == [
        (4, "Li", "13812345678", "ABC", "独居")
    ]


def test_xlsx_is_parsed_through_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True


def test_an_xlsx_with_an_xml_bomb_is_refused():
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话", "点位码"])
    good = io.BytesIO()
    book.save(good)
    bomb = io.BytesIO()
    entities = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = entities.encode() + data
            target.writestr(item, data)
    with pytest.raises(RosterFileError, match="不安全"):
        _rows(bomb.getvalue(), "bomb.xlsx")


def test_an_xlsx_that_unpacks_to_too_much_is_refused(monkeypatch):
    monkeypatch.setattr("survey.spreadsheets.XLSX_MAX_UNPACKED", 100)
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话", "点位码"])
    data = io.BytesIO()
    book.save(data)
    with pytest.raises(RosterFileError, match="过大"):
        _rows(data.getvalue(), "big.xlsx")
