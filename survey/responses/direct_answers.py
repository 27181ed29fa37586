"""A resident's well-formed answer, taken before Flask's request machinery
(survey.responses.before_flask).

A resident's answer is the busiest write: its reply is a 303 with the device cookie and the
fixed headers, and everything it needs runs in the app's context (the session, the config).
Through Flask's request context, hooks and response object it cost about a tenth of its time
more (docs/PERFORMANCE.md), so ``POST /s/<token>`` with an urlencoded body within the size
limit is taken here with ``answering.take``, the same function the view calls.

Anything else goes on to Flask unchanged, with the body given back: a refusal of any kind
(the view answers it with its page), a body too large or not urlencoded, and an error while
storing (rolled back; the view then tries once more and answers as it answers any error).
"""

import io
import logging

from flask import Flask

from survey import errors, headers
from survey.db import db, serving_request
from survey.responses import answering, cached_form
from survey.sites.tokens import normalize_token

log = logging.getLogger(__name__)

_URLENCODED = "application/x-www-form-urlencoded"


def answer_directly(app: Flask, environ: dict) -> list[tuple[str, str]] | None:
    """The 303's headers after storing the answer the POST ``environ`` carries, or None to
    leave the request to Flask (its body given back)."""
    token = _token(app, environ)
    if token is None:
        return None
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    headers_ = _take(app, environ, token, body)
    if headers_ is None:
        environ["wsgi.input"] = io.BytesIO(body)
    return headers_


def _token(app: Flask, environ: dict) -> str | None:
    """The token of an answer taken here, or None."""
    path = environ.get("PATH_INFO", "")
    if not path.startswith(cached_form.FORM_PREFIXES):
        return None
    if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != _URLENCODED:
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None  # chunked, or no length: Flask reads it
    if not 0 < length <= app.config["MAX_CONTENT_LENGTH"]:
        return None
    return normalize_token(path[3:]) or None


def _take(app: Flask, environ: dict, token: str, body: bytes) -> list[tuple[str, str]] | None:
    posted, readable = answering.posted_fields(body)
    if not readable:
        return None
    client = answering.Client(
        environ.get("REMOTE_ADDR", ""),
        environ.get("HTTP_USER_AGENT", ""),
        cached_form.device_id(environ.get("HTTP_COOKIE", "")),
    )
    with app.app_context(), serving_request():
        try:
            taken = answering.take(db.session, token, posted, readable, client)
        except answering.REFUSALS:
            return None
        except Exception as err:  # Flask answers it as it answers any error
            # With the database down, Flask's view fails too and answers 503 with one log
            # line: a traceback here for every answer of an outage would be noise.
            if not errors.database_unavailable(err):
                log.warning("an answer could not be stored here; Flask tries again", exc_info=True)
            return None
        secure = environ.get("wsgi.url_scheme") == "https"
        return [
            *answering.thanks_headers(app, environ.get("SCRIPT_NAME", ""), taken, secure),
            ("Content-Length", "0"),
            ("Cache-Control", "no-store"),
            *headers.reply_headers(app),
        ]
