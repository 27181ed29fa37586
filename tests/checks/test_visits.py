"""Unannounced visits: random picks, the checklist, photos without EXIF, interviews."""

import io
import math
import re
import subprocess
import sys
from datetime import date

import pytest
from PIL import Image

from survey import config
from survey.accounts.models import AuditEntry, User
from survey.checks import photos as photo_module
from survey.checks.models import Visit, VisitPhoto
from survey.checks.photos import BadPhoto, clean_photo
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.responses.models import Response
from survey.sites.listing import PER_PAGE
from survey.sites.models import ChecklistVersion, Project
from tests.checks.conftest import flat_png, jpeg_with_gps, noise_jpeg, record_visit
from tests.helpers import post, post_files

PIXELS = config.PHOTO_MAX_PIXELS
ANSWERS = {"q.overall": "5", "q.attitude": "0", "comment": "环境干净"}


def _visit_id(reply) -> int:
    assert reply.status_code == 302, reply.get_data(as_text=True)[:3000]
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def test_a_photo_is_re_encoded_upright_without_exif_or_gps():
    original = jpeg_with_gps((64, 48))
    assert b"Acme Camera" in original
    photo = clean_photo(original, PIXELS)
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
    photo = clean_photo(out.getvalue(), PIXELS)
    assert photo.content_type == "image/png" and b"119.92E" not in photo.data


def test_a_visit_is_recorded_with_checklist_findings_and_photos(app, staff, world, count):
    client = staff("liandu")
    reply = record_visit(
        client,
        world.liandu,
        photos=[(jpeg_with_gps(), "a.jpg")],
        findings="康复器械不足3种",
        **{"result.1": "fail"},
    )
    visit_id = _visit_id(reply)
    page = client.get(f"/checks/visits/{visit_id}").get_data(as_text=True)
    assert "李明、王芳" in page and "康复器械不足3种" in page
    # Items 0 and 2 passed, 1 failed, 3 and 4 left alone: not verified, never "failed".
    assert page.count("<td>通过</td>") == 2 and page.count("未通过</strong>") == 1
    assert page.count("<em>未核实</em>") == 2
    assert "共 5 项：2 项通过，1 项未通过，2 项未核实" in page
    photo_url = re.search(r'src="(/checks/photos/\d+)"', page).group(1)
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert b"Acme" not in photo.data
    assert count(AuditEntry, action="visit_recorded") == 1


def _summary(app, visit_id) -> str:
    with app.app_context():
        return db.session.get(Visit, visit_id).summary


def test_a_visit_with_items_not_verified_is_never_summarised_as_no_problems(app, staff, world):
    client = staff("liandu")
    nothing = _visit_id(record_visit(client, world.liandu, **{"result.0": "", "result.2": ""}))
    summary = _summary(app, nothing)
    assert "未发现问题" not in summary and "5 项未核实" in summary
    everything = {f"result.{i}": "pass" for i in range(5)}
    assert _summary(app, _visit_id(record_visit(client, world.liandu, **everything))) == (
        "未发现问题（共 5 项：5 项通过）"
    )
    failed = _summary(app, _visit_id(record_visit(client, world.liandu, **{"result.4": "fail"})))
    assert failed.startswith("有检查项未通过") and "1 项未通过，2 项未核实" in failed
    # The dashboard's site page says the same.
    page = staff("lishui").get(f"/dashboard/sites/{world.liandu.id}").get_data(as_text=True)
    assert "5 项未核实" in page and page.count("未发现问题") == 1


def test_an_unknown_result_is_refused_and_the_form_keeps_the_choices(staff, world, count):
    reply = record_visit(staff("liandu"), world.liandu, **{"result.1": "maybe"})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "检查项的结果有误" in page
    assert 'name="result.0" value="pass" checked' in page
    assert count(Visit) == 0


def test_the_project_checklist_comes_from_its_current_version(app, staff, world):
    with app.app_context(), write_transaction(db.session):
        project = db.session.get(Project, world.project_id)
        db.session.add(
            ChecklistVersion(
                project=project,
                number=1,
                items=[
                    {"text": "康复区域", "required": True},
                    {"text": "合作协议", "required": False},
                ],
            )
        )
    page = staff("liandu").get(f"/checks/sites/{world.liandu.id}/visits/new")
    text = page.get_data(as_text=True)
    assert "康复区域 <strong>（必备）</strong>" in text and "合作协议" in text
    assert "服务人员在岗" not in text  # the general list is only for a project without one


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "GIF")
    return out.getvalue()


