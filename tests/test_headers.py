"""What every reply says about itself (issue 15): a Content-Security-Policy that allows
exactly the inline blocks our pages have, Referrer-Policy, no-store on every staff page and
reply with personal data, and the session cookie's Secure flag."""

import re

import pytest

from survey import create_app
from survey.headers import CACHED_ENDPOINTS, inline_hashes
from tests.audio import tone
from tests.checks.conftest import import_roster, jpeg_with_gps, phone, record_visit, roster_csv
from tests.helpers import PASSWORD, app_settings, csrf_of, log_in, post
from tests.responses.test_recordings import region_id, upload

#: Markup the policy refuses: inline event handlers and style attributes.
INLINE_ATTRIBUTE = re.compile(r"<[^>]*\s(on[a-z]+|style)=", re.I)


def _policy(reply) -> dict[str, set[str]]:
    policy = reply.headers["Content-Security-Policy"]
    return {d.split()[0]: set(d.split()[1:]) for d in policy.split("; ")}


def assert_safe_page(reply) -> None:
    """The reply has the policy and referrer policy, and every inline block it carries is
    allowed by hash (none by 'unsafe-inline'), with no inline handler or style attribute."""
    policy = _policy(reply)
    assert policy["default-src"] == {"'self'"}
    assert policy["frame-ancestors"] == {"'none'"} and policy["form-action"] == {"'self'"}
    assert policy["img-src"] == {"'self'", "data:", "blob:"}
    assert policy["media-src"] == {"'self'"} and policy["connect-src"] == {"'self'"}
    assert "'unsafe-inline'" not in policy["script-src"] | policy["style-src"]
    assert reply.headers["Referrer-Policy"] == "same-origin"
    if reply.mimetype == "text/html":
        page = reply.get_data(as_text=True)
        found = inline_hashes(page)
        assert set(found["script"]) <= policy["script-src"], reply.request.path
        assert set(found["style"]) <= policy["style-src"], reply.request.path
        assert not INLINE_ATTRIBUTE.search(page), INLINE_ATTRIBUTE.search(page).group(0)
        # Every inline block is one inline_hashes sees (a bare tag), the rest are files.
        tags = re.findall(r"<(?:script|style)\b[^>]*>", page)
        assert all(t in ("<script>", "<style>") or " src=" in t for t in tags), tags


@pytest.fixture
def site_world(app, make_site, make_user):
    """A site with a recording, a roster, a call batch and a visit with a photo; an admin,
    a city user and a county user. Returns the site, a record of ids and the clients."""
    site = make_site()
    for name, role, region in (
        ("admin", "admin", None),
        ("lishui", "city", "丽水市"),
        ("liandu", "county", "莲都区"),
    ):
        make_user(name, role, PASSWORD, region=region)
    clients = {
        name: log_in(app.test_client(), name, PASSWORD) for name in ("admin", "lishui", "liandu")
    }
    city_region = region_id(app, "丽水市")
    assert (
        upload(clients["admin"], site.project_id, city_region, data=tone("wav", 2)).status_code
        == 303
    )
    county = clients["liandu"]
    rows = [(f"赵{i}", phone(i), site.token, "") for i in range(3)]
    import_roster(county, site.project_id, roster_csv(rows))
    batch = post(
        county, f"/checks/projects/{site.project_id}/samples", {"mode": "count", "size": "2"}
    )
    assert batch.status_code == 302
    visit = record_visit(county, site, photos=[(jpeg_with_gps(), "p.jpg")])
    assert visit.status_code == 302
    return site, clients, visit.headers["Location"]


def _url(rule, values: dict) -> str:
    """The rule's URL with ``values`` for its arguments (1 for the rest: the first row of
    each table) and the first of the formats it offers."""

    def fill(part):
        converter, _, name = part.group(1).rpartition(":")
        if converter.startswith("any("):
            return converter[4:].split(",")[0]
        return str(values.get(name, 1))

    return re.sub(r"<([^>]+)>", fill, rule.rule)


