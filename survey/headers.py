"""What every reply says about itself: a Content-Security-Policy, the referrer policy,
framing and sniffing, and whether it may be kept in a cache; and when the session cookie
needs HTTPS.

The policy allows scripts and styles from our own origin only, plus the resident pages'
inline stylesheet and scripts by their SHA-256 hashes. Hashes, not nonces: those blocks are
the same on every page, so their hashes are computed once per app and the header is one
constant string, while a nonce would have to be spliced into each cached form page
(survey.sites.page_cache) at every script and style tag, for every request.
"""

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, request

#: The templates whose inline ``<script>`` and ``<style>`` blocks the policy allows: every
#: inline block of every page comes from one of these (tests/test_headers.py checks it).
INLINE_TEMPLATES = (
    "base.html",
    "responses/_submit_script.html",
    "responses/_read_aloud_script.html",
)
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)

#: Replies cached on purpose, whose own Cache-Control stays: static files (revalidated) and
#: recordings of questions read aloud (public, never change). Every other reply — staff
#: pages, downloads, photos, the API, the resident form with its one-time nonce — is
#: ``no-store``: personal data stays out of browser and proxy caches, and a page seen before
#: logging out cannot be shown again from the cache.
CACHED_ENDPOINTS = frozenset({"static", "form.audio"})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def inline_hashes(html: str) -> dict[str, list[str]]:
    """The CSP hash sources of the inline scripts and styles in ``html``, by tag."""
    found: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        found[tag].append(f"'sha256-{digest}'")
    return found


def content_security_policy(app: Flask) -> str:
    """The policy for every page of ``app``, with its inline blocks' hashes."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for name in INLINE_TEMPLATES:
        for tag, sources in inline_hashes(app.jinja_env.get_template(name).render()).items():
            hashes[tag] += sources
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(hashes["script"]),
            "style-src 'self' " + " ".join(hashes["style"]),
            # data: for the pages' empty icon; blob: for the visit photos scaled in the browser
            "img-src 'self' data: blob:",
            "media-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def cookie_secure(setting, public_base_url: str) -> bool:
    """Whether the session cookie is sent over HTTPS only: ``setting`` when given (a bool,
    or 1/0, true/false, yes/no, on/off), else whether PUBLIC_BASE_URL is an https address
    (in any case: ``HTTPS://…`` is one)."""
    if isinstance(setting, bool):
        return setting
    word = (setting or "").strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    if word:
        raise ValueError(f"SESSION_COOKIE_SECURE={setting!r}: use 1 or 0, or leave it unset")
    return urlsplit(public_base_url.strip()).scheme.lower() == "https"


def reply_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers every reply of ``app`` carries (unless the reply sets its own)."""
    return app.extensions["reply_headers"]


def init_app(app: Flask) -> None:
    """Settle the session cookie's Secure flag from the app's final settings, and add the
    headers to every reply."""
    app.config["SESSION_COOKIE_SECURE"] = cookie_secure(
        app.config["SESSION_COOKIE_SECURE"], app.config["PUBLIC_BASE_URL"]
    )
    with app.app_context():
        policy = content_security_policy(app)
    app.extensions["reply_headers"] = [
        ("Content-Security-Policy", policy),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
    ]

    @app.after_request
    def add_headers(response):
        for name, value in app.extensions["reply_headers"]:
            response.headers.setdefault(name, value)
        if request.endpoint not in CACHED_ENDPOINTS and not response.cache_control.no_store:
            response.headers["Cache-Control"] = "no-store"
        return response
