"""申诉: a county appeals answers of a case it believes malicious (the resident never used
the site, abuse), with its evidence; a city user decides.

Upheld, the answers named are left out of the satisfaction rates (flag ``appealed``; the
rollups follow, and the rates' footnote counts them) and, once no answer of the case is
left to act on, the case closes as 申诉成立; rejected, the case goes back to the step it
was at, its deadline running as before. The resident's answer is never deleted. Every
appeal and decision is a step on the timeline and a line in the audit log.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.checks.photos import CleanPhoto
from survey.rectification.models import APPEALABLE, DECISIONS, Case, CaseStep
from survey.rectification.services import CaseError, attach_photos, close, expect_state
from survey.responses import answers_store
from survey.responses.models import APPEALED

#: Who decides a 申诉: the city, never the county that made it.
DECIDING_ROLE = "city"


def appealable(case: Case) -> list:
    """The case's answers a 申诉 may name: those not named in an upheld one already."""
    return [link for link in case.answers if not link.appealed]


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
    the case is past 整改 (or in appeal already) or no answer named is the case's."""
    if case.state not in APPEALABLE:
        raise CaseError("_schema", "只有待核实或整改中的整改单可以申诉。")
    wanted = set(values["answers"])
    named = [link for link in appealable(case) if link.response_id in wanted]
    if not named or len(named) != len(wanted):
        raise CaseError("answers", "请从这个整改单的评价中选择要申诉的。")
    for link in named:
        link.appealed = True
    step = CaseStep(kind="appealed", user=actor.user, at=now, note=values["reason"])
    case.steps.append(step)
    attach_photos(step, photos)
    case.appeal_from, case.state = case.state, "appealing"
    ids = "、".join(str(link.response_id) for link in named)
    record(session, "case_appealed", actor, f"整改单 {case.id}：申诉评价 {ids}")


def decide(session: Session, actor: Actor, case: Case, now: datetime, values: dict) -> None:
    """The city's ``decision`` on the case's 申诉, with its ``note``. Upheld: the answers
    named leave the rates (the rollups follow); the case closes when none is left to act
    on, else returns to its step. Rejected: the answers stay counted and the case returns.
    Raises CaseError for a user who is not the city's or a case not 申诉中."""
    if actor.user.role != DECIDING_ROLE:
        raise CaseError("_schema", "申诉由市级用户审核。")
    expect_state(case, "appealing")
    named = [link for link in case.answers if link.appealed and link.response.flag != APPEALED]
    upheld = values["decision"] == "upheld"
    case.steps.append(
        CaseStep(kind=f"appeal_{values['decision']}", user=actor.user, at=now, note=values["note"])
    )
    if upheld:
        responses = [link.response for link in named]
        with answers_store.changing(session, responses):
            for response in responses:
                response.flag = APPEALED
                response.reviewed_by_id, response.reviewed_at = actor.user.id, now
    else:
        for link in named:
            link.appealed = False
    back_to, case.appeal_from = case.appeal_from, None
    if upheld and not appealable(case):
        close(case, "appeal_upheld", now)
    else:
        case.state = back_to
    ids = "、".join(str(link.response_id) for link in named)
    detail = f"整改单 {case.id}：{DECISIONS[values['decision']]}（评价 {ids}）"
    record(session, "case_appeal_decided", actor, detail)
