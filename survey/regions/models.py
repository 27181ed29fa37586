"""The region tree: province → city → county (县、市、区) → township (乡镇、街道)."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import db, label_of, one_of, unique_within

#: A province (for users who oversee several cities), a city, a county (县、市、区), an
#: optional township or street under a county (乡镇、街道), as stored → as shown.
REGION_LEVELS = {
    "province": "省",
    "city": "市",
    "county": "县（市、区）",
    "township": "乡镇（街道）",
}
#: The level of a region's children; a township has none.
CHILD_LEVEL = {"province": "city", "city": "county", "county": "township"}
#: Levels a region without a parent may have.
ROOT_LEVELS = ("city", "province")


class Region(db.Model):
    """A province, a city, one of its counties (县、市、区), or a township under a county."""

    __tablename__ = "regions"
    __table_args__ = (
        *unique_within("parent_id", "name", "uq_regions_top_name"),
        one_of("level", REGION_LEVELS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)

    parent: Mapped["Region | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Region"]] = relationship(back_populates="parent", order_by="Region.id")

    level_name = label_of("level", REGION_LEVELS)
