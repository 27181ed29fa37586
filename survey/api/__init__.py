"""The JSON API under /api/v1, described by OpenAPI generated from its marshmallow schemas."""

from flask_smorest import Api

api = Api()
