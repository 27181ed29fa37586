"""Webhooks: each token with a webhook URL is told of every new 差评 (an answer of 不满意
or 非常不满意, not flagged as stuffing) in its region, by a signed POST retried with
back-off, every delivery kept in its log.

Nothing is added to the residents' hot path: ``collect`` sweeps the answers stored since
each token's place into an outbox (``webhook_deliveries``), and ``deliver_due`` sends what is
due. ``run_once`` does both; the background worker calls it every minute, ``flask webhooks
deliver`` once.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from survey.accounts.services import Actor, record
from survey.api.models import ApiToken, WebhookDelivery
from survey.api.schemas import AnswerSchema
from survey.db import db, now_utc, write_transaction
from survey.field_cipher import FieldCipher
from survey.regions.scope import region_scope
from survey.responses.models import Answer, Response
from survey.sites.listing import Page, page_of
from survey.sites.models import Site

#: 差评: the overall levels 2 不满意 and 1 非常不满意 (docs/METRICS.md).
WORST_NEGATIVE, NEGATIVE_FROM = 1, 2
#: An answer is swept only once it is this old. PostgreSQL commits concurrent transactions
#: out of id order, so an answer may appear below ids the sweep has passed; an answer's
#: transaction takes milliseconds, so one open this long is not expected.
SETTLE = timedelta(minutes=1)
#: Answers swept per token and run.
SWEEP_BATCH = 500
#: The wait before each retry of a failed delivery; it is given up after the last.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
#: Deliveries sent per run, and how long one POST may take.
DELIVER_BATCH, TIMEOUT_SECONDS = 100, 5

_answer_schema = AnswerSchema()

#: ``post(url, body, headers)`` → the HTTP status; raises OSError when nothing answered.
Post = Callable[[str, bytes, dict], int]


class NoWebhook(ValueError):
    """The token has no webhook URL, or is revoked."""


def _queue(session: Session, token: ApiToken, event: str, body: dict, now: datetime, answer=None):
    payload = json.dumps({"event": event, "token": token.name, **body}, ensure_ascii=False)
    session.add(
        WebhookDelivery(
            token=token,
            event=event,
            response_id=answer,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
    )


def _negative_answers(session: Session, token: ApiToken) -> list[Response]:
    scope = region_scope(session, token.region)
    query = (
        select(Response)
        .join(Response.site)
        .where(
            scope.where(Site.region_id),
            Response.id > token.webhook_after_id,
            Response.overall.between(WORST_NEGATIVE, NEGATIVE_FROM),
            Response.flag.is_(None),
        )
        .options(
            joinedload(Response.site).options(joinedload(Site.region), joinedload(Site.project)),
            selectinload(Response.answers).joinedload(Answer.question),
        )
        .order_by(Response.id)
        .limit(SWEEP_BATCH)
    )
    return list(session.scalars(query).unique())


def collect(session: Session, now: datetime) -> int:
    """Queue a delivery for every 差评 stored since each live webhook's place, and move
    the place past them; the number queued. One write transaction per token."""
    queued = 0
    webhooks = select(ApiToken).where(
        ApiToken.revoked_at.is_(None), ApiToken.webhook_url.is_not(None)
    )
    for token in session.scalars(webhooks).all():
        with write_transaction(session, token):
            for answer in _negative_answers(session, token):
                if answer.created_at > now - SETTLE:
                    break
                project = {"id": answer.site.project_id, "name": answer.site.project.name}
                body = {"project": project, "answer": _answer_schema.dump(answer)}
                _queue(session, token, "negative_answer", body, now, answer.id)
                token.webhook_after_id = answer.id
                queued += 1
    return queued


def queue_ping(session: Session, actor: Actor, token: ApiToken, now: datetime) -> None:
    """Queue a test message to the token's webhook, audited (``webhook_ping_queued``).
    Raises NoWebhook when it has none or is revoked."""
    if token.webhook_url is None or not token.is_live:
        raise NoWebhook("这个令牌没有推送地址，或已被吊销。")
    _queue(session, token, "ping", {"sent_at": now.isoformat()}, now)
    record(session, "webhook_ping_queued", actor, token.name)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Survey-Signature`` of a POST: HMAC-SHA256 of the timestamp, a dot and the
    body under the webhook's secret, in hex. The timestamp is signed too, so a receiver that
    refuses old ones cannot be sent a recorded POST again later."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Due:
    id: int
    url: str
    secret: str
    payload: bytes


def _attempted(delivery: WebhookDelivery, status: int | None, error: str, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, error[:200]
    if status is not None and 200 <= status < 300:
        delivery.state, delivery.delivered_at = "delivered", now
    elif delivery.attempts > len(BACKOFF):
        delivery.state = "failed"
    else:
        delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]


def deliver_due(session: Session, cipher: FieldCipher, now: datetime, post: Post) -> dict:
    """POST every delivery that is due (pending, its time come, its token live) with
    ``post``, signed, and note what came of it: delivered on a 2xx, otherwise tried again
    after the next wait of BACKOFF, and failed after the last. Nothing is held locked while
    a POST waits for its answer. Returns the counts ``{"delivered": n, "retried": n,
    "failed": n}``."""
    query = (
        select(WebhookDelivery.id, ApiToken.webhook_url, ApiToken.webhook_secret)
        .add_columns(WebhookDelivery.payload)
        .join(WebhookDelivery.token)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            ApiToken.revoked_at.is_(None),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(DELIVER_BATCH)
    )
    due = [
        _Due(id_, url, cipher.decrypt(secret), payload.encode())
        for id_, url, secret, payload in session.execute(query)
    ]
    session.commit()  # ends the read (a command's transaction) before any POST waits
    counts = {"delivered": 0, "retried": 0, "failed": 0}
    for item in due:
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "survey-webhook/1",
            "X-Survey-Delivery": str(item.id),
            "X-Survey-Timestamp": timestamp,
            "X-Survey-Signature": signature(item.secret, timestamp, item.payload),
        }
        try:
            status, error = post(item.url, item.payload, headers), ""
        except OSError as err:
            status, error = None, f"{type(err).__name__}: {err}"
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        delivery = session.get(WebhookDelivery, item.id)
        with write_transaction(session, delivery, check=lambda row: row.state == "pending"):
            _attempted(delivery, status, error, now)
        state = delivery.state
        counts["retried" if state == "pending" else state] += 1
    return counts


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: not followed (it may lead anywhere)."""

    def redirect_request(self, *_args, **_kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def http_post(url: str, body: bytes, headers: dict) -> int:
    """POST ``body`` to ``url``; the status, without following redirects. Raises OSError
    (URLError, a timeout) when nothing answered in TIMEOUT_SECONDS."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        err.close()
        return err.code


def run_once(session: Session, now: datetime | None = None, post: Post = http_post) -> dict:
    """One run of the webhooks (in an app context): queue the new 差评, then send what is
    due. Returns the counts of ``deliver_due`` and ``queued``."""
    cipher = current_app.extensions["field_cipher"]
    now = now or now_utc()
    queued = collect(session, now)
    return {"queued": queued, **deliver_due(session, cipher, now, post)}


def send_webhooks(app) -> None:
    """The background-job workers' minutely run of the webhooks (survey.jobs.queue)."""
    with app.app_context():
        run_once(db.session)


def delivery_log(session: Session, token: ApiToken, number: int, per_page: int) -> Page:
    """Page ``number`` of the token's deliveries, newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.token_id == token.id)
    return page_of(session, query.order_by(WebhookDelivery.id.desc()), number, per_page)
