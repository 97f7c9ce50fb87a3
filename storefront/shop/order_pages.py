"""Pages that reach an order without the cookie that placed it: the mailed link, and the look-up."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length

from ..auth import email_in_use
from ..extensions import limiter
from ..security import personal_page
from .forms import printable
from .order_links import normal_order_number
from .order_links import order_from_link
from .order_links import OrderLinkError
from .order_links import send_order_link

bp = Blueprint("orders", __name__, url_prefix="/orders")

LOOKUP_ANSWER = "If that order exists, we sent a link to its email."


class LookupForm(FlaskForm):
    """An order number and the email it was placed with."""

    order_number = StringField(
        "Order number", validators=[DataRequired("Enter the order number."), Length(max=32), printable]
    )
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter the email the order was placed with."), Email(), Length(max=254)],
    )


def _lookup_limit() -> str:
    return str(current_app.config["ORDER_LOOKUP_RATE_LIMIT"])


def _order_number_key() -> str:
    return "order-lookup-number:" + normal_order_number(request.form.get("order_number", ""))[:32]


def _email_key() -> str:
    return "order-lookup-email:" + request.form.get("email", "").strip().casefold()[:254]


@bp.get("/view/<token>")
def status(token: str) -> Response:
    """An order opened by its mailed link, with no cookie needed: this order only, never others."""
    try:
        order = order_from_link(token)
    except OrderLinkError as error:
        return personal_page(
            render_template("shop/order_link_error.html", message=error.message), error.status
        )
    # A shopper whose email has no account yet is offered one; a guest upgrades the guest record.
    offer_account = not email_in_use(order.email)
    guest = current_user.is_authenticated and current_user.is_anonymous
    return personal_page(
        render_template("shop/order_status.html", order=order, offer_account=offer_account, guest=guest)
    )


@bp.route("/lookup", methods=["GET", "POST"])
@limiter.limit(_lookup_limit, methods=["POST"])
@limiter.limit(_lookup_limit, methods=["POST"], key_func=_order_number_key)
@limiter.limit(_lookup_limit, methods=["POST"], key_func=_email_key)
def lookup() -> Response:
    """Ask for an order's link by number and email; the answer never says whether they matched."""
    form = LookupForm()
    sent = False
    if form.validate_on_submit():
        send_order_link(form.order_number.data, form.email.data)
        sent = True
    status = 400 if form.errors else 200
    return personal_page(
        render_template("shop/lookup.html", form=form, sent=sent, answer=LOOKUP_ANSWER), status
    )
