"""Phone spot-check calls: outcomes, when a task may be called, and the batch's results."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import NotFound

from survey.accounts.services import Actor, record
from survey.checks.models import OUTCOMES, TASK_STATUSES, CallAttempt, CallTask, SampleBatch
from survey.checks.notices import notice_in_force
from survey.checks.visits import schedule_home_visit
from survey.phones import mask_phone
from survey.regions.scope import Scope
from survey.responses.services import submit_response
from survey.sites.listing import ALL_SITES, Page, SiteFilter, page_of
from survey.sites.models import Site

#: Outcomes that come with the questionnaire's answers.
ANSWERED = {"completed", "proxy"}
#: Nobody reached this time: try again, on another half-day, up to the attempt limit.
RETRY = {"no_answer", "busy", "switched_off"}
#: The resident is in hospital or away: call again after ``away_days`` (CALL_AWAY_DAYS). The
#: number works, so this uses up none of the attempts.
DEFER = "away"
#: Outcomes that close the task at once, and the status they close it with. 已故 also keeps
#: the resident out of every later sample; 空号, 停机 and 非本人 mean the roster's number
#: cannot reach the person, so calling again would not help.
CLOSING = {
    "refused": "refused",
    "hearing": "to_visit",
    "deceased": "ineligible",
    "invalid_number": "unreachable",
    "suspended": "unreachable",
    "wrong_person": "unreachable",
}


#: How far ahead a call-back may be arranged.
CALLBACK_HORIZON = timedelta(days=30)


class CallRefused(ValueError):
    """The attempt cannot be recorded now; the message says why, for the caller."""


@dataclass(frozen=True)
class CallingHours:
    """The local times when residents may be called."""

    ranges: tuple[tuple[time, time], ...]
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone: str) -> "CallingHours":
        """From ``"09:00-11:30,14:30-17:30"`` (an end of ``24:00`` is midnight: the whole
        rest of the day); raises ValueError for a malformed spec."""
        ranges = []
        for part in spec.split(","):
            start, end = (
                time.max if t.strip() == "24:00" else time.fromisoformat(t.strip())
                for t in part.split("-")
            )
            if start >= end:
                raise ValueError(f"calling hours {part!r}: the start must come before the end")
            ranges.append((start, end))
        return cls(tuple(ranges), ZoneInfo(zone))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def is_open(self, moment: datetime) -> bool:
        clock = self.local(moment).time()
        return any(start <= clock < end for start, end in self.ranges)

    def describe(self) -> str:
        return "、".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in self.ranges)

    def half_day(self, moment: datetime) -> tuple:
        """(local date, morning or afternoon): retries must fall in different half-days."""
        local = self.local(moment)
        return local.date(), local.hour < 12


@dataclass(frozen=True)
class CallRules:
    """When and how often a resident may be called: the calling hours, how many failed
    attempts close a task (CALL_MAX_ATTEMPTS), how long a resident away waits (CALL_AWAY_DAYS)."""

    hours: CallingHours
    max_attempts: int
    away_days: int


def callback_time(local: datetime | None, now: datetime, hours: CallingHours) -> datetime | None:
    """A call-back time typed in local time, as an aware datetime. Raises ValueError (with a
    message for the caller) unless it lies ahead, within CALLBACK_HORIZON."""
    if local is None:
        return None
    moment = local.replace(tzinfo=hours.zone)
    if not now < moment <= now + CALLBACK_HORIZON:
        raise ValueError(f"回拨时间应在现在之后的 {CALLBACK_HORIZON.days} 天之内。")
    return moment


def deferred_until(task: CallTask, away_days: int) -> datetime | None:
    """When a task whose last attempt found the resident away (住院或外出) may be called
    again, or None when its last attempt was something else."""
    last = task.attempts[-1] if task.attempts else None
    if last is None or last.outcome != DEFER:
        return None
    return last.at + timedelta(days=away_days)


def wait_reason(task: CallTask, now: datetime, rules: CallRules) -> str | None:
    """Why ``task`` cannot be called now, or None when it can."""
    hours = rules.hours
    if not task.is_open:
        return f"此任务已结束（{task.status_label}）。"
    if not hours.is_open(now):
        return f"现在不是通话时间（{hours.describe()}）。"
    deferred = deferred_until(task, rules.away_days)
    if deferred is not None and deferred > now:
        return f"对方住院或外出，{hours.local(deferred):%m月%d日 %H:%M} 以后再拨。"
    if task.callback_at is not None:
        if task.callback_at > now:
            when = hours.local(task.callback_at)
            return f"对方要求 {when:%m月%d日 %H:%M} 后回拨。"
        return None
    tried = {hours.half_day(a.at) for a in task.attempts if a.outcome in RETRY}
    if hours.half_day(now) in tried:
        return "本半天已经拨打过，请换一个半天（上午/下午）或另一天再拨。"
    return None


def batch_visible(scope: Scope):
    """A WHERE condition on SampleBatch: batches drawn within ``scope``, and batches that
    reach into it (a city's batch shows a county user their county's tasks)."""
    reaches = exists().where(
        CallTask.batch_id == SampleBatch.id,
        CallTask.site_id == Site.id,
        scope.where(Site.region_id),
    )
    return or_(scope.where(SampleBatch.region_id), reaches)


def batch_in_scope(session: Session, scope: Scope, batch_id: int) -> SampleBatch:
    """The batch, or NotFound (404) when it does not exist or is not visible in ``scope``."""
    batch = session.scalars(
        select(SampleBatch).where(SampleBatch.id == batch_id, batch_visible(scope))
    ).first()
    if batch is None:
        raise NotFound()
    return batch


def _tasks_of(batch: SampleBatch, scope: Scope, sites: SiteFilter = ALL_SITES) -> Select:
    """The batch's tasks at sites within ``scope`` and ``sites``, with their site joined."""
    return (
        select(CallTask)
        .join(Site, CallTask.site_id == Site.id)
        .where(CallTask.batch_id == batch.id, scope.where(Site.region_id), sites.where())
    )


