"""Hostile input answers a clear 4xx and stores nothing (issue 15).

One table: who sends what to which route. Each row is run on SQLite and PostgreSQL and
checks the status, that the reply is a person-readable page (Chinese) or the API's JSON
error shape, and that no table gained or lost a row.

Why these values: Python refuses ``int()`` of more than 4,300 digits (ValueError);
SQLite cannot bind an int past 2**63 and PostgreSQL none past its column's type; a date
at year 1 or 9999 overflows when a day is added or a time zone applied; PostgreSQL
refuses NUL in text; a lone surrogate cannot be encoded as UTF-8, so cannot be stored or
sent back; JSON nested thousands deep exhausts the parser's stack.
"""

import io
import re
import struct
import zipfile
from dataclasses import dataclass, field

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from survey import create_app
from survey.db import db
from survey.regions.models import Region
from tests.checks.conftest import MORNING, Clock, build_world, records_maker, staff_of
from tests.helpers import (
    BufferedClient,
    app_settings,
    csrf_of,
    empty_tables,
    open_form,
    site_maker,
    user_maker,
)

DIGITS = "9" * 5000  # int() refuses it: more than 4,300 digits
PAST_SQLITE = str(10**30)  # past SQLite's 64-bit integers
PAST_INT4 = str(2**31)  # past PostgreSQL's integer (row ids, counts)
PAST_INT8 = str(2**63)  # past PostgreSQL's bigint
BIG_NUMBERS = {"digits": DIGITS, "1e30": PAST_SQLITE, "2^31": PAST_INT4, "2^63": PAST_INT8}
LAST_DAY, FIRST_DAY = "9999-12-31", "0001-01-01"
#: A lone surrogate as a form or JSON body carries it: its UTF-8-like bytes, which are not
#: UTF-8 (a browser never sends them), and the JSON escape.
SURROGATE_BYTES = "%ED%A0%80"
SURROGATE_ESCAPE = "\\ud800"
#: Replaced in a multipart body by the bytes (werkzeug cannot encode a surrogate).
SURROGATE_MARK = "@surrogate@"


def api_body(answers: str, **fields: str) -> str:
    """An API submission's JSON text: ``answers`` and each field as JSON text, the nonce
    filled in when sent."""
    rest = "".join(f', "{name}": {value}' for name, value in fields.items())
    return '{"nonce": "{nonce}", "answers": ' + answers + rest + "}"


@dataclass(frozen=True)
class Row:
    """A request: ``user`` (None: nobody logged in), the URL with ``{project}``, ``{site}``,
    ``{token}``, ``{county}``, ``{task}`` filled in, and a body: ``form`` fields (the CSRF
    token added for staff; a str is sent as an urlencoded body as is), ``json`` text, or a
    ``file`` upload (name → bytes-making function)."""

    user: str | None
    method: str
    url: str
    form: dict | str | None = None
    json: str | None = None
    file: tuple | None = None
    statuses: tuple = (400, 422)
    backends: tuple = ("sqlite", "postgresql")
    extra: dict = field(default_factory=dict)


ROWS: dict[str, Row] = {}


def row(name: str, *args, **kwargs) -> None:
    ROWS[name] = Row(*args, **kwargs)


# -- nobody logged in: the resident form, the API, the login page --------------------------

for label, number in BIG_NUMBERS.items():
    row(f"form overall {label}", None, "POST", "/s/{token}", {"q.overall": number})
    row(
        f"api overall {label} as text",
        None,
        "POST",
        "/api/v1/sites/{token}/responses",
        json=api_body('{"overall": "' + number + '"}'),
    )
    row(
        f"api overall {label} as number",
        None,
        "POST",
        "/api/v1/sites/{token}/responses",
        json=api_body('{"overall": ' + number + "}"),
        statuses=(400,) if number == DIGITS else (422,),
    )
row(
    "api nested 5000 deep",
    None,
    "POST",
    "/api/v1/sites/{token}/responses",
    json=api_body('{"overall": 5}', device="[" * 5000 + "]" * 5000),
    statuses=(400,),
)
row(
    "api answers nested 5000 deep",
    None,
    "POST",
    "/api/v1/sites/{token}/responses",
    json=api_body('{"overall": ' + "[" * 5000 + "]" * 5000 + "}"),
    statuses=(400,),
)
for label, text in {"escape": SURROGATE_ESCAPE, "bytes": "\ud800"}.items():
    row(
        f"api comment surrogate {label}",
        None,
        "POST",
        "/api/v1/sites/{token}/responses",
        json=api_body('{"overall": 5}', comment=f'"x{text}x"'),
        statuses=(400,),
    )
    row(
        f"api answer key surrogate {label}",
        None,
        "POST",
        "/api/v1/sites/{token}/responses",
        json=api_body('{"overall": 5, "' + text + '": 5}'),
        statuses=(400,),
    )
