"""Creating, revoking and using API tokens. A token's secret is shown once and kept only as
its SHA-256; every authenticated request is a line in the audit log."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.accounts.users import assignable_regions
from survey.api.models import ApiToken, WebhookDelivery
from survey.field_cipher import FieldCipher
from survey.form_posts import FieldError
from survey.regions.models import Region
from survey.responses.models import Response

#: The region levels a token may read, as a city user (a province or a city) or a county
#: user does.
TOKEN_LEVELS = ("province", "city", "county")


class TokenError(FieldError):
    """A token that cannot be made as asked."""


def digest(secret: str) -> str:
    """The SHA-256 of a token's secret, as stored and looked up. A fast hash is enough for
    256 random bits; argon2 (the passwords') would add tens of ms to every API request."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just made, with the secrets to show once: never stored in the clear."""

    token: ApiToken
    secret: str
    webhook_secret: str | None


def audit_name(token: ApiToken) -> str:
    """How the audit log names a token's requests (no staff user name has a colon)."""
    return f"令牌:{token.name}"


def create_token(session: Session, actor: Actor, cipher: FieldCipher, values: dict) -> NewToken:
    """A new token (``name``, ``region_id``, optional ``webhook_url``) made by an admin,
    with its secret and, with a webhook, the webhook's signing secret; audited
    (``api_token_created``). The webhook hears of the answers stored from now on.

    Raises TokenError for a name in use or a region no token can read.
    """
    name = values["name"]
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError("name", f"名称“{name}”已被另一个令牌使用。")
    region = session.get(Region, values["region_id"])
    if region is None or region.level not in TOKEN_LEVELS:
        raise TokenError("region_id", "请选择令牌可读取的地区（省、市或县）。")
    secret = secrets.token_urlsafe(32)
    url = values.get("webhook_url")
    webhook_secret = secrets.token_urlsafe(32) if url else None
    token = ApiToken(
        name=name,
        region=region,
        secret_digest=digest(secret),
        created_by=actor.user,
        webhook_url=url,
        webhook_secret=cipher.encrypt(webhook_secret) if url else None,
        webhook_after_id=session.scalar(select(func.coalesce(func.max(Response.id), 0))),
    )
    session.add(token)
    session.flush()
    pushed = f"，推送到 {urlsplit(url).netloc}" if url else ""
    record(session, "api_token_created", actor, f"{name}：{region.name}{pushed}")
    return NewToken(token, secret, webhook_secret)


def revoke_token(session: Session, actor: Actor, token: ApiToken, now: datetime) -> None:
    """Revoke ``token`` for good (its next request is refused, its webhook stops; the
    deliveries still waiting are given up), audited (``api_token_revoked``). Revoking a
    revoked token changes nothing."""
    if not token.is_live:
        return
    token.revoked_at = now
    waiting = select(WebhookDelivery).where(
        WebhookDelivery.token_id == token.id, WebhookDelivery.state == "pending"
    )
    for delivery in session.scalars(waiting):
        delivery.state, delivery.last_error = "failed", "令牌已吊销"
    record(session, "api_token_revoked", actor, token.name)


def find_token(session: Session, secret: str) -> ApiToken | None:
    """The live token whose secret this is, or None."""
    token = session.scalars(select(ApiToken).where(ApiToken.secret_digest == digest(secret)))
    found = token.first()
    return found if found is not None and found.is_live else None


def record_use(session: Session, token: ApiToken, ip: str, what: str, now: datetime) -> None:
    """Note a request of ``token`` (``what``: its method and path, never its query): when it
    was last used and a line in its region's audit log (``api_used``). Call inside
    write_transaction, with the token locked (a revocation meanwhile refuses it)."""
    token.last_used_at = now
    actor = Actor(None, ip, audit_name(token), token.region_id)
    record(session, "api_used", actor, what)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, live ones first, newest first."""
    order = (ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    return list(session.scalars(select(ApiToken).order_by(*order)))


def token_regions(session: Session) -> list[Region]:
    """The regions a token may be given, provinces and cities first."""
    return [r for r in assignable_regions(session) if r.level in TOKEN_LEVELS]
