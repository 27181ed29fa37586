"""Residents' personal information at rest: encrypted, with a keyed hash to find duplicates.

Names, phone numbers and notes are stored only as Fernet tokens (AES-128-CBC with
HMAC-SHA256, from ``cryptography``). Phone numbers also get an HMAC-SHA256 digest under a
key derived from the same secret: equal numbers give equal digests, so duplicates and searches
work without decrypting anything, and without the key the digests cannot be reversed by trying
all 10^11 numbers (a plain hash could).

FIELD_ENCRYPTION_KEY may hold several keys, comma-separated, while a new key is rolled out
(``flask rotate-field-key``): the first encrypts and digests, every one decrypts, and a
look-up by number matches a digest made under any of them.
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["ALONE", "FieldCipher", "InvalidToken", "new_key"]

#: A column's ``info`` for one token of this cipher that nothing beside it depends on (no
#: digest, not a file of several tokens): ``flask rotate-field-key`` finds every column so
#: marked and encrypts it again, so marking a new encrypted column is all it takes.
ALONE = {"field_token": "alone"}

#: How to make a key, for the messages that ask for one.
HOW_TO_MAKE_A_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def new_key() -> str:
    """A fresh key for FIELD_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError) as err:
        raise ValueError(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated keys, each 32 url-safe "
            f"base64-encoded bytes (make one with: {HOW_TO_MAKE_A_KEY})"
        ) from err


def _digest_key(key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"survey roster lookup"
    ).derive(base64.urlsafe_b64decode(key))


class FieldCipher:
    """Encrypts and decrypts personal fields, and digests phone numbers, with the keys of
    FIELD_ENCRYPTION_KEY: the first one writes, all of them read."""

    def __init__(self, keys: str):
        keys = [key.strip() for key in keys.split(",") if key.strip()]
        if not keys:
            raise ValueError(f"FIELD_ENCRYPTION_KEY is empty (make one with: {HOW_TO_MAKE_A_KEY})")
        fernets = [_fernet(key) for key in keys]
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._digest_keys = [_digest_key(key) for key in keys]

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plain value. Raises InvalidToken for a token made with a key not configured."""
        return self._fernet.decrypt(token.encode()).decode()

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def is_current(self, token: str | bytes) -> bool:
        """Whether ``token`` was made with the first key (checks its signature only)."""
        try:
            self._current.extract_timestamp(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str | bytes) -> str | bytes:
        """``token`` encrypted again with the first key (same value, same timestamp), as
        text or bytes like the token. Raises InvalidToken when no configured key reads it."""
        rotated = self._fernet.rotate(token)
        return rotated.decode() if isinstance(token, str) else rotated

    def digest(self, value: str) -> str:
        """A keyed hash of ``value`` (64 hex digits) under the first key, as stored."""
        return _hmac(self._digest_keys[0], value)

    def older_digests(self, value: str) -> list[str]:
        """The keyed hash of ``value`` under each key but the first: none with one key."""
        return [_hmac(key, value) for key in self._digest_keys[1:]]

    def digests(self, value: str) -> list[str]:
        """The keyed hash of ``value`` under each key, the first key's first: a look-up
        must match any of them while rows hashed under an older key remain."""
        return [_hmac(key, value) for key in self._digest_keys]


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
