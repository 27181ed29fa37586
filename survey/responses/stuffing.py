"""Answers that look like ballot stuffing: kept, flagged, and left out of the rates.

Nothing a resident sends is refused for looking like stuffing (a whole village may share one
address): the answer is stored with ``flag = 'pending'`` and the reasons, and stays out of
the rollups until a reviewer restores it (docs/METRICS.md). The rules, per site:

- ``burst``: more than ``STUFFING_BURST`` answers from one client address within
  ``STUFFING_WINDOW_MINUTES`` (the ones after that many are flagged);
- ``fast``: sent less than ``STUFFING_MIN_SECONDS`` after the form was served (the nonce
  carries the time), the way large survey platforms spot scripted answers;
- ``cookieless``: sent without the device cookie (the form sets it when it is served) from
  an address that answered this site within ``DEVICE_WINDOW_HOURS`` — the repeat a cookie
  would have replaced.

The counts come from Redis when ``REDIS_URL`` is set (one sorted set per site and address,
shared by every process) and from the responses otherwise; if Redis is unreachable the
database answers instead.
"""

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

import redis
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from survey.addresses import network_of
from survey.db import now_utc, take_turns
from survey.driver_statements import DriverStatement
from survey.responses.models import Response

log = logging.getLogger(__name__)

#: Reason code → what a reviewer reads.
REASONS = {
    "burst": "同一网络地址短时间内多次评价",
    "fast": "打开页面后立即提交",
    "cookieless": "未带本机标识重复评价",
}


@dataclass(frozen=True)
class Rules:
    """The stuffing checks' settings (STUFFING_*, DEVICE_WINDOW_HOURS): whether they run;
    after how many earlier answers from one address within ``burst_window`` the next is a
    burst; how soon after its form was served an answer is too fast; and how far back a
    cookieless answer from the same address counts as a repeat."""

    enabled: bool
    burst: int
    burst_window: timedelta
    min_seconds: float
    repeat_window: timedelta

    @classmethod
    def from_config(cls, config) -> "Rules":
        return cls(
            enabled=config["STUFFING_CHECKS"],
            burst=config["STUFFING_BURST"],
            burst_window=timedelta(minutes=config["STUFFING_WINDOW_MINUTES"]),
            min_seconds=config["STUFFING_MIN_SECONDS"],
            repeat_window=timedelta(hours=config["DEVICE_WINDOW_HOURS"]),
        )


@dataclass(frozen=True)
class Sender:
    """Who sent a resident's answer: keyed hashes of their address and user agent, their
    device id and whether it came in their cookie (or was made up for them now)."""

    client_hash: str
    agent_hash: str
    device_id: str | None
    has_cookie: bool


@lru_cache(maxsize=8)
def _purpose_key(secret_key: str, purpose: str) -> bytes:
    """The key for one purpose, derived once per secret rather than on every answer."""
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def keyed_hash(secret_key: str, purpose: str, value: str, length: int) -> str:
    """HMAC-SHA256 of ``value`` under a key derived from ``secret_key`` for ``purpose``:
    the same address gives the same hash, and without the key the address cannot be found
    from it (an IPv4 address could be from an unkeyed hash, by trying all 2^32)."""
    key = _purpose_key(secret_key, purpose)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]


def sender(secret_key: str, address: str, agent: str, cookie_device: str | None) -> Sender:
    """The Sender of a request from ``address`` with user agent ``agent``, carrying the
    device id ``cookie_device`` (None: no cookie, a new id is made)."""
    return Sender(
        keyed_hash(secret_key, "client-address", network_of(address), 32),
        keyed_hash(secret_key, "user-agent", agent, 16),
        cookie_device or secrets.token_hex(16),
        cookie_device is not None,
    )


class Counter(Protocol):
    def seen(
        self, site_id: int, client_hash: str, answer: str, rules: Rules, now: datetime
    ) -> tuple[int, int]:
        """(answers within the burst window, answers within the repeat window) already
        received for the site from the address; counts this one as received. ``answer``
        names it as the database would count it: its device (a phone's new answer replaces
        its last) or, without a cookie, its nonce (a retry of one answer counts once)."""


_responses = Response.__table__
#: One address's answers to one site since two moments. Built once: building it per
#: answer took half a millisecond of every submission (bench/submit.py).
_SEEN = DriverStatement(
    select(
        func.count().filter(_responses.c.created_at >= bindparam("burst_since")),
        func.count().filter(_responses.c.created_at >= bindparam("repeat_since")),
    ).where(
        _responses.c.client_hash == bindparam("client"),
        _responses.c.site_id == bindparam("site"),
        _responses.c.created_at >= bindparam("since"),
    )
)