def _kept(page: str) -> None:
    """The refused form shows everything typed and chosen again, and asks for the photos."""
    assert 'value="李明、王芳"' in page and "康复器械不足3种</textarea>" in page
    assert 'name="result.0" value="pass" checked' in page
    assert 'name="result.1" value="fail" checked' in page
    assert 'name="result.3" value="unverified" checked' in page
    assert "请重新选择照片" in page


def _refused(client, site, photos):
    reply = record_visit(
        client, site, photos=photos, findings="康复器械不足3种", **{"result.1": "fail"}
    )
    return reply.status_code, reply.get_data(as_text=True)


def test_bad_visit_forms_answer_422_keep_every_field_and_store_nothing(staff, world, count):
    client = staff("liandu")
    cases = [({"inspectors": "  "}, "暗访人员"), ({"visited_on": "2026-13-45"}, "日期")]
    for fields, message in cases:
        reply = record_visit(client, world.liandu, **fields)
        assert reply.status_code == 422 and message in reply.get_data(as_text=True), fields
    photo_cases = [
        ([(_gif(), "x.gif")], "照片“x.gif”：只能上传 JPEG 或 PNG"),
        ([(b"%PDF renamed", "x.jpg")], "照片“x.jpg”：无法识别"),
        ([(jpeg_with_gps(), f"{i}.jpg") for i in range(7)], "选了 7 张照片，每次最多上传 6 张"),
    ]
    for photos, message in photo_cases:
        status, page = _refused(client, world.liandu, photos)
        assert status == 422 and message in page, message
        _kept(page)
    assert count(Visit) == 0 and count(VisitPhoto) == 0


def test_a_full_size_phone_photo_is_taken_and_scaled_to_2560_pixels(app, staff, world):
    # What a browser without JavaScript sends: the camera's file, 4000x3000, over 5 MB.
    original = noise_jpeg(4000, 3000)
    assert len(original) > 5 * 1024 * 1024
    visit_id = _visit_id(record_visit(staff("liandu"), world.liandu, photos=[(original, "p.jpg")]))
    with app.app_context():
        photo = db.session.scalars(db.select(VisitPhoto).filter_by(visit_id=visit_id)).one()
        assert (photo.width, photo.height) == (2560, 1920)
        assert Image.open(io.BytesIO(photo.data)).size == (2560, 1920)
        assert len(photo.data) < len(original)


def test_a_photo_over_the_limit_is_refused_by_name_and_the_form_kept(app, staff, world, count):
    app.config["PHOTO_MAX_BYTES"] = 1024 * 1024
    big = b"\xff\xd8" + b"\0" * (1024 * 1024 + 10)
    status, page = _refused(staff("liandu"), world.liandu, [(big, "big.jpg")])
    assert status == 422 and "照片“big.jpg”有 1.0 MB，超过了每张 1.0 MB 的上限" in page
    _kept(page)
    assert "提交的内容太长了" not in page and count(Visit) == 0


def test_photos_over_the_whole_forms_limit_get_the_form_and_the_reason(app, staff, world, count):
    app.config["PHOTO_MAX_BYTES"] = 1024 * 1024
    app.config["VISIT_MAX_PHOTOS"] = 1  # the whole request is then limited to ~1 MB too
    big = b"\xff\xd8" + b"\0" * (3 * 1024 * 1024)
    reply = record_visit(staff("liandu"), world.liandu, photos=[(big, "big.jpg")])
    page = reply.get_data(as_text=True)
    assert reply.status_code == 413 and "提交的内容太长了" not in page
    assert "超过了上限 1.0 MB（最多 1 张，每张不超过 1.0 MB）" in page
    assert "录入暗访 · 紫金街道康养联合体" in page and 'name="inspectors"' in page
    assert count(Visit) == 0
    # A drawn site's seed rides in the form's address too, so it survives a body not read.
    client = staff("liandu")
    url = f"/checks/sites/{world.liandu.id}/visits/new?draw_seed=s1"
    assert "visits/new?draw_seed=s1" in client.get(url).get_data(as_text=True)
    page = post_files(client, url, {"photos": [(big, "big.jpg")]}).get_data(as_text=True)
    assert 'name="draw_seed" value="s1"' in page
    # Anyone else's oversized post still gets the plain page.
    anonymous = app.test_client().post(
        f"/checks/sites/{world.liandu.id}/visits/new", data=b"x" * (2 * 1024 * 1024)
    )
    assert anonymous.status_code == 413 and "提交的内容太长了" in anonymous.get_data(as_text=True)


