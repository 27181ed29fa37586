"""Who may do what: staff sessions (Flask-Login), CSRF protection (Flask-WTF), role checks."""

from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_smorest import abort as api_abort
from flask_wtf.csrf import CSRFProtect
from itsdangerous import URLSafeTimedSerializer

from survey.accounts.models import User
from survey.accounts.services import Actor
from survey.accounts.throttle import Throttle, login_name
from survey.addresses import network_of
from survey.db import db
from survey.errors import wants_json
from survey.regions.scope import Scope, scope_of

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "info"
csrf = CSRFProtect()


def _client_network() -> str:
    """The rate-limit key of an address: an IPv6 client counts as its /64."""
    return network_of(get_remote_address())


def _login_name_and_address() -> str:
    """The rate-limit key of a login attempt: the client address and the user name typed,
    trimmed and case-folded (so ``Admin`` and ``admin`` count together)."""
    return f"{_client_network()}|{login_name(request.form.get('username') or '')}"


def _user_and_address() -> str:
    """The rate-limit key of a password change: the client address and the user."""
    return f"{_client_network()}|user:{getattr(current_user, 'id', '')}"


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def limit_logins(app) -> Limiter:
    """Limit login attempts per user name from one address to ``LOGIN_RATE_LIMIT``, and all
    attempts from one address to the looser ``LOGIN_ADDRESS_RATE_LIMIT``; changes of the
    password per user and address to ``LOGIN_RATE_LIMIT`` too. Wrong passwords also slow
    down their name and address (survey.accounts.throttle), counted in the same storage.

    A whole office behind one NAT shares an address, so a per-address count alone locked
    colleagues out of each other's logins; guessing one user's password is bounded by the
    per-name count (and the growing wait), spraying many names by the per-address one.
    Behind a proxy, TRUSTED_PROXIES makes the address the real client's. Counts are shared
    through Redis when REDIS_URL is set, so every process counts together; if Redis is down,
    each process falls back to its memory and logs a warning, and logins keep working. One
    limiter per app, not per module: Flask-Limiter keeps storage state on the instance.
    """
    limiter = Limiter(key_func=_client_network, app=app)
    # Flask-Limiter checks every request in a before-request hook, for limits set on the
    # whole app or a blueprint; ours are only the decorators below, which check their own
    # views. The hook cost a resident's form and answer about a tenth of their time in the
    # app (the hot path: docs/PERFORMANCE.md), so it goes.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    per_name = limiter.limit(_login_rate_limit, key_func=_login_name_and_address, methods=["POST"])
    per_address = limiter.limit(
        lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"], methods=["POST"]
    )
    per_user = limiter.limit(_login_rate_limit, key_func=_user_and_address, methods=["POST"])
    views = app.view_functions
    views["accounts.login"] = per_address(per_name(views["accounts.login"]))
    views["accounts.password"] = per_user(views["accounts.password"])
    app.extensions["password_throttles"] = {
        purpose: Throttle(limiter, purpose) for purpose in ("login", "password")
    }
    return limiter


def throttle(purpose: str) -> Throttle:
    """The app's growing wait after wrong passwords: ``login`` or ``password`` (the current
    password on the change-password page)."""
    return current_app.extensions["password_throttles"][purpose]


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def role_required(*roles: str):
    """View decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


#: What a session still on its one-time password may reach: the password page, logging in
#: and out, and what needs no login at all (the resident form and its recordings, the
#: health check, static files).
_OPEN_BEFORE_NEW_PASSWORD = {"accounts.login", "accounts.password", "accounts.logout", "static"}
_PUBLIC_BLUEPRINTS = {"form", "health"}
NEW_PASSWORD_FIRST = "请先修改一次性密码（/account/password），再使用其他功能。"


def new_password_first():
    """Before every request: a session still on its one-time password reaches nothing but
    the password page — pages send it there, the API answers 403 in JSON.

    One hook for every route rather than a check in each access helper: the stats API
    checked the role by hand and forgot this, and a new route cannot.
    """
    if request.blueprint in _PUBLIC_BLUEPRINTS or request.endpoint in _OPEN_BEFORE_NEW_PASSWORD:
        return None
    if not (current_user.is_authenticated and current_user.must_change_password):
        return None
    if wants_json():
        api_abort(403, message=NEW_PASSWORD_FIRST)
    return redirect(url_for("accounts.password"))


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer built once per key instead of on
    every request: it showed in the profile of every resident page, which has no session.

    Requests whose path starts with one of ``sessionless`` (the resident pages) get Flask's
    null session without reading or writing the cookie: residents have no staff session, and
    reading one cost every form and answer about a tenth of their time in the app."""

    def __init__(self, sessionless: tuple[str, ...] = ()):
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}
        self._sessionless = sessionless

    def open_session(self, app, request):
        if request.path.startswith(self._sessionless):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if key not in self._serializers:
            self._serializers[key] = super().get_signing_serializer(app)
        return self._serializers[key]


#: Who sets projects, sites and questionnaires up: admins for every city, city staff for
#: their own.
SETUP_ROLES = ("admin", "city")


def acting_user() -> User:
    """The logged-in user itself (not Flask-Login's proxy), for audit entries and services."""
    return current_user._get_current_object()


def client_ip() -> str:
    """The client's address as the audit log records it."""
    return request.remote_addr or ""


def current_actor() -> Actor:
    """The logged-in user and the client's address: who a service logs as making a change."""
    return Actor(acting_user(), client_ip())


def user_scope() -> Scope:
    """The regions the logged-in user may see."""
    return scope_of(db.session, acting_user())
