"""The WSGI layer in front of Flask that answers the residents' two busiest requests.

A QR code's form (``GET /s/<token>`` of a cached page: survey.responses.cached_form) and a
resident's well-formed answer (``POST /s/<token>``: survey.responses.direct_answers) are
answered here, without Flask's request context, hooks and response objects, which cost them
about half and a tenth of their time (docs/PERFORMANCE.md). Every other request, and any of
those two that is not the plain case, goes on to Flask unchanged. It sits inside ProxyFix,
which tells it the client's address and scheme.
"""

from flask import Flask

from survey.responses.cached_form import cached_reply
from survey.responses.direct_answers import answer_directly


class BeforeFlask:
    """WSGI middleware for the residents' hot path."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            found = cached_reply(self.app, environ)
            if found is not None:
                body, fields = found
                start_response("200 OK", fields)
                return [body]
        elif method == "POST":
            fields = answer_directly(self.app, environ)
            if fields is not None:
                start_response("303 See Other", fields)
                return [b""]
        return self.wsgi_app(environ, start_response)
