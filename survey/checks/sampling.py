"""Drawing phone spot-check samples from the roster, reproducibly, and sizing them."""

import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.checks.models import CallAttempt, CallTask, Resident, SampleBatch
from survey.regions.scope import Scope
from survey.sites.models import Project, Site

#: z for 95 % confidence, and the margin the guidance aims at.
Z_95 = 1.959964
MARGIN = 0.05


def recommended_size(population: int, margin: float = MARGIN, z: float = Z_95) -> int:
    """Residents to reach for ±``margin`` at 95 % confidence on a satisfaction rate, with the
    finite-population correction: n = n0 / (1 + (n0 − 1) / N), n0 = z²·p(1−p)/e², p = 0.5
    (the most cautious guess). Returns 0 for an empty roster, never more than ``population``."""
    if population <= 0:
        return 0
    n0 = z * z * 0.25 / (margin * margin)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


def sample_size(mode: str, size: int, minimum: int, eligible: int) -> int:
    """How many of ``eligible`` residents a site contributes: N, or P % but at least
    ``minimum`` (never more than there are)."""
    if mode == "count":
        wanted = size
    else:
        wanted = max(math.ceil(eligible * size / 100), minimum)
    return min(wanted, eligible)


@dataclass
class SiteFrame:
    """A site's roster as seen by the sampler."""

    site_id: int
    site_name: str
    region_name: str
    roster: int
    eligible: int
    recommended: int


def _eligible(project_id: int, scope: Scope, cutoff: datetime):
    """Residents who may be sampled: alive, not in an open task, not called since ``cutoff``."""
    called = (
        select(CallAttempt.id)
        .join(CallTask, CallAttempt.task_id == CallTask.id)
        .where(CallTask.resident_id == Resident.id, CallAttempt.at >= cutoff)
    )
    pending = select(CallTask.id).where(
        CallTask.resident_id == Resident.id, CallTask.status == "open"
    )
    return (
        Resident.project_id == project_id,
        scope.where(Site.region_id),
        Resident.deceased_at.is_(None),
        ~exists(called),
        ~exists(pending),
    )


def sampling_frame(
    session: Session, project_id: int, scope: Scope, now: datetime, exclude_days: int
) -> list[SiteFrame]:
    """Every site of the project within ``scope`` that has a roster: its size, how many may
    be sampled now, and the size recommended for ±5 % at 95 %."""
    cutoff = now - timedelta(days=exclude_days)
    totals = dict(
        session.execute(
            select(Resident.site_id, func.count())
            .join(Site, Resident.site_id == Site.id)
            .where(Resident.project_id == project_id, scope.where(Site.region_id))
            .group_by(Resident.site_id)
        ).all()
    )
    eligible = dict(
        session.execute(
            select(Resident.site_id, func.count())
            .join(Site, Resident.site_id == Site.id)
            .where(*_eligible(project_id, scope, cutoff))
            .group_by(Resident.site_id)
        ).all()
    )
    sites = session.scalars(
        select(Site).where(Site.id.in_(list(totals))).order_by(Site.region_id, Site.name)
    )
    return [
        SiteFrame(
            site.id,
            site.name,
            site.region.name,
            totals[site.id],
            eligible.get(site.id, 0),
            recommended_size(totals[site.id]),
        )
        for site in sites
    ]


def new_seed() -> str:
    return secrets.token_hex(8)


def draw_sample(
    session: Session,
    project_id: int,
    scope: Scope,
    actor: Actor,
    *,
    mode: str,
    size: int,
    minimum: int = 0,
    seed: str | None = None,
    now: datetime,
    exclude_days: int,
) -> SampleBatch:
    """Draw residents to call from each site of the project within ``scope`` and make a
    call task of each, logged as ``actor``'s. The same seed on the same roster
    draws the same people: each site is sampled with its own generator seeded by ``seed``
    and the site id, from its eligible residents in id order. Returns the batch (with no
    tasks if nobody was eligible)."""
    batch = SampleBatch(
        project_id=project_id,
        region_id=actor.user.region_id,
        seed=seed or new_seed(),
        mode=mode,
        size=size,
        minimum=minimum if mode == "percent" else 0,
        exclude_days=exclude_days,
        created_by=actor.user,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    cutoff = now - timedelta(days=exclude_days)
    by_site: dict[int, list[int]] = {}
    rows = session.execute(
        select(Resident.site_id, Resident.id)
        .join(Site, Resident.site_id == Site.id)
        .where(*_eligible(project_id, scope, cutoff))
        .order_by(Resident.site_id, Resident.id)
    )
    for site_id, resident_id in rows:
        by_site.setdefault(site_id, []).append(resident_id)
    tasks = []
    for site_id, residents in by_site.items():
        k = sample_size(mode, size, minimum, len(residents))
        chosen = random.Random(f"{batch.seed}:{site_id}").sample(residents, k)
        tasks.extend(
            {"batch_id": batch.id, "resident_id": r, "site_id": site_id, "created_at": now}
            for r in sorted(chosen)
        )
    if tasks:
        session.execute(insert(CallTask), tasks)
    project = session.get(Project, project_id)
    detail = (
        f"{project.name}：批次 {batch.id}，{batch.mode_label}，种子 {batch.seed}，"
        f"{len(batch.tasks)} 人"
    )
    record(session, "sample_drawn", actor, detail)
    return batch
