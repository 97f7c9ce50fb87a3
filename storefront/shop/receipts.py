"""The receipt mail of an order: what was bought, the total, where it goes, and a link to the order.

It is sent after the order's transaction commits, so a mail that fails never undoes or holds up an
order: the failure is logged, ``receipt_sent_at`` stays empty, and the confirmation page says the
receipt could not be sent and shows the order's link instead.
"""

from __future__ import annotations

import logging

from flask import render_template
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..mail import Mail
from ..mail import send_mail
from ..models import utcnow
from .models import Order
from .order_links import order_link

logger = logging.getLogger(__name__)


def receipt_mail(order: Order) -> Mail:
    """The receipt of ``order``, as text and HTML."""
    link = order_link(order)
    return Mail(
        order.email,
        f"Your Storefront receipt for order {order.number}",
        render_template("mail/receipt.txt", order=order, link=link),
        render_template("mail/receipt.html", order=order, link=link),
    )


def send_receipt(order: Order) -> bool:
    """Mail ``order``'s receipt unless it went out already. Returns whether it has been sent.

    The same checkout form sent twice gives back the first order: it gets no second receipt.
    """
    if order.receipt_sent_at is not None:
        return True
    if not send_mail(receipt_mail(order)):
        logger.warning("Could not send the receipt of order %s", order.number)
        return False
    order.receipt_sent_at = utcnow()
    try:
        db.session.commit()
    except SQLAlchemyError:
        # The mail is out; only the note of it is lost (the confirmation then offers the link).
        db.session.rollback()
        logger.warning("Could not record the receipt of order %s as sent", order.number, exc_info=True)
    return True