def test_every_page_but_static_files_and_recordings_is_no_store_with_the_policy(app, site_world):
    site, clients, visit_url = site_world
    values = {
        "token": site.token,
        "project_id": site.project_id,
        "site_id": site.id,
        "county_id": region_id(app, "莲都区"),
    }
    checked = ok = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in CACHED_ENDPOINTS:
            continue
        for client in clients.values():
            reply = client.get(_url(rule, values))
            cache = reply.headers["Cache-Control"]
            assert cache in ("no-store", "private, no-store"), (rule.rule, cache)
            assert_safe_page(reply)
            checked += 1
            ok += reply.status_code == 200
    assert checked > 120 and ok > checked // 2, (checked, ok)  # most were shown, not refused


def test_downloads_and_photos_are_not_kept_in_caches(app, site_world):
    site, clients, visit_url = site_world
    city = clients["lishui"]
    export = city.get(f"/dashboard/projects/{site.project_id}/responses.csv")
    assert export.status_code == 200 and export.headers["Cache-Control"] == "no-store"
    page = city.get(visit_url).get_data(as_text=True)
    photo_url = re.search(r'<img src="([^"]+)"', page).group(1)
    photo = city.get(photo_url)
    assert photo.status_code == 200 and photo.headers["Cache-Control"] == "private, no-store"
    post(city, "/logout", {"csrf_token": csrf_of(city.get("/account/password").data)})
    assert city.get(photo_url).status_code == 302  # to the login page


def test_resident_pages_allow_their_inline_style_and_scripts_and_keep_their_caching(
    app, client, site_world
):
    site = site_world[0]
    form = client.get(f"/s/{site.token}")
    assert form.headers["Cache-Control"] == "no-store"  # its nonce is used once
    assert_safe_page(form)
    assert len(inline_hashes(form.get_data(as_text=True))["script"]) == 2
    assert_safe_page(client.get(f"/s/{site.token}/thanks"))
    assert_safe_page(client.get("/s/NOPE000000"))  # the error page has the style too
    audio = re.search(r'data-audio="([^"]+)"', form.get_data(as_text=True)).group(1)
    assert "immutable" in client.get(audio).headers["Cache-Control"]
    static = client.get("/static/staff.css")
    assert "no-store" not in static.headers["Cache-Control"]
    static.close()
    api = client.get(f"/api/v1/sites/{site.token}")  # a nonce too
    assert api.headers["Cache-Control"] == "no-store" and api.headers["Referrer-Policy"]
    assert CACHED_ENDPOINTS == {"static", "form.audio"}


@pytest.mark.parametrize(
    ("base", "setting", "secure"),
    [
        ("https://mzj.lishui.gov.cn", "", True),
        ("HTTPS://MZJ.LISHUI.GOV.CN", "", True),  # the upper-case form QR codes print
        (" Https://mzj.lishui.gov.cn/survey", "", True),
        ("http://192.168.1.20:8000", "", False),
        ("http://192.168.1.20:8000", "1", True),  # TLS ends at a proxy with another name
        ("https://mzj.lishui.gov.cn", "off", False),
        ("https://mzj.lishui.gov.cn", True, True),
    ],
)
def test_the_session_cookie_is_secure_when_the_public_address_is_https(
    database_url, base, setting, secure
):
    app = create_app(
        app_settings(database_url) | {"PUBLIC_BASE_URL": base, "SESSION_COOKIE_SECURE": setting}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    login = app.test_client().get("/login")  # its CSRF token starts a session
    assert ("; Secure" in login.headers["Set-Cookie"]) is secure


def test_a_misspelt_cookie_setting_stops_the_app(database_url):
    with pytest.raises(ValueError, match="SESSION_COOKIE_SECURE"):
        create_app(app_settings(database_url) | {"SESSION_COOKIE_SECURE": "ture"})
