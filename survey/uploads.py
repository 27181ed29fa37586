"""Larger request bodies for the few views that take files.

MAX_CONTENT_LENGTH keeps every other request small. A view marked ``@upload_limit(limit)``
accepts up to ``limit(app.config)`` bytes instead; the limit is set before anything reads the body
(CSRF protection included), so an oversize upload answers 413 and nothing is stored.
"""

from flask import current_app, request

_ATTRIBUTE = "upload_limit"


#: Room for the form fields and multipart framing around the files.
FORM_OVERHEAD = 64 * 1024


def upload_limit(limit):
    """View decorator: accept request bodies up to ``limit(app.config)`` bytes."""

    def decorator(view):
        setattr(view, _ATTRIBUTE, limit)
        return view

    return decorator


def apply_upload_limit() -> None:
    """``before_request`` hook: raise this request's body limit if its view asks for it."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, _ATTRIBUTE, None)
    if limit is not None:
        request.max_content_length = limit(current_app.config)
