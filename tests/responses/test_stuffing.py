"""Ballot stuffing: every answer is stored, suspect ones are flagged and left out of the
rates until a city reviewer restores or confirms them (survey.responses.stuffing)."""

import hashlib
import os
import re
import time

import pytest
import redis
from sqlalchemy import select

from survey.addresses import network_of
from survey.db import db
from survey.responses import answers_store, nonces, stuffing
from survey.responses.models import Response
from survey.responses.rollup_models import ResponseRollup
from tests.helpers import answer, nonce_of

#: A Redis database of the tests' own (emptied before and after each test using it).
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip() -> stuffing.SharedCounts:
    shared = stuffing.SharedCounts(REDIS_TEST_URL)
    try:
        shared.client.ping()
    except redis.RedisError as err:
        pytest.skip(f"no Redis at {REDIS_TEST_URL} (TEST_REDIS_URL) to count in: {err}")
    return shared


@pytest.fixture(params=["database", "redis"])
def flagging(request, app):
    """The stuffing checks on, counting in the database or in Redis."""
    app.config["STUFFING_CHECKS"] = True
    if request.param == "redis":
        shared = _redis_or_skip()
        shared.client.flushdb()
        app.extensions["stuffing_counts"] = shared
        yield request.param
        shared.client.flushdb()
    else:
        yield request.param


class _HalfAMinuteAgo:
    @staticmethod
    def time():
        return time.time() - 30


def serve_earlier(monkeypatch) -> None:
    """Forms served from now on say they were served 30 s ago (a resident reading them)."""
    monkeypatch.setattr(nonces, "time", _HalfAMinuteAgo)


@pytest.fixture
def served_earlier(monkeypatch):
    serve_earlier(monkeypatch)


def resident(app, address: str, cookies: bool = True):
    """A phone at ``address``: a test client keeping cookies (or not)."""
    client = app.test_client(use_cookies=cookies)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def counted(app, site_id: int) -> int:
    """Answers of the site in the all-time rollup cells (what every rate reads)."""
    with app.app_context():
        answers_store.rolled_up(db.session)
        cells = db.session.scalars(
            select(ResponseRollup).filter_by(site_id=site_id, grain="all")
        ).all()
        return sum(getattr(c, f"count_{level}") for c in cells for level in range(1, 6))


