"""The confirm and cancel steps of a staged upload's pages, shared by the blueprints that
stage files (site lists, rosters); each blueprint keeps its own URLs, messages and what
importing does (``survey.sites.staging``).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from operator import attrgetter

from flask import abort, flash, redirect
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from survey.accounts.access import acting_user, current_actor
from survey.db import StaleRow, db, write_transaction
from survey.regions.scope import Scope, get_in_scope
from survey.sites.models import StagedImport
from survey.sites.staging import cancel_import

_still_staged = attrgetter("is_staged")


def own_import(model: type[StagedImport], import_id: int, scope: Scope, region_of: Callable):
    """An upload of the current user's (others' are not theirs to confirm or cancel), in a
    region of ``scope`` (``region_of(upload)``); 404 otherwise."""
    staged = get_in_scope(db.session, scope, model, import_id, region_of)
    if staged.user_id != acting_user().id:
        abort(404)
    return staged


def confirm(
    staged: StagedImport,
    back: str,
    noun: str,
    run: Callable[[object], str],
    prepare: Callable[[], AbstractContextManager] = nullcontext,
    on_conflict: Callable[[], Response] | None = None,
) -> Response:
    """Import ``staged`` once: ``run(prepared)`` imports it inside the write transaction,
    with the upload locked and still staged, and returns the message to flash; ``prepare()``
    is entered before the transaction starts (slow work that should not hold the write lock).
    Then back to the ``back`` URL. Already imported or cancelled: says so (``noun``: what was
    uploaded); confirmed twice at once: the second does nothing. An IntegrityError (a row
    another request wrote at this very moment) rolls all back and answers ``on_conflict()``
    when given."""
    if not staged.is_staged:
        flash(f"这份{noun}{staged.status_label}，没有重复导入。", "info")
        return redirect(back)
    try:
        with prepare() as prepared, write_transaction(db.session, staged, _still_staged):
            message = run(prepared)
    except StaleRow:  # confirmed twice at once
        return redirect(back)
    except IntegrityError:
        if on_conflict is None:
            raise
        return on_conflict()
    flash(message, "info")
    return redirect(back)


def cancel(staged: StagedImport, back: str, message: str) -> Response:
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
