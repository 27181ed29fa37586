"""Staff users. Login, sessions and the audit log build on this."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import db, now_utc, one_of
from survey.regions.models import Region

ROLES = {"admin": "系统管理员", "city": "市级用户", "county": "县级用户"}
#: Who works with residents' data and reads the results: city and county staff (admins
#: manage the system only).
STAFF_ROLES = ("city", "county")


class User(UserMixin, db.Model):
    """A bureau staff member."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    #: argon2id hash; never the password itself.
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    #: Set for one-time passwords: the user must choose a new one at the next login.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: Part of every session's id: raising it ends all of the user's sessions at once
    #: (logout, password change, disabling), which a signed cookie alone cannot do.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    region: Mapped[Region | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Disabled users cannot log in (Flask-Login asks this)."""
        return self.active

    def get_id(self) -> str:
        """The session's user id, with the session version (see ``session_version``)."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Make every existing session of this user invalid."""
        self.session_version += 1


#: What the audit log records, as stored → as shown.
AUDIT_ACTIONS = {
    "case_complaint": "留言转整改单",
    "rectification_rules_saved": "修改整改期限",
    "case_verified": "整改单核实",
    "case_rectified": "整改完成",
    "case_followed_up": "整改回访",
    "case_appealed": "整改单申诉",
    "case_appeal_decided": "审核申诉",
    "milestones_saved": "修改进度节点",
    "milestone_recorded": "填报进度",
    "milestone_confirmed": "确认进度",
    "milestone_returned": "退回进度",
    "progress_reported": "报送月度进度",
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "password_changed": "修改密码",
    "user_created": "新建用户",
    "user_changed": "修改用户角色或地区",
    "user_disabled": "停用用户",
    "user_enabled": "启用用户",
    "password_reset": "重置密码",
    "token_rotated": "更换二维码",
    "phone_revealed": "查看电话号码",
    "roster_imported": "导入名单",
    "roster_import_cancelled": "取消导入名单",
    "resident_deleted": "删除名单人员",
    "roster_purged": "清理过期名单",
    "field_key_rotated": "更换名单加密密钥",
    "sample_drawn": "抽取电话抽查样本",
    "call_logged": "记录通话",
    "exported": "导出",
    "stuffing_reviewed": "审核疑似刷评",
    "visit_recorded": "记录暗访",
    "visit_deleted": "删除暗访记录",
    "interview_recorded": "记录现场访谈",
    "notice_published": "修改告知语",
    "questionnaire_published": "修改问卷",
    "checklist_published": "修改暗访检查项",
    "recording_saved": "朗读录音",
    "recording_deleted": "删除朗读录音",
    "site_created": "新增点位",
    "site_changed": "修改点位",
    "site_retired": "停用点位",
    "site_enabled": "重新启用点位",
    "sites_imported": "批量导入点位",
    "site_import_cancelled": "取消导入点位",
    "project_created": "新建项目",
    "project_changed": "修改项目",
    "region_created": "新增地区",
    "region_changed": "地区改名",
    "region_deleted": "删除地区",
    "api_token_created": "新建 API 令牌",
    "api_token_revoked": "吊销 API 令牌",
    "api_used": "API 调用",
    "webhook_ping_queued": "发送测试推送",
    "holiday_notice_saved": "录入节假日安排",
}


class AuditEntry(db.Model):
    """One line of the audit log: who did what, when, from where. Only ever added to."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The name as typed (kept for failed logins of unknown names, and after renames).
    username: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500), default="")
    #: Client address ("cli" for commands).
    ip: Mapped[str] = mapped_column(String(64), default="")
    #: The region of the user who acted (None: an admin, a command, an unknown name); the
    #: log is scoped by it like every other staff list.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)

    user: Mapped[User | None] = relationship()

    @property
    def action_label(self) -> str:
        return AUDIT_ACTIONS.get(self.action, self.action)
