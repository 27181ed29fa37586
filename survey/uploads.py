"""Larger request bodies for the few views that take files.

MAX_CONTENT_LENGTH keeps every other request small. A view marked ``@upload_limit(limit)``
accepts up to ``limit(app.config)`` bytes instead; the limit is set before anything reads the body
(CSRF protection included), so an oversize upload answers 413 and nothing is stored. A view
may name its own answer to a body over its limit (``too_large``): a staff form shown again
with the real reason, instead of the residents' 「提交的内容太长了」 page.
"""

from flask import current_app, request

_ATTRIBUTE = "upload_limit"
_TOO_LARGE = "upload_too_large"


#: Room for the form fields and multipart framing around the files.
FORM_OVERHEAD = 64 * 1024


def upload_limit(limit, too_large=None):
    """View decorator: accept request bodies up to ``limit(app.config)`` bytes; a larger
    one is answered by ``too_large()`` when given and it returns a reply (else the 413 page)."""

    def decorator(view):
        setattr(view, _ATTRIBUTE, limit)
        setattr(view, _TOO_LARGE, too_large)
        return view

    return decorator


def _view():
    return current_app.view_functions.get(request.endpoint or "")


def apply_upload_limit() -> None:
    """``before_request`` hook: raise this request's body limit if its view asks for it."""
    limit = getattr(_view(), _ATTRIBUTE, None)
    if limit is not None:
        request.max_content_length = limit(current_app.config)


def too_large_reply():
    """The reply the requested view gives to a body over its limit, or None (the 413 page)."""
    answer = getattr(_view(), _TOO_LARGE, None)
    return answer() if answer is not None else None
