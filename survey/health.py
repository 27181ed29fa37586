"""``GET /healthz`` for load balancers and monitoring."""

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from survey.db import db
from survey.errors import DATABASE_DOWN_RETRY_SECONDS

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        retry = {"Retry-After": str(DATABASE_DOWN_RETRY_SECONDS)}
        return {"status": "unavailable", "database": "unreachable"}, 503, retry
    return {"status": "ok"}
