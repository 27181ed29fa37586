"""Admin pages for staff accounts: list, create, change role or region, disable and
enable, reset a password. A one-time password is shown once, in the answer to the POST
that made it (never in a redirect's flash message, which would keep it in the cookie)."""

from functools import partial

from flask import Blueprint, flash, redirect, render_template, request, url_for

from survey.accounts import users
from survey.accounts.access import current_actor, role_required
from survey.accounts.models import ROLES, User
from survey.accounts.schemas import user_change_schema, user_schema
from survey.db import db, write_transaction
from survey.form_posts import submitted

bp = Blueprint("users", __name__, url_prefix="/admin/users")


def _form_page(user: User | None, errors: dict | None = None):
    return render_template(
        "accounts/user_form.html",
        user=user,
        form=request.form,
        errors=errors or {},
        roles=ROLES,
        regions=users.assignable_regions(db.session),
    )


def _password_page(user: User, password: str, created: bool):
    return render_template(
        "accounts/user_password.html", user=user, password=password, created=created
    )


def _list_page(error: str = "", status: int = 200):
    accounts = users.list_users(db.session)
    return render_template("accounts/users.html", users=accounts, roles=ROLES, error=error), status


@bp.get("/")
@role_required("admin")
def index():
    """Every account with its role, region and state."""
    return _list_page()


@bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new():
    """Create an account; its one-time password is shown once."""
    created, reply = submitted(
        user_schema,
        partial(_form_page, None),
        lambda data: users.add_user(db.session, current_actor(), **data),
    )
    if reply:
        return reply
    user, password = created
    return _password_page(user, password, created=True), 201


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
def edit(user_id):
    """Change an account's role or region."""
    user = db.get_or_404(User, user_id)
    _, reply = submitted(
        user_change_schema,
        partial(_form_page, user),
        lambda data: users.change_user(db.session, current_actor(), user, **data),
    )
    if reply:
        return reply
    flash(f"已保存 {user.username} 的角色和地区。", "info")
    return redirect(url_for(".index"))


def _change_state(user_id: int, change, done: str):
    user = db.get_or_404(User, user_id)
    try:
        with write_transaction(db.session):
            change(db.session, current_actor(), user)
    except users.UserError as err:
        return _list_page(str(err), 422)
    flash(done.format(user.username), "info")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/disable")
@role_required("admin")
def disable(user_id):
    """Disable an account; its open sessions end at once."""
    return _change_state(user_id, users.disable_user, "已停用 {}，其登录已全部失效。")


@bp.post("/<int:user_id>/enable")
@role_required("admin")
def enable(user_id):
    """Enable a disabled account again."""
    return _change_state(user_id, users.enable_user, "已启用 {}。")


@bp.post("/<int:user_id>/password")
@role_required("admin")
def reset_password(user_id):
    """A new one-time password, shown once; the account's open sessions end."""
    user = db.get_or_404(User, user_id)
    with write_transaction(db.session):
        password = users.reset_password(db.session, current_actor(), user)
    return _password_page(user, password, created=False)
