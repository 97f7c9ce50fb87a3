"""Guest checkout and placing orders."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_login import current_user
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError

from ..auth import AuthData
from ..auth import sign_in_anonymously
from ..auth.errors import StorageError
from ..auth.identity import cancel_identity_change
from ..auth.models import AuthRecord
from ..extensions import db
from ..models import held_by_session
from ..models import storable
from ..models import table_of
from ..models import utcnow
from .cart import forget_current_cart
from .cart import load_cart
from .cart import transfer_cart
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


def needs_checkout_options(user: AuthRecord | None) -> bool:
    """Anyone without a full account, except a guest customer, chooses how to check out first."""
    if user is None:
        return True
    return user.is_anonymous and user.collection != "customers"


def continue_as_guest() -> AuthData:
    """Make an anonymous ``customers`` record, sign in as it and carry the cart over.

    The previous identity (an anonymous ``users`` record, or none) hands its cart over and, owning no
    orders, is deleted: nobody could sign in to it again. All of it is one transaction: if anything
    fails, nothing is made or changed, the shopper keeps the previous identity and cart, and the
    error says why.
    """
    previous_id = current_user.id if current_user.is_authenticated else None
    # Raises AuthError (rate limit, storage) having made nothing.
    auth = sign_in_anonymously(collection="customers", commit=False)
    try:
        if previous_id is not None:
            transfer_cart(previous_id, auth.record.id)
            retire_anonymous(previous_id)
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        cancel_identity_change()  # no new cookie: the request's own cookie names the shopper again
        raise StorageError() from error
    return auth


# One statement decides and deletes, so no order can be placed for the record between a check and
# the delete (deleting it would leave that order without an owner: ``orders.owner_id`` is SET NULL).
# Its cart goes with it (``cart_items.owner_id`` cascades). Built once, on the tables rather than the
# mapped classes (see ``table_of``): it runs at every guest checkout.
_records, _orders = table_of(AuthRecord), table_of(Order)
_DELETE_UNLESS_IT_HAS_ORDERS = delete(_records).where(
    _records.c.id == bindparam("record_id"),
    _records.c.is_anonymous.is_(True),
    ~select(_orders.c.id).where(_orders.c.owner_id == bindparam("record_id")).exists(),
)


def retire_anonymous(record_id: str, into: AuthRecord | None = None) -> bool:
    """Retire an anonymous record nobody can sign in to any more. Does not commit.

    With no orders it is deleted (its cart goes with it, in the database). With orders it is kept,
    because a paid order is never deleted: it is linked to ``into`` (whose order history then lists
    those orders), its cart is emptied (nobody can see it again) and its token key rotates so no old
    token of it works. Returns whether it was kept.
    """
    deleted = db.session.execute(  # type: ignore[attr-defined]  # a DELETE gives a CursorResult
        _DELETE_UNLESS_IT_HAS_ORDERS, {"record_id": record_id}
    ).rowcount
    if deleted:
        # The session may hold the record (the request's current_user): it is gone, so forget it.
        if (gone := held_by_session(AuthRecord, record_id)) is not None:
            db.session.expunge(gone)
        return False
    record = db.session.get(AuthRecord, record_id)
    if record is None or not record.is_anonymous:
        return False
    if into is not None:
        record.merged_into_id = into.id
    db.session.execute(delete(CartItem).where(CartItem.owner_id == record_id))
    record.rotate_token_key()
    db.session.flush()
    return True


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
                .execution_options(synchronize_session=False)
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
    forget_current_cart()
    return order


def _order_for_key(owner_id: str, checkout_key: str) -> Order | None:
    return db.session.execute(
        select(Order).where(Order.checkout_key == checkout_key, Order.owner_id == owner_id)
    ).scalar_one_or_none()


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
    """The order ``number`` if it belongs to ``owner`` (or to a guest record merged into it)."""
    if owner is None or not storable(number):  # /orders/%00: PostgreSQL would refuse the lookup
        return None
    owners = select(AuthRecord.id).where(AuthRecord.merged_into_id == owner.id)
    return db.session.execute(
        select(Order).where(Order.number == number, (Order.owner_id == owner.id) | Order.owner_id.in_(owners))
    ).scalar_one_or_none()
