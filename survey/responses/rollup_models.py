"""Rollups: answer counts per site, period, channel and level (see ``survey.responses.rollups``)."""

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import db

#: Periods counted: every local day, every calendar month (``day`` is its first day) and
#: all time (``day`` is ALL_TIME). A dashboard read takes the coarsest that covers its
#: date range, so it scans about sites × channels cells without a date filter.
GRAINS = ("day", "month", "all")
ALL_TIME = date(2000, 1, 1)
#: The overall question's levels, 1 (很不满意) … 5 (非常满意): one count column each.
LEVELS = (1, 2, 3, 4, 5)


class ResponseRollup(db.Model):
    """How many answers of each overall level (``count_1`` … ``count_5``) a site received
    in one period through one channel (proxy phone answers apart). Kept by
    ``answers_store``: in the transaction that stores each response, or on SQLite behind it.

    The levels are columns, not rows of the key: a read sums a site's cells per channel,
    and five levels in one row made it scan a third as many rows (bench/dashboard.py)."""

    __tablename__ = "response_rollups"
    __table_args__ = (
        CheckConstraint(" and ".join(f"count_{level} >= 0" for level in LEVELS), name="counts"),
        CheckConstraint("grain in ('day', 'month', 'all')", name="grain"),
        {
            # On SQLite the primary key is the table (no rowid): a read never leaves the
            # index, and a grain's cells lie together.
            "sqlite_with_rowid": False,
            # On PostgreSQL one partition per grain (migration 0008), for the same reason:
            # the all-time cells a dashboard reads fill a few dozen pages of their own.
            "postgresql_partition_by": "LIST (grain)",
            "info": {"partitions": tuple(f"response_rollups_{grain}" for grain in GRAINS)},
        },
    )

    #: First in the key: a read takes one grain, whose cells then lie together.
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    proxy: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count_1: Mapped[int] = mapped_column(default=0, server_default="0")
    count_2: Mapped[int] = mapped_column(default=0, server_default="0")
    count_3: Mapped[int] = mapped_column(default=0, server_default="0")
    count_4: Mapped[int] = mapped_column(default=0, server_default="0")
    count_5: Mapped[int] = mapped_column(default=0, server_default="0")

    @classmethod
    def level_count(cls, level: int):
        """The column counting answers of ``level``."""
        return getattr(cls, f"count_{level}")


class RollupWatermark(db.Model):
    """On SQLite, the last response the rollups have counted (one row): answers stored after
    it are counted behind their transaction, by the next reader (``answers_store``).
    PostgreSQL counts each answer in its own transaction and leaves this alone."""

    __tablename__ = "rollup_watermark"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(default=0)
