"""Links that open one order without any cookie: in the receipt, and mailed by the order look-up.

A link carries a token signed with the app secret (itsdangerous, salted for this purpose only) that
names the order number *and* the order's email, and expires after ORDER_LINK_LIFETIME. Orders are not
auth records and may outlive the record that placed them, so the token is bound to the order rather
than keyed per record. Links always start with SITE_URL, never with the Host a request names: a
forged Host must not send the shopper's link to someone else's site (ASVS 14.x, mail links).
"""

from __future__ import annotations

import logging

from flask import current_app
from flask import render_template
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from ..extensions import db
from ..mail import Mail
from ..mail import send_mail
from ..mail import site_link
from ..models import storable
from .models import Order

SALT = "storefront.order-link"
INVALID_LINK = "This order link is not valid. Check that you copied the whole link from the email."
EXPIRED_LINK = "This order link has expired. Ask for a new one with the order number and your email."
logger = logging.getLogger(__name__)


class OrderLinkError(Exception):
    """A link that opens nothing, with a message for the shopper and the page's status."""

    def __init__(self, message: str = INVALID_LINK, status: int = 404) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def order_link(order: Order) -> str:
    """The absolute address of ``order``'s status page, for a mail."""
    token = _serializer().dumps({"number": order.number, "email": order.email})
    return site_link("orders.status", token=token)


def order_from_link(token: str) -> Order:
    """The order a link's ``token`` names. Raises :class:`OrderLinkError` for a token that is
    malformed, tampered with, expired, or names an order that is gone or has another email."""
    lifetime = current_app.config["ORDER_LINK_LIFETIME"]
    try:
        claims = _serializer().loads(token, max_age=int(lifetime.total_seconds()))
    except SignatureExpired as error:
        raise OrderLinkError(EXPIRED_LINK, 410) from error
    except BadSignature as error:
        raise OrderLinkError() from error
    if not isinstance(claims, dict):
        raise OrderLinkError()
    number, email = claims.get("number"), claims.get("email")
    if not isinstance(number, str) or not isinstance(email, str):
        raise OrderLinkError()
    order = _order_numbered(number)
    if order is None or order.email != email:
        raise OrderLinkError()
    return order


def _order_numbered(number: str) -> Order | None:
    if not storable(number):
        return None
    return db.session.execute(select(Order).where(Order.number == number)).scalar_one_or_none()


def normal_order_number(number: str) -> str:
    """An order number as typed (``sf-7kq2-m9xh``, spaces around it) in its stored form."""
    return number.strip().upper()


def send_order_link(number: str, email: str) -> None:
    """Mail the link of order ``number`` to its email, if ``email`` is that email.

    Returns nothing, and the page says the same either way: whether an order exists, or which email
    it has, is never told to the person asking (only its own mailbox learns it).
    """
    order = _order_numbered(normal_order_number(number))
    if order is None or order.email.casefold() != email.strip().casefold():
        return
    link = order_link(order)
    mail = Mail(
        order.email,
        f"Your Storefront order {order.number}",
        render_template("mail/order_link.txt", order=order, link=link),
        render_template("mail/order_link.html", order=order, link=link),
    )
    if not send_mail(mail):
        logger.warning("Could not mail the link of order %s", order.number)
