"""Two app servers on one PostgreSQL and one Redis, as production runs them behind a load
balancer: whatever one of them knows that the other needs is shared.

Each test sends one person's requests to both servers in turn; with gunicorn's two workers
each, four processes answer.
"""

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import answer, csrf_of, login_form, nonce_of
from tests.servers import NO_OWN_POSTGRES, NO_OWN_REDIS, HttpClient, Stack

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(NO_OWN_POSTGRES is not None, reason=NO_OWN_POSTGRES or ""),
    pytest.mark.skipif(NO_OWN_REDIS is not None, reason=NO_OWN_REDIS or ""),
]

#: A form page cached by one server shows another's change of the site after this long.
CACHE_SECONDS = 2
SETTINGS = {
    "FORM_CACHE_SECONDS": str(CACHE_SECONDS),
    # Counted across both servers: the fourth answer from one address is a burst, the
    # fourth wrong password from one address for one name is refused.
    "STUFFING_BURST": "3",
    "STUFFING_MIN_SECONDS": "0",
    # per hour, not minute: the limiter's windows are fixed, and four tries must not
    # straddle the turn of one
    "LOGIN_RATE_LIMIT": "3 per hour",
    "LOGIN_FREE_FAILURES": "100",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Every worker of both servers writes its metrics here; a scrape adds them up.
    metrics = tmp_path_factory.mktemp("metrics")
    settings = SETTINGS | {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    made = Stack(tmp_path_factory.mktemp("instances"), instances=2, settings=settings)
    try:
        yield made
    finally:
        made.close()


def _on(client: HttpClient, server) -> HttpClient:
    """The same browser (its cookies), now sent to ``server`` by the load balancer."""
    client.base = server.url
    return client


def test_a_session_and_its_csrf_token_from_one_server_work_on_the_other(stack):
    first, second = stack.apps
    staff = stack.staff("lishui", "instances-Passwort-2026", first)
    token = csrf_of(staff.get("/account/password").data)  # a form page of the first
    _on(staff, second)
    assert staff.get("/dashboard/").status_code == 200
    reply = staff.post("/logout", data={"csrf_token": token})
    assert reply.status_code == 302
    assert _on(staff, first).get("/dashboard/").status_code == 302  # logged out on both


def test_an_answer_s_nonce_used_on_one_server_is_refused_on_the_other(stack):
    first, second = stack.apps
    (token,) = stack.live_tokens(1)
    resident = HttpClient(first.url)
    nonce = nonce_of(resident.get(f"/s/{token}").data)
    assert answer(resident, token, nonce, overall="5", comment="两台服务器").status_code == 303
    again = answer(_on(resident, second), token, nonce, overall="5", comment="两台服务器")
    assert again.status_code == 303  # the thanks page again: the person did nothing wrong
    assert len(stack.answers_with("两台服务器")) == 1


def test_wrong_passwords_are_counted_across_servers(stack):
    first, second = stack.apps
    person = HttpClient(first.url)
    for server in (first, second, first):
        assert login_form(_on(person, server), "zhejiang", "wrong").status_code == 400
    refused = login_form(_on(person, second), "zhejiang", "wrong")
    assert refused.status_code == 429


def test_answers_from_one_address_are_counted_across_servers_for_stuffing(stack):
    first, second = stack.apps
    token = stack.live_tokens(2)[1]
    for number, server in enumerate((first, second, first, second)):
        phone = HttpClient(server.url)  # a new phone each time, all from one address
        reply = answer(phone, token, overall="5", comment=f"连刷 {number}")
        assert reply.status_code == 303
    flags = [stack.answers_with(f"连刷 {n}")[0] for n in range(4)]
    assert flags[:3] == [(None, None)] * 3
    assert flags[3][1] == "burst"


def test_a_site_renamed_on_one_server_is_shown_by_the_other_within_the_cache_time(stack):
    first, second = stack.apps
    (site_id, token, region_id, name) = stack.sql(
        "SELECT s.id, t.token, s.region_id, s.name FROM sites s"
        " JOIN site_tokens t ON t.site_id = s.id AND t.retired_at IS NULL ORDER BY s.id LIMIT 1"
    )[0]
    resident = HttpClient(second.url)
    for _ in range(4):  # each of the second server's workers caches the page
        assert name in resident.get(f"/s/{token}").get_data(as_text=True)
    admin = stack.staff("admin", "instances-Passwort-2027", first)
    page = admin.get(f"/admin/sites/{site_id}/edit")
    fields = {
        "region_id": region_id,
        "name": "改名后的照料中心",
        "address": "",
        "level": "township",
    }
    reply = admin.post(
        f"/admin/sites/{site_id}/edit", data=fields | {"csrf_token": csrf_of(page.data)}
    )
    assert reply.status_code == 302
    time.sleep(CACHE_SECONDS + 0.5)
    for _ in range(4):
        assert "改名后的照料中心" in resident.get(f"/s/{token}").get_data(as_text=True)


def _answers_created(server) -> float:
    page = HttpClient(server.url).get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "survey_answers_total" and sample.labels["outcome"] == "created":
                return sample.value
    return 0.0


def test_one_scrape_counts_the_answers_every_worker_took(stack):
    first, second = stack.apps
    token = stack.live_tokens(3)[2]
    before = _answers_created(first)
    for number in range(6):
        phone = HttpClient((first, second)[number % 2].url)
        assert answer(phone, token, overall="5", comment=f"计数 {number}").status_code == 303
    assert _answers_created(first) - before == 6
