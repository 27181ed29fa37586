"""Signed one-time nonces carried by every rendered form.

The signature proves the nonce came from us, for this site and questionnaire version; the
``form_nonces`` table's primary key makes each one count once.

A signed nonce reads ``<version>.<served, ms since 1970>.<nonce>.<mac>``: the MAC is a
truncated HMAC-SHA256 over the site's token and the first three parts. Written with the
standard library's ``hmac`` rather than itsdangerous: its serializer (JSON, zlib, base64 and
a key derived on every call) took an eighth of a cached form's reply, and every form served
and every answer received signs or checks one (docs/PERFORMANCE.md).
"""

import base64
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple


class NonceError(Exception):
    """The nonce is forged, from another site, or too old."""


#: Bytes of the HMAC kept: 128 bits, as many as the random nonce itself.
_MAC_BYTES = 16


@lru_cache(maxsize=4)
def _key(secret_key: str) -> bytes:
    """The key for nonces only, derived once per secret."""
    return hmac.digest(secret_key.encode(), b"form-nonce", hashlib.sha256)


def _mac(secret_key: str, token: str, payload: str) -> str:
    digest = hmac.digest(_key(secret_key), f"{token}.{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).rstrip(b"=").decode()


def issue(secret_key: str, token: str, version_id: int, age_seconds: float = 0) -> str:
    """A fresh signed nonce for a form of the site with ``token``, showing ``version_id``,
    served ``age_seconds`` ago (a form given back with its choices has been read already)."""
    served_ms = int((time.time() - age_seconds) * 1000)
    payload = f"{version_id}.{served_ms}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_mac(secret_key, token, payload)}"


class Verified(NamedTuple):
    version_id: int
    nonce: str
    #: When the form was served (UTC, to the millisecond).
    issued_at: datetime


def verify(secret_key: str, token: str, signed: str, max_age_seconds: float) -> Verified:
    """The questionnaire version id, the raw nonce and the time it was issued, of ``signed``.

    Raises NonceError when the signature is wrong or expired, or the nonce is another site's
    (a form served before this format was used fails too: its page asks the resident to
    tap 提交 once more, their choices kept).
    """
    payload, _, mac = signed.rpartition(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret_key, token, payload).encode()):
        raise NonceError("bad signature, or another site's form")
    version, served, nonce = payload.split(".", 2)
    served_ms = int(served)
    if time.time() * 1000 - served_ms > max_age_seconds * 1000:
        raise NonceError("the form was served too long ago")
    return Verified(int(version), nonce, datetime.fromtimestamp(served_ms / 1000, UTC))
