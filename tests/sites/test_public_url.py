"""A survey link no phone can open: the admin pages say so while PUBLIC_BASE_URL is a
loopback address (its default), and QR codes and posters ask before they print one."""

import io

import pytest
from PIL import Image

from survey.sites.tokens import is_loopback_url
from tests.helpers import job_download, staff_client
from tests.qr.test_poster import pdf_pages
from tests.qr.test_symbol import decode
from tests.sites.site_helpers import make_world

LOOPBACK = "http://127.0.0.1:5000"
BANNER = "评价链接和二维码现在用的是本机地址"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "http://127.8.9.1/",
        "HTTP://LOCALHOST:8000",
        "http://app.localhost",
        "http://[::1]:5000",
        "http://0.0.0.0:8000",
        "",
        "not a url",
    ],
)
def test_loopback_and_hostless_bases_are_unreachable(url):
    assert is_loopback_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://mzj.lishui.gov.cn",
        "http://192.168.1.20:8000",
        "http://10.0.0.5",
        "http://[2001:db8::1]",
    ],
)
def test_public_and_office_network_bases_are_reachable(url):
    assert not is_loopback_url(url)


@pytest.fixture
def world(app, make_site, make_user):
    return make_world(app, make_site, make_user)


def test_admin_pages_show_the_banner_only_for_a_loopback_base(app, world):
    admin = staff_client(app, "admin")
    pages = ["/admin/", f"/admin/projects/{world.project_id}", "/admin/users/"]
    for url in pages:
        assert BANNER not in admin.get(url).get_data(as_text=True), url
    app.config["PUBLIC_BASE_URL"] = LOOPBACK
    for url in pages:
        page = admin.get(url).get_data(as_text=True)
        assert BANNER in page and "PUBLIC_BASE_URL" in page and LOOPBACK in page, url
    # County staff print nothing; their pages stay as they were.
    assert BANNER not in staff_client(app, "liandu").get("/checks/").get_data(as_text=True)


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/admin/sites/{site}/poster.pdf?size=A4", "pdf"),
        ("/admin/sites/{site}/poster.png", "png"),
        ("/admin/sites/{site}/qr.png", "png"),
    ],
)
def test_a_loopback_poster_or_qr_code_asks_before_it_is_printed(app, world, path, kind):
    app.config["PUBLIC_BASE_URL"] = LOOPBACK
    admin = staff_client(app, "admin")
    url = path.format(site=world.liandu.id, project=world.project_id)
    warning = admin.get(url)
    text = warning.get_data(as_text=True)
    assert warning.status_code == 200 and warning.mimetype == "text/html"
    assert "群众用手机扫码打不开" in text and LOOPBACK in text
    assert f'href="/admin/projects/{world.project_id}"' in text  # back, nothing downloaded
    go_on = text.split('<a href="')[-1].split('"')[0].replace("&amp;", "&")
    assert "confirmed=1" in go_on and ("size=" in url) == ("size=" in go_on)
    reply = admin.get(go_on)
    assert reply.status_code == 200 and reply.mimetype != "text/html"
    printed = f"HTTP://127.0.0.1:5000/S/{world.liandu.token}"
    if kind == "pdf":
        assert printed in [code for page in pdf_pages(reply.data) for code in decode(page)]
    else:
        assert decode(Image.open(io.BytesIO(reply.data))) == [printed]


def test_a_loopback_project_batch_warns_on_its_page_and_prints_when_asked_again(app, world):
    app.config["PUBLIC_BASE_URL"] = LOOPBACK
    admin = staff_client(app, "admin")
    url = f"/admin/projects/{world.project_id}/posters.pdf?size=A5"
    text = admin.get(url).get_data(as_text=True)
    assert "群众用手机扫码打不开" in text and "仍然生成（仅供试用，不要张贴）" in text
    assert f'href="/admin/projects/{world.project_id}"' in text  # back, nothing made
    reply = job_download(admin, url)
    printed = f"HTTP://127.0.0.1:5000/S/{world.liandu.token}"
    assert printed in [code for page in pdf_pages(reply.data) for code in decode(page)]


def test_a_public_base_downloads_at_once_and_a_bad_confirmation_is_refused(app, world):
    admin = staff_client(app, "admin")
    assert admin.get(f"/admin/sites/{world.liandu.id}/poster.pdf").mimetype == "application/pdf"
    assert admin.get(f"/admin/sites/{world.liandu.id}/qr.png?confirmed=maybe").status_code == 400


def test_the_posters_command_warns_about_a_loopback_base(app, runner, world, tmp_path):
    app.config["PUBLIC_BASE_URL"] = LOOPBACK
    args = ["posters", "--project", str(world.project_id), "--out", str(tmp_path)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0
    assert "PUBLIC_BASE_URL 是本机地址" in result.stderr
