"""One HTML error page and one JSON error shape for the whole app. No stack trace leaves."""

import sqlite3

import psycopg
from cryptography.fernet import InvalidToken
from flask import Flask, current_app, g, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from survey.db import DatabaseBusy, db
from survey.hotline import hotline_link
from survey.observability import DATABASE_ERRORS
from survey.uploads import too_large_reply

#: status → (title, what the person can do), in the words a resident understands.
MESSAGES = {
    400: ("提交的内容有误", "请返回上一页，检查后再提交。"),
    401: ("请先登录", "请登录后再试。"),
    403: ("没有权限", "您的账号不能查看这个页面。"),
    404: ("没有找到这个页面", "二维码可能已经停用或链接不完整。如需评价，请咨询现场工作人员。"),
    405: ("不支持这种访问方式", "请从二维码或链接重新打开页面。"),
    410: ("此二维码已停用", "请扫描现场新张贴的二维码，或拨打 {hotline} 评价。"),
    413: ("提交的内容太长了", "请把留言缩短一些后再提交。"),
    422: ("提交的内容有误", "请检查后再提交。"),
    429: ("访问太频繁了", "请稍等一会儿再试。"),
    500: ("系统出了点问题", "请稍后再试。您的评价如果没有提交成功，可以重新提交。"),
    503: ("系统正在维护", "请稍后再试。"),
}
DEFAULT_MESSAGE = ("出了点问题", "请稍后再试。")
#: The same statuses for a logged-in staff member, in the staff pages' frame (menu
#: included), not the resident's words about QR codes. Not 5xx:
#: that frame reads the user from the database, which may be what failed.
STAFF_MESSAGES = {
    403: ("没有权限", "您的账号不能查看这个页面。"),
    404: ("没有找到", "这条记录不存在，或者不在您管理的地区内。请从上方菜单重新进入。"),
    405: ("不支持这种访问方式", "请从上方菜单重新进入这个页面。"),
}

#: status → message for API clients (the people who write kiosks and mini-programs).
API_MESSAGES = {
    400: "请求无法解析：请发送 UTF-8 编码的 JSON。",
    401: "请先登录。",
    403: "没有权限。",
    404: "没有这个资源。",
    410: "已停用。",
    405: "不支持这个请求方法。",
    413: "请求内容超过了大小上限。",
    422: "提交的内容有误，详见 errors。",
    429: "请求太频繁，请稍后再试。",
    500: "服务器内部错误，请稍后再试。",
    503: "服务暂不可用，请稍后再试。",
}

#: Stored personal data encrypted under a key this server does not have (FIELD_ENCRYPTION_KEY
#: differs between machines, or an old key was removed before ``flask rotate-field-key`` ran).
#: 503, not 500: the request is fine and nothing is broken in the code or lost in the
#: database; the service cannot serve these rows until the operator sets the right key, after
#: which the same request succeeds. Monitoring counting 500s as crashes is not misled either.
KEY_MISMATCH = (
    "名单数据暂时无法读取",
    "本服务器的加密密钥与数据库中已保存的数据不一致，数据没有丢失。"
    "请联系系统管理员检查 FIELD_ENCRYPTION_KEY 的设置后再试。",
)


#: How long a client is asked to wait (Retry-After) when the database cannot answer: it is
#: stopped, restarting or out of reach. The pool checks connections before use (pre-ping),
#: so the first request after it is back is answered again, without a restart.
DATABASE_DOWN_RETRY_SECONDS = 30
#: How long when a writer waited out SQLite's busy timeout: the lock is usually free soon.
DATABASE_BUSY_RETRY_SECONDS = 5


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _json(error: HTTPException) -> tuple[dict, int]:
    message = API_MESSAGES.get(error.code, DEFAULT_MESSAGE[1])
    body = {"code": error.code, "status": error.name, "message": message}
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if errors:
        body["errors"] = errors
    if data.get("message"):
        body["message"] = data["message"]
    return body, error.code


