"""Staff users. Login, sessions and the audit log build on this."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import db, now_utc
from survey.sites.models import Region

ROLES = {"admin": "系统管理员", "city": "市级用户", "county": "县级用户"}


class User(UserMixin, db.Model):
    """A bureau staff member."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role in ('admin', 'city', 'county')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    #: argon2id hash; never the password itself.
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    #: Set for one-time passwords: the user must choose a new one at the next login.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    region: Mapped[Region | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Disabled users cannot log in (Flask-Login asks this)."""
        return self.active
