"""Forms of the sign-in pages."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import Field
from wtforms import PasswordField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import ValidationError

from .accounts import check_password_policy
from .accounts import clean_email
from .accounts import FieldError


def service_check(check: Callable[[str], object]) -> Callable[[FlaskForm, Field], None]:
    """A WTForms validator that asks the service's own rule (``clean_email``,
    ``check_password_policy``), so a page shows every mistake at once instead of the form's first
    and the service's later. The service still checks again: the rules stay in one place."""

    def validate(_form: FlaskForm, field: Field) -> None:
        if field.data:
            try:
                check(field.data)
            except FieldError as error:
                raise ValidationError(error.message) from error

    return validate


new_email = service_check(clean_email)
new_password = service_check(check_password_policy)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])
    submit = SubmitField("Sign in")


class RegisterForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254), new_email]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password."), Length(max=1024), new_password]
    )
    confirm = PasswordField(
        "Confirm password",
        validators=[
            DataRequired("Enter the password again."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )
    submit = SubmitField("Create account")
