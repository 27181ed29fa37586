"""Unannounced visits: random picks, the checklist, photos without EXIF, interviews."""

import io
import re

import pytest
from PIL import Image

from survey.accounts.models import AuditEntry
from survey.checks.models import Visit, VisitPhoto
from survey.checks.photos import BadPhoto, clean_photo
from survey.db import db
from survey.responses.models import Response
from tests.checks.conftest import jpeg_with_gps, post, record_visit

ANSWERS = {"q.overall": "5", "q.attitude": "0", "comment": "环境干净"}


def _visit_id(reply) -> int:
    assert reply.status_code == 302, reply.get_data(as_text=True)[:3000]
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def test_a_photo_is_re_encoded_upright_without_exif_or_gps():
    original = jpeg_with_gps((64, 48))
    assert b"Acme Camera" in original
    photo = clean_photo(original)
    image = Image.open(io.BytesIO(photo.data))
    assert photo.content_type == "image/jpeg" and image.format == "JPEG"
    assert (image.width, image.height) == (48, 64)  # turned by its orientation tag
    assert not image.getexif() and b"Acme" not in photo.data and b"Exif" not in photo.data


def test_a_png_stays_a_png_without_its_text_chunks():
    image = Image.new("RGB", (10, 10))
    info = __import__("PIL.PngImagePlugin", fromlist=["PngInfo"]).PngInfo()
    info.add_text("Location", "28.45N 119.92E")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    photo = clean_photo(out.getvalue())
    assert photo.content_type == "image/png" and b"119.92E" not in photo.data


def test_a_visit_is_recorded_with_checklist_findings_and_photos(app, staff, world, count):
    client = staff("liandu")
    reply = record_visit(
        client, world.liandu, photos=[(jpeg_with_gps(), "a.jpg")], findings="康复器械不足3种"
    )
    visit_id = _visit_id(reply)
    page = client.get(f"/checks/visits/{visit_id}").get_data(as_text=True)
    assert "李明、王芳" in page and "康复器械不足3种" in page
    assert page.count("不符合") == 3  # items 0 and 2 of five were ticked
    photo_url = re.search(r'src="(/checks/photos/\d+)"', page).group(1)
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert b"Acme" not in photo.data
    assert count(AuditEntry, action="visit_recorded") == 1


def test_the_project_checklist_comes_from_its_acceptance_standard(app, staff, world):
    with app.app_context():
        from survey.sites.models import Project

        db.session.get(Project, world.project_id).checklist = ["康复区域", "合作协议"]
        db.session.commit()
    page = staff("liandu").get(f"/checks/sites/{world.liandu.id}/visits/new")
    assert "康复区域" in page.get_data(as_text=True)


def test_bad_visit_forms_answer_422_and_store_nothing(staff, world, count):
    client = staff("liandu")
    cases = [
        ({"inspectors": "  "}, "暗访人员"),
        ({"visited_on": "2026-13-45"}, "日期"),
        ({"photos": [(b"GIF89a not allowed", "x.gif")]}, "JPEG 或 PNG"),
        ({"photos": [(b"%PDF renamed", "x.jpg")]}, "无法识别"),
        ({"photos": [(jpeg_with_gps(), f"{i}.jpg") for i in range(7)]}, "最多上传 6 张"),
    ]
    for fields, message in cases:
        reply = record_visit(client, world.liandu, **fields)
        assert reply.status_code == 422 and message in reply.get_data(as_text=True), fields
    assert count(Visit) == 0 and count(VisitPhoto) == 0


def test_a_photo_over_5_mb_answers_413(app, staff, world, count):
    big = b"\xff\xd8" + b"\0" * (5 * 1024 * 1024 + 10)
    reply = record_visit(staff("liandu"), world.liandu, photos=[(big, "big.jpg")])
    assert reply.status_code == 413
    app.config["VISIT_MAX_PHOTOS"] = 1  # the whole request is then limited to ~5 MB too
    reply = record_visit(staff("liandu"), world.liandu, photos=[(big + big, "big.jpg")])
    assert reply.status_code == 413
    assert count(Visit) == 0


def test_sites_are_picked_reproducibly_by_seed(staff, world):
    client = staff("lishui")
    url = f"/checks/projects/{world.project_id}/visits"
    first = client.get(url, query_string={"count": "2", "seed": "s1"}).get_data(as_text=True)
    again = client.get(url, query_string={"count": "2", "seed": "s1"}).get_data(as_text=True)
    picks = re.findall(r"<li>(.*?) — ", first)
    assert len(picks) == 2 and picks == re.findall(r"<li>(.*?) — ", again)
    assert "draw_seed=s1" in first
    bad = client.get(url, query_string={"count": "0"})
    assert bad.status_code == 422 and "1 到 200" in bad.get_data(as_text=True)


def test_interviews_are_visit_responses_and_go_with_a_deleted_visit(app, staff, world, count):
    client = staff("liandu")
    visit_id = _visit_id(record_visit(client, world.liandu, photos=[(jpeg_with_gps(), "a.jpg")]))
    url = f"/checks/visits/{visit_id}/interviews"
    reply = post(client, url, {"q.attitude": "0"})
    assert reply.status_code == 422 and "请回答" in reply.get_data(as_text=True)
    assert post(client, url, ANSWERS).status_code == 302
    with app.app_context():
        response = db.session.scalars(db.select(Response)).one()
        assert (response.channel, response.visit_id, response.overall) == ("visit", visit_id, 5)
    assert post(client, f"/checks/visits/{visit_id}/delete").status_code == 302
    assert count(Visit) == 0 and count(VisitPhoto) == 0 and count(Response) == 0
    assert count(AuditEntry, action="visit_deleted") == 1


def test_a_county_cannot_delete_the_citys_visit_to_its_site(staff, world, count):
    visit_id = _visit_id(record_visit(staff("lishui"), world.liandu))
    assert post(staff("liandu"), f"/checks/visits/{visit_id}/delete").status_code == 403
    assert count(Visit) == 1
    assert post(staff("lishui"), f"/checks/visits/{visit_id}/delete").status_code == 302


def test_oversized_and_multi_picture_photos():
    huge = io.BytesIO()
    Image.new("1", (9000, 9000)).save(huge, "PNG")
    with pytest.raises(BadPhoto, match="像素太多"):
        clean_photo(huge.getvalue())
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    mpo = io.BytesIO()
    first.save(mpo, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(mpo.getvalue())).format == "MPO"
    photo = clean_photo(mpo.getvalue())
    assert (
        photo.content_type == "image/jpeg" and Image.open(io.BytesIO(photo.data)).format == "JPEG"
    )
