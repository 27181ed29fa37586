"""A small world for the staff side: one project in two counties of 丽水市, a user of each
county, a city user and an admin; a clock the tests can move; roster files to upload."""

import csv
import io
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import select

from survey.checks.models import CallTask, Resident, VisitPhoto
from survey.db import db
from tests.helpers import PASSWORD, SiteRef, log_in, post, post_files

#: Tuesday 2026-11-24, 10:00 in Shanghai: inside the default calling hours.
MORNING = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@dataclass
class World:
    liandu: SiteRef  # 莲都区
    liandu2: SiteRef  # 莲都区
    qingtian: SiteRef  # 青田县
    project_id: int


@pytest.fixture
def world(make_site, make_user):
    """Sites in 莲都区 (two) and 青田县 (one) of one project; users ``liandu`` and
    ``qingtian`` (county), ``lishui`` (city) and ``admin``."""
    return build_world(make_site, make_user)


def build_world(make_site, make_user) -> World:
    """The ``world`` fixture's sites and users, made with these makers."""
    liandu = make_site("紫金街道康养联合体", county="莲都区")
    liandu2 = make_site("岩泉街道康养联合体", county="莲都区")
    qingtian = make_site("鹤城街道康养联合体", county="青田县")
    make_user("liandu", "county", PASSWORD, region="莲都区")
    make_user("qingtian", "county", PASSWORD, region="青田县")
    make_user("lishui", "city", PASSWORD, region="丽水市")
    make_user("admin", "admin", PASSWORD)
    return World(liandu, liandu2, qingtian, liandu.project_id)


@pytest.fixture
def staff(app, world):
    """staff(username) → a test client logged in as that user of the world."""
    return staff_of(app)


def staff_of(app):
    """``staff`` for ``app`` (for fixtures of a wider scope)."""

    def login(username):
        return log_in(app.test_client(), username, PASSWORD)

    return login


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    """The app's clock, set to MORNING; assign ``clock.now`` to move it."""
    clock = Clock(MORNING)
    app.extensions["clock"] = clock
    return clock


def roster_csv(rows, encoding="utf-8", header=("姓名", "电话", "点位码", "备注")) -> bytes:
    """A roster CSV as Excel would save it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def phone(i: int) -> str:
    """A distinct valid mobile number per ``i``."""
    return f"138{i:08d}"


def upload(client, project_id, content: bytes, filename="roster.csv"):
    """Upload a roster file for checking; returns the reply."""
    url = f"/checks/projects/{project_id}/roster/import"
    return post_files(client, url, {"file": (content, filename)})


def import_roster(client, project_id, content: bytes, filename="roster.csv"):
    """Upload and confirm a roster file; returns the confirmation's reply."""
    reply = upload(client, project_id, content, filename)
    assert reply.status_code == 302, reply.data.decode()[:2000]
    report = reply.headers["Location"]
    return post(client, report + "/confirm")


def jpeg_with_gps(size=(64, 48)) -> bytes:
    """A JPEG carrying a camera name, an orientation (rotate 90°) and a GPS position."""
    image = Image.new("RGB", size, "red")
    exif = Image.Exif()
    exif[0x010F] = "Acme Camera"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (28.0, 27.0, 0.0), 3: "E", 4: (119.0, 55.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def flat_png(width: int, height: int) -> bytes:
    """An RGBA PNG of one colour, written a row at a time (the test never holds the picture
    decoded): a few hundred KB that decode to width x height x 4 bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    packer = zlib.compressobj(9)
    row = b"\0" + bytes((200, 120, 40, 255)) * width  # filter type 0, then the pixels
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def noise_jpeg(width: int, height: int, quality: int = 95) -> bytes:
    """A JPEG of random noise: as large as a phone camera's photo of that size, or larger."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def record_visit(client, site, photos=(), **fields):
    """Record a visit to ``site`` through the form; returns the reply."""
    values = {
        "visited_on": "2026-11-20",
        "inspectors": "李明、王芳",
        "result.0": "pass",
        "result.2": "pass",
    }
    values |= fields
    if photos:
        values["photos"] = list(photos)
    return post_files(client, f"/checks/sites/{site.id}/visits/new", values)


@dataclass
class Records:
    """One of each record, made by a county's user through the pages."""

    resident: int
    staged_import: int
    batch: int
    task: int
    visit: int
    photo: int


@pytest.fixture
def make_records(app, staff, world, clock):
    """make_records(username, site) → Records of that user's county."""
    return records_maker(app, staff, world)


def records_maker(app, staff, world):
    """``make_records`` for ``app`` (for fixtures of a wider scope; set its clock first)."""

    def make(username, site):
        client = staff(username)
        base = 10_000 if username == "qingtian" else 20_000
        rows = [(f"赵{i}", phone(base + i), site.token, "") for i in range(3)]
        import_roster(client, world.project_id, roster_csv(rows))
        staged = upload(client, world.project_id, roster_csv(rows[:1]))  # left staged
        reply = post(
            client, f"/checks/projects/{world.project_id}/samples", {"mode": "count", "size": "2"}
        )
        batch = int(reply.headers["Location"].rsplit("/", 1)[1])
        reply = record_visit(client, site, photos=[(jpeg_with_gps(), "p.jpg")])
        visit = int(reply.headers["Location"].rsplit("/", 1)[1])
        with app.app_context():
            session = db.session
            return Records(
                resident=session.scalar(
                    select(Resident.id).where(Resident.site_id == site.id).limit(1)
                ),
                staged_import=int(staged.headers["Location"].rsplit("/", 1)[1]),
                batch=batch,
                task=session.scalar(select(CallTask.id).where(CallTask.batch_id == batch).limit(1)),
                visit=visit,
                photo=session.scalar(select(VisitPhoto.id).where(VisitPhoto.visit_id == visit)),
            )

    return make