def test_a_photo_over_the_pixel_cap_is_refused_by_name_and_the_form_kept(staff, world, count):
    # 190 KB that decode to 50 megapixels (200 MB): under Pillow's own bomb guard.
    status, page = _refused(staff("liandu"), world.liandu, [(flat_png(7070, 7070), "墙.png")])
    assert status == 422
    assert "照片“墙.png”：照片像素太多（4998 万像素，上限 2500 万）" in page
    _kept(page)
    assert count(Visit) == 0 and count(VisitPhoto) == 0


#: Cleans the photo in the file argv[1] in a fresh interpreter and prints how much its peak
#: memory grew, in MB: Pillow allocates outside Python's allocator (tracemalloc misses it),
#: and ru_maxrss is a whole process's peak.
_MEASURE = """
import io, resource, sys
from PIL import Image
from survey.checks.photos import clean_photo
data = open(sys.argv[1], "rb").read()
small = io.BytesIO()
Image.new("RGB", (16, 16)).save(small, Image.open(io.BytesIO(data)).format)
clean_photo(small.getvalue(), int(sys.argv[2]))  # every module and codec loaded first
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
photo = clean_photo(data, int(sys.argv[2]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(max(photo.width, photo.height), (after - before) / 1024)
"""


def _peak_megabytes(tmp_path, data: bytes) -> tuple[int, float]:
    """The stored photo's longer side and the memory cleaning ``data`` took at its peak."""
    path = tmp_path / "photo"
    path.write_bytes(data)
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(PIXELS)],
        capture_output=True,
        text=True,
        check=True,
    )
    side, megabytes = run.stdout.split()
    return int(side), float(megabytes)


def test_the_largest_photos_the_cap_lets_through_take_under_150_mb(tmp_path):
    side = math.isqrt(PIXELS)  # a square at the cap: the most pixels per decoded row
    # A PNG with alpha decodes whole (4 bytes a pixel) and is reduced a band at a time.
    longest, megabytes = _peak_megabytes(tmp_path, flat_png(side, side))
    assert longest <= 2560 and megabytes < 150
    # 16-bit grey and palette PNGs are converted to 4 bytes a pixel to be reduced: a band
    # at a time, since a whole copy alone is 100 MB at the cap (it took 105-163 MB in all).
    for mode in ("I;16", "P"):
        png = io.BytesIO()
        Image.new(mode, (side, side)).save(png, "PNG")
        longest, megabytes = _peak_megabytes(tmp_path, png.getvalue())
        assert longest <= 2560 and megabytes < 75, mode
    # A JPEG too big for a reduced scale decodes whole too.
    jpeg = io.BytesIO()
    Image.new("RGB", (side, side), "teal").save(jpeg, "JPEG")
    longest, megabytes = _peak_megabytes(tmp_path, jpeg.getvalue())
    assert longest <= 2560 and megabytes < 150


@pytest.mark.parametrize("mode", ["1", "L", "LA", "I;16", "P", "RGB", "RGBA"])
def test_a_png_of_any_mode_is_scaled_by_a_whole_factor(monkeypatch, mode):
    monkeypatch.setattr(photo_module, "RESIZE_MAX_PIXELS", 0)  # the path of a picture over 16 MP
    out = io.BytesIO()
    Image.new(mode, (5200, 30)).save(out, "PNG")
    photo = clean_photo(out.getvalue(), PIXELS)
    assert (photo.width, photo.height) == (1734, 10)  # reduced by 3


def test_the_server_scales_big_photos_with_the_bomb_guard_intact():
    photo = clean_photo(noise_jpeg(3000, 4000, quality=60), PIXELS)
    assert (photo.width, photo.height) == (1920, 2560)
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's decompression-bomb guard is on


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
        clean_photo(huge.getvalue(), PIXELS)
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    mpo = io.BytesIO()
    first.save(mpo, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(mpo.getvalue())).format == "MPO"
    photo = clean_photo(mpo.getvalue(), PIXELS)
    assert (
        photo.content_type == "image/jpeg" and Image.open(io.BytesIO(photo.data)).format == "JPEG"
    )


