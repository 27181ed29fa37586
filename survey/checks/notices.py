"""The notice a caller reads at the start of every call, versioned."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.checks.models import Notice

#: Version 1, in force until someone publishes another wording.
DEFAULT_NOTICE = (
    "您好！我是民政局的工作人员，正在对民生实事项目做满意度电话回访。"
    "您的电话号码来自服务点位登记的服务对象名单，只用于这次回访，不作他用，也不会公开。"
    "回访大约需要一分钟，您可以随时拒绝或中途结束。请问现在方便吗？"
)


def current_notice(session: Session) -> Notice:
    """The wording in force (version 1, unsaved, when none was ever published)."""
    notice = session.scalars(select(Notice).order_by(Notice.version.desc()).limit(1)).first()
    return notice or Notice(version=1, body=DEFAULT_NOTICE)


def notice_in_force(session: Session) -> Notice:
    """The wording in force, saved: a completed call must point at the version read."""
    notice = current_notice(session)
    if notice.id is None:
        session.add(notice)
        session.flush()
    return notice


def publish_notice(session: Session, body: str, user: User) -> Notice:
    """Put a new wording in force; earlier versions stay for the calls that used them."""
    current = current_notice(session)
    version = current.version + 1 if current.id is not None else 1
    notice = Notice(version=version, body=body, created_by_id=user.id)
    session.add(notice)
    session.flush()
    return notice