def flags(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(
            select(Response.flag, Response.flag_reasons).order_by(Response.id)
        ).all()


def _reasons(app) -> set[str]:
    return {reason for _, found in flags(app) if found for reason in found.split(",")}


def test_200_cookieless_answers_from_one_address_are_stored_but_at_most_10_counted(
    app, make_site, count, flagging
):
    site = make_site()
    bot = resident(app, "203.0.113.9", cookies=False)
    for _ in range(200):
        assert answer(bot, site.token, overall="5").status_code == 303
    assert count(Response) == 200
    assert counted(app, site.id) <= 10
    assert _reasons(app) == {"burst", "fast", "cookieless"}


def test_a_patient_cookieless_script_still_counts_once(
    app, make_site, count, flagging, served_earlier
):
    site = make_site()
    bot = resident(app, "203.0.113.9", cookies=False)
    for _ in range(50):  # its forms were "served" 30 s before: not too fast
        answer(bot, site.token, overall="5")
    assert count(Response) == 50 and counted(app, site.id) == 1
    assert _reasons(app) == {"burst", "cookieless"}


def test_a_script_taking_a_new_cookie_every_time_counts_five_per_ten_minutes(
    app, make_site, count, flagging, served_earlier
):
    site = make_site()
    for _ in range(50):  # a fresh phone each time, as far as cookies tell
        answer(resident(app, "203.0.113.9"), site.token, overall="5")
    assert count(Response) == 50 and counted(app, site.id) == 5
    assert _reasons(app) == {"burst"}


def test_one_phone_correcting_its_answer_is_one_answer_for_the_burst_rule(
    app, make_site, flagging, served_earlier
):
    site = make_site()
    phone = resident(app, "198.51.100.7")
    for level in ("5", "4", "3", "2", "4", "5", "4"):  # the same phone, replacing its answer
        assert answer(phone, site.token, overall=level).status_code == 303
    for _ in range(4):  # four more phones behind the same address
        answer(resident(app, "198.51.100.7"), site.token, overall="5")
    assert [flag for flag, _ in flags(app)] == [None] * 5
    assert counted(app, site.id) == 5


def test_an_ipv6_phone_is_one_sender_across_its_64_prefix():
    other = network_of("2408:8456:1:2:aaaa::1")
    assert network_of("2408:8456:1:2::9") == other == "2408:8456:1:2::/64"
    assert network_of("2408:8456:1:3::9") != other
    assert network_of("::ffff:198.51.100.7") == "198.51.100.7"
    assert network_of("198.51.100.7") == "198.51.100.7"
    assert network_of("not an address") == "not an address"


def test_two_addresses_sharing_a_site_at_normal_pace_all_count(
    app, make_site, count, flagging, served_earlier
):
    site = make_site()
    for address in ("198.51.100.1", "198.51.100.2"):
        for level in ("5", "4", "3", "5", "4"):  # five phones behind each address
            assert answer(resident(app, address), site.token, overall=level).status_code == 303
    assert count(Response) == 10
    assert counted(app, site.id) == 10
    assert {flag for flag, _ in flags(app)} == {None}


def test_the_sixth_answer_from_one_address_in_ten_minutes_is_flagged_never_refused(
    app, make_site, flagging, served_earlier
):
    site = make_site()
    for _ in range(7):  # seven phones of one village behind one address
        assert answer(resident(app, "198.51.100.7"), site.token, overall="5").status_code == 303
    assert [flag for flag, _ in flags(app)] == [None] * 5 + ["pending"] * 2
    assert flags(app)[-1] == ("pending", "burst")
    assert counted(app, site.id) == 5


def test_an_answer_sent_within_two_seconds_of_its_form_is_flagged(app, make_site, client, flagging):
    site = make_site()
    reply = answer(client, site.token, overall="5")
    assert reply.status_code == 303  # the resident sees the thank-you page all the same
    assert flags(app) == [("pending", "fast")]
    assert counted(app, site.id) == 0


def test_a_repeat_without_a_cookie_is_flagged_a_first_one_is_not(
    app, make_site, flagging, served_earlier
):
    site = make_site()
    other = make_site("岩泉街道康养联合体")
    blocked = resident(app, "198.51.100.9", cookies=False)
    answer(blocked, site.token, overall="5")
    answer(blocked, other.token, overall="5")  # another site: not a repeat
    answer(blocked, site.token, overall="4")
    assert flags(app) == [(None, None), (None, None), ("pending", "cookieless")]


def test_only_a_keyed_hash_of_the_address_is_kept(app, make_site, flagging, served_earlier):
    site = make_site()
    for address in ("198.51.100.1", "198.51.100.1", "198.51.100.2"):
        answer(resident(app, address), site.token, overall="5")
    with app.app_context():
        rows = db.session.execute(
            select(Response.client_hash, Response.agent_hash).order_by(Response.id)
        ).all()
    first, again, other = (h for h, _ in rows)
    assert first == again != other
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert all(re.fullmatch(r"[0-9a-f]{16}", agent) for _, agent in rows)
    # Not an unkeyed hash: without the server's key the address cannot be tried back.
    assert hashlib.sha256(b"198.51.100.1").hexdigest()[:32] != first


def test_the_form_page_sets_the_device_cookie_so_a_lost_redirect_cannot_double_count(
    app, make_site, client, count, flagging, served_earlier
):
    site = make_site()
    page = client.get(f"/s/{site.token}")
    assert client.get_cookie("sid") is not None
    first = client.post(f"/s/{site.token}", data={"nonce": nonce_of(page.data), "q.overall": "5"})
    assert first.status_code == 303  # ...and suppose this reply never reached the phone
    assert answer(client, site.token, overall="4").status_code == 303  # scanned again
    assert count(Response) == 1
    assert counted(app, site.id) == 1


def test_redis_unreachable_counts_in_the_database_and_is_left_alone_a_while(
    app, make_site, served_earlier, caplog
):
    app.config["STUFFING_CHECKS"] = True
    shared = app.extensions["stuffing_counts"] = stuffing.SharedCounts("redis://127.0.0.1:9/0")
    site = make_site()
    for _ in range(6):
        assert answer(resident(app, "198.51.100.7"), site.token, overall="5").status_code == 303
    assert [flag for flag, _ in flags(app)] == [None] * 5 + ["pending"]
    # One warning: after the first failure the answers do not wait on Redis again.
    assert len([r for r in caplog.records if "Redis unavailable" in r.message]) == 1
    assert not shared.available


def test_the_api_applies_the_same_rules_and_its_device_window(app, make_site, count, flagging):
    site = make_site()
    kiosk = resident(app, "203.0.113.5", cookies=False)
    url = f"/api/v1/sites/{site.token}/responses"
    replies = []
    for _ in range(3):
        nonce = kiosk.get(f"/api/v1/sites/{site.token}").get_json()["nonce"]
        payload = {"answers": {"overall": 5}, "nonce": nonce}
        replies.append(kiosk.post(url, json=payload).get_json())
    assert [r["outcome"] for r in replies] == ["created"] * 3
    assert all(r["flagged"] for r in replies)  # sent at once: too fast
    assert count(Response) == 3 and counted(app, site.id) == 0
    # A client that keeps a device id gets the device window: its repeat replaces.
    device = "0123456789abcdef0123456789abcdef"
    for level in (5, 2):
        nonce = kiosk.get(f"/api/v1/sites/{site.token}").get_json()["nonce"]
        payload = {"answers": {"overall": level}, "nonce": nonce, "device": device}
        last = kiosk.post(url, json=payload)
    assert last.get_json()["outcome"] == "updated"
    assert count(Response) == 4
    bad = kiosk.post(url, json={"answers": {"overall": 5}, "nonce": nonce, "device": "x"})
    assert bad.status_code == 422
    assert "32 位十六进制" in bad.get_data(as_text=True)


def test_a_form_given_back_for_an_expired_nonce_may_be_sent_again_at_once(
    app, make_site, client, flagging
):
    site = make_site()
    app.config["FORM_NONCE_MAX_AGE_HOURS"] = -1  # the form was left open for days
    refused = answer(client, site.token, overall="4")
    assert refused.status_code == 400
    app.config["FORM_NONCE_MAX_AGE_HOURS"] = 72
    again = answer(client, site.token, nonce=nonce_of(refused.data), overall="4")
    assert again.status_code == 303  # a quick second tap: the resident read the form before
    assert flags(app) == [(None, None)]


def test_a_flagged_answer_stays_out_when_its_phone_answers_again(
    app, make_site, client, flagging, monkeypatch
):
    site = make_site()
    assert answer(client, site.token, overall="5").status_code == 303  # sent at once: fast
    assert flags(app) == [("pending", "fast")]

    serve_earlier(monkeypatch)  # the phone's next form was read for half a minute
    reply = answer(client, site.token, overall="4")
    assert reply.status_code == 303 and "updated=1" in reply.location
    assert flags(app) == [("pending", "fast")]  # only a reviewer takes a flag off
    assert counted(app, site.id) == 0
