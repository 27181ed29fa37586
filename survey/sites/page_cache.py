"""A short-lived, per-process cache of rendered resident forms.

A form page is the same for every resident of a site except its one-time nonce, so it is
rendered once and the nonce spliced in per request: serving it then costs no database query
and no template rendering (docs/PERFORMANCE.md). Entries live ``FORM_CACHE_SECONDS``
(default 10); a process drops a site's page at once when it retires the site's token, other
processes within that time. A submission always checks the database, so a stale page can
never store an answer for a retired link. Written by hand: a dict with expiry is all it takes,
and a shared cache (Redis) would cost the round trip this saves.
"""

import time
from dataclasses import dataclass

from flask import current_app

#: Stands in for the nonce while the page is rendered; only URL-safe characters, so
#: autoescaping leaves it as it is.
NONCE_SLOT = "NONCE-SLOT-3f9c2a"
#: What comes just before the nonce: the hidden field as the template writes it. The page is
#: split there, not at the slot alone: text a user typed (a site or project name) may hold
#: the slot's characters, but never this, as autoescaping turns its quotes into entities.
_BEFORE_NONCE = 'name="nonce" value="'
MAX_ENTRIES = 2048


@dataclass(frozen=True)
class CachedForm:
    """A rendered form, kept as UTF-8 around its nonce (encoding the page took a third of
    a cached reply)."""

    token: str
    version_id: int
    head: bytes
    tail: bytes
    expires: float

    def with_nonce(self, nonce: str) -> bytes:
        """The page's body with ``nonce`` in its slot."""
        return self.head + nonce.encode() + self.tail


class FormPageCache:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._pages: dict[str, CachedForm] = {}

    def get(self, token: str) -> CachedForm | None:
        """The cached page for ``token``, if still fresh."""
        page = self._pages.get(token)
        return page if page is not None and page.expires > time.monotonic() else None

    def put(self, token: str, version_id: int, html: str) -> CachedForm:
        """Keep ``html`` (rendered with NONCE_SLOT as its nonce) and return it as an entry."""
        head, tail = html.split(_BEFORE_NONCE + NONCE_SLOT, 1)
        head += _BEFORE_NONCE
        expires = time.monotonic() + self.seconds
        page = CachedForm(token, version_id, head.encode(), tail.encode(), expires)
        if self.seconds > 0:
            if len(self._pages) >= MAX_ENTRIES:
                self._pages.clear()  # rare, and cheaper than tracking recency per hit
            self._pages[token] = page
        return page

    def discard(self, token: str) -> None:
        self._pages.pop(token, None)


def form_pages() -> FormPageCache:
    """This app's cache, made on first use."""
    cache = current_app.extensions.get("form_pages")
    if cache is None:
        cache = current_app.extensions["form_pages"] = FormPageCache(
            current_app.config["FORM_CACHE_SECONDS"]
        )
    return cache
