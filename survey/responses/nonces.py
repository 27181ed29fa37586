"""Signed one-time nonces carried by every rendered form.

The signature proves the nonce came from us, for this site and questionnaire version; the
``form_nonces`` table's primary key makes each one count once.
"""

import secrets
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeTimedSerializer


class NonceError(Exception):
    """The nonce is forged, from another site, or too old."""


@lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    # Built once per key: deriving the signer costs more than signing a nonce.
    return URLSafeTimedSerializer(secret_key, salt="form-nonce")


def issue(secret_key: str, token: str, version_id: int) -> str:
    """A fresh signed nonce for a form of the site with ``token``, showing ``version_id``."""
    return _serializer(secret_key).dumps([token, version_id, secrets.token_urlsafe(16)])


def verify(secret_key: str, token: str, signed: str, max_age_seconds: float) -> tuple[int, str]:
    """The questionnaire version id and the raw nonce inside ``signed``.

    Raises NonceError when the signature is wrong or expired, or the nonce is another site's.
    """
    try:
        site_token, version_id, nonce = _serializer(secret_key).loads(
            signed, max_age=max_age_seconds
        )
    except (BadSignature, ValueError, TypeError) as err:
        raise NonceError(str(err)) from err
    if site_token != token or not isinstance(version_id, int) or not isinstance(nonce, str):
        raise NonceError("nonce belongs to another form")
    return version_id, nonce
