"""The resident form's reply from the page cache, sent before Flask's request machinery when
the page is cached (survey.responses.before_flask).

A cached form (survey.sites.page_cache) needs no database, no template and no session: its
reply is the page with a fresh nonce, the device cookie for a phone without one, and the
fixed headers. Through Flask that reply cost about twice a plain WSGI page's time (request
and app contexts, URL matching, before- and after-request hooks: docs/PERFORMANCE.md);
answered here, only the nonce and the cookie are made per request. A page not cached, and
every other request, goes on to Flask, whose view (survey.responses.views.show) renders
and caches the page and builds its reply with the same ``reply``.
"""

import functools
import secrets
import time

from flask import Flask
from werkzeug.http import dump_cookie, parse_cookie

from survey import headers
from survey.responses import nonces
from survey.sites.page_cache import CachedForm
from survey.sites.tokens import normalize_token

#: The phone's random id, kept a year (the device window of survey.responses.services).
DEVICE_COOKIE = "sid"
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600
FORM_PREFIXES = ("/s/", "/S/")


def device_id(cookie_header: str) -> str | None:
    """The phone's device id from a Cookie header, if it holds a well-formed one."""
    value = parse_cookie(cookie_header).get(DEVICE_COOKIE, "")
    return value if len(value) == 32 and all(c in "0123456789abcdef" for c in value) else None


def device_cookie(value: str, secure: bool) -> str:
    """The Set-Cookie value that gives the phone its device id for a year."""
    return f"{DEVICE_COOKIE}={value}{_cookie_attributes(secure, int(time.time()))}"


@functools.lru_cache(maxsize=2)
def _cookie_attributes(secure: bool, _second: int) -> str:
    """What follows the device cookie's value, formatted once a second (its Expires date is
    the costly part of every reply to a new phone)."""
    return dump_cookie(
        DEVICE_COOKIE,
        "",
        max_age=DEVICE_COOKIE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=secure,
    ).removeprefix(f"{DEVICE_COOKIE}=")


def reply(app: Flask, page: CachedForm, environ: dict) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers of the form ``page`` for the request ``environ``: a fresh nonce
    and, for a phone without one, the device cookie — with the form, not only on the 303: a
    303 lost on a weak network would leave a first-time resident without it, and their
    answer after a re-scan counted twice."""
    nonce = nonces.issue(app.config["SECRET_KEY"], page.token, page.version_id)
    body = page.with_nonce(nonce)
    fields = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        # WeChat's in-app browser would otherwise show a cached form with a used nonce.
        ("Cache-Control", "no-store"),
        *headers.reply_headers(app),
    ]
    if device_id(environ.get("HTTP_COOKIE", "")) is None:
        secure = environ.get("wsgi.url_scheme") == "https"
        fields.append(("Set-Cookie", device_cookie(secrets.token_hex(16), secure)))
    return body, fields


def cached_reply(app: Flask, environ: dict) -> tuple[bytes, list[tuple[str, str]]] | None:
    """The body and headers answering the GET ``environ`` of a form whose page is cached,
    else None (survey.responses.before_flask sends it)."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith(FORM_PREFIXES):
        return None
    cache = app.extensions.get("form_pages")
    key = normalize_token(path[3:])
    page = cache.get(key) if cache is not None and key else None
    return None if page is None else reply(app, page, environ)
