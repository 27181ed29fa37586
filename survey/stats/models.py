"""Rollups: answer counts per site, period, channel and level (see ``survey.stats.rollups``)."""

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import db

#: Periods counted: every local day, every calendar month (``day`` is its first day) and
#: all time (``day`` is ALL_TIME). A dashboard read takes the coarsest that covers its
#: date range, so it scans about sites × channels × levels cells without a date filter.
GRAINS = ("day", "month", "all")
ALL_TIME = date(2000, 1, 1)


class ResponseRollup(db.Model):
    """How many answers of one overall level a site received in one period through one
    channel (proxy phone answers apart). Kept in the transaction that stores each response."""

    __tablename__ = "response_rollups"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        CheckConstraint("level between 1 and 5", name="level"),
        CheckConstraint("grain in ('day', 'month', 'all')", name="grain"),
        # On SQLite the primary key is the table (no rowid): a read never leaves the index.
        {"sqlite_with_rowid": False},
    )

    #: First in the key: a read takes one grain, whose cells then lie together.
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    proxy: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int]
