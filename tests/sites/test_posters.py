"""Admin downloads of QR codes and posters, the print-shop batches, token rotation, the CLI."""

import io
import zipfile

import pytest
from PIL import Image

from survey.accounts.models import AuditEntry
from survey.db import db, now_utc, write_transaction
from survey.responses.models import Response
from survey.sites.models import Project, Site
from tests.helpers import answer, csrf_of, job_download
from tests.qr.test_poster import pdf_pages
from tests.qr.test_symbol import decode

PRINTED = "HTTP://SURVEY.TEST/S/"  # PUBLIC_BASE_URL in tests, upper-cased for the QR code


def test_downloads_need_an_admin(client, make_site, make_user):
    site = make_site()
    assert client.get(f"/admin/sites/{site.id}/qr.png").status_code == 302
    assert client.get("/admin/").headers["Location"].startswith("/login")
    password = make_user("county-user", role="county")
    login = {"username": "county-user", "password": password}
    client.post("/login", data=login | {"csrf_token": csrf_of(client.get("/login").data)})
    assert client.get(f"/admin/sites/{site.id}/qr.png").status_code == 403


def test_project_page_lists_sites_with_links_and_downloads(admin, make_site):
    site = make_site()
    page = admin.get(f"/admin/projects/{site.project_id}").get_data(as_text=True)
    assert site.name in page
    assert f"http://survey.test/s/{site.token}" in page
    assert f"/admin/sites/{site.id}/poster.pdf?size=A5" in page
    assert f"/admin/projects/{site.project_id}/posters.pdf?size=A5" in page


def test_qr_png_and_svg_hold_the_sites_printed_link(admin, make_site):
    site = make_site()
    png = admin.get(f"/admin/sites/{site.id}/qr.png")
    assert png.headers["Content-Type"] == "image/png"
    assert decode(Image.open(io.BytesIO(png.data))) == [PRINTED + site.token]
    svg = admin.get(f"/admin/sites/{site.id}/qr.svg")
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    assert svg.data.startswith(b"<svg")


@pytest.mark.parametrize("size", ["A5", "A4"])
def test_site_posters_scan_to_the_site(admin, make_site, size):
    site = make_site()
    png = admin.get(f"/admin/sites/{site.id}/poster.png?size={size}")
    assert png.status_code == 200
    assert decode(Image.open(io.BytesIO(png.data))) == [PRINTED + site.token]
    pdf = admin.get(f"/admin/sites/{site.id}/poster.pdf?size={size}")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert [decode(p) for p in pdf_pages(pdf.data)] == [[PRINTED + site.token]]


def test_downloads_survive_tracking_tags_and_line_breaks_in_names(admin, make_site):
    site = make_site(name="第一\n照料中心", project="项目\n名称")
    assert admin.get(f"/admin/sites/{site.id}/poster.png?size=A4&utm_source=x").status_code == 200
    reply = job_download(admin, f"/admin/projects/{site.project_id}/posters.pdf")
    assert reply.status_code == 200
    assert "\n" not in reply.headers["Content-Disposition"]


def test_unknown_paper_size_or_site_is_refused(admin, make_site):
    site = make_site()
    assert admin.get(f"/admin/sites/{site.id}/poster.pdf?size=B5").status_code == 400
    assert admin.get("/admin/sites/999/poster.pdf").status_code == 404
    assert admin.get("/admin/projects/999/posters.pdf").status_code == 404


def test_demo_project_prints_as_one_pdf_with_a_scannable_page_per_site(app, admin, runner):
    runner.invoke(args=["demo-data"])
    with app.app_context():
        wenzhou = db.session.scalars(
            db.select(Project).where(Project.name == "居家养老服务照料中心改造提升")
        ).one()
        tokens = [s.token for s in sorted(wenzhou.sites, key=lambda s: (s.region_id, s.id))]
    reply = job_download(admin, f"/admin/projects/{wenzhou.id}/posters.pdf?size=A5")
    assert reply.status_code == 200
    assert "attachment" in reply.headers["Content-Disposition"]
    pages = pdf_pages(reply.data, dpi=72)
    assert len(pages) == 110
    assert [decode(p) for p in pages] == [[PRINTED + t] for t in tokens]


def test_project_zip_has_a_png_poster_per_site(admin, make_site):
    sites = [make_site(name=f"第{i}照料中心") for i in range(3)]
    reply = job_download(admin, f"/admin/projects/{sites[0].project_id}/posters.zip?size=A5")
    assert reply.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(reply.data))
    names = archive.namelist()
    assert [n.split("-")[0] for n in names] == [s.token for s in sites]
    for name, site in zip(names, sites, strict=True):
        assert decode(Image.open(archive.open(name))) == [PRINTED + site.token]


@pytest.mark.parametrize("fmt", ["pdf", "zip"])
def test_a_project_without_live_sites_gets_a_message_not_an_empty_file(app, admin, make_site, fmt):
    site = make_site()
    with app.app_context(), write_transaction(db.session):
        db.session.get(Site, site.id).active = False  # retired: no poster to print
    reply = admin.get(f"/admin/projects/{site.project_id}/posters.{fmt}")
    assert reply.status_code == 302
    page = admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert "还没有在用的点位，没有海报可打印" in page