row(
    "form comment surrogate",
    None,
    "POST",
    "/s/{token}",
    "nonce={nonce}&q.overall=5&comment=x" + SURROGATE_BYTES,
)
row(
    "form answer key surrogate",
    None,
    "POST",
    "/s/{token}",
    "nonce={nonce}&q.overall=5&q." + SURROGATE_BYTES + "=5",
)
row(
    "form comment surrogate multipart",
    None,
    "POST",
    "/s/{token}",
    {"q.overall": "5", "comment": "x" + SURROGATE_MARK + "x"},
    extra={"multipart": True},
)
row("login user name NUL", None, "POST", "/login", {"username": "ad\x00min", "password": "x"})

# -- staff: dashboard filters ------------------------------------------------------------

FILTERED = {
    "dashboard": ("lishui", "/dashboard/"),
    "project": ("lishui", "/dashboard/projects/{project}"),
    "county page": ("lishui", "/dashboard/projects/{project}/counties/{county}"),
    "site page": ("lishui", "/dashboard/sites/{site}"),
    "comments": ("lishui", "/dashboard/projects/{project}/comments"),
    "flagged": ("lishui", "/dashboard/projects/{project}/flagged"),
    "responses.csv": ("lishui", "/dashboard/projects/{project}/responses.csv"),
    "summary.xlsx": ("lishui", "/dashboard/projects/{project}/summary.xlsx"),
    "api stats": ("lishui", "/api/v1/projects/{project}/stats"),
}
for where, (user, url) in FILTERED.items():
    for name, day in (("to", LAST_DAY), ("from", FIRST_DAY), ("from", LAST_DAY), ("to", FIRST_DAY)):
        row(f"{where} {name}={day}", user, "GET", f"{url}?{name}={day}")
    for label, number in BIG_NUMBERS.items():
        if where != "county page":
            row(f"{where} county={label}", user, "GET", f"{url}?county={number}")
for label, number in BIG_NUMBERS.items():
    row(
        f"flagged page={label}",
        "lishui",
        "GET",
        "/dashboard/projects/{project}/flagged?page=" + number,
    )
    row(
        f"flagged site={label}",
        "lishui",
        "GET",
        "/dashboard/projects/{project}/flagged?site=" + number,
    )
for month in ("9999-12", "0001-01", "0000-01", "٢٠٢٦-11"):
    for path in ("report", "report.pdf"):
        row(
            f"{path} month={month}",
            "lishui",
            "GET",
            f"/dashboard/projects/{{project}}/{path}?month={month}",
        )
row("comments search NUL", "lishui", "GET", "/dashboard/projects/{project}/comments?q=a%00b")
row(
    "comments search surrogate",
    "lishui",
    "GET",
    "/dashboard/projects/{project}/comments?q=a" + SURROGATE_BYTES,
    statuses=(200, 400, 422),  # werkzeug keeps an undecodable escape as text: searched as is
)
row("audit user name NUL", "admin", "GET", "/admin/audit?username=a%00b")
row("audit user name NUL (city)", "lishui", "GET", "/admin/audit?username=a%00b")

# -- staff: the long lists' page, county and search ------------------------------------

LISTS = {
    "site list": ("admin", "/admin/projects/{project}"),
    "roster": ("liandu", "/checks/projects/{project}/roster"),
    "visits": ("liandu", "/checks/projects/{project}/visits"),
}
for where, (user, url) in LISTS.items():
    for label, number in BIG_NUMBERS.items():
        # A list shows what it can with a bad value dropped (200) or refuses it.
        for name in ("page", "county"):
            row(
                f"{where} {name}={label}",
                user,
                "GET",
                f"{url}?{name}={number}",
                statuses=(200, 400, 422),
            )
    row(f"{where} q NUL", user, "GET", f"{url}?q=a%00b", statuses=(200, 400, 422))
for label, number in BIG_NUMBERS.items():
    row(
        f"pick count={label}", "liandu", "GET", "/checks/?count=" + number, statuses=(200, 400, 422)
    )
    row(
        f"visit form home_visit={label}",
        "liandu",
        "GET",
        "/checks/sites/{site}/visits/new?home_visit=" + number,
        statuses=(200, 400, 404, 422),
    )
    row(
        f"recordings region={label}",
        "admin",
        "GET",
        "/admin/projects/{project}/questionnaire/recordings?region=" + number,
        statuses=(200, 400, 404, 422),
    )

# -- staff: forms -----------------------------------------------------------------------

