"""The notice a caller reads at the start of every call: each city's own, versioned.

A call reads the notice of its site's city; where the city has none, its province's (the
default a province-level user sets for its cities), then the default without a region (an
admin's), then the built-in wording below.
"""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from survey.accounts.models import User
from survey.accounts.services import Actor, record
from survey.checks.models import Notice
from survey.db import take_turns
from survey.regions.models import Region

#: Read where nobody published a wording; saved as version 1 of the default once a call uses it.
DEFAULT_NOTICE = (
    "您好！我是民政局的工作人员，正在对民生实事项目做满意度电话回访。"
    "您的电话号码来自服务点位登记的服务对象名单，只用于这次回访，不作他用，也不会公开。"
    "回访大约需要一分钟，您可以随时拒绝或中途结束。请问现在方便吗？"
)
#: Region levels whose users publish their region's notice.
PUBLISHING_LEVELS = ("city", "province")


def publisher_region(user: User) -> Region | None:
    """The region whose notice ``user`` publishes: an admin the default (None), a city user
    their city, or their province (the default of its cities). Raises Forbidden (403) for
    anyone else: county users, a city user without a region."""
    if user.role == "admin":
        return None
    if user.role == "city" and user.region is not None and user.region.level in PUBLISHING_LEVELS:
        return user.region
    raise Forbidden()


def audience(region: Region | None) -> str:
    """Whose calls read the notice published for ``region``, in a sentence for its page."""
    if region is None:
        return "这里发布默认告知语：没有发布自己告知语的市（省）的通话都读它。"
    if region.level == "province":
        return f"这里发布{region.name}的默认告知语：省内没有发布自己告知语的市的通话都读它。"
    return f"这里发布的告知语只用于{region.name}的通话。"


def _regions_up(session: Session, region_id: int | None) -> list[int]:
    """``region_id`` and the regions above it, nearest first (a county, its city, the
    province)."""
    chain = []
    region = session.get(Region, region_id) if region_id is not None else None
    while region is not None and region.id not in chain:
        chain.append(region.id)
        region = region.parent
    return chain


def _latest(session: Session, region_id: int | None) -> Notice | None:
    """The newest version of the region's own notice (None: the default's)."""
    owner = Notice.region_id.is_(None) if region_id is None else Notice.region_id == region_id
    query = select(Notice).where(owner).order_by(Notice.version.desc()).limit(1)
    return session.scalars(query).first()


def current_notice(session: Session, region_id: int | None) -> Notice:
    """The wording read on calls in ``region_id`` (a site's county, a city, a province;
    None: the default): the newest version of the nearest region up the tree that has one,
    else of the default, else the built-in wording as version 1 of the default, unsaved."""
    chain = _regions_up(session, region_id)
    query = (
        select(Notice)
        .where(or_(Notice.region_id.in_(chain), Notice.region_id.is_(None)))
        .order_by(Notice.version.desc())
    )
    newest: dict[int | None, Notice] = {}
    for notice in session.scalars(query):
        newest.setdefault(notice.region_id, notice)
    for owner in [*chain, None]:
        if owner in newest:
            return newest[owner]
    return Notice(version=1, body=DEFAULT_NOTICE)


def notice_in_force(session: Session, region_id: int) -> Notice:
    """The wording read on calls in ``region_id``, saved: a completed call must point at
    the version read. Call inside the write transaction."""
    notice = current_notice(session, region_id)
    if notice.id is None:
        take_turns(session.connection(), "notice:default")  # two first calls at once
        notice = _latest(session, None) or Notice(version=1, body=DEFAULT_NOTICE)
        session.add(notice)
        session.flush()
    return notice


def publish_notice(session: Session, body: str, actor: Actor, region: Region | None) -> Notice:
    """Put a new wording in force for ``region`` (None: the default), logged as ``actor``'s;
    earlier versions stay for the calls that used them. Call inside the write transaction."""
    region_id = region.id if region else None
    take_turns(session.connection(), f"notice:{region_id or 'default'}")  # versions unique
    latest = _latest(session, region_id)
    notice = Notice(
        region=region,
        version=latest.version + 1 if latest else 1,
        body=body,
        created_by_id=actor.user.id,
    )
    session.add(notice)
    session.flush()
    record(session, "notice_published", actor, notice.label)
    return notice
