"""The holiday notices admins enter for the years ``chinese-calendar`` does not cover yet."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.accounts.models import User
from survey.db import db, now_utc


class HolidayNotice(db.Model):
    """One year's 节假日安排 as the State Council's notice gives it, entered by an admin:
    the days off and the weekend days worked (调休). It replaces whatever the
    ``chinese-calendar`` package says of that year (survey.rectification.workdays)."""

    __tablename__ = "holiday_notices"
    # The years the service deals in, as a project's (survey.fields).
    __table_args__ = (CheckConstraint("year between 2000 and 2100", name="year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    #: The days off, as ISO dates (``"2027-02-08"``), sorted; weekend days may be among them.
    days_off: Mapped[list] = mapped_column(JSON)
    #: The Saturdays and Sundays worked instead (调休上班), as ISO dates, sorted.
    workdays: Mapped[list] = mapped_column(JSON)
    #: Where it comes from: 「国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕×号）」.
    source: Mapped[str] = mapped_column(String(200))
    #: Who entered it last (a replacement names its own admin), and when.
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entered_at: Mapped[datetime] = mapped_column(default=now_utc)

    entered_by: Mapped[User] = relationship()

    @property
    def off_days(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.days_off]

    @property
    def worked_days(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.workdays]
