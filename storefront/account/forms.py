"""Forms of the sign-in and account pages. Field names match the ``FieldError.field`` names of the
services."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import Field
from wtforms import PasswordField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import ValidationError

from ..auth import check_password_policy
from ..auth import clean_email
from ..auth import EMAIL_MAX_LENGTH
from ..auth import FieldError
from ..auth import PASSWORD_MAX_LENGTH

_EMAIL_LENGTH = Length(max=EMAIL_MAX_LENGTH)
_PASSWORD_LENGTH = Length(max=PASSWORD_MAX_LENGTH)


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
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), _EMAIL_LENGTH])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), _PASSWORD_LENGTH])
    submit = SubmitField("Sign in")


class RegisterForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), _EMAIL_LENGTH, new_email]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password."), _PASSWORD_LENGTH, new_password]
    )
    confirm = PasswordField(
        "Confirm password",
        validators=[
            DataRequired("Enter the password again."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )
    submit = SubmitField("Create account")


class UpgradeForm(RegisterForm):
    """Email, Password, Confirm password, Create account: the same fields as registering."""


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        "New email", validators=[DataRequired("Enter the new address."), _EMAIL_LENGTH, new_email]
    )
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), _PASSWORD_LENGTH]
    )
    submit = SubmitField("Change email")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), _PASSWORD_LENGTH]
    )
    password = PasswordField(
        "New password", validators=[DataRequired("Enter a new password."), _PASSWORD_LENGTH, new_password]
    )
    confirm = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )
    submit = SubmitField("Change password")


class ConfirmForm(FlaskForm):
    """A button and a CSRF token: for actions that take no input (verify, resend a link)."""


class ResetRequestForm(FlaskForm):
    """Forgot password: the email of the account."""

    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Email(), _EMAIL_LENGTH]
    )


class NewPasswordForm(FlaskForm):
    """The mailed reset link's page: the new password, once."""

    password = PasswordField(
        "New password", validators=[DataRequired("Choose a new password."), _PASSWORD_LENGTH, new_password]
    )
