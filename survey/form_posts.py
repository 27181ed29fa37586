"""Posting a staff form: load it with its schema, apply it in one write transaction, and
show the form again with the reasons (422) when it cannot be saved. One path for every
set-up page (projects, sites, users), so each refuses and rolls back the same way; and
the one reading of a schema's refusal for the pages that show it otherwise."""

from flask import abort, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load
from sqlalchemy.exc import IntegrityError

from survey.db import db, write_transaction


class StaffForm(Schema):
    """A staff form or page query as a browser sends it. Fields read elsewhere (csrf_token)
    are ignored; text is trimmed, so a field of spaces counts as empty; and an optional field
    left empty is not given and takes its default. A browser posts every field of a form,
    the empty ones as "": an empty date, number or choice must not be refused as malformed."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def prepare(self, data, **_kwargs):
        trimmed = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        optional = {f.data_key or name for name, f in self.load_fields.items() if not f.required}
        given = {k: v for k, v in trimmed.items() if not (v == "" and k in optional)}
        return self.tidy(given)

    def tidy(self, data: dict) -> dict:
        """The form as the fields expect it (one pre_load hook: their order is alphabetical,
        not as written)."""
        return data


class FieldError(ValueError):
    """A change that cannot be made as asked; ``field`` is the form field it concerns."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def error_messages(err: ValidationError) -> dict:
    """A schema's refusal by field, as a form shows it (``_schema``: about the whole form)."""
    return err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}


def first_message(err: ValidationError) -> str:
    """The first reason of a schema's refusal, for a page that shows one."""
    messages = next(iter(error_messages(err).values()))
    return messages[0] if isinstance(messages, list) else str(messages)


def loaded(schema, data) -> dict:
    """``schema.load(data)``, or 400 for what no page of ours sends (a URL or form made by
    hand)."""
    try:
        return schema.load(data)
    except ValidationError:
        abort(400)


def submitted(schema, form_page, apply, *, lock=None, conflict: dict | None = None):
    """A form's GET and POST. On GET the reply is the empty form: (None, ``form_page()``).
    On POST, load ``request.form`` with ``schema`` and run ``apply(data)`` in a write
    transaction, committed when it succeeds: (apply's result, None). For bad input or a
    FieldError, with nothing written, the form again with the reasons and status 422:
    (None, (``form_page(errors)``, 422)).

    ``lock``: a row whose saves take turns (a double click: each sees the one before).
    ``conflict``: the errors shown when the database refuses the write (a unique name another
    request took since the check); without it such a refusal is a server error.
    """
    if request.method == "GET":
        return None, form_page()
    form = request.form.to_dict(flat=False)
    # A list field (ticked boxes) takes every value posted; any other field the first.
    lists = {f.data_key or n for n, f in schema.load_fields.items() if isinstance(f, fields.List)}
    try:
        data = schema.load({k: v if k in lists else v[0] for k, v in form.items()})
    except ValidationError as err:
        return None, (form_page(err.messages), 422)
    try:
        with write_transaction(db.session, lock):
            result = apply(data)
    except FieldError as err:
        return None, (form_page({err.field: [str(err)]}), 422)
    except IntegrityError:
        if conflict is None:
            raise
        return None, (form_page(conflict), 422)
    return result, None
