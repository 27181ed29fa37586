"""Rollups: answer counts per site, day, channel and level (see ``survey.stats.rollups``)."""

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import db


class ResponseRollup(db.Model):
    """How many answers of one overall level a site received on one local day through one
    channel (proxy phone answers apart). Kept in the transaction that stores each response."""

    __tablename__ = "response_rollups"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        CheckConstraint("level between 1 and 5", name="level"),
        Index("ix_response_rollups_day", "day"),
    )

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    proxy: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int]
