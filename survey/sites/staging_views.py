"""The pages of a staged upload (its report, confirm and cancel), shared by the blueprints
that stage files (site lists, rosters). Each registers them with ``add_pages``, giving its
own URL, roles, template, messages and what importing does (``survey.sites.staging``).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from operator import attrgetter

from flask import Blueprint, abort, flash, redirect, render_template
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from survey.accounts.access import acting_user, current_actor, role_required, user_scope
from survey.db import StaleRow, db, write_transaction
from survey.regions.scope import Scope, get_in_scope
from survey.sites.models import StagedImport
from survey.sites.staging import cancel_import

_still_staged = attrgetter("is_staged")


def add_pages(
    bp: Blueprint,
    url: str,
    model: type[StagedImport],
    *,
    roles: tuple[str, ...],
    template: str,
    region_of: Callable[[StagedImport], int],
    back: Callable[[StagedImport], str],
    noun: str,
    cancelled: str,
    run: Callable[[StagedImport, object], str],
    prepare: Callable[[StagedImport], AbstractContextManager] | None = None,
    on_conflict: Callable[[StagedImport], Response] | None = None,
    background: Callable[[StagedImport], Response | None] | None = None,
) -> None:
    """Register on ``bp``, for ``roles``, the pages of an upload of ``model`` at
    ``url``/<import_id>: ``import_report`` (``template``, given ``staged``),
    ``import_confirm`` and ``import_cancel``, both then going to ``back(upload)``.

    Each page is the current user's own upload's, in a region of their scope
    (``region_of(upload)``); 404 otherwise. ``cancelled`` is flashed once cancelled;
    ``noun``, ``run``, ``prepare`` and ``on_conflict``: as ``_confirm`` takes them.
    ``background(upload)``, when given, may answer the confirm instead, having handed a big
    upload's import to a background job (its page); None imports it in the request.
    """

    def staged(import_id: int) -> StagedImport:
        return own_import(model, import_id, user_scope(), region_of)

    @bp.get(f"{url}/<int:import_id>", endpoint="import_report")
    @role_required(*roles)
    def report(import_id):
        """The check of an uploaded file: how many rows can be imported, every bad row with
        its line and reason."""
        return render_template(template, staged=staged(import_id))

    @bp.post(f"{url}/<int:import_id>/confirm", endpoint="import_confirm")
    @role_required(*roles)
    def import_confirm(import_id):
        """Import the checked rows, all at once or not at all."""
        upload = staged(import_id)
        if background and (reply := background(upload)):
            return reply
        return _confirm(upload, back(upload), noun, run, prepare, on_conflict)

    @bp.post(f"{url}/<int:import_id>/cancel", endpoint="import_cancel")
    @role_required(*roles)
    def import_cancel(import_id):
        """Drop a checked file; nothing is imported."""
        upload = staged(import_id)
        return _cancel(upload, back(upload), cancelled)


def own_import(model: type[StagedImport], import_id: int, scope: Scope, region_of: Callable):
    """An upload of the current user's (others' are not theirs to confirm or cancel), in a
    region of ``scope`` (``region_of(upload)``); 404 otherwise."""
    staged = get_in_scope(db.session, scope, model, import_id, region_of)
    if staged.user_id != acting_user().id:
        abort(404)
    return staged


def _confirm(
    staged: StagedImport,
    back: str,
    noun: str,
    run: Callable[[StagedImport, object], str],
    prepare: Callable[[StagedImport], AbstractContextManager] | None,
    on_conflict: Callable[[StagedImport], Response] | None,
) -> Response:
    """Import ``staged`` once: ``run(staged, prepared)`` imports it inside the write
    transaction, with the upload locked and still staged, and returns the message to flash;
    ``prepare(staged)``, when given, is entered before the transaction starts (slow work that
    should not hold the write lock). Then back to the ``back`` URL. Already imported or
    cancelled: says so (``noun``: what was uploaded); confirmed twice at once: the second
    does nothing. An IntegrityError (a row another request wrote at this very moment) rolls
    all back and answers ``on_conflict(staged)`` when given."""
    if not staged.is_staged:
        flash(f"这份{noun}{staged.status_label}，没有重复导入。", "info")
        return redirect(back)
    try:
        preparing = prepare(staged) if prepare else nullcontext()
        with preparing as prepared, write_transaction(db.session, staged, _still_staged):
            message = run(staged, prepared)
    except StaleRow:  # confirmed twice at once
        return redirect(back)
    except IntegrityError:
        if on_conflict is None:
            raise
        return on_conflict(staged)
    flash(message, "info")
    return redirect(back)


def _cancel(staged: StagedImport, back: str, message: str) -> Response:
    """Drop ``staged`` without importing anything, flash ``message`` and go ``back``.

    Locked: a cancel racing the import must not mark an imported upload as never imported.
    """
    if staged.is_staged:
        try:
            with write_transaction(db.session, staged, _still_staged):
                cancel_import(db.session, current_actor(), staged)
        except StaleRow:  # imported or cancelled meanwhile
            pass
        else:
            flash(message, "info")
    return redirect(back)
