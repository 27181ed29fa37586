"""The JSON API under /api/v1, described by OpenAPI generated from its marshmallow schemas."""

import json

import flask_smorest
from flask import current_app
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

api = flask_smorest.Api()


class _Parser(FlaskParser):
    """webargs reading a JSON body with the app's loader (survey.json_provider), which
    refuses deep nesting, lone surrogates and numbers past a double as invalid JSON (400)."""

    def _raw_load_json(self, req):
        body = req.get_data(cache=True)
        if not is_json_request(req) or not body:
            return core.missing
        try:
            return current_app.json.loads(body)
        except json.JSONDecodeError as err:
            # webargs takes an error without a document for no body; orjson gives invalid
            # UTF-8 none.
            return self._handle_invalid_json_error(err, req)


class Blueprint(flask_smorest.Blueprint):
    """An API blueprint whose ``arguments`` read JSON as above."""

    ARGUMENTS_PARSER = _Parser()
