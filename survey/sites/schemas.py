"""Query parameters of the site pages."""

from marshmallow import EXCLUDE, Schema, fields, validate

from qr.poster import PAGE_SIZES


class PosterQuerySchema(Schema):
    """``?size=A5`` (default) or ``?size=A4``; other parameters (tracking tags) are ignored."""

    class Meta:
        unknown = EXCLUDE

    size = fields.String(
        load_default="A5",
        validate=validate.OneOf(list(PAGE_SIZES), error="纸张只能是 A5 或 A4。"),
    )


poster_query_schema = PosterQuerySchema()