def test_a_name_the_font_cannot_draw_is_reported_not_printed_as_boxes(admin, make_site):
    site = make_site(name="𪚥康养联合体")
    for url in (
        f"/admin/sites/{site.id}/poster.pdf",
        f"/admin/projects/{site.project_id}/posters.pdf",
    ):
        reply = admin.get(url, follow_redirects=True)
        assert "海报字体缺少这些字：𪚥" in reply.get_data(as_text=True)


def test_rotating_retires_the_old_link_and_keeps_the_answers(app, admin, make_site, count):
    site = make_site()
    answer(admin, site.token, overall="5")
    assert admin.get(f"/s/{site.token}").status_code == 200  # now cached in this process
    page = admin.get(f"/admin/projects/{site.project_id}")
    assert admin.post(f"/admin/sites/{site.id}/rotate").status_code == 400  # no CSRF token
    reply = admin.post(f"/admin/sites/{site.id}/rotate", data={"csrf_token": csrf_of(page.data)})
    assert reply.status_code == 302
    old = admin.get(f"/s/{site.token}")
    assert old.status_code == 410
    assert "此二维码已停用" in old.get_data(as_text=True)
    assert "12345" in old.get_data(as_text=True)
    assert admin.get(f"/api/v1/sites/{site.token}").status_code == 410
    with app.app_context():
        new_token = db.session.get(Project, site.project_id).sites[0].token
    assert new_token != site.token
    assert admin.get(f"/s/{new_token}").status_code == 200
    assert count(Response, site_id=site.id) == 1
    answer(app.test_client(use_cookies=False), new_token, overall="4")  # another resident
    assert count(Response, site_id=site.id) == 2


def test_rotating_asks_first_with_the_posters_at_stake_and_the_answers_kept(
    app, admin, make_site, count
):
    site = make_site()
    answer(admin, site.token, overall="5")
    answer(app.test_client(use_cookies=False), site.token, overall="4")
    project_page = admin.get(f"/admin/projects/{site.project_id}").get_data(as_text=True)
    # The list offers the question, not a button that retires the poster at once.
    assert f'href="/admin/sites/{site.id}/rotate"' in project_page
    assert f'action="/admin/sites/{site.id}/rotate"' not in project_page

    confirm = admin.get(f"/admin/sites/{site.id}/rotate")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "已经印好、贴出的海报立即失效" in text and site.token in text
    assert "已收到 <strong>2</strong> 条评价（其中扫码 2 条）" in text
    assert f'href="/admin/projects/{site.project_id}"' in text  # cancelling: back, nothing done
    assert admin.get(f"/s/{site.token}").status_code == 200  # looking changed nothing
    assert count(AuditEntry, action="token_rotated") == 0

    reply = admin.post(f"/admin/sites/{site.id}/rotate", data={"csrf_token": csrf_of(confirm.data)})
    assert reply.status_code == 302
    assert admin.get(f"/s/{site.token}").status_code == 410
    assert count(AuditEntry, action="token_rotated") == 1
    assert count(Response, site_id=site.id) == 2


def test_the_rotation_page_is_only_for_live_sites_in_scope(app, admin, make_site):
    site = make_site()
    assert admin.get("/admin/sites/999999/rotate").status_code == 404
    with app.app_context(), write_transaction(db.session):
        db.session.get(Site, site.id).tokens[0].retired_at = now_utc()
    assert admin.get(f"/admin/sites/{site.id}/rotate").status_code == 404


def test_posters_command_writes_a_pdf_or_pngs(runner, make_site, tmp_path):
    site = make_site()
    make_site(name="另一个")
    result = runner.invoke(
        args=["posters", "--project", str(site.project_id), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    (pdf,) = tmp_path.glob("*.pdf")
    scanned = [decode(page) for page in pdf_pages(pdf.read_bytes(), dpi=72)]
    assert [PRINTED + site.token] in scanned and len(scanned) == 2
    out = tmp_path / "png"
    png_args = ["posters", "--project", str(site.project_id), "--out", str(out), "--format", "png"]
    assert runner.invoke(args=png_args).exit_code == 0
    scanned = sorted(decode(Image.open(p))[0] for p in out.glob("*.png"))
    assert len(scanned) == 2 and PRINTED + site.token in scanned


def test_posters_command_refuses_an_unknown_project(runner, tmp_path):
    result = runner.invoke(args=["posters", "--project", "999", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "没有编号为 999 的项目" in result.output


def test_posters_command_names_characters_the_font_cannot_draw(runner, make_site, tmp_path):
    site = make_site(name="𪚥康养联合体")
    args = ["posters", "--project", str(site.project_id), "--out", str(tmp_path / "out")]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "海报字体缺少这些字：𪚥" in result.output
    assert not (tmp_path / "out").exists()  # nothing half-written
