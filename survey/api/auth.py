"""Who calls the API: another system with its bearer token, or a staff member with the
session cookie of a login. Either way the caller reads one Scope (survey.regions.scope)."""

from flask import request
from flask_login import current_user
from flask_smorest import abort

from survey.accounts.access import NEW_PASSWORD_FIRST, client_ip, user_scope
from survey.api import tokens
from survey.db import StaleRow, db, now_utc, write_transaction
from survey.regions.scope import Scope, region_scope

BEARER, SESSION = "bearerAuth", "sessionCookie"
#: The OpenAPI's ``components.securitySchemes`` (API_SPEC_OPTIONS in create_app).
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "其他系统的 API 令牌（系统管理员在“API 令牌”页面创建，只显示一次）："
        "Authorization: Bearer <令牌>。令牌只能读取其所属地区的数据，每次使用都记入操作日志。",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "工作人员登录后的会话 Cookie",
    },
}
#: An operation that takes either.
SECURITY = [{BEARER: []}, {SESSION: []}]

UNAUTHORIZED = (
    "未认证：请带上有效的 API 令牌（Authorization: Bearer <令牌>），或以工作人员身份登录。"
)
BAD_TOKEN = "API 令牌无效或已吊销。"
WRONG_ROLE = "您的账号不能读取这些数据。"


def caller_scope(roles: tuple[str, ...]) -> Scope:
    """The regions the caller may read: a bearer token's region (its request audited), or
    the logged-in staff member's when their role is one of ``roles``. 401 without either or
    for a bad or revoked token, 403 for another role."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            abort(401, message=BAD_TOKEN)
        return _token_scope(secret.strip())
    if not current_user.is_authenticated:
        abort(401, message=UNAUTHORIZED)
    if current_user.role not in roles:
        abort(403, message=WRONG_ROLE)
    return user_scope()


def _token_scope(secret: str) -> Scope:
    token = tokens.find_token(db.session, secret)
    if token is None:
        abort(401, message=BAD_TOKEN)
    what = f"{request.method} {request.path}"
    try:
        with write_transaction(db.session, lock=token, check=lambda row: row.is_live):
            tokens.record_use(db.session, token, client_ip(), what, now_utc())
    except StaleRow:
        abort(401, message=BAD_TOKEN)
    return region_scope(db.session, token.region)


def documented(blp):
    """Decorator of an operation taking a token or a session: its OpenAPI ``security`` and
    its 401 and 403 answers."""

    def decorate(view):
        view = blp.alt_response(401, description=UNAUTHORIZED)(view)
        view = blp.alt_response(403, description=f"{WRONG_ROLE}或：{NEW_PASSWORD_FIRST}")(view)
        return blp.doc(security=SECURITY)(view)

    return decorate
