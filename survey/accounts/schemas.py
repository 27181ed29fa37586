"""Query parameters and forms of the staff account pages."""

from marshmallow import fields, validate

from survey.accounts.models import AUDIT_ACTIONS, ROLES
from survey.fields import RowId, readable_text
from survey.form_posts import StaffForm


class AuditQuerySchema(StaffForm):
    """``?action=login&username=admin``; empty values mean "all"."""

    action = fields.String(validate=validate.OneOf(list(AUDIT_ACTIONS)))
    username = fields.String(validate=[validate.Length(max=50), readable_text])


audit_query_schema = AuditQuerySchema()


class UserSchema(StaffForm):
    """The user form: name (new users only), role and region (none for admins)."""

    username = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_.-]{3,50}$",
            error="用户名须为 3–50 位字母、数字或 _ . -（不含空格和汉字）。",
        ),
        error_messages={"required": "请填写用户名。"},
    )
    role = fields.String(
        required=True,
        validate=validate.OneOf(list(ROLES), error="请选择角色。"),
        error_messages={"required": "请选择角色。"},
    )
    region_id = RowId(
        load_default=None, allow_none=True, error_messages={"invalid": "请选择所属地区。"}
    )


user_schema = UserSchema()
#: Editing keeps the name.
user_change_schema = UserSchema(exclude=("username",))
