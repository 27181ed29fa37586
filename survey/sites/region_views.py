"""The admins' page for the region tree: add a child region, rename, delete."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from survey.accounts.access import current_actor, role_required
from survey.db import db, write_transaction
from survey.form_posts import first_message
from survey.regions.models import REGION_LEVELS, ROOT_LEVELS, Region
from survey.sites import regions
from survey.sites.schemas import region_name_schema, region_schema

bp = Blueprint("regions", __name__, url_prefix="/admin/regions")

#: When the database refuses a change the checks let through (two admins at once).
CONFLICT = "保存没有成功：可能有人同时修改了地区，请刷新页面后重试。"


def _tree_page(error: str = "", status: int = 200):
    return render_template(
        "sites/regions.html",
        rows=regions.region_tree(db.session),
        root_levels={level: REGION_LEVELS[level] for level in ROOT_LEVELS},
        error=error,
    ), status


def _changed(apply, done, schema=None):
    """Load the form with ``schema`` (if any) and ``apply(data)`` in a write transaction,
    then back to the tree with ``done(result)`` as the message; or the tree with the
    reason, 422, and nothing changed."""
    try:
        data = schema.load(request.form.to_dict()) if schema else {}
    except ValidationError as err:
        return _tree_page(first_message(err), 422)
    try:
        with write_transaction(db.session):
            result = apply(data)
    except regions.RegionError as err:
        return _tree_page(str(err), 422)
    except IntegrityError:
        return _tree_page(CONFLICT, 422)
    flash(done(result), "info")
    return redirect(url_for(".index"))


@bp.get("/")
@role_required("admin")
def index():
    """The tree: each province, city, county and township with what may be done to it."""
    return _tree_page()


@bp.post("/")
@role_required("admin")
def add():
    """Add a region under another (or a province or city at the top)."""
    return _changed(
        lambda data: regions.add_region(db.session, current_actor(), **data),
        lambda region: f"已添加{region.level_name}“{region.name}”。",
        region_schema,
    )


@bp.post("/<int:region_id>/delete")
@role_required("admin")
def delete(region_id):
    """Delete a region nothing refers to."""
    region = db.get_or_404(Region, region_id)
    return _changed(
        lambda _data: regions.delete_region(db.session, current_actor(), region),
        lambda _result: f"已删除“{region.name}”。",
    )


@bp.post("/<int:region_id>/rename")
@role_required("admin")
def rename(region_id):
    """Rename a region; everything that refers to it keeps it."""
    region = db.get_or_404(Region, region_id)
    before = region.name
    return _changed(
        lambda data: regions.rename_region(db.session, current_actor(), region, data["name"]),
        lambda renamed: f"已把“{before}”改名为“{region.name}”。" if renamed else "名称没有改变。",
        region_name_schema,
    )