class DatabaseCounter:
    """Counts the stored answers (index ``ix_responses_client``). On PostgreSQL, answers of
    one address to one site take turns until commit, so concurrent ones see each other
    (SQLite's write lock already does that)."""

    def __init__(self, session: Session):
        self.session = session

    def seen(
        self, site_id: int, client_hash: str, answer: str, rules: Rules, now: datetime
    ) -> tuple[int, int]:
        connection = self.session.connection()
        take_turns(connection, f"stuffing:{site_id}:{client_hash}")
        burst_since, repeat_since = now - rules.burst_window, now - rules.repeat_window
        params = {
            "client": client_hash,
            "site": site_id,
            "since": min(burst_since, repeat_since),
            "burst_since": burst_since,
            "repeat_since": repeat_since,
        }
        burst, repeat = _SEEN.one(connection, params)
        return burst, repeat


class SharedCounts:
    """The Redis the counts are kept in, one per app: after a failure the database counts
    for ``PAUSE_SECONDS``, so an outage costs each answer nothing but the first timeout."""

    PAUSE_SECONDS = 30

    def __init__(self, url: str):
        # Short timeouts: a resident never waits on it.
        self.client = redis.Redis.from_url(url, socket_timeout=0.3, socket_connect_timeout=0.3)
        self.paused_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self.paused_until

    def failed(self, err: Exception) -> None:
        log.warning("stuffing counters: Redis unavailable (%s); counting in the database", err)
        self.paused_until = time.monotonic() + self.PAUSE_SECONDS


class RedisCounter:
    """A sorted set per site and address, scored by arrival time: shared by every process
    and every app server, and it costs the database nothing. Written here rather than with
    Flask-Limiter: a limiter refuses, and these answers must be stored and only flagged."""

    def __init__(self, shared: SharedCounts, fallback: Counter):
        self.shared = shared
        self.fallback = fallback

    def seen(
        self, site_id: int, client_hash: str, answer: str, rules: Rules, now: datetime
    ) -> tuple[int, int]:
        if not self.shared.available:
            return self.fallback.seen(site_id, client_hash, answer, rules, now)
        key = f"survey:stuffing:{site_id}:{client_hash}"
        longest = max(rules.burst_window, rules.repeat_window).total_seconds()
        at = now.timestamp()
        pipe = self.shared.client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", at - longest)
        pipe.zcount(key, at - rules.burst_window.total_seconds(), "+inf")
        pipe.zcount(key, at - rules.repeat_window.total_seconds(), "+inf")
        pipe.zadd(key, {answer: at})
        pipe.expire(key, int(longest) + 1)
        try:
            _, burst, repeat, _, _ = pipe.execute()
        except redis.RedisError as err:
            self.shared.failed(err)
            return self.fallback.seen(site_id, client_hash, answer, rules, now)
        return burst, repeat


@dataclass(frozen=True)
class Checks:
    """The rules and where the counts come from, for one request."""

    rules: Rules
    counter: Counter


def checks(session: Session, config, shared: SharedCounts | None) -> Checks:
    """The stuffing checks under ``config``, counting in Redis when there is one."""
    database = DatabaseCounter(session)
    counts = RedisCounter(shared, database) if shared is not None else database
    return Checks(Rules.from_config(config), counts)


def reasons(
    counts: Counter, rules: Rules, who: Sender, *, site_id: int, nonce: str, served_at: datetime
) -> list[str]:
    """The reason codes an answer from ``who`` to the site, on a form served at
    ``served_at`` with ``nonce``, arriving now, is flagged for (none: it counts)."""
    if not rules.enabled:
        return []
    now = now_utc()
    answer = f"device:{who.device_id}" if who.has_cookie else f"nonce:{nonce}"
    burst, repeat = counts.seen(site_id, who.client_hash, answer, rules, now)
    found = []
    if burst >= rules.burst:
        found.append("burst")
    if (now - served_at).total_seconds() < rules.min_seconds:
        found.append("fast")
    if not who.has_cookie and repeat > 0:
        found.append("cookieless")
    return found


def describe(codes: str | None) -> str:
    """The reasons of a flagged answer, as a reviewer reads them."""
    return "；".join(REASONS.get(code, code) for code in (codes or "").split(",") if code)
