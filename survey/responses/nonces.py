"""Signed one-time nonces carried by every rendered form.

The signature proves the nonce came from us, for this site and questionnaire version; the
``form_nonces`` table's primary key makes each one count once.
"""

import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

from itsdangerous import BadSignature, URLSafeTimedSerializer


class NonceError(Exception):
    """The nonce is forged, from another site, or too old."""


@lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    # Built once per key: deriving the signer costs more than signing a nonce.
    return URLSafeTimedSerializer(secret_key, salt="form-nonce")


def issue(secret_key: str, token: str, version_id: int, age_seconds: float = 0) -> str:
    """A fresh signed nonce for a form of the site with ``token``, showing ``version_id``,
    served ``age_seconds`` ago (a form given back with its choices has been read already)."""
    # The time goes in too, in milliseconds: the signature's own timestamp has whole
    # seconds only, too coarse to tell a form sent within 2 s of being served.
    issued_ms = int((time.time() - age_seconds) * 1000)
    return _serializer(secret_key).dumps([token, version_id, secrets.token_urlsafe(16), issued_ms])


class Verified(NamedTuple):
    version_id: int
    nonce: str
    #: When the form was served (the signature's timestamp, UTC, whole seconds).
    issued_at: datetime


def verify(secret_key: str, token: str, signed: str, max_age_seconds: float) -> Verified:
    """The questionnaire version id, the raw nonce and the time it was issued, of ``signed``.

    Raises NonceError when the signature is wrong or expired, or the nonce is another site's.
    """
    try:
        payload, signed_at = _serializer(secret_key).loads(
            signed, max_age=max_age_seconds, return_timestamp=True
        )
        # Forms served before the time was added carry three items.
        site_token, version_id, nonce, issued_ms = [*payload, None][:4]
    except (BadSignature, ValueError, TypeError) as err:
        raise NonceError(str(err)) from err
    if site_token != token or not isinstance(version_id, int) or not isinstance(nonce, str):
        raise NonceError("nonce belongs to another form")
    if isinstance(issued_ms, int):
        return Verified(version_id, nonce, datetime.fromtimestamp(issued_ms / 1000, UTC))
    return Verified(version_id, nonce, signed_at)
