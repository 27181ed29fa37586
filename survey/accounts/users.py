"""Managing staff accounts in the browser: create, change role and region, disable and
enable, reset a password. Every change is written to the audit log by the acting admin."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.accounts.models import ROLES, User
from survey.accounts.services import Actor, create_user, record, reset_one_time_password
from survey.form_posts import FieldError
from survey.regions.models import Region

#: The region levels each role may be bound to, as named to people (admins see everything;
#: a city user bound to a province sees all its cities).
ROLE_LEVELS = {
    "city": (("city", "province"), "市（或省）"),
    "county": (("county",), "县（市、区）"),
}


class UserError(FieldError):
    """An account change that cannot be made."""


def _region_for(session: Session, role: str, region_id: int | None) -> Region | None:
    if role not in ROLE_LEVELS:
        return None  # admins belong to no region
    levels, level_name = ROLE_LEVELS[role]
    region = session.get(Region, region_id) if region_id else None
    if region is None or region.level not in levels:
        raise UserError("region_id", f"{ROLES[role]}须属于一个{level_name}，请选择。")
    return region


def _describe(role: str, region: Region | None) -> str:
    return ROLES[role] + (f" · {region.name}" if region else "")


def _other_active_admins(session: Session, user: User) -> int:
    query = select(func.count()).where(
        User.role == "admin", User.active.is_(True), User.id != user.id
    )
    return session.scalar(query)


def add_user(
    session: Session, actor: Actor, username: str, role: str, region_id: int | None
) -> tuple[User, str]:
    """A new user with a one-time password (returned, to be shown once). ``actor``: the
    admin creating it, or COMMAND from the command line (the log then names the new user)."""
    taken = select(User.id).where(func.lower(User.username) == username.lower())
    if session.scalar(taken) is not None:
        raise UserError("username", f"用户名 {username} 已被使用：已存在同名账号。")
    region = _region_for(session, role, region_id)
    user, password = create_user(session, username, role, region)
    detail = f"{username}：{_describe(role, region)}"
    record(session, "user_created", actor if actor.user else Actor(user, actor.ip), detail)
    return user, password


def change_user(
    session: Session, actor: Actor, user: User, role: str, region_id: int | None
) -> None:
    """Give ``user`` another role or region; effective from their next request."""
    region = _region_for(session, role, region_id)
    if user.role == "admin" and role != "admin" and not _other_active_admins(session, user):
        raise UserError("role", "这是唯一启用的系统管理员，不能改为其他角色。")
    before = _describe(user.role, user.region)
    user.role, user.region = role, region
    after = _describe(role, region)
    if before != after:
        record(session, "user_changed", actor, f"{user.username}：{before} → {after}")


def disable_user(session: Session, actor: Actor, user: User) -> None:
    """Stop ``user`` logging in, and end their open sessions at once."""
    if user.id == actor.user.id:
        raise UserError("user", "不能停用自己的账号。")
    if user.role == "admin" and not _other_active_admins(session, user):
        raise UserError("user", "这是唯一启用的系统管理员，不能停用。")
    user.active = False
    user.end_sessions()
    record(session, "user_disabled", actor, user.username)


def enable_user(session: Session, actor: Actor, user: User) -> None:
    """Let a disabled ``user`` log in again."""
    user.active = True
    record(session, "user_enabled", actor, user.username)


def reset_password(session: Session, actor: Actor, user: User) -> str:
    """A new one-time password for ``user`` (returned, to be shown once); their open
    sessions end."""
    password = reset_one_time_password(user)
    user.end_sessions()
    record(session, "password_reset", actor, user.username)
    return password


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def assignable_regions(session: Session) -> list[Region]:
    """Regions a city or county user can belong to, provinces and cities first."""
    order = {"province": 0, "city": 1, "county": 2}
    regions = session.scalars(select(Region).order_by(Region.name))
    return sorted(regions, key=lambda region: order.get(region.level, 3))
