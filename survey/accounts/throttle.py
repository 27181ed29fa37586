"""Slowing down password guessing: a growing wait per user name and client address.

After ``LOGIN_FREE_FAILURES`` wrong passwords for one name from one address, that name is
refused from that address, unchecked, for ``LOGIN_WAIT_SECONDS``, twice as long after each
further wrong password, at most ``LOGIN_MAX_WAIT_SECONDS``; the right password from there
clears the count. Nothing is ever locked: the same name from an address that has not failed
logs in at once, so nobody can lock a colleague (or the admin) out from elsewhere. A name
nobody has is counted and refused exactly like a real one, so no answer tells which names
exist. The current password on ``/account/password`` is counted the same way, per user and
address.

The counts are kept in Flask-Limiter's storage, beside the login rate limits: Redis with
``REDIS_URL`` (shared by every process), otherwise each process's memory, and memory too
while Redis is down (then a warning is logged). A refusal answers at once with the seconds
left (Retry-After): no worker sleeps.
"""

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

import redis
from flask import current_app
from flask_limiter import Limiter
from limits.errors import StorageError

log = logging.getLogger(__name__)

#: A run of failures is forgotten this long after its first one (a success forgets it at once).
FORGET_SECONDS = 24 * 3600


def login_name(typed: str) -> str:
    """A typed user name as login limits count it: trimmed and case-folded (``Admin`` and
    ``admin`` count together)."""
    return typed.strip().casefold()[:150]


class TryLater(Exception):
    """Too many wrong passwords from this address: refused unchecked for ``seconds``."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


@dataclass(frozen=True)
class Backoff:
    """How long to wait after a number of failures in a row: no wait below ``free``; from the
    ``free``-th failure on ``first`` seconds, doubling with each further one up to ``longest``."""

    free: int
    first: int
    longest: int

    def seconds(self, failures: int) -> int:
        if failures < self.free:
            return 0
        doublings = min(failures - self.free, 32)  # 2**32 seconds is past any longest
        return min(self.longest, self.first * 2**doublings)

    @classmethod
    def from_config(cls, config) -> "Backoff":
        free, first = config["LOGIN_FREE_FAILURES"], config["LOGIN_WAIT_SECONDS"]
        return cls(free, first, config["LOGIN_MAX_WAIT_SECONDS"])


class Throttle:
    """The failures of one kind of password check (``purpose``), counted per who-and-where
    in ``limiter``'s storage (the memory it falls back to while Redis is down)."""

    def __init__(self, limiter: Limiter, purpose: str):
        self.limiter = limiter
        self.purpose = purpose

    def _keys(self, who: str) -> tuple[str, str]:
        """The storage keys of ``who``'s failures and wait: a keyed hash, since what was
        typed as a user name may be a password."""
        config = current_app.config
        digest = hmac.new(
            config["SECRET_KEY"].encode(), f"{self.purpose}\0{who}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        key = f"{config.get('RATELIMIT_KEY_PREFIX', '')}/throttle/{self.purpose}/{digest}"
        return f"{key}/failures", f"{key}/wait"

    def check(self, who: str) -> None:
        """Raise TryLater while ``who`` must wait."""
        _, wait = self._keys(who)
        try:
            storage = self.limiter.limiter.storage
            if storage.get(wait):
                raise TryLater(max(1, math.ceil(storage.get_expiry(wait) - time.time())))
        except (StorageError, redis.RedisError) as err:
            self._unavailable(err)

    def failed(self, who: str) -> None:
        """Count a failure of ``who``; from the ``free``-th on, ``who`` must wait."""
        failures, wait = self._keys(who)
        try:
            storage = self.limiter.limiter.storage
            backoff = Backoff.from_config(current_app.config)
            seconds = backoff.seconds(storage.incr(failures, FORGET_SECONDS))
            if seconds:
                storage.incr(wait, seconds)
        except (StorageError, redis.RedisError) as err:
            self._unavailable(err)

    def passed(self, who: str) -> None:
        """``who`` gave the right password: forget their failures."""
        failures, _ = self._keys(who)
        try:
            self.limiter.limiter.storage.clear(failures)
        except (StorageError, redis.RedisError) as err:
            self._unavailable(err)

    def _unavailable(self, err: Exception) -> None:
        # Flask-Limiter's own per-name bound (LOGIN_RATE_LIMIT) still holds, in memory.
        log.warning("password throttle: rate-limit storage unavailable (%s); not slowing", err)
