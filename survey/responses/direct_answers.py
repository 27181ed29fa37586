"""The WSGI layer that takes a resident's well-formed answer before Flask's request machinery.

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

from survey import headers
from survey.db import db
from survey.responses import answering, cached_form
from survey.sites.tokens import normalize_token

log = logging.getLogger(__name__)

_URLENCODED = "application/x-www-form-urlencoded"


class DirectAnswers:
    """WSGI middleware: ``POST /s/<token>`` of a well-formed answer is stored and answered
    here."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        token = self._token(environ)
        if token is None:
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        reply = self._take(environ, token, body)
        if reply is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        start_response("303 See Other", reply)
        return [b""]

    def _token(self, environ) -> str | None:
        """The token of an answer this layer takes, or None."""
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(
            cached_form.FORM_PREFIXES
        ):
            return None
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != _URLENCODED:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None  # chunked, or no length: Flask reads it
        if not 0 < length <= self.app.config["MAX_CONTENT_LENGTH"]:
            return None
        return normalize_token(path[3:]) or None

    def _take(self, environ, token: str, body: bytes) -> list[tuple[str, str]] | None:
        """Store the answer and return the 303's headers, or None to leave it to Flask."""
        posted, readable = answering.posted_fields(body)
        if not readable:
            return None
        client = answering.Client(
            environ.get("REMOTE_ADDR", ""),
            environ.get("HTTP_USER_AGENT", ""),
            cached_form.device_id(environ.get("HTTP_COOKIE", "")),
        )
        with self.app.app_context():
            try:
                taken = answering.take(db.session, token, posted, readable, client)
            except answering.REFUSALS:
                return None
            except Exception:  # Flask answers it as it answers any error
                log.warning("an answer could not be stored here; Flask tries again", exc_info=True)
                return None
            secure = environ.get("wsgi.url_scheme") == "https"
            script_root = environ.get("SCRIPT_NAME", "")
            return [
                *answering.thanks_headers(self.app, script_root, taken, secure),
                ("Content-Length", "0"),
                ("Cache-Control", "no-store"),
                *headers.reply_headers(self.app),
            ]