def handle_http_error(error: HTTPException):
    """Answer an HTTP error as JSON under /api/ and as a Chinese page everywhere else."""
    # Keep headers such as Allow (405) or Retry-After (429); the body is ours.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if wants_json():
        body, status = _json(error)
        return body, status, headers
    if error.code == 413:
        reply = too_large_reply()  # an upload form shown again with the real reason
        if reply is not None:
            return reply
    template = "errors/error.html"
    if error.code in STAFF_MESSAGES and current_user.is_authenticated and not is_resident_page():
        template, (title, message) = "errors/staff_error.html", STAFF_MESSAGES[error.code]
    else:
        title, message = MESSAGES.get(error.code, DEFAULT_MESSAGE)
        message = Markup(message).format(hotline=hotline_link(current_app.config["HOTLINE"]))
    return render_template(template, title=title, message=message), error.code, headers


def handle_key_mismatch(_error: InvalidToken):
    """Answer a token no configured key decrypts with a page saying so (503), and log it
    in one line without the data or the key."""
    current_app.logger.error(
        "field key does not match the stored data: a row could not be decrypted with any "
        "key in FIELD_ENCRYPTION_KEY (%s %s); set the key the rows were encrypted with",
        request.method,
        request.path,
    )
    title, message = KEY_MISMATCH
    if wants_json():
        body, status = _json(ServiceUnavailable())
        return body | {"message": message}, status
    return render_template("errors/error.html", title=title, message=message), 503


def is_resident_page() -> bool:
    """The resident form's addresses (``/s/<code>``, upper case in printed QR codes)."""
    return request.path[:3] in ("/s/", "/S/")


def handle_server_error(error: InternalServerError):
    """The error page for an unexpected error. The request's transaction is given up first:
    a statement PostgreSQL refused aborts it, and the page's frame still reads the user."""
    db.session.rollback()
    return handle_http_error(error)


#: What SQLite says when its file cannot be used now, rather than of the statement.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def database_unavailable(error: Exception) -> bool:
    """Whether the database itself could not answer, as against refusing the statement
    (SQLite reports a missing table as an OperationalError too: that is a 500) or any other
    error."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if isinstance(error.orig, sqlite3.OperationalError):
        return str(error.orig).lower().startswith(_SQLITE_UNAVAILABLE)
    return isinstance(error.orig, psycopg.OperationalError)


def handle_database_down(error: OperationalError | InterfaceError):
    """The database did not answer (stopped, restarting, unreachable, or its file locked
    past the timeout): 503 with Retry-After and 「系统正在维护」, logged in one line. Nothing
    of the request was stored, so a resident's answer never looks stored when it is not.
    Any other OperationalError is the server error it is."""
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone: the pool drops it
        pass
    if not database_unavailable(error):
        current_app.log_exception((type(error), error, error.__traceback__))
        return handle_http_error(InternalServerError(original_exception=error))
    current_app.logger.error(
        "database unavailable (%s %s): %s", request.method, request.path, type(error.orig)
    )
    DATABASE_ERRORS.labels("unavailable").inc()
    # The page must not try to load the logged-in user (Flask-Login's template context does,
    # from the database that just failed): the request goes on as an anonymous one. Flask-Login
    # keeps the request's user in g._login_user and loads it only when that is missing.
    g._login_user = current_app.login_manager.anonymous_user()
    return handle_http_error(ServiceUnavailable(retry_after=DATABASE_DOWN_RETRY_SECONDS))


def handle_database_busy(_error: DatabaseBusy):
    """A writer waited out the busy timeout: nothing was stored, the person may try again."""
    DATABASE_ERRORS.labels("busy").inc()
    return handle_http_error(ServiceUnavailable(retry_after=DATABASE_BUSY_RETRY_SECONDS))


def register(app: Flask) -> None:
    """Install the handlers; call after every extension that installs its own."""
    app.register_error_handler(HTTPException, handle_http_error)
    # Flask logs the original exception before calling this; the person sees only the page.
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(DatabaseBusy, handle_database_busy)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(InterfaceError, handle_database_down)
    app.register_error_handler(InvalidToken, handle_key_mismatch)
