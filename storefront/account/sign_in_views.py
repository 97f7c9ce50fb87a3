"""Sign-in, registration and sign-out pages (the ``auth`` blueprint).

They live here, above the shop, because signing in merges a guest's cart and signing out retires a
guest: both are steps of :mod:`storefront.shop.guests`.
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
from ..auth import create_account
from ..auth import current_record
from ..auth import EmailTaken
from ..auth import FieldError
from ..auth import Identity
from ..auth import issue_token
from ..auth import sign_in_with_token
from ..extensions import limiter
from ..security import safe_next
from ..shop import guests
from .forms import LoginForm
from .forms import RegisterForm

bp = Blueprint("auth", __name__)


def redirect_next(default_endpoint: str = "shop.catalogue") -> Response:
    """Redirect to ``?next=`` when it is a path on this site, else to ``default_endpoint``."""
    return redirect(safe_next(request.args.get("next")) or url_for(default_endpoint))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def login() -> Response | tuple[str, int]:
    """Sign in to a full account; a guest's cart comes along (see ``guests.sign_in_with_cart_merge``)."""
    record = current_record()
    if Identity.of(record) is Identity.ACCOUNT:
        return redirect_next()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            result = guests.sign_in_with_cart_merge(record, form.email.data, form.password.data)
        except AuthError as error:
            form.password.errors.append(error.message)
        else:
            flash(f"Welcome back, {result.auth.record.username}.", "success")
            if result.merge is not None:
                flash(result.merge.message, "info")
            return redirect_next()
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response | str:
    """Sign out: clear the auth cookie and renew the session.

    GET asks first (a guest is warned that the guest cart can't be reached again); POST signs out.
    """
    record = current_record()
    if Identity.of(record) is Identity.NOBODY:
        return redirect(url_for("shop.catalogue"))
    if request.method == "GET":
        return render_template("auth/logout.html")
    # CSRFProtect has already checked the token: another site cannot sign anyone out.
    was_guest = guests.sign_out_shopper(record)
    flash("You have been signed out." + (" Your guest cart has been cleared." if was_guest else ""), "info")
    return redirect(url_for("shop.catalogue"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def register() -> Response | tuple[str, int]:
    """Create a full account for a visitor who has none.

    A guest (anonymous record) upgrades instead, so the cart and orders are not left behind.
    """
    state = Identity.of(current_record())
    if state is Identity.ACCOUNT:
        return redirect_next()
    if state is Identity.GUEST:
        return redirect(url_for("account.upgrade", next=safe_next(request.args.get("next"))))
    form = RegisterForm()
    if request.method == "GET" and not form.email.data:
        # An order's page links here with the order's email, so the shopper need not type it again.
        form.email.data = request.args.get("email", "")[:254]
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
    return render_template("auth/register.html", form=form), 400 if form.errors else 200
