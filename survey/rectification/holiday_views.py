"""The admins' holidays page: the years the working-day calendar knows, and the form to enter
a year's 节假日安排 (or replace one) when ``chinese-calendar`` does not have it yet."""

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from survey.accounts.access import current_actor, role_required
from survey.db import db, now_utc
from survey.fields import FIRST_DAY, LAST_DAY
from survey.form_posts import submitted
from survey.rectification import holidays
from survey.rectification.schemas import notice_form_schema
from survey.responses.rollups import local_day

bp = Blueprint("holidays", __name__, url_prefix="/admin/holidays")

#: When the database refuses the notice the checks let through (two admins at once).
CONFLICT = {"year": ["保存没有成功：可能有人同时录入了这一年，请刷新页面后重试。"]}


def _form_page(year: int | None, errors: dict | None = None):
    form = request.form if request.method == "POST" else holidays.notice_form(db.session, year)
    return render_template(
        "rectification/holiday_form.html", year=year, form=form, errors=errors or {}
    )


def _saved(year: int | None):
    """The notice form of ``year`` (None: a year to type), saved and back to the list."""
    notice, reply = submitted(
        notice_form_schema,
        partial(_form_page, year),
        partial(holidays.save_notice, db.session, current_actor()),
        conflict=CONFLICT,
    )
    if reply:
        return reply
    flash(f"已保存{notice.year}年的放假安排：从现在起，这一年的期限按它计算。", "info")
    return redirect(url_for(".index"))


@bp.get("/")
@role_required("admin")
def index():
    """Every year the calendar knows: the package's, read only, and the entered notices."""
    page = holidays.calendar_page(db.session, local_day(now_utc()).year)
    return render_template("rectification/holidays.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new():
    """Enter a year's notice (a year already entered is replaced)."""
    return _saved(None)


@bp.route("/<int:year>", methods=["GET", "POST"])
@role_required("admin")
def edit(year):
    """A year's notice, or the package's days of it, to correct and save as its notice."""
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        abort(404)
    return _saved(year)