def test_a_recorded_visit_keeps_its_checklist_versions_wording(app, staff, world):
    def publish(number, texts):
        with app.app_context(), write_transaction(db.session):
            project = db.session.get(Project, world.project_id)
            items = [{"text": t, "required": False} for t in texts]
            db.session.add(ChecklistVersion(project=project, number=number, items=items))

    client = staff("liandu")
    publish(1, ["康复区域", "合作协议"])
    first = _visit_id(record_visit(client, world.liandu, **{"result.1": "fail"}))
    publish(2, ["康复区域（实地查看）"])
    second = _visit_id(record_visit(client, world.liandu))
    old = client.get(f"/checks/visits/{first}").get_data(as_text=True)
    assert "合作协议" in old and "检查项第1版" in old and "（实地查看）" not in old
    new = client.get(f"/checks/visits/{second}").get_data(as_text=True)
    assert "康复区域（实地查看）" in new and "检查项第2版" in new and "合作协议" not in new


def test_a_form_opened_before_the_checklist_changed_is_refused_and_shown_afresh(
    app, staff, world, count
):
    with app.app_context(), write_transaction(db.session):
        project = db.session.get(Project, world.project_id)
        items = [{"text": t, "required": False} for t in ("合作协议", "康复区域")]
        db.session.add(ChecklistVersion(project=project, number=2, items=items))
    # The form showed version 1, where item 0 was another item: its results would land on
    # version 2's wording.
    reply = record_visit(staff("liandu"), world.liandu, checklist_version="1")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "检查项刚刚更新了" in page
    assert 'name="checklist_version" value="2"' in page
    assert 'name="result.0" value="pass" checked' not in page  # chosen afresh
    assert 'value="李明、王芳"' in page  # the rest of the form is kept
    assert count(Visit) == 0


def test_the_visit_list_is_paged_and_found_by_county_site_name_or_code(app, staff, world):
    count = PER_PAGE + 5  # every other one in 青田县 (鹤城街道), the rest in 莲都区 (紫金街道)
    with app.app_context():
        with write_transaction(db.session):
            user = db.session.scalars(db.select(User).filter_by(username="lishui")).one()
            for i in range(count):
                site_id = world.liandu.id if i % 2 else world.qingtian.id
                db.session.add(
                    Visit(
                        site_id=site_id,
                        visited_on=date(2026, 11, 1),
                        inspectors=f"检查员{i}",
                        checklist=[],
                        created_by=user,
                    )
                )
        qingtian = db.session.scalars(db.select(Region).filter_by(name="青田县")).one().id
    client = staff("lishui")
    url = f"/checks/projects/{world.project_id}/visits"

    def inspectors(**query):
        page = client.get(url, query_string=query).get_data(as_text=True)
        return re.findall(r"<td>(检查员\d+)</td>", page), page

    first, page = inspectors()
    assert len(first) == PER_PAGE and "第 1 / 2 页" in page and "下一页" in page
    second, _ = inspectors(page="2")
    assert len(second) == 5 and not set(first) & set(second)
    in_qingtian, page = inspectors(county=str(qingtian))
    assert len(in_qingtian) == (count + 1) // 2 and "第 1 / 2 页" not in page
    by_name, _ = inspectors(q="紫金")
    assert len(by_name) == count // 2
    by_code, page = inspectors(q=world.qingtian.token.lower())
    assert len(by_code) == (count + 1) // 2 and "鹤城街道康养联合体" in page
    nothing, page = inspectors(q="不存在的点位")
    assert nothing == [] and "没有暗访记录" in page and "没有找到点位" in page
    assert client.get(url, query_string={"page": "x"}).status_code == 400
    # A county sees only its own, whatever it asks for.
    page = staff("liandu").get(url, query_string={"county": str(qingtian)}).get_data(as_text=True)
    assert re.findall(r"<td>(检查员\d+)</td>", page) == []


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(monkeypatch):
    # A 48-megapixel photo decodes at half size (still over 2560 px), a quarter of the memory.
    big = noise_jpeg(8000, 6000, quality=30)
    decoded = []
    original_load = Image.Image.load

    def load(image):
        pixels = original_load(image)
        decoded.append(image.size)
        return pixels

    monkeypatch.setattr(Image.Image, "load", load)
    photo = clean_photo(big, PIXELS)
    assert (photo.width, photo.height) == (2560, 1920)
    assert max(w * h for w, h in decoded) == 4000 * 3000
