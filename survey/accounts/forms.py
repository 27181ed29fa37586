"""Staff forms (Flask-WTF: CSRF token included)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from survey.fields import UNREADABLE, is_readable


def readable(_form, field) -> None:
    """Refuse text the database could not store or compare (NUL, a lone surrogate) or that
    did not arrive as UTF-8."""
    if field.data and not is_readable(field.data):
        raise ValidationError(UNREADABLE)


class LoginForm(FlaskForm):
    username = StringField(
        "用户名", validators=[DataRequired("请输入用户名。"), Length(max=50), readable]
    )
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField("现在的密码", validators=[DataRequired("请输入现在的密码。")])
    new = PasswordField(
        "新密码（至少 10 位）",
        validators=[
            DataRequired("请输入新密码。"),
            Length(min=10, max=200, message="新密码至少 10 位。"),
        ],
    )
    confirm = PasswordField(
        "再输一次新密码",
        validators=[DataRequired("请再输一次新密码。"), EqualTo("new", "两次输入的新密码不一样。")],
    )
