"""Residents' comments as the dashboard lists them: newest first, searchable."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.regions.scope import Scope
from survey.responses.answers import ReadAnswer, answers_by_response
from survey.responses.models import Response
from survey.responses.rollups import zone
from survey.sites.models import Site
from survey.stats.summaries import CHANNELS, Filters

#: Comments shown at most on one page.
LIMIT = 100


@dataclass
class Comment:
    at: datetime
    site: str
    channel: str
    overall: int
    text: str
    #: The other answers, in the wording of the version answered.
    answers: list[ReadAnswer] = field(default_factory=list)
    #: Left out of the rates as suspected stuffing (pending or confirmed).
    left_out: bool = False
    #: The answer's id (to mark the comment as a complaint: a 整改单).
    response_id: int | None = None

    @property
    def overall_label(self) -> str:
        """The rating in the form's words (非常满意 … 非常不满意)."""
        return SATISFACTION_LEVELS[self.overall]

    @property
    def negative(self) -> bool:
        """不满意 or 非常不满意: shown highlighted."""
        return self.overall <= 2


def comments(
    session: Session,
    scope: Scope,
    project_id: int,
    filters: Filters,
    *,
    site_id: int | None = None,
    search: str = "",
) -> list[Comment]:
    """The newest comments of a project (or one site) within scope and filters."""
    query = (
        select(
            Response.id,
            Response.created_at,
            Site.name,
            Response.channel,
            Response.overall,
            Response.comment,
            Response.counted,
        )
        .join(Site, Response.site_id == Site.id)
        .where(Site.project_id == project_id, scope.where(Site.region_id), Response.comment != "")
        .order_by(Response.created_at.desc())
        .limit(LIMIT)
    )
    query = filter_responses(query, filters)
    if site_id:
        query = query.where(Site.id == site_id)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Response.comment.like(f"%{escaped}%", escape="\\"))
    rows = session.execute(query).all()
    answers = answers_by_response(session, [row.id for row in rows])
    return [
        Comment(
            at,
            site,
            CHANNELS[channel],
            overall,
            text,
            answers.get(response_id, []),
            not ok,
            response_id,
        )
        for response_id, at, site, channel, overall, text, ok in rows
    ]


def filter_responses(query, filters: Filters):
    """``query`` (of responses joined to their sites) limited to the filters: county,
    channel, and local days from/to."""
    if filters.county_id:
        query = query.where(Site.region_id == filters.county_id)
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    if filters.date_from:
        query = query.where(Response.created_at >= _start(filters.date_from))
    if filters.date_to:
        query = query.where(Response.created_at < _start(filters.date_to, 1))
    return query


def _start(day, plus_days: int = 0) -> datetime:
    """The moment a local day begins (``plus_days`` later)."""
    return datetime.combine(day + timedelta(days=plus_days), datetime.min.time(), zone())
