"""Creating users and handling their passwords."""

import itertools
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.models import ROLES, AuditEntry, User
from survey.accounts.throttle import Throttle, login_name
from survey.addresses import network_of
from survey.regions.models import Region

# OWASP's argon2id recommendation: 19 MiB memory, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# No 0/O, 1/l/I: a one-time password is read off a screen and typed by hand.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def one_time_password() -> str:
    """A random 14-character password that is easy to type."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(14))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


#: Verified against when the username is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash("not a real password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as its audit line names them: ``user`` (None for a command, an
    unknown name or an API token) from the client address ``ip``; ``username`` when no user
    names them; ``region_id``: whose region's log holds the line when no user gives one
    (an API token's)."""

    user: User | None
    ip: str
    username: str = ""
    region_id: int | None = None


#: A flask command's actor (run by hand or from cron).
COMMAND = Actor(None, "cli", "cli")


def log_in(
    session: Session, throttle: Throttle, username: str, password: str, ip: str
) -> User | None:
    """The active user with this username and password, or None; either way a line in the
    audit log (``login``, or ``login_failed`` — tied to the user when the name is theirs, so
    it is scoped to their region; an unknown name's line is the admins' alone).

    A wrong name or password, or a disabled user, counts as a failure of the name from
    ``ip``; raises TryLater (nothing checked, nothing written) while that name must wait
    there. Writes: call inside write_transaction.
    """
    who = f"{network_of(ip)}|{login_name(username)}"
    throttle.check(who)
    user = session.scalars(select(User).where(User.username == username)).first()
    if not _verify(user.password_hash if user else _DUMMY_HASH, password) or not (
        user and user.active
    ):
        throttle.failed(who)
        record(session, "login_failed", Actor(user, ip, username))
        return None
    throttle.passed(who)
    record(session, "login", Actor(user, ip))
    return user


#: Passwords people reach for first, as typed or as the start of a longer one.
COMMON_PASSWORDS = ("password", "passw0rd", "qwerty", "1qaz2wsx", "abc123", "admin", "woaini")
GUESSABLE = "新密码太容易被猜到：不要只用数字、重复或连续的字符、常见密码或用户名。"


def guessable(password: str, username: str) -> bool:
    """Whether a new password is among the first a guesser tries: digits only (a phone
    number, a date), few different characters (aaaa…, abab…), a run like abcdefghij, a
    common password, or the user's own name. Length is the form's rule. Hand-written: the
    strength estimators on PyPI (zxcvbn) are unmaintained, and these cases are the ones
    an audit names."""
    lowered = password.lower()
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lowered)}
    return (
        password.isdigit()
        or len(set(lowered)) < 5
        or steps <= {1}
        or steps <= {-1}
        or lowered.startswith(COMMON_PASSWORDS)
        or (len(username) >= 3 and username.lower() in lowered)
    )


def change_password(
    session: Session, actor: Actor, current: str, new: str, throttle: Throttle
) -> None:
    """Give the acting user the password ``new``, end the one-time password and their other
    sessions, with a line in the audit log (``password_changed``).

    Raises ValueError (with a message for the person) when ``current`` is wrong, or ``new``
    is the same as it or ``guessable``. A wrong ``current`` counts as a failure of the user
    from their address; raises TryLater (nothing checked) while they must wait there.
    """
    user = actor.user
    who = f"{network_of(actor.ip)}|user:{user.id}"
    throttle.check(who)
    if not _verify(user.password_hash, current):
        throttle.failed(who)
        raise ValueError("现在的密码不对。")
    throttle.passed(who)
    if new == current:
        raise ValueError("新密码不能和现在的一样。")
    if guessable(new, user.username):
        raise ValueError(GUESSABLE)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.end_sessions()
    record(session, "password_changed", actor)


def log_out(session: Session, actor: Actor) -> None:
    """End every session of the acting user, with a line in the audit log (``logout``)."""
    actor.user.end_sessions()
    record(session, "logout", actor)


def record(session: Session, action: str, actor: Actor, detail: str = "") -> AuditEntry:
    """Add a line to the audit log (within the caller's write transaction), in the region of
    the actor's user when they are a city or county user: the lines of admins, commands and
    unknown names belong to no region, and only admins read those; an API token's are its
    region's (``actor.region_id``). Called by the services that make the change, never by
    views."""
    user = actor.user
    entry = AuditEntry(
        action=action,
        user=user,
        username=(actor.username or (user.username if user else ""))[:50],
        detail=detail[:500],
        ip=actor.ip[:64],
        region_id=actor.region_id if user is None or user.role == "admin" else user.region_id,
    )
    session.add(entry)
    return entry


def record_export(session: Session, actor: Actor, what: str) -> AuditEntry:
    """Log a download of ``what`` (``exported``); call once its file is made: a failed one
    is not an export."""
    return record(session, "exported", actor, what)


def audit_entries(session: Session, scope, action: str | None = None, username: str | None = None):
    """The newest 500 audit lines within ``scope`` (a Scope: the actors' regions), optionally
    of one action or user name. Lines of no region (admins, commands, failed logins of
    unknown names: what was typed may be a password) are in the admins' scope only."""
    query = (
        select(AuditEntry)
        .where(scope.where(AuditEntry.region_id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(500)
    )
    if action:
        query = query.where(AuditEntry.action == action)
    if username:
        query = query.where(AuditEntry.username == username)
    return list(session.scalars(query))


def create_user(
    session: Session, username: str, role: str, region: Region | None = None
) -> tuple[User, str]:
    """Add a user with a one-time password. Returns the user and the password to hand over.

    Raises ValueError for an unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    password = one_time_password()
    user = User(username=username, role=role, region=region, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user, password


def reset_one_time_password(user: User) -> str:
    """Give the user a new one-time password and return it."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    return password
