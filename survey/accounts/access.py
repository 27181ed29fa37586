"""Who may do what: staff sessions (Flask-Login), CSRF protection (Flask-WTF), role checks."""

from functools import wraps

from flask import abort, redirect, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from itsdangerous import URLSafeTimedSerializer

from survey.accounts.models import User
from survey.db import db

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "info"
csrf = CSRFProtect()


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def role_required(*roles: str):
    """View decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.must_change_password:
                return redirect(url_for("accounts.password"))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def security_headers(response):
    """No page of ours is meant to be framed (clickjacking) or content-sniffed."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer built once per key instead of on
    every request: it showed in the profile of every resident page, which has no session."""

    def __init__(self):
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if key not in self._serializers:
            self._serializers[key] = super().get_signing_serializer(app)
        return self._serializers[key]
