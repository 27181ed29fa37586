"""申诉: a county appeals answers of a case it believes malicious (the resident never used
the site, abuse), with its evidence; a city user decides.

Upheld, the answers named are left out of the satisfaction rates (flag ``appealed``; the
rollups follow, and the rates' footnote counts them) and, once no answer of the case is
left to act on, the case closes as 申诉成立. Otherwise the case goes back to the step it was
at, its deadlines moved on by the working days the appeal took. A rejected answer may not
be appealed again. The resident's answer is never deleted. Every appeal and decision is a
step on the timeline and a line in the audit log.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.checks.photos import CleanPhoto
from survey.rectification import deadlines
from survey.rectification.models import APPEALABLE, DECISIONS, Case, CaseAnswer, CaseStep
from survey.rectification.services import CaseError, attach_photos, close, expect_state
from survey.rectification.workdays import WorkCalendar
from survey.responses import answers_store
from survey.responses.models import APPEALED
from survey.responses.rollups import local_day

#: Who decides a 申诉: the city, never the county that made it.
DECIDING_ROLE = "city"


def appealable(case: Case) -> list[CaseAnswer]:
    """The case's answers a 申诉 may name: those never named in one."""
    return [link for link in case.answers if link.appeal is None]


def appeal(
    session: Session,
    actor: Actor,
    case: Case,
    now: datetime,
    values: dict,
    photos: list[CleanPhoto],
) -> None:
    """The county appeals the case's ``answers`` (response ids) for its ``reason``, with
    photos as evidence; the case is 申诉中 until the city decides. Raises CaseError when
    the case is past 整改 (or in appeal already) or an answer named may not be appealed."""
    if case.state not in APPEALABLE:
        raise CaseError("_schema", "只有待核实或整改中的整改单可以申诉。")
    if not appealable(case):
        raise CaseError("_schema", "这个整改单的评价都已申诉过，每条评价只能申诉一次。")
    wanted = set(values["answers"])
    named = [link for link in appealable(case) if link.response_id in wanted]
    if not named or len(named) != len(wanted):
        raise CaseError("answers", "请从这个整改单尚未申诉过的评价中选择。")
    for link in named:
        link.appeal = "pending"
    step = CaseStep(kind="appealed", user=actor.user, at=now, note=values["reason"])
    case.steps.append(step)
    attach_photos(step, photos)
    case.appeal_from, case.state = case.state, "appealing"
    ids = "、".join(str(link.response_id) for link in named)
    record(session, "case_appealed", actor, f"整改单 {case.id}：申诉评价 {ids}")


def decide(
    session: Session, actor: Actor, case: Case, calendar: WorkCalendar, now: datetime, values: dict
) -> None:
    """The city's ``decision`` on the case's 申诉, with its ``note``. Upheld: the answers
    named leave the rates (the rollups follow); the case closes when none is left to act
    on. Rejected: the answers stay counted. A case not closed goes back to its step.
    Raises CaseError for a user who is not the city's or a case not 申诉中."""
    if actor.user.role != DECIDING_ROLE:
        raise CaseError("_schema", "申诉由市级用户审核。")
    expect_state(case, "appealing")
    decision = values["decision"]
    named = [link for link in case.answers if link.appeal == "pending"]
    appealed_at = next(step.at for step in reversed(case.steps) if step.kind == "appealed")
    case.steps.append(
        CaseStep(kind=f"appeal_{decision}", user=actor.user, at=now, note=values["note"])
    )
    for link in named:
        link.appeal = decision
    if decision == "upheld":
        # An answer left out already (suspected stuffing) keeps its reviewer's flag.
        responses = [link.response for link in named if link.response.counted]
        with answers_store.changing(session, responses):
            for response in responses:
                response.flag = APPEALED
    back_to, case.appeal_from = case.appeal_from, None
    if decision == "upheld" and all(link.excluded for link in case.answers):
        close(case, "appeal_upheld", now)
    else:
        case.state = back_to
        deadlines.extend_by_appeal(case, calendar, local_day(appealed_at), local_day(now))
    ids = "、".join(str(link.response_id) for link in named)
    record(
        session,
        "case_appeal_decided",
        actor,
        f"整改单 {case.id}：{DECISIONS[decision]}（评价 {ids}）",
    )
