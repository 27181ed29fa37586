"""Admin pages for API tokens: list, create (its secret shown once, in the answer to the
POST that made it), revoke after a confirmation, and each token's webhook delivery log."""

from functools import partial

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from survey.accounts.access import current_actor, role_required
from survey.api import tokens, webhooks
from survey.api.models import ApiToken
from survey.api.schemas import token_form_schema
from survey.db import db, now_utc, write_transaction
from survey.form_posts import submitted
from survey.sites.listing import ALL_SITES
from survey.sites.schemas import list_query_schema

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")

#: Deliveries per page of a token's log.
DELIVERIES_PER_PAGE = 50


def _cipher():
    return current_app.extensions["field_cipher"]


def _form_page(errors: dict | None = None):
    return render_template(
        "accounts/api_token_form.html",
        form=request.form,
        errors=errors or {},
        regions=tokens.token_regions(db.session),
    )


@bp.get("/")
@role_required("admin")
def index():
    """Every token: its region, when it was last used, whether it is revoked."""
    return render_template("accounts/api_tokens.html", tokens=tokens.list_tokens(db.session))


@bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new():
    """Create a token; its secret (and its webhook's) is shown once."""
    made, reply = submitted(
        token_form_schema,
        _form_page,
        partial(tokens.create_token, db.session, current_actor(), _cipher()),
    )
    if reply:
        return reply
    return render_template("accounts/api_token_secret.html", made=made), 201


@bp.get("/<int:token_id>")
@role_required("admin")
def show(token_id):
    """A token and its webhook's delivery log, newest first, a page at a time."""
    token = db.get_or_404(ApiToken, token_id)
    query, _ = list_query_schema.load_leniently(request.args.to_dict())
    log = webhooks.delivery_log(db.session, token, query["page"], DELIVERIES_PER_PAGE)
    return render_template(
        "accounts/api_token.html",
        token=token,
        page=log,
        list_endpoint=".show",
        list_ids={"token_id": token.id},
        sites=ALL_SITES,
    )


@bp.get("/<int:token_id>/revoke")
@role_required("admin")
def confirm_revoke(token_id):
    """Ask before revoking: the system using the token stops working at once."""
    token = db.get_or_404(ApiToken, token_id)
    return render_template("accounts/api_token_revoke.html", token=token)


@bp.post("/<int:token_id>/revoke")
@role_required("admin")
def revoke(token_id):
    """Revoke the token for good; posted from the confirmation page."""
    token = db.get_or_404(ApiToken, token_id)
    with write_transaction(db.session, token):
        tokens.revoke_token(db.session, current_actor(), token, now_utc())
    flash(f"已吊销令牌“{token.name}”：使用它的请求从现在起一律被拒绝（401）。", "info")
    return redirect(url_for(".show", token_id=token.id))


@bp.post("/<int:token_id>/ping")
@role_required("admin")
def ping(token_id):
    """Queue a test message to the token's webhook, sent with the next deliveries."""
    token = db.get_or_404(ApiToken, token_id)
    try:
        with write_transaction(db.session, token):
            webhooks.queue_ping(db.session, current_actor(), token, now_utc())
    except webhooks.NoWebhook as err:
        flash(str(err), "error")
    else:
        flash("测试推送已排队，将随下一次推送发出（flask webhooks deliver 或后台任务）。", "info")
    return redirect(url_for(".show", token_id=token.id))
