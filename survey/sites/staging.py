"""Staged imports, the steps every uploaded file goes through (site lists, rosters): kept
as checked until its uploader imports it or cancels, and dropped when left staged too long.

What differs between files (how a row is checked and inserted, what the report and audit
log say) stays with each importer; the model's columns and states are ``StagedImport``'s.
Services never commit; confirming or cancelling runs inside the write transaction with the
import locked and ``is_staged`` checked again (``survey.sites.staging_views``).
"""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.db import now_utc
from survey.sites.models import StagedImport

#: Bad rows kept for an import's report; the rest are only counted.
PROBLEMS_KEPT = 1000
#: A staged upload not confirmed within this long is dropped by the purge.
STAGED_FOR = timedelta(days=1)


def stage(session: Session, staged: StagedImport) -> StagedImport:
    """Keep a checked upload until its uploader imports or cancels it; returns it."""
    session.add(staged)
    session.flush()
    return staged


def close_imported(
    session: Session,
    actor: Actor,
    staged: StagedImport,
    added: int,
    action: str,
    detail: str,
    skipped: list | None = None,
) -> None:
    """Close ``staged`` as imported with ``added`` rows, the rows ``skipped`` at import
    (``[[line, reason], …]``) counted and reported as bad, logged as ``actor``'s."""
    staged.close("imported", now_utc())
    staged.valid_rows = added
    if skipped:
        staged.bad_rows += len(skipped)
        staged.problems = sorted(staged.problems + skipped)[:PROBLEMS_KEPT]
    record(session, action, actor, detail)


def cancel_import(session: Session, actor: Actor, staged: StagedImport) -> None:
    """Drop a staged upload without importing anything, logged as ``actor``'s."""
    staged.close("cancelled", now_utc())
    detail = f"{staged.audit_label}（导入编号 {staged.id}）"
    record(session, staged.cancelled_action, actor, detail)


def recent_imports(session: Session, model: type[StagedImport], *where, limit: int = 10) -> list:
    """The latest uploads of ``model`` matching ``where``, newest first."""
    query = select(model).where(*where).order_by(model.created_at.desc(), model.id.desc())
    return list(session.scalars(query.limit(limit)))


def drop_stale(session: Session, model: type[StagedImport], now: datetime) -> int:
    """Cancel the uploads of ``model`` left staged for longer than STAGED_FOR, dropping
    their payload. Returns how many."""
    result = session.execute(
        update(model)
        .where(model.status == "staged", model.created_at < now - STAGED_FOR)
        .values(
            {"status": "cancelled", model.payload_column: model.payload_emptied, "finished_at": now}
        )
    )
    return result.rowcount
