"""Who is sending a resident's answer, read off the request, what it answers, and the
stuffing checks it goes through: shared by the form and the API."""

from flask import current_app, request
from sqlalchemy.orm import Session

from survey.responses import services, stuffing


def request_sender(device_id: str | None) -> stuffing.Sender:
    """The Sender of this request, with the device id its client gave (None: none given)."""
    return sender_of(request.remote_addr or "", request.user_agent.string, device_id)


def sender_of(address: str, agent: str, device_id: str | None) -> stuffing.Sender:
    """The Sender from ``address`` with user agent ``agent`` and the device id its client
    gave, hashed with the app's key (needs the app's context, not a request's)."""
    return stuffing.sender(current_app.config["SECRET_KEY"], address, agent, device_id)


def submission_target(
    session: Session, token: str, signed_nonce: str
) -> services.SubmissionTarget | None:
    """What a submission to ``token`` answers, its nonce checked with the app's key and
    ``FORM_NONCE_MAX_AGE_HOURS``; returns and raises as ``services.submission_target``."""
    config = current_app.config
    return services.submission_target(
        session,
        token,
        signed_nonce,
        config["SECRET_KEY"],
        config["FORM_NONCE_MAX_AGE_HOURS"] * 3600,
    )


def stuffing_checks(session: Session) -> stuffing.Checks:
    """The app's stuffing rules, counting in its Redis (``REDIS_URL``) or its database."""
    app = current_app
    return stuffing.checks(session, app.config, app.extensions.get("stuffing_counts"))


def contact(phone: str | None) -> str | None:
    """The number a resident left for 回访, encrypted with the app's field key (None when
    they left none): stored beside their answer (``ResponseContact``)."""
    return current_app.extensions["field_cipher"].encrypt(phone) if phone else None
