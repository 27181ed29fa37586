"""Webhooks for new 差评: swept from the stored answers into an outbox, POSTed signed,
retried with back-off, every delivery in the token's log."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from survey.api import webhooks
from survey.api.models import ApiToken, WebhookDelivery
from survey.checks.key_rotation import rotate_field_key
from survey.db import db, now_utc
from survey.field_cipher import FieldCipher, InvalidToken, new_key
from survey.responses.models import Response
from tests.helpers import FIELD_KEY, answer, make_token, post

HOOK = "https://hook.example/survey"


class Receiver:
    """A webhook receiver answering with the statuses given in turn, keeping what it got."""

    def __init__(self, *statuses):
        self.statuses = list(statuses)
        self.got = []

    def __call__(self, url, body, headers):
        self.got.append((url, body, headers))
        status = self.statuses.pop(0)
        if isinstance(status, Exception):
            raise status
        return status


def _run(app, moment, post_=None):
    with app.app_context():
        return webhooks.run_once(db.session, moment, post_ or Receiver())


def _deliveries(app):
    with app.app_context():
        return db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def _change_answers(app, **values):
    """Change every answer as the form never would (on the engine's own connection, not
    counted by answers_store: these tests read no rates)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(db.update(Response).values(**values))


def _later():
    return now_utc() + webhooks.SETTLE


def test_a_new_negative_answer_is_posted_once_signed(app, make_site):
    site = make_site()
    other = make_site("鹤城街道康养联合体", county="青田县")
    answer(app.test_client(), site.token, overall="5")  # before the token: never sent
    _, secret = make_token(app, "莲都区", webhook_url=HOOK)
    for token, level in ((site.token, "2"), (site.token, "4"), (other.token, "1")):
        answer(app.test_client(), token, overall=level)
    # Too new: an answer committed out of id order could still appear below it.
    assert _run(app, now_utc())["queued"] == 0
    receiver = Receiver(204)
    counts = _run(app, _later(), receiver)
    assert counts == {"queued": 1, "delivered": 1, "retried": 0, "failed": 0}
    ((url, body, headers),) = receiver.got
    assert url == HOOK
    assert headers["X-Survey-Signature"] == _signature(secret, headers, body)
    sent = json.loads(body)
    assert sent["event"] == "negative_answer" and sent["answer"]["overall"] == 2
    assert sent["answer"]["site_id"] == site.id and sent["project"]["id"] == site.project_id
    # Nothing new: nothing sent again.
    assert _run(app, _later()) == {"queued": 0, "delivered": 0, "retried": 0, "failed": 0}


def _signature(secret, headers, body):
    stamp = headers["X-Survey-Timestamp"].encode()
    return "sha256=" + hmac.new(secret.encode(), stamp + b"." + body, hashlib.sha256).hexdigest()


def test_key_rotation_moves_webhook_secrets_and_posts_stay_signed_alike(app, make_site):
    """``flask rotate-field-key`` re-encrypts every webhook secret (revoked tokens' too), so
    the old key can go; the receiver's secret does not change."""
    site = make_site()
    _, secret = make_token(app, "莲都区", webhook_url=HOOK)
    make_token(app, "莲都区", name="已吊销的系统", webhook_url=HOOK + "/old")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            db.update(ApiToken).where(ApiToken.name == "已吊销的系统").values(revoked_at=now_utc())
        )
    new = new_key()
    with app.app_context():
        done = rotate_field_key(db.session, FieldCipher(f"{new},{FIELD_KEY}"))
        stored = db.session.scalars(db.select(ApiToken.webhook_secret)).all()
    assert done.alone["api_tokens"] == 2 and "推送密钥重新加密 2 个" in done.summary
    for token in stored:
        with pytest.raises(InvalidToken):
            FieldCipher(FIELD_KEY).decrypt(token)
    app.extensions["field_cipher"] = FieldCipher(new)  # the old key removed
    answer(app.test_client(), site.token, overall="1")
    receiver = Receiver(204)
    assert _run(app, _later(), receiver)["delivered"] == 1
    ((_, body, headers),) = receiver.got
    assert headers["X-Survey-Signature"] == _signature(secret, headers, body)


def test_flagged_answers_are_not_swept(app, make_site):
    site = make_site()
    make_token(app, "丽水市", webhook_url=HOOK)
    answer(app.test_client(), site.token, overall="1")
    _change_answers(app, flag="pending")
    assert _run(app, _later())["queued"] == 0
    assert _deliveries(app) == []


def test_failures_are_retried_with_back_off_then_delivered(app, make_site):
    site = make_site()
    make_token(app, "丽水市", webhook_url=HOOK)
    answer(app.test_client(), site.token, overall="1")
    start = _later()
    receiver = Receiver(500, OSError("connection refused"), 302, 200)
    assert _run(app, start, receiver)["retried"] == 1
    (delivery,) = _deliveries(app)
    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (1, 500, "HTTP 500")
    assert delivery.next_attempt_at == start + timedelta(minutes=1)
    # Not due yet: not sent.
    assert _run(app, start + timedelta(seconds=59), receiver)["retried"] == 0
    _run(app, start + timedelta(minutes=1), receiver)
    (delivery,) = _deliveries(app)
    assert delivery.last_status is None and "connection refused" in delivery.last_error
    assert delivery.next_attempt_at == start + timedelta(minutes=6)
    _run(app, start + timedelta(minutes=6), receiver)  # a redirect is not followed
    (delivery,) = _deliveries(app)
    assert delivery.next_attempt_at == start + timedelta(minutes=36)
    assert _run(app, start + timedelta(minutes=36), receiver)["delivered"] == 1
    (delivery,) = _deliveries(app)
    assert (delivery.state, delivery.attempts) == ("delivered", 4)
    assert len({body for _, body, _ in receiver.got}) == 1  # the same body each time


def test_a_delivery_is_given_up_after_the_last_wait(app, make_site):
    site = make_site()
    make_token(app, "丽水市", webhook_url=HOOK)
    answer(app.test_client(), site.token, overall="2")
    moment = _later()
    receiver = Receiver(*[503] * 6)
    waits = []
    for _ in range(6):
        _run(app, moment, receiver)
        (delivery,) = _deliveries(app)
        waits.append(delivery.next_attempt_at - moment)
        moment = delivery.next_attempt_at
    assert waits[:5] == list(webhooks.BACKOFF)
    assert (delivery.state, delivery.attempts) == ("failed", 6)


class _Hook(BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204 if self.path == "/ok" else 302)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_real_http_posts_follow_no_redirect():
    _Hook.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert webhooks.http_post(f"{base}/ok", b"{}", {"Content-Type": "application/json"}) == 204
        assert webhooks.http_post(f"{base}/moved", b"{}", {}) == 302
        assert _Hook.bodies == [b"{}", b"{}"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_log_page_shows_deliveries_and_queues_a_ping(app, admin, make_site, runner):
    site = make_site()
    make_token(app, "丽水市", webhook_url="http://127.0.0.1:9/hook")
    answer(app.test_client(), site.token, overall="1")
    with app.app_context():
        token_id = db.session.scalars(db.select(ApiToken.id)).one()
    page = f"/admin/api-tokens/{token_id}"
    assert post(admin, f"{page}/ping", page=page).status_code == 302
    result = runner.invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0 and "待重试 1 条" in result.output  # nothing listens on 9
    shown = admin.get(page).text
    assert "测试推送" in shown and "待发送" in shown and "Connection refused" in shown
    _run(app, _later(), Receiver(500, 500))  # the answer, settled, is queued
    assert "新差评（回答 1）" in admin.get(page).text
