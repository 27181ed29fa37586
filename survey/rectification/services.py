"""What happens to a case: bad answers open cases or join the open one of their site, a
deadline passing marks a case 超期, the county verifies it and rectifies what was found.

Services take the session and values and never commit (docs/ARCHITECTURE.md); each step is
one line on the case's timeline and one in the audit log.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from survey.accounts.services import Actor, record
from survey.checks.models import CallTask, Resident
from survey.checks.photos import CleanPhoto
from survey.form_posts import FieldError
from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.rectification import deadlines
from survey.rectification.models import (
    DUE_OF_STATE,
    FOLLOWUP_ATTEMPTS,
    Case,
    CaseAnswer,
    CaseStep,
    OpeningStart,
    StepPhoto,
)
from survey.rectification.workdays import WorkCalendar
from survey.regions.scope import Scope
from survey.responses.models import BAD_SCORES, CHANNELS, Response, ResponseContact
from survey.responses.rollups import local_day


class CaseError(FieldError):
    """A step that cannot be taken as asked (a field's reason)."""


def open_none_before_now(session: Session) -> None:
    """Let the answers stored so far open no case (historical answers, imported or made up
    for the demo): only those stored from now on will."""
    start = session.get(OpeningStart, 1) or OpeningStart(id=1)
    start.after_response_id = session.scalar(select(func.max(Response.id))) or 0
    session.add(start)


def _opens_after(session: Session) -> int:
    return session.scalar(select(OpeningStart.after_response_id)) or 0


def _waiting_answers(session: Session) -> list[Response]:
    """The bad answers counted in the rates (not suspected stuffing, or restored) that are in
    no case yet, oldest first."""
    in_case = exists().where(CaseAnswer.response_id == Response.id)
    query = (
        select(Response)
        .where(
            Response.overall.in_(BAD_SCORES),
            Response.counted,
            Response.id > _opens_after(session),
            ~in_case,
        )
        .options(joinedload(Response.site))
        .order_by(Response.id)
    )
    return list(session.scalars(query))


def _open_case_of(session: Session, site_id: int) -> Case | None:
    query = select(Case).where(Case.site_id == site_id, Case.state != "closed")
    return session.scalars(query).first()


def _what(response: Response) -> str:
    return f"{CHANNELS[response.channel]}：{SATISFACTION_LEVELS[response.overall]}"


def _case_for(
    session: Session, response: Response, calendar: WorkCalendar, now: datetime, arrived: date
) -> tuple[Case, bool]:
    """The open case of the response's site, or a new one whose deadlines count from
    ``arrived``; and whether it is new. The response joins it."""
    site = response.site
    case = _open_case_of(session, site.id)
    opened = case is None
    if opened:
        case = Case(
            project_id=site.project_id,
            site=site,
            region_id=site.region_id,
            opened_at=now,
            arrived_on=arrived,
            assumed_years=[],
        )
        deadlines.set_opening_deadlines(
            case, calendar, deadlines.rules_of(session, site.project_id)
        )
        session.add(case)
    case.answers.append(CaseAnswer(response=response))
    return case, opened


def open_cases(session: Session, calendar: WorkCalendar, now: datetime) -> tuple[int, int]:
    """Give every waiting bad answer its case: a new one for its site's county, or the
    site's open case, which it joins. Returns (cases opened, answers joined)."""
    opened = joined = 0
    for response in _waiting_answers(session):
        case, new = _case_for(session, response, calendar, now, local_day(response.created_at))
        case.steps.append(
            CaseStep(kind="opened" if new else "joined", at=now, note=_what(response))
        )
        opened, joined = opened + new, joined + (not new)
        session.flush()  # the next answer for this site finds the case
    return opened, joined


def open_for_complaint(
    session: Session, actor: Actor, response: Response, calendar: WorkCalendar, now: datetime
) -> Case:
    """A comment staff mark as a complaint opens a case (or joins its site's open one),
    whatever its score; its deadlines count from today, the day it was marked. The case it
    is in already, if any. Raises CaseError for an answer left out as suspected stuffing."""
    found = session.get(CaseAnswer, response.id)
    if found is not None:
        return found.case
    if not response.counted:
        raise CaseError("_schema", "疑似刷评的评价须先审核恢复，才能转为整改单。")
    case, _ = _case_for(session, response, calendar, now, local_day(now))
    note = f"{_what(response)}；留言：{response.comment}"
    case.steps.append(CaseStep(kind="complaint", user=actor.user, at=now, note=note))
    session.flush()
    record(session, "case_complaint", actor, f"整改单 {case.id}：{response.site.name}")
    return case


def mark_overdue(session: Session, today: date, now: datetime) -> int:
    """Mark 超期 every open case whose running deadline passed before today; how many."""
    marked = 0
    query = select(Case).where(Case.state.in_(DUE_OF_STATE), Case.overdue.is_(False))
    for case in session.scalars(query):
        if case.due is not None and case.due < today:
            case.overdue = True
            case.steps.append(CaseStep(kind="overdue", at=now, due=case.due, late=True))
            marked += 1
    return marked


def cases_in_scope(session: Session, scope: Scope, open_only: bool = True) -> list[Case]:
    """The cases of the counties in ``scope``: open ones by deadline (the overdue first,
    as their deadline is earliest), then closed ones newest first."""
    query = (
        select(Case)
        .where(scope.where(Case.region_id))
        .options(joinedload(Case.site), joinedload(Case.region), joinedload(Case.project))
    )
    if open_only:
        query = query.where(Case.state != "closed")
    cases = list(session.scalars(query))
    far = date.max
    return sorted(cases, key=lambda c: (not c.is_open, c.due or far, c.id))


def due_today(cases: list[Case], today: date) -> int:
    """How many of ``cases`` have their running deadline today."""
    return sum(1 for case in cases if case.due == today)


def expect_state(case: Case, state: str) -> None:
    """Raise CaseError unless ``case`` is (still) in ``state``."""
    if case.state != state:
        raise CaseError("_schema", "这个整改单已经办理到下一步了，请看时间线。")


def _step(case: Case, kind: str, actor: Actor, now: datetime, today: date, note: str) -> CaseStep:
    """A step answering the case's running deadline, ``late`` (and the case 超期) when done
    after it."""
    due = case.due
    late = due is not None and today > due
    case.overdue = case.overdue or late
    step = CaseStep(kind=kind, user=actor.user, at=now, note=note, due=due, late=late)
    case.steps.append(step)
    return step


def verify(
    session: Session, actor: Actor, case: Case, calendar: WorkCalendar, now: datetime, values: dict
) -> None:
    """核实: what the county found (``finding``); a case marked ``complex`` (with its
    ``complex_reason``) gets the longer 整改 deadline. The case goes on to 整改中.

    Raises CaseError when the case is no longer 待核实 (done meanwhile) or a complex case
    has no reason."""
    expect_state(case, "verifying")
    today = local_day(now)
    _step(case, "verified", actor, now, today, values["finding"])
    if values["complex"]:
        if not values.get("complex_reason"):
            raise CaseError("complex_reason", "标记为复杂时，请写明原因。")
        case.complex, case.complex_reason = True, values["complex_reason"]
        case.steps.append(
            CaseStep(kind="complex", user=actor.user, at=now, note=case.complex_reason)
        )
        deadlines.set_opening_deadlines(
            case, calendar, deadlines.rules_of(session, case.project_id)
        )
    case.state = "rectifying"
    record(session, "case_verified", actor, f"整改单 {case.id}：{case.site.name}")


def attach_photos(step: CaseStep, photos: list[CleanPhoto]) -> None:
    """Keep ``photos`` (re-encoded on upload) with the step they show."""
    for photo in photos:
        step.photos.append(
            StepPhoto(
                content_type=photo.content_type,
                data=photo.data,
                width=photo.width,
                height=photo.height,
            )
        )


def rectify(
    session: Session,
    actor: Actor,
    case: Case,
    calendar: WorkCalendar,
    now: datetime,
    values: dict,
    photos: list[CleanPhoto],
) -> None:
    """整改完成: what was done (``done``), with photos; the case waits for 回访, due the
    project's working days after today. Raises CaseError when it is no longer 整改中."""
    expect_state(case, "rectifying")
    today = local_day(now)
    attach_photos(_step(case, "rectified", actor, now, today, values["done"]), photos)
    rules = deadlines.rules_of(session, case.project_id)
    deadlines.set_followup_deadline(case, calendar, rules, today)
    case.state = "following_up"
    record(session, "case_rectified", actor, f"整改单 {case.id}：{case.site.name}")


@dataclass(frozen=True)
class CallBack:
    """The number to call back for 回访, encrypted, and whose it is (for the audit line)."""

    phone_token: str
    whose: str


def followup_number(session: Session, case: Case) -> CallBack | None:
    """Whom to call back: the roster entry of the case's first phone answer still on the
    roster, else the number the first resident who left one on the QR form left (a visit
    answer leaves none); None when there is neither. An answer an upheld 申诉 left out is
    not called back."""
    not_left_out = or_(CaseAnswer.appeal.is_(None), CaseAnswer.appeal != "upheld")
    on_roster = (
        select(Resident)
        .join(CallTask, CallTask.resident_id == Resident.id)
        .join(CaseAnswer, CaseAnswer.response_id == CallTask.response_id)
        .where(CaseAnswer.case_id == case.id, not_left_out)
        .order_by(CaseAnswer.response_id)
        .limit(1)
    )
    if (resident := session.scalars(on_roster).first()) is not None:
        return CallBack(resident.phone_token, f"名单人员 {resident.id}")
    left = (
        select(ResponseContact)
        .join(CaseAnswer, CaseAnswer.response_id == ResponseContact.response_id)
        .where(CaseAnswer.case_id == case.id, not_left_out)
        .order_by(CaseAnswer.response_id)
        .limit(1)
    )
    if (contact := session.scalars(left).first()) is not None:
        return CallBack(contact.phone_token, f"评价 {contact.response_id} 留下的电话")
    return None


def reveal_followup_phone(session: Session, actor: Actor, case: Case, cipher) -> str | None:
    """The whole number to call back for 回访, audited like a call's (``phone_revealed``);
    None when the case has none. Call inside the write transaction."""
    expect_state(case, "following_up")
    number = followup_number(session, case)
    if number is None:
        return None
    record(session, "phone_revealed", actor, f"整改单 {case.id} 回访（{number.whose}）")
    return cipher.decrypt(number.phone_token)


def close(case: Case, outcome: str, now: datetime) -> None:
    case.state, case.outcome, case.closed_at = "closed", outcome, now


def follow_up(session: Session, actor: Actor, case: Case, now: datetime, values: dict) -> None:
    """One 回访 call: ``reached`` with the resident's new ``score`` and whether the problem
    was ``solved`` closes the case (已办结); ``missed`` counts, and the FOLLOWUP_ATTEMPTS-th
    unanswered call closes it as 无法回访. Raises CaseError when it is no longer 待回访."""
    expect_state(case, "following_up")
    today = local_day(now)
    if values["outcome"] == "missed":
        case.followup_missed += 1
        _step(case, "followup_missed", actor, now, today, values["note"])
        if case.followup_missed >= FOLLOWUP_ATTEMPTS:
            note = f"{FOLLOWUP_ATTEMPTS} 次未接通"
            case.steps.append(CaseStep(kind="unreachable", user=actor.user, at=now, note=note))
            close(case, "unreachable", now)
        record(session, "case_followed_up", actor, f"整改单 {case.id}：回访未接通")
        return
    solved = "已解决" if values["solved"] else "未解决"
    note = f"{solved}，重新评价：{SATISFACTION_LEVELS[values['score']]}"
    _step(case, "followed_up", actor, now, today, "\n".join(filter(None, [note, values["note"]])))
    case.followup_score, case.followup_solved = values["score"], values["solved"]
    close(case, "done", now)
    record(session, "case_followed_up", actor, f"整改单 {case.id}：{note}")


def close_unreachable(session: Session, actor: Actor, case: Case, now: datetime) -> None:
    """无法回访 for a case with no number to call (no phone answer on the roster, no number
    left on the QR form). Raises CaseError when it has one or is no longer 待回访."""
    expect_state(case, "following_up")
    if followup_number(session, case) is not None:
        raise CaseError("_schema", "这个整改单有回访电话，请先拨打。")
    case.steps.append(CaseStep(kind="unreachable", user=actor.user, at=now, note="没有联系方式"))
    close(case, "unreachable", now)
    record(session, "case_followed_up", actor, f"整改单 {case.id}：无法回访（没有联系方式）")
