"""Account pages: upgrade from a guest account, profile and order history, changes, verification."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..auth import current_account
from ..auth import current_record
from ..auth import EmailTaken
from ..auth import FieldError
from ..auth import full_account_required
from ..auth import Identity
from ..extensions import limiter
from ..security import safe_next
from ..shop.delivery import save_delivery
from ..shop.delivery import saved_delivery
from ..shop.forms import DeliveryForm
from ..shop.views import delivery_of
from . import services
from .forms import ChangeEmailForm
from .forms import ChangePasswordForm
from .forms import ConfirmForm
from .forms import UpgradeForm

bp = Blueprint("account", __name__, url_prefix="/account")

Page = str | tuple[str, int]


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _status(form: UpgradeForm | ChangeEmailForm | ChangePasswordForm) -> int:
    return 400 if form.errors else 200


def _verification_flash(sent: bool, email: str) -> None:
    if sent:
        flash(f"We sent a link to {email}. Follow it to confirm your address.", "info")
    else:
        flash(
            "We couldn't send the confirmation email just now. "
            "You can ask for a new link on your account page.",
            "error",
        )


@bp.route("/upgrade", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def upgrade() -> Response | Page:
    """Turn the current guest (anonymous) account into a full one, keeping its cart and orders."""
    next_path = safe_next(request.args.get("next"))
    record = current_record()
    if record is None:  # nobody: there is no guest to upgrade
        return redirect(url_for("auth.register", next=next_path))
    if Identity.of(record) is Identity.ACCOUNT:
        return redirect(next_path or url_for("account.profile"))
    form = UpgradeForm()
    email_taken = False
    if form.validate_on_submit():
        try:
            result = services.upgrade_to_account(record, form.email.data, form.password.data)
        except FieldError as error:
            form[error.field].errors.append(error.message)
        except EmailTaken as error:
            form.email.errors.append(error.message)
            email_taken = True
        else:
            flash("Your account is ready. Your cart and orders are saved in it.", "success")
            _verification_flash(result.verification_sent, result.record.email)
            return redirect(next_path or url_for("account.profile"))
    status = 409 if email_taken else _status(form)
    # After signing in, land on the cart: that is where the merged guest items show.
    login_url = url_for("auth.login", next=next_path or url_for("shop.cart"))
    return render_template("account/upgrade.html", form=form, email_taken=email_taken, login_url=login_url), (
        status
    )


@bp.get("")
@full_account_required
def profile() -> str:
    """The account's details and order history."""
    account = current_account()
    return render_template(
        "account/profile.html",
        account=account,
        orders=services.order_history(account),
        delivery=saved_delivery(account.id),
        resend_form=ConfirmForm(),
    )


@bp.route("/delivery", methods=["GET", "POST"])
@full_account_required
def delivery() -> Response | Page:
    """The delivery details the account's next checkout starts with."""
    account = current_account()
    form = DeliveryForm()
    if request.method == "GET" and (saved := saved_delivery(account.id)) is not None:
        form.process(data=saved.__dict__)
    if form.validate_on_submit():
        save_delivery(account.id, delivery_of(form))
        flash("Your delivery details are saved. Your next checkout starts with them.", "success")
        return redirect(url_for("account.profile"))
    return render_template("account/delivery.html", form=form), 400 if form.errors else 200


@bp.route("/email", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@full_account_required
def change_email() -> Response | Page:
    """Change the account's email: asks for the password and for verification of the new address."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            result = services.change_email(current_account(), form.email.data, form.current_password.data)
        except FieldError as error:
            form[error.field].errors.append(error.message)
        else:
            flash("Your email address is changed. You've been signed out on your other devices.", "success")
            _verification_flash(result.verification_sent, result.record.email)
            return redirect(url_for("account.profile"))
    return render_template("account/change_email.html", form=form), _status(form)


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@full_account_required
def change_password() -> Response | Page:
    """Change the account's password: asks for the current one; other devices are signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_account(), form.current_password.data, form.password.data)
        except FieldError as error:
            form[error.field].errors.append(error.message)
        else:
            flash("Your password is changed. You've been signed out on your other devices.", "success")
            return redirect(url_for("account.profile"))
    return render_template("account/change_password.html", form=form), _status(form)


@bp.post("/verify/resend")
@limiter.limit(lambda: str(current_app.config["VERIFICATION_EMAIL_RATE_LIMIT"]))
@full_account_required
def resend_verification() -> Response:
    """Email a new verification link."""
    account = current_account()
    if ConfirmForm().validate_on_submit():
        if account.verified:
            flash("Your email address is already confirmed.", "info")
        else:
            _verification_flash(services.send_verification(account), account.email)
    return redirect(url_for("account.profile"))


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> Response | Page:
    """A verification link: GET asks to confirm (a GET must not change anything), POST confirms.

    Works without signing in, so the link can be opened on any device.
    """
    form = ConfirmForm()
    try:
        if form.validate_on_submit():
            record = services.confirm_verification(token)
            flash(f"Thank you: {record.email} is confirmed.", "success")
            here = current_record()
            signed_in_here = here is not None and here.id == record.id
            return redirect(url_for("account.profile" if signed_in_here else "auth.login"))
        record = services.check_verification_token(token)
    except services.VerificationFailed as error:
        return render_template("account/verify.html", error=error.message, form=form), error.status
    return render_template("account/verify.html", error=None, record=record, form=form)
