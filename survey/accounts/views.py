"""Logging staff in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from survey.accounts.access import (
    client_ip,
    current_actor,
    new_password_first,
    role_required,
    throttle,
    user_scope,
)
from survey.accounts.forms import LoginForm, PasswordForm
from survey.accounts.models import AUDIT_ACTIONS
from survey.accounts.schemas import audit_query_schema
from survey.accounts.services import audit_entries, change_password, log_in, log_out
from survey.accounts.throttle import TryLater
from survey.db import db, write_transaction
from survey.form_posts import loaded

bp = Blueprint("accounts", __name__)
bp.before_app_request(new_password_first)


def home_url(user) -> str:
    """Where a user lands after logging in: admins manage sites, city and county staff
    run spot-checks and visits."""
    return url_for("sites.projects") if user.role == "admin" else url_for("checks.index")


def _safe_next(target: str | None, user) -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our login.

    Browsers drop tabs and newlines and read ``\\`` as ``/``, so ``/\t/evil.example`` would
    leave the site: such characters are refused, then the path must name no host.
    """
    fallback = home_url(user)
    if not target or any(c in target for c in "\\\t\r\n") or not target.isprintable():
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def _try_later(page: str, form, field, message: str, wait: TryLater):
    """The form again, refused for now: 429 with the seconds to wait (also as Retry-After)."""
    field.errors.append(message.format(seconds=wait.seconds))
    headers = {"Retry-After": str(wait.seconds)}
    return render_template(page, form=form), 429, headers


@bp.get("/")
def start():
    """The server's address, as ``make run`` prints it: staff go to their home page, or to
    the login first (residents come by their site's QR link, never here)."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for(".login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The staff login page."""
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        try:
            with write_transaction(db.session):
                user = log_in(
                    db.session, throttle("login"), username, form.password.data, client_ip()
                )
        except TryLater as wait:
            message = "登录失败次数太多，请 {seconds} 秒后再试。"
            return _try_later("accounts/login.html", form, form.password, message, wait)
        if user is not None:
            session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME without use
            login_user(user)
            if user.must_change_password:
                return redirect(url_for(".password"))
            return redirect(_safe_next(request.args.get("next"), user))
        form.password.errors.append("用户名或密码不对。")
    status = 400 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Choose a new password (required after a one-time password)."""
    form = PasswordForm()
    if form.validate_on_submit():
        actor = current_actor()
        try:
            with write_transaction(db.session):
                change_password(
                    db.session, actor, form.current.data, form.new.data, throttle("password")
                )
        except TryLater as wait:
            message = "现在的密码输错次数太多，请 {seconds} 秒后再试。"
            return _try_later("accounts/password.html", form, form.current, message, wait)
        except ValueError as err:
            form.current.errors.append(str(err))
        else:
            login_user(actor.user)  # this session goes on; the others have ended
            flash("密码已修改。", "info")
            return redirect(home_url(actor.user))
    status = 400 if form.errors else 200
    return render_template("accounts/password.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """End this session and every other session of the user."""
    with write_transaction(db.session):
        log_out(db.session, current_actor())
    logout_user()
    flash("已退出登录。", "info")
    return redirect(url_for(".login"))


@bp.get("/admin/audit")
@role_required("admin", "city")
def audit():
    """The audit log, newest first, filtered by action or user name (read-only)."""
    filters = loaded(audit_query_schema, request.args.to_dict())
    scope = user_scope()
    entries = audit_entries(db.session, scope, filters.get("action"), filters.get("username"))
    return render_template(
        "accounts/audit.html", entries=entries, actions=AUDIT_ACTIONS, filters=filters
    )
