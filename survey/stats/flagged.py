"""Answers flagged as suspected stuffing (``survey.responses.stuffing``): how many each site
left out of its rates, the review list, and a reviewer's decision (docs/METRICS.md)."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from survey.accounts.services import Actor, record
from survey.db import now_utc
from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.regions.scope import Scope
from survey.responses import answers_store
from survey.responses.models import APPEALED, FLAG_STATES, Response
from survey.responses.stuffing import describe
from survey.sites.listing import Page, page_of
from survey.sites.models import Site
from survey.stats.comment_list import filter_responses
from survey.stats.summaries import Filters

#: A decision → the flag it leaves.
DECISIONS = {"restore": "restored", "confirm": "confirmed"}
PER_PAGE = 100


def _with_flag(scope: Scope, project_ids: Iterable[int], filters: Filters):
    """Answers with any flag (suspected stuffing in any review state, or left out by an
    upheld 申诉) of the projects' sites within scope and filters. ``flag IS NOT NULL`` is
    spelt out so the partial index ``ix_responses_flagged`` serves."""
    query = (
        select(Response)
        .join(Site, Response.site_id == Site.id)
        .where(
            Response.flag.is_not(None),
            Site.project_id.in_(list(project_ids)),
            scope.where(Site.region_id),
        )
    )
    return filter_responses(query, filters)


def _flagged(scope: Scope, project_ids: Iterable[int], filters: Filters):
    """Answers flagged as suspected stuffing (any review state): what reviewers list and
    decide on. An answer an upheld 申诉 left out is the city's decision, not theirs."""
    return _with_flag(scope, project_ids, filters).where(Response.flag != APPEALED)


#: Why answers are left out of the rates → the column of LeftOut's rows counting them.
WHY_LEFT_OUT = {"left_out": 3, "appealed": 4}


@dataclass(frozen=True)
class LeftOut:
    """How many answers are left out of the rates, per site, with its county and project,
    so they can be added up by any of the three: suspected stuffing not restored
    (``left_out``), and answers an upheld 申诉 left out (``appealed``)."""

    # (site id, county id, project id, stuffing, appealed)
    rows: list[tuple[int, int, int, int, int]]

    def by(self, group: str, why: str = "left_out") -> dict[int, int]:
        """{id: answers left out ``why``} of each ``site``, ``county`` or ``project``."""
        column = ("site", "county", "project").index(group)
        totals: dict[int, int] = {}
        for row in self.rows:
            if row[WHY_LEFT_OUT[why]]:
                totals[row[column]] = totals.get(row[column], 0) + row[WHY_LEFT_OUT[why]]
        return totals

    def attach(self, summaries, group: str) -> None:
        """Set ``left_out`` and ``appealed`` of each Summary (or stats dict) keyed by a
        ``group`` id."""
        for why in WHY_LEFT_OUT:
            totals = self.by(group, why)
            for row in summaries:
                if isinstance(row, dict):
                    row[why] = totals.get(row["id"], 0)
                else:
                    setattr(row, why, totals.get(row.key, 0))


def left_out(
    session: Session, scope: Scope, project_ids: Iterable[int], filters: Filters
) -> LeftOut:
    """The answers of the projects' sites within scope and filters left out of the rates,
    by why (WHY_LEFT_OUT)."""
    appealed = Response.flag == APPEALED
    query = (
        _with_flag(scope, project_ids, filters)
        .where(~Response.counted)
        .with_only_columns(
            Response.site_id,
            Site.region_id,
            Site.project_id,
            func.count(case((~appealed, 1))),
            func.count(case((appealed, 1))),
        )
        .group_by(Response.site_id, Site.region_id, Site.project_id)
    )
    return LeftOut([tuple(row) for row in session.execute(query)])


@dataclass(frozen=True)
class ReviewFilter:
    """Which flagged answers the review list shows: a review state, and one site or all."""

    state: str = "pending"
    site_id: int | None = None

    @property
    def args(self) -> dict:
        """The filter as URL arguments (the pager keeps them)."""
        return self.in_state(self.state)

    def in_state(self, state: str) -> dict:
        """The URL arguments of the same list in another review state."""
        return {"state": state} | ({"site": self.site_id} if self.site_id else {})


@dataclass(frozen=True)
class Row:
    """A flagged answer as the review list shows it."""

    response: Response

    @property
    def state(self) -> str:
        return FLAG_STATES[self.response.flag]

    @property
    def reasons(self) -> str:
        return describe(self.response.flag_reasons)

    @property
    def level(self) -> str:
        return SATISFACTION_LEVELS[self.response.overall]

    @property
    def network(self) -> str:
        """The start of the address's keyed hash: enough to see one sender's answers."""
        return (self.response.client_hash or "")[:8]


def review_page(
    session: Session,
    scope: Scope,
    project_id: int,
    filters: Filters,
    wanted: ReviewFilter,
    number: int,
) -> Page:
    """Page ``number`` of the project's flagged answers in ``wanted`` state, newest first;
    its items are Rows."""
    query = _selected(scope, project_id, filters, wanted).options(joinedload(Response.site))
    page = page_of(session, query.order_by(Response.created_at.desc()), number, PER_PAGE)
    return Page([Row(r) for r in page.items], page.number, page.total, page.per_page)


def _selected(scope: Scope, project_id: int, filters: Filters, wanted: ReviewFilter):
    query = _flagged(scope, [project_id], filters).where(Response.flag == wanted.state)
    if wanted.site_id:
        query = query.where(Response.site_id == wanted.site_id)
    return query


def state_counts(
    session: Session, scope: Scope, project_id: int, filters: Filters, site_id: int | None
) -> dict:
    """{review state: how many of the project's answers (of one site, with ``site_id``)
    are in it} within scope and filters."""
    query = (
        _flagged(scope, [project_id], filters)
        .with_only_columns(Response.flag, func.count())
        .group_by(Response.flag)
    )
    if site_id:
        query = query.where(Response.site_id == site_id)
    return dict.fromkeys(FLAG_STATES, 0) | dict(session.execute(query).all())


def review(
    session: Session,
    scope: Scope,
    project_id: int,
    ids: list[int] | None,
    decision: str,
    *,
    actor: Actor,
    filters: Filters,
    wanted: ReviewFilter,
) -> int:
    """Restore (count again) or confirm (keep out) flagged answers of the project within
    scope: those with ``ids``, or, with ``ids`` None, every one ``wanted`` and ``filters``
    select. The rollups follow (answers_store.changing); one audit line records it.
    Returns how many answers changed. Call inside the write transaction."""
    new_flag = DECISIONS[decision]
    if ids is None:
        query = _selected(scope, project_id, filters, wanted)
    else:
        query = _flagged(scope, [project_id], filters).where(Response.id.in_(ids))
    responses = session.scalars(query.where(Response.flag != new_flag)).all()
    with answers_store.changing(session, responses):
        for response in responses:
            response.flag = new_flag
            response.reviewed_by_id, response.reviewed_at = actor.user.id, now_utc()
    changed = [response.id for response in responses]
    if changed:
        label = "恢复计入" if decision == "restore" else "确认刷评"
        ids = "、".join(map(str, changed))  # the audit line keeps the first 500 characters
        detail = f"项目 {project_id}：{label} {len(changed)} 份（编号 {ids}）"
        record(session, "stuffing_reviewed", actor, detail)
    return len(changed)
