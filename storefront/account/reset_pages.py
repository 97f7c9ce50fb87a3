"""Password reset on the web: ask for a link by email, then choose a new password from it.

The rules (single use, expiry, no account enumeration, every other session ended) live in
``storefront.auth``'s ``password_reset.py``, shared with the JSON API; these pages only ask and answer.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..auth import AuthError
from ..auth import check_reset_code
from ..auth import current_record
from ..auth import FieldError
from ..auth import request_password_reset
from ..auth import reset_password
from ..auth import ResetFailed
from ..extensions import limiter
from ..security import personal_page
from ..shop import guests
from .forms import NewPasswordForm
from .forms import ResetRequestForm

bp = Blueprint("reset", __name__, url_prefix="/account/reset")


def _reset_limit() -> str:
    return str(current_app.config["PASSWORD_RESET_RATE_LIMIT"])


def _email_key() -> str:
    return "password-reset-email:" + request.form.get("email", "").strip().casefold()[:254]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(_reset_limit, methods=["POST"], key_func=_email_key)
def request_link() -> Response:
    """Ask for a reset link. The answer is the same whether or not the email has an account."""
    form = ResetRequestForm()
    sent = False
    if form.validate_on_submit():
        # An address has at most one account across the collections: at most one mail goes out.
        for collection in current_app.config["AUTH_COLLECTIONS"]:
            request_password_reset(collection, form.email.data)
        sent = True
    minutes = max(1, round(current_app.config["PASSWORD_RESET_LIFETIME"].total_seconds() / 60))
    page = render_template("auth/reset_request.html", form=form, sent=sent, minutes=minutes)
    return personal_page(page, 400 if form.errors else 200)


@bp.route("/<code>", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def new_password(code: str) -> Response:
    """The mailed link: choose a new password, which ends every other session and signs in here."""
    form = NewPasswordForm()
    try:
        record = check_reset_code(code)
        if form.validate_on_submit():
            try:
                record = reset_password(code, form.password.data, None)
            except FieldError as error:
                form.password.errors.append(error.message)
            else:
                try:
                    guests.sign_in_with_cart_merge(current_record(), record.email, form.password.data)
                except AuthError:
                    flash("Your password is changed. Sign in with the new password.", "success")
                    return redirect(url_for("auth.login"))
                flash("Your password is changed. You've been signed out on your other devices.", "success")
                return redirect(url_for("account.profile"))
    except ResetFailed as error:
        page = render_template("auth/reset_failed.html", message=error.message)
        return personal_page(page, error.status)
    page = render_template("auth/reset_password.html", form=form, record=record)
    return personal_page(page, 400 if form.errors else 200)
