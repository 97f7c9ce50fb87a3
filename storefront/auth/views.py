"""Sign-in and sign-out pages."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ..extensions import limiter
from ..security import safe_next
from .accounts import create_account
from .accounts import FieldError
from .errors import AuthError
from .errors import EmailTaken
from .forms import LoginForm
from .forms import RegisterForm
from .service import sign_in_to_account
from .service import sign_in_with_token
from .service import sign_out
from .tokens import issue_token

bp = Blueprint("auth", __name__)


def redirect_next(default_endpoint: str = "shop.catalogue") -> Response:
    """Redirect to ``?next=`` when it is a path on this site, else to ``default_endpoint``."""
    return redirect(safe_next(request.args.get("next")) or url_for(default_endpoint))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def login() -> Response | str:
    """Sign in to a full account."""
    if current_user.is_authenticated and not current_user.is_anonymous:
        return redirect_next()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            auth = sign_in_to_account(form.email.data, form.password.data)
        except AuthError as error:
            form.password.errors.append(error.message)
        else:
            flash(f"Welcome back, {auth.record.username}.", "success")
            return redirect_next()
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    """Sign out: clear the auth cookie and renew the session."""
    # CSRFProtect has already checked the token: another site cannot sign anyone out.
    sign_out()
    flash("You have been signed out.", "info")
    return redirect(url_for("shop.catalogue"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def register() -> Response | str:
    """Create a full account for a visitor who has none."""
    if current_user.is_authenticated and not current_user.is_anonymous:
        return redirect_next()
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            record = create_account(form.email.data, form.password.data)
        except FieldError as error:
            form[error.field].errors.append(error.message)
        except EmailTaken as error:
            form.email.errors.append(error.message)
        else:
            sign_in_with_token(issue_token(record))
            flash("Your account is ready. Welcome!", "success")
            return redirect_next()
    return render_template("auth/register.html", form=form)
