"""Residents' personal information at rest: encrypted, with a keyed hash to find duplicates.

Names, phone numbers and notes are stored only as Fernet tokens (AES-128-CBC with
HMAC-SHA256, from ``cryptography``). Phone numbers also get an HMAC-SHA256 digest under a
key derived from the same secret: equal numbers give equal digests, so duplicates and searches
work without decrypting anything, and without the key the digests cannot be reversed by trying
all 10^11 numbers (a plain hash could).
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["FieldCipher", "InvalidToken", "new_key"]


def new_key() -> str:
    """A fresh key for FIELD_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


class FieldCipher:
    """Encrypts and decrypts personal fields, and digests phone numbers, with one key."""

    def __init__(self, key: str):
        try:
            self._fernet = Fernet(key.strip().encode())
        except (ValueError, TypeError) as err:
            raise ValueError(
                "FIELD_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from err
        raw = base64.urlsafe_b64decode(key.strip())
        self._digest_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"survey roster lookup"
        ).derive(raw)

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plain value. Raises InvalidToken for a token made with another key."""
        return self._fernet.decrypt(token.encode()).decode()

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def digest(self, value: str) -> str:
        """A keyed hash of ``value`` (64 hex digits) for equality look-ups."""
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()
