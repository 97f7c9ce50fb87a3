"""Forms of the account pages. Field names match the ``FieldError.field`` names of the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length

from ..auth.forms import new_email
from ..auth.forms import new_password
from ..auth.forms import RegisterForm


class UpgradeForm(RegisterForm):
    """Email, Password, Confirm password, Create account: the same fields as registering."""


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        "New email", validators=[DataRequired("Enter the new address."), Length(max=254), new_email]
    )
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=1024)]
    )
    submit = SubmitField("Change email")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=1024)]
    )
    password = PasswordField(
        "New password", validators=[DataRequired("Enter a new password."), Length(max=1024), new_password]
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
