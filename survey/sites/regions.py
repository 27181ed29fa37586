"""The region tree (province → city → county → township) as admins edit it: add a child,
rename, delete. A region anything refers to (sites, users, children, projects, targets, the
audit log …) can only be renamed. Every change is written to the audit log."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.db import db
from survey.form_posts import FieldError
from survey.regions.models import CHILD_LEVEL, REGION_LEVELS, ROOT_LEVELS, Region

#: What refers to a region, by table, as named to people. Tables not listed (rosters,
#: samples, the audit log) are "其他记录".
_USES = {
    "regions": "下级地区",
    "sites": "点位",
    "users": "用户",
    "projects": "项目",
    "project_targets": "项目目标数",
    "recordings": "朗读录音",
}
_OTHER_USES = "其他记录（名单、抽查或操作日志）"


class RegionError(FieldError):
    """A change to the region tree that cannot be made."""


@dataclass(frozen=True)
class TreeRow:
    """One region of the tree as listed: its depth, the level its children would have
    (None: it can have none) and what refers to it (empty: it may be deleted)."""

    region: Region
    depth: int
    child_level: str | None
    uses: list[str]

    @property
    def child_level_name(self) -> str:
        return REGION_LEVELS[self.child_level] if self.child_level else ""

    @property
    def deletable(self) -> bool:
        return not self.uses


def _references():
    """(table, column) of every column that refers to a region, from the models' metadata,
    so a table added later is checked too."""
    regions = Region.__table__.c.id
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column is regions:
                yield table, key.parent


def uses_of(session: Session, region_ids: list[int] | None = None) -> dict[int, list[str]]:
    """Region id → what refers to it, as named to people, for ``region_ids`` (None: every
    region); regions nothing refers to are left out."""
    found: dict[int, list[str]] = {}
    for table, column in _references():
        label = _USES.get(table.name, _OTHER_USES)
        query = select(column).where(column.is_not(None)).group_by(column)
        if region_ids is not None:
            query = query.where(column.in_(region_ids))
        for (region_id,) in session.execute(query):
            if label not in found.setdefault(region_id, []):
                found[region_id].append(label)
    return found


def region_tree(session: Session) -> list[TreeRow]:
    """Every region in tree order (each followed by its children, by id), with its depth."""
    regions = list(session.scalars(select(Region).order_by(Region.id)))
    children: dict[int | None, list[Region]] = {}
    for region in regions:
        children.setdefault(region.parent_id, []).append(region)
    uses = uses_of(session)
    rows: list[TreeRow] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for region in children.get(parent_id, []):
            rows.append(
                TreeRow(region, depth, CHILD_LEVEL.get(region.level), uses.get(region.id, []))
            )
            walk(region.id, depth + 1)

    walk(None, 0)
    return rows


def _path(region: Region | None) -> str:
    """``浙江省 › 丽水市 › 莲都区``."""
    names = []
    while region is not None:
        names.append(region.name)
        region = region.parent
    return " › ".join(reversed(names))


def _check_name_free(session: Session, parent_id: int | None, name: str, own_id=None) -> None:
    # Checked first for a message in Chinese; the unique constraint and index on regions
    # still refuse a name another request took since (the views show CONFLICT then).
    same_parent = Region.parent_id.is_(None) if parent_id is None else Region.parent_id == parent_id
    query = select(func.count()).where(same_parent, Region.name == name)
    if own_id is not None:
        query = query.where(Region.id != own_id)
    if session.scalar(query):
        raise RegionError("name", f"同一上级下已有“{name}”，请换一个名称。")


def add_region(
    session: Session, actor: Actor, *, parent_id: int | None, name: str, level: str | None
) -> Region:
    """A new region under ``parent_id`` (its level follows from the parent's), or at the top
    with ``level`` province or city. Raises RegionError. Never commits."""
    if parent_id is None:
        parent = None
        if level not in ROOT_LEVELS:
            raise RegionError("level", "最上级只能添加省或市，请选择。")
    else:
        parent = session.get(Region, parent_id)
        if parent is None:
            raise RegionError("parent_id", "上级地区不存在，请刷新页面后重试。")
        level = CHILD_LEVEL.get(parent.level)
        if level is None:
            raise RegionError("parent_id", f"{parent.level_name}下不能再添加下级地区。")
    _check_name_free(session, parent_id, name)
    region = Region(name=name, level=level, parent=parent)
    session.add(region)
    session.flush()
    detail = f"{_path(region)}（{region.level_name}）"
    record(session, "region_created", actor, detail)
    return region


def rename_region(session: Session, actor: Actor, region: Region, name: str) -> bool:
    """Give ``region`` a new name (its sites, users and projects keep it); returns whether
    the name changed. Raises RegionError when a sibling has the name. Never commits."""
    if name == region.name:
        return False
    _check_name_free(session, region.parent_id, name, own_id=region.id)
    before = _path(region)
    region.name = name
    session.flush()
    record(session, "region_changed", actor, f"{before} → {name}")
    return True


def delete_region(session: Session, actor: Actor, region: Region) -> None:
    """Delete a region nothing refers to. Raises RegionError naming what refers to it
    otherwise (it can then only be renamed). Never commits."""
    uses = uses_of(session, [region.id]).get(region.id)
    if uses:
        raise RegionError("region", f"“{region.name}”还有{'、'.join(uses)}，不能删除，只能改名。")
    detail = f"{_path(region)}（{region.level_name}）"
    session.delete(region)
    session.flush()
    record(session, "region_deleted", actor, detail)