def callable_tasks(
    session: Session,
    batch: SampleBatch,
    scope: Scope,
    now: datetime,
    rules: CallRules,
    sites: SiteFilter = ALL_SITES,
) -> list[CallTask]:
    """The batch's tasks within ``scope`` and ``sites`` that may be called now, due
    call-backs first."""
    tasks = session.scalars(
        _tasks_of(batch, scope, sites)
        .where(CallTask.status == "open")
        .options(selectinload(CallTask.attempts), selectinload(CallTask.site))
        .order_by(CallTask.id)
    )
    ready = [t for t in tasks if wait_reason(t, now, rules) is None]
    return sorted(ready, key=lambda t: (t.callback_at is None, t.id))


def record_attempt(
    session: Session,
    task: CallTask,
    caller: Actor,
    rules: CallRules,
    now: datetime,
    call: dict,
    questions: list | None = None,
    answers: dict | None = None,
) -> CallAttempt:
    """Log one dialling of ``task`` at ``now`` and move the task on. ``call`` holds its
    ``outcome``, ``note`` and ``callback_at`` (None, or an aware time from callback_time).

    ``completed`` and ``proxy`` need the validated ``answers`` to the project's current
    ``questions``: they are stored as a ``phone`` response (a proxy's marked as such) with the
    version of the notice read in the site's city. ``callback`` needs ``callback_at``;
    ``away`` defers the task by the rules' ``away_days``. Raises CallRefused when the task
    cannot be called now. Logged as ``caller``'s. Call inside the write transaction, with
    ``task`` locked.
    """
    reason = wait_reason(task, now, rules)
    if reason:
        raise CallRefused(reason)
    outcome = call["outcome"]
    attempt = CallAttempt(task=task, at=now, caller=caller.user, **call)
    session.add(attempt)
    if outcome in ANSWERED:
        version_id = questions[0].version_id
        submission = submit_response(
            session,
            task.site_id,
            version_id,
            questions,
            channel="phone",
            answers=answers,
            proxy=outcome == "proxy",
        )
        task.response_id = submission.response_id
        task.notice = notice_in_force(session, task.site.region_id)
        _close(task, "completed", now)
    elif outcome == "callback":
        task.callback_at = call["callback_at"]
    elif outcome == DEFER:  # the deferral is read from this attempt (deferred_until)
        task.callback_at = None
    elif outcome in CLOSING:
        _close(task, CLOSING[outcome], now)
        if outcome == "deceased" and task.resident is not None:
            task.resident.deceased_at = now
        if outcome == "hearing":  # surveyed in person instead: on the county's visit list
            schedule_home_visit(session, task)
    else:  # RETRY
        task.callback_at = None
        failed = sum(1 for a in task.attempts if a.outcome in RETRY)
        if failed >= rules.max_attempts:
            _close(task, "unreachable", now)
    detail = f"电话抽查任务 {task.id}：{OUTCOMES[outcome]}"
    record(session, "call_logged", caller, detail)
    return attempt


def reveal_phone(session: Session, task: CallTask, caller: Actor, cipher) -> str:
    """The whole number of ``task``'s resident, to dial it once; every reveal is logged as
    ``caller``'s. Call inside the write transaction."""
    detail = f"电话抽查任务 {task.id}（名单人员 {task.resident_id}）"
    record(session, "phone_revealed", caller, detail)
    return cipher.decrypt(task.resident.phone_token)


