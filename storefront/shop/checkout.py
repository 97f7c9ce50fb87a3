"""Placing orders, and finding them again."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..auth import AuthRecord
from ..extensions import db
from ..models import storable
from ..models import utcnow
from .cart import load_cart
from .models import CartItem
from .models import Order
from .models import OrderLine
from .models import Product


class CheckoutError(ValueError):
    """An order the shop cannot take, with a message for the shopper."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutOfStock(CheckoutError):
    pass


@dataclass(frozen=True)
class ContactDetails:
    """What the checkout form collects."""

    email: str
    full_name: str
    address: str
    city: str
    postal_code: str
    country: str


def new_checkout_key() -> str:
    """A one-time key for a rendering of the checkout form."""
    return secrets.token_urlsafe(24)


def place_order(owner: AuthRecord, contact: ContactDetails, checkout_key: str) -> Order:
    """Turn ``owner``'s cart into an order.

    Stock is taken with one conditional UPDATE per line (``stock >= quantity``), so two buyers can
    never both get the last unit; the whole order is one transaction. The same ``checkout_key`` sent
    twice (double click, reload) returns the first order instead of making a second.
    """
    existing = _order_for_key(owner.id, checkout_key)
    if existing is not None:
        return existing
    cart = load_cart(owner.id)
    if not cart:
        # The same form sent twice at once: the other request may have placed the order, and emptied
        # the cart, between the look-up above and this read. That order is the answer to this one too.
        existing = _order_for_key(owner.id, checkout_key)
        if existing is not None:
            return existing
        raise CheckoutError("Your cart is empty.")
    order = Order(
        owner_id=owner.id,
        checkout_key=checkout_key,
        placed_by_anonymous=owner.is_anonymous,
        total_cents=cart.subtotal_cents,
        **contact.__dict__,
    )
    try:
        # Stock is taken in product order: two orders of the same products then lock the product rows
        # in the same order and queue, where cart order (opposite in two carts) deadlocked on
        # PostgreSQL and failed one of them.
        for line in sorted(cart.lines, key=lambda line: line.product_id):
            product = line.product
            taken = db.session.execute(  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
                update(Product)
                .where(Product.id == product.id, Product.stock >= line.quantity)
                .values(stock=Product.stock - line.quantity)
            ).rowcount
            if taken != 1:
                db.session.rollback()
                db.session.refresh(product)
                left = product.stock
                if left < 1:
                    raise OutOfStock(f"Sorry, {product.name} is sold out.")
                raise OutOfStock(f"Only {left} of {product.name} left in stock. Please update your cart.")
        for line in cart.lines:  # the order lists the products as the cart did
            order.lines.append(
                OrderLine(
                    product_id=line.product.id,
                    product_name=line.product.name,
                    unit_price_cents=line.product.price_cents,
                    quantity=line.quantity,
                )
            )
        db.session.add(order)
        db.session.execute(delete(CartItem).where(CartItem.owner_id == owner.id))
        db.session.commit()
    except IntegrityError:
        # The same form, sent twice at the same moment: the other request made the order.
        db.session.rollback()
        existing = _order_for_key(owner.id, checkout_key)
        if existing is None:
            raise CheckoutError("This checkout form was already used. Please try again.") from None
        return existing
    return order


def _order_for_key(owner_id: str, checkout_key: str) -> Order | None:
    return db.session.execute(
        select(Order).where(Order.checkout_key == checkout_key, Order.owner_id == owner_id)
    ).scalar_one_or_none()


def owned_by(owner: AuthRecord) -> ColumnElement[bool]:
    """Orders of ``owner``: its own, and those of the guest records retired into it at sign-in."""
    merged = select(AuthRecord.id).where(AuthRecord.merged_into_id == owner.id)
    return (Order.owner_id == owner.id) | Order.owner_id.in_(merged)


# How long after placing an order an empty checkout shows that order again (Back from the
# confirmation), rather than the empty cart.
RECENT_ORDER = timedelta(hours=1)


def latest_order(owner: AuthRecord | None, within: timedelta) -> Order | None:
    """The newest order ``owner`` placed in the last ``within``, if any."""
    if owner is None:
        return None
    return db.session.execute(
        select(Order)
        .where(Order.owner_id == owner.id, Order.created >= utcnow() - within)
        .order_by(Order.created.desc(), Order.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def order_for(owner: AuthRecord | None, number: str) -> Order | None:
    """The order ``number`` if it belongs to ``owner`` (see :func:`owned_by`)."""
    if owner is None or not storable(number):  # /orders/%00: PostgreSQL would refuse the lookup
        return None
    return db.session.execute(
        select(Order).where(Order.number == number, owned_by(owner))
    ).scalar_one_or_none()
