"""API tokens of other systems (the provincial 民生实事 system, a county's dashboard) and
the log of what their webhooks were sent."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import field_cipher
from survey.accounts.models import User
from survey.db import db, label_of, now_utc, one_of
from survey.regions.models import Region


class ApiToken(db.Model):
    """One integration's bearer token: it reads what a city or county user of its region
    reads, through the API only. Its secret is shown once and kept as a SHA-256 digest."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who uses it, as the audit log names it (``民生实事系统``).
    name: Mapped[str] = mapped_column(String(40), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    #: SHA-256 of the secret, hex. Not argon2 like passwords: the secret is 256 random bits,
    #: beyond guessing, and a slow hash would cost every API request tens of milliseconds.
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    #: Where new 差评 are POSTed (http or https); None: no webhook.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: The key signing each webhook POST (HMAC-SHA256), encrypted with the field key
    #: (``survey.field_cipher``): the sender must read it back, so it cannot be a digest.
    webhook_secret: Mapped[str | None] = mapped_column(Text, info=field_cipher.ALONE)
    #: The webhook sweep's place: answers up to this id were looked at.
    webhook_after_id: Mapped[int] = mapped_column(default=0, server_default="0")

    region: Mapped[Region] = relationship()
    created_by: Mapped[User] = relationship()

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


#: What became of a webhook delivery, as stored → as shown.
DELIVERY_STATES = {"pending": "待发送", "delivered": "已送达", "failed": "已放弃"}
#: What a delivery tells, as stored → as shown.
EVENTS = {"negative_answer": "新差评", "ping": "测试推送"}


class WebhookDelivery(db.Model):
    """One POST a token's webhook is to receive, with what came of its attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        one_of("state", DELIVERY_STATES),
        one_of("event", EVENTS),
        # The sweep's read: the pending deliveries that are due.
        Index("ix_webhook_deliveries_state_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    #: The answer it tells of; not a foreign key: the log keeps what was sent after the
    #: answer is deleted.
    response_id: Mapped[int | None]
    #: The JSON body exactly as signed and sent.
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    delivered_at: Mapped[datetime | None]
    #: The last attempt's HTTP status, or None when it got no answer.
    last_status: Mapped[int | None]
    #: Why the last attempt failed, in a line.
    last_error: Mapped[str] = mapped_column(String(200), default="")

    token: Mapped[ApiToken] = relationship()

    state_label = label_of("state", DELIVERY_STATES)
    event_label = label_of("event", EVENTS)