def saved_message(task: CallTask, outcome: str, rules: CallRules) -> str:
    """What the caller is told once an attempt is saved: the outcome, then what becomes of
    the task, unless the outcome's label says it already (听力困难（改为上门）)."""
    label = OUTCOMES[outcome]
    if outcome == DEFER:
        when = rules.hours.local(deferred_until(task, rules.away_days))
        return f"已记录：{label}，{when:%m月%d日 %H:%M} 以后再拨。"
    if outcome == "callback":
        return f"已记录：{label}，{rules.hours.local(task.callback_at):%m月%d日 %H:%M} 回拨。"
    if task.status_label in label:
        return f"已记录：{label}。"
    return f"已记录：{label}（{task.status_label}）。"


def _close(task: CallTask, status: str, now: datetime) -> None:
    task.status, task.closed_at, task.callback_at = status, now, None


@dataclass
class BatchReport:
    """A batch's results: tasks by status, attempts by outcome, and the response rate."""

    sampled: int
    statuses: dict[str, int]
    outcomes: dict[str, int]
    completed: int
    proxy: int
    eligible: int

    @property
    def response_rate(self) -> float | None:
        """AAPOR RR1-style: completed calls over sampled residents still eligible (not
        deceased, not removed from the roster)."""
        return self.completed / self.eligible if self.eligible else None


def batch_report(session: Session, batch: SampleBatch, scope: Scope) -> BatchReport:
    """Counts for one batch's tasks within ``scope`` (two grouped queries)."""
    tasks = _tasks_of(batch, scope).subquery()
    statuses = Counter(
        dict(session.execute(select(tasks.c.status, func.count()).group_by(tasks.c.status)).all())
    )
    outcomes = Counter(
        dict(
            session.execute(
                select(CallAttempt.outcome, func.count())
                .join(tasks, CallAttempt.task_id == tasks.c.id)
                .group_by(CallAttempt.outcome)
            ).all()
        )
    )
    sampled = sum(statuses.values())
    return BatchReport(
        sampled=sampled,
        statuses={status: statuses.get(status, 0) for status in TASK_STATUSES},
        outcomes={outcome: outcomes.get(outcome, 0) for outcome in OUTCOMES},
        completed=statuses.get("completed", 0),
        proxy=outcomes.get("proxy", 0),
        eligible=sampled - statuses.get("ineligible", 0) - statuses.get("removed", 0),
    )


#: What a task list loads with each task (a batch may hold thousands: one query each, not
#: one per task).
_TASK_DETAILS = (
    selectinload(CallTask.site).selectinload(Site.region),
    selectinload(CallTask.attempts),
    selectinload(CallTask.resident),
)


def batch_tasks(session: Session, batch: SampleBatch, scope: Scope) -> list[CallTask]:
    """Every task of the batch within ``scope`` with its site, county, attempts and
    resident loaded."""
    query = _tasks_of(batch, scope).options(*_TASK_DETAILS).order_by(CallTask.id)
    return list(session.scalars(query))


def task_page(
    session: Session, batch: SampleBatch, scope: Scope, sites: SiteFilter, number: int
) -> Page:
    """Page ``number`` of the batch's tasks within ``scope`` and ``sites``, details loaded."""
    query = _tasks_of(batch, scope, sites).options(*_TASK_DETAILS).order_by(CallTask.id)
    return page_of(session, query, number)


def batches(session: Session, project_id: int, scope: Scope) -> list[SampleBatch]:
    """The project's batches visible in ``scope`` (drawn there, or reaching into it),
    newest first."""
    return list(
        session.scalars(
            select(SampleBatch)
            .where(SampleBatch.project_id == project_id, batch_visible(scope))
            .order_by(SampleBatch.created_at.desc())
        )
    )


def export_rows(tasks: list[CallTask], cipher, hours: CallingHours) -> list[list]:
    """A batch's tasks as spreadsheet rows, header first: masked numbers, never names
    (``survey.downloads.send`` writes them, formulas neutralised)."""
    rows = [["任务编号", "县（市、区）", "点位", "电话（已隐藏）", "状态", "拨打次数", "结束时间"]]
    for task in tasks:
        phone = mask_phone(cipher.decrypt(task.resident.phone_token)) if task.resident else ""
        closed = f"{hours.local(task.closed_at):%Y-%m-%d %H:%M}" if task.closed_at else ""
        row = [task.id, task.site.region.name, task.site.name, phone, task.status_label]
        rows.append([*row, len(task.attempts), closed])
    return rows
