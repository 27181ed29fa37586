"""Staff forms (Flask-WTF: CSRF token included)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=50)])
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
