"""Looking up sites by their link token, issuing tokens, and building survey links."""

import base64
import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from qr import symbol
from qr.symbol import ALPHANUMERIC
from survey.db import now_utc
from survey.sites import hooks
from survey.sites.models import Site, SiteToken

TOKEN_LENGTH = 10


def new_token() -> str:
    """A fresh site token: 10 upper-case base32 characters (50 random bits).

    Upper-case base32 keeps the whole link inside the QR code's compact alphanumeric mode.
    """
    return base64.b32encode(secrets.token_bytes(7)).decode()[:TOKEN_LENGTH]


def issue_token(session: Session, site: Site) -> SiteToken:
    """Give a site its (first) live token and return it."""
    token = SiteToken(token=new_token(), site=site)
    session.add(token)
    return token


def normalize_token(token: str) -> str | None:
    """The stored form of a token typed or scanned in any case, or None if it cannot be one."""
    token = token.strip().upper()
    if len(token) != TOKEN_LENGTH or not token.isascii() or not token.isalnum():
        return None
    return token


def survey_url(base_url: str, token: str) -> str:
    """The short link to a site's form, as people read and type it."""
    return f"{base_url.rstrip('/')}/s/{token}"


def is_loopback_url(base_url: str) -> bool:
    """Whether links built on ``base_url`` lead only to the machine that opens them
    (``localhost``, ``127.x.x.x``, ``::1``, ``0.0.0.0``): no resident's phone reaches them.
    The default ``PUBLIC_BASE_URL`` is such an address."""
    host = (urlsplit(base_url.strip()).hostname or "").rstrip(".")
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def printed_url(base_url: str, token: str) -> str:
    """The link a site's QR code encodes: upper case when that reaches the same page.

    Scheme and host ignore case and the form answers ``/S/<TOKEN>``, so a base URL without a
    path fits the QR code's alphanumeric mode in upper case: a smaller, sturdier symbol.
    """
    url = survey_url(base_url, token)
    parts = urlsplit(base_url)
    upper = url.upper()
    if parts.path.strip("/") or parts.query or parts.fragment or not set(upper) <= ALPHANUMERIC:
        return url
    return upper


#: A site's bare QR symbol by format: its content type.
QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml; charset=utf-8"}


def qr_symbol(base_url: str, token: str, fmt: str) -> tuple[bytes | str, str]:
    """A site's bare QR symbol holding its printed link (``fmt``: png or svg) and its
    content type."""
    url = printed_url(base_url, token)
    return (symbol.svg(url) if fmt == "svg" else symbol.png(url)), QR_FORMATS[fmt]


def list_sites(session: Session, project_id: int | None = None) -> list[Site]:
    """Sites (of one project, or all) ordered by project, county and name, tokens loaded."""
    query = (
        select(Site)
        .options(joinedload(Site.project), joinedload(Site.region), selectinload(Site.tokens))
        .order_by(Site.project_id, Site.region_id, Site.id)
    )
    if project_id is not None:
        query = query.where(Site.project_id == project_id)
    return list(session.scalars(query))


class RetiredToken(Exception):
    """The token was retired (its poster stolen or moved); the site has a new one."""


class ProjectFinished(Exception):
    """The site's project is finished: its links take no more answers until it reopens."""


class SiteNotBuilt(ProjectFinished):
    """The site is not built yet (below 100 % progress) and its project does not open
    surveys from the start: its link takes no answers until it is. A kind of closed link,
    so whatever refuses a finished project's answer refuses it too."""


def find_live_token(session: Session, token: str) -> SiteToken | None:
    """The live token row of an active site, or None when unknown or the site is inactive.

    Raises RetiredToken for a token that was replaced, so the caller can say so.
    """
    token = normalize_token(token)
    row = None
    if token is not None:
        row = session.scalars(
            select(SiteToken)
            .where(SiteToken.token == token)
            .options(joinedload(SiteToken.site).joinedload(Site.project))
        ).first()
    if row is None or not row.site.active:
        return None
    if not row.is_live:
        raise RetiredToken(row.token)
    return row


def rotate_token(session: Session, site: Site) -> SiteToken:
    """Retire the site's live token and issue a new one; returns the new one.

    Old links then answer "retired"; earlier responses stay with the site.
    """
    # Read the live token again inside the write transaction: another admin may have
    # rotated it since the page was loaded.
    live = select(SiteToken).where(SiteToken.site_id == site.id, SiteToken.retired_at.is_(None))
    for old in session.scalars(live):
        old.retired_at = now_utc()
    session.flush()  # the partial unique index allows one live token per site
    return issue_token(session, site)


@dataclass(frozen=True)
class SiteAnswers:
    """How many answers a site has kept, and how many of them came from scanning its code."""

    total: int
    scanned: int


def site_answers(session: Session, site_id: int) -> SiteAnswers:
    """The site's answers from every channel, and those scanned from its posters."""
    counts = hooks.answers_by_channel(session, site_id)
    return SiteAnswers(sum(counts.values()), counts.get("qr", 0))
