"""Query parameters of the staff pages."""

from marshmallow import EXCLUDE, Schema, fields, validate

from survey.accounts.models import AUDIT_ACTIONS


class AuditQuerySchema(Schema):
    """``?action=login&username=admin``; empty values mean "all"."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(validate=validate.OneOf(["", *AUDIT_ACTIONS]))
    username = fields.String(validate=validate.Length(max=50))


audit_query_schema = AuditQuerySchema()