PROJECT_FORM = {
    "name": "新项目",
    "year": "2026",
    "region_id": "{city}",
    "status": "active",
    "starter": "elderly_care",
}
SITE_FORM = {"name": "新点位", "level": "township", "region_id": "{county}"}
VISIT_FORM = {"visited_on": "2026-11-20", "inspectors": "李明", "result.0": "pass"}
for label, number in BIG_NUMBERS.items():
    row(
        f"sample size={label}",
        "liandu",
        "POST",
        "/checks/projects/{project}/samples",
        {"mode": "count", "size": number},
    )
    row(
        f"sample minimum={label}",
        "liandu",
        "POST",
        "/checks/projects/{project}/samples",
        {"mode": "count", "size": "2", "minimum": number},
    )
    row(
        f"new project year={label}",
        "admin",
        "POST",
        "/admin/projects/new",
        PROJECT_FORM | {"year": number},
    )
    row(
        f"new project region_id={label}",
        "admin",
        "POST",
        "/admin/projects/new",
        PROJECT_FORM | {"region_id": number},
    )
    row(
        f"edit project target={label}",
        "admin",
        "POST",
        "/admin/projects/{project}/edit",
        PROJECT_FORM | {f"target.{'{county}'}": number},
    )
    row(
        f"edit project target county id={label}",
        "admin",
        "POST",
        "/admin/projects/{project}/edit",
        PROJECT_FORM | {f"target.{number}": "3"},
    )
    row(
        f"new site region_id={label}",
        "admin",
        "POST",
        "/admin/projects/{project}/sites/new",
        SITE_FORM | {"region_id": number},
    )
    row(
        f"edit site region_id={label}",
        "admin",
        "POST",
        "/admin/sites/{site}/edit",
        SITE_FORM | {"region_id": number},
    )
    row(
        f"new user region_id={label}",
        "admin",
        "POST",
        "/admin/users/new",
        {"username": "newuser", "role": "county", "region_id": number},
    )
    row(
        f"new region parent_id={label}",
        "admin",
        "POST",
        "/admin/regions/",
        {"name": "新区", "parent_id": number},
    )
    row(
        f"checklist required={label}",
        "admin",
        "POST",
        "/admin/projects/{project}/checklist",
        {"item": "有无障碍通道", "required": number},
    )
    row(
        f"visit checklist_version={label}",
        "liandu",
        "POST",
        "/checks/sites/{site}/visits/new",
        VISIT_FORM | {"checklist_version": number},
        extra={"multipart": True},
    )
    row(
        f"visit home_visit={label}",
        "liandu",
        "POST",
        "/checks/sites/{site}/visits/new",
        VISIT_FORM | {"home_visit": number},
        extra={"multipart": True},
        statuses=(400, 404, 422),
    )
    row(
        f"visit result index={label}",
        "liandu",
        "POST",
        "/checks/sites/{site}/visits/new",
        VISIT_FORM | {f"result.{number}": "pass"},
        extra={"multipart": True},
    )
    row(
        f"flagged review id={label}",
        "lishui",
        "POST",
        "/dashboard/projects/{project}/flagged",
        {"decision": "restore", "id": number},
        statuses=(302, 400, 422),
    )
for day in (LAST_DAY, FIRST_DAY):
    row(
        f"visit visited_on={day}",
        "liandu",
        "POST",
        "/checks/sites/{site}/visits/new",
        VISIT_FORM | {"visited_on": day},
        extra={"multipart": True},
    )
for moment in ("9999-12-31T23:59", "0001-01-01T00:00"):
    row(
        f"call attempt callback_at={moment}",
        "liandu",
        "POST",
        "/checks/tasks/{task}/attempts",
        {"outcome": "callback", "callback_at": moment},
    )
row(
    "visit inspectors NUL",
    "liandu",
    "POST",
    "/checks/sites/{site}/visits/new",
    VISIT_FORM | {"inspectors": "李\x00明"},
    extra={"multipart": True},
)

# -- staff: spreadsheets with a corrupt deflate stream ------------------------------------


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def corrupt_deflate(content: bytes, member: str) -> bytes:
    """``content`` with ``member``'s deflate stream broken at its first byte (block type
    3, which does not exist), the zip's directory left intact."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        info = archive.getinfo(member)
    start = info.header_offset
    name_length, extra_length = struct.unpack("<HH", data[start + 26 : start + 30])
    data[start + 30 + name_length + extra_length] = 0xFF
    return bytes(data)


def _roster_xlsx(token):
    return _xlsx([("姓名", "电话", "点位码"), ("张三", "13800000000", token)])


def _site_xlsx(_token):
    return _xlsx(
        [("县（市、区）", "点位名称", "地址", "级别"), ("莲都区", "新点位", "某路1号", "乡镇级")]
    )


UPLOADS = {
    "roster": ("liandu", "/checks/projects/{project}/roster/import", _roster_xlsx),
    "site list": ("admin", "/admin/projects/{project}/sites/import", _site_xlsx),
}
for where, (user, url, make) in UPLOADS.items():
    for member in ("xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml"):
        row(f"{where} xlsx corrupt {member}", user, "POST", url, file=(make, member))


# -- running a row ------------------------------------------------------------------------


def table_counts(app) -> dict[str, int]:
    """Rows in every table."""
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def _refs(scene: "Scene", client, case: Row) -> dict:
    """The values the row's URL and body name, the form's nonce and the CSRF token."""
    app, world = scene.app, scene.world
    with app.app_context():
        counties = dict(db.session.execute(select(Region.name, Region.id)).all())
    refs = {
        "project": world.project_id,
        "site": world.liandu.id,
        "token": world.liandu.token,
        "county": counties["莲都区"],
        "city": counties["丽水市"],
    }
    if "{task}" in case.url:
        refs["task"] = scene.records().task
    if case.user is None and case.method == "POST" and case.url != "/login":
        refs["nonce"] = open_form(app.test_client(), refs["token"])
    elif case.method == "POST":
        refs["csrf"] = csrf_of(client.get("/account/password" if case.user else "/login").data)
    return refs


def _fill(value, refs: dict):
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: str(refs.get(m.group(1), m.group(0))), value)
    if isinstance(value, dict):
        return {_fill(k, refs): _fill(v, refs) for k, v in value.items()}
    return value


def _send(client, case: Row, refs: dict):
    url = _fill(case.url, refs)
    if case.method == "GET":
        return client.get(url)
    if case.json is not None:
        body = case.json.replace("{nonce}", refs["nonce"]).encode("utf-8", "surrogatepass")
        return client.post(url, data=body, content_type="application/json")
    if isinstance(case.form, str):
        body = _fill(case.form, refs)
        return client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    values = MultiDict(_fill(case.form or {}, refs))
    for name in ("nonce", "csrf"):
        if name in refs:
            values.add("nonce" if name == "nonce" else "csrf_token", refs[name])
    if case.file is not None:
        make, member = case.file
        content = corrupt_deflate(make(refs["token"]), member)
        values.add("file", FileStorage(io.BytesIO(content), filename="名单.xlsx"))
    if case.file is not None or case.extra.get("multipart"):
        boundary, body = encode_multipart(values)
        body = body.replace(SURROGATE_MARK.encode(), b"\xed\xa0\x80")
        return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    return client.post(url, data=values)


def assert_clear_refusal(reply, case: Row) -> None:
    """The status is one the row allows, and its body is for a person: the API's JSON error
    shape, or a Chinese page; never a traceback."""
    body = reply.data.decode(errors="replace")
    assert reply.status_code in case.statuses, f"{reply.status_code} {body[:300]}"
    assert "Traceback" not in body
    if reply.status_code >= 400:
        if case.url.startswith("/api/"):
            assert reply.is_json and reply.json["code"] == reply.status_code
            assert re.search(r"[\u4e00-\u9fff]", reply.json["message"])
        else:
            assert reply.mimetype == "text/html"
            assert re.search(r"[\u4e00-\u9fff]", body)


@dataclass
class Scene:
    """One app and world per backend for the whole table: every row must store nothing,
    so the rows can share them (a world per row took minutes on PostgreSQL)."""

    app: object
    world: object
    staff: object
    clients: dict = field(default_factory=dict)
    made: list = field(default_factory=list)

    def client(self, user: str | None):
        if user is None:
            return self.app.test_client()
        if user not in self.clients:
            self.clients[user] = self.staff(user)
        return self.clients[user]

    def records(self):
        """A county's records (roster, batch, visit), made once."""
        if not self.made:
            make = records_maker(self.app, self.staff, self.world)
            self.made.append(make("liandu", self.world.liandu))
        return self.made[0]


@pytest.fixture(scope="module")
def scene(database_url):
    app = create_app(app_settings(database_url))
    app.test_client_class = BufferedClient
    app.extensions["clock"] = Clock(MORNING)
    world = build_world(site_maker(app), user_maker(app))
    yield Scene(app, world, staff_of(app))
    with app.app_context():
        db.session.remove()
        empty_tables()
        db.engine.dispose()


@pytest.mark.parametrize("name", list(ROWS))
def test_hostile_input_is_refused_and_nothing_is_stored(scene, database_url, name):
    case = ROWS[name]
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    if backend not in case.backends:
        pytest.skip(f"not a hostile input on {backend}")
    client = scene.client(case.user)
    refs = _refs(scene, client, case)
    before = table_counts(scene.app)
    reply = _send(client, case, refs)
    assert_clear_refusal(reply, case)
    assert table_counts(scene.app) == before
