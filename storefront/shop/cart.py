"""Carts: the cart of an auth record is the set of its ``CartItem`` rows.

Every rule about what may be in a cart lives here; views only parse forms and call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask import g
from flask_login import current_user
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import table_of
from .models import CartItem
from .models import Product

MAX_LINE_QUANTITY = 99
_LINE_GONE = "That item is not in your cart any more."
_ADD_ATTEMPTS = 4


class CartError(ValueError):
    """A cart change the shop refuses, with a message for the shopper and the input it is about
    (``quantity`` or ``product``), for clients that show it beside a field."""

    def __init__(self, message: str, field: str = "quantity") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class MergePolicy(StrEnum):
    """What happens to a guest cart when its shopper signs in to an account that has a cart."""

    SUM = "sum"  # Solidus: quantities added, capped by stock
    MAX = "max"  # django-oscar: the larger quantity of each product
    REPLACE = "replace"  # Saleor 2: the guest cart replaces the account's


@dataclass(frozen=True)
class Cart:
    """A snapshot of a cart for display."""

    lines: list[CartItem]

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.quantity * line.product.price_cents for line in self.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)


# Built once (every page with an identity shows the cart's count): bound parameters spare
# SQLAlchemy the per-call construction and cache-key work.
_CART_LINES = (
    select(CartItem)
    .where(CartItem.owner_id == bindparam("owner_id"))
    .order_by(CartItem.added_at, CartItem.id)
)


def load_cart(owner_id: str | None) -> Cart:
    """The cart of ``owner_id`` (an empty cart for no owner), products loaded in the same query."""
    if owner_id is None:
        return Cart([])
    lines = db.session.execute(_CART_LINES, {"owner_id": owner_id}).scalars()
    return Cart(list(lines))


def current_cart() -> Cart:
    """The cart of the request's identity, loaded once per request (the seed's ``resolve('cart')``)."""
    if "cart" not in g:
        owner = current_user.id if current_user.is_authenticated else None
        g.cart = load_cart(owner)
    cart: Cart = g.cart
    return cart


def current_cart_count() -> int:
    """The item count of the request's cart, for the navigation of every page: taken from the cart
    when the page loaded it, else one SUM query (a page that does not list the cart needs no lines
    and products), at most once per request."""
    if "cart" in g:
        return current_cart().count
    if "cart_count" not in g:
        g.cart_count = cart_count(current_user.id) if current_user.is_authenticated else 0
    count: int = g.cart_count
    return count


def forget_current_cart() -> None:
    """Drop the per-request cache after a change, so the page shows the new cart."""
    g.pop("cart", None)
    g.pop("cart_count", None)


# Statements that load no objects (the count, the guest hand-over) are written on the table (see
# ``table_of``): through the mapped class, half of transfer_cart's time went on rebuilding its UPDATE,
# and the count took twice as long.
_cart_items = table_of(CartItem)
# Built once, like _CART_LINES: most pages show the count.
_CART_COUNT = select(func.coalesce(func.sum(_cart_items.c.quantity), 0)).where(
    _cart_items.c.owner_id == bindparam("owner_id")
)


def cart_count(owner_id: str) -> int:
    """How many items ``owner_id`` has in the cart."""
    return int(db.session.execute(_CART_COUNT, {"owner_id": owner_id}).scalar_one())


def get_product(product_id: int) -> Product:
    """The product, or ``CartError`` if it does not exist."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise CartError("That product is no longer available.", field="product")
    return product


def check_quantity(quantity: int, product: Product) -> None:
    """Whole numbers from 1 to what is in stock."""
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    if product.stock < 1:
        raise CartError(f"Sorry, {product.name} is sold out.")
    if quantity > product.stock:
        raise CartError(f"Only {product.stock} of {product.name} left in stock.")
    if quantity > MAX_LINE_QUANTITY:
        raise CartError(f"You can buy at most {MAX_LINE_QUANTITY} of one product at a time.")


def _line(owner_id: str, product_id: int) -> CartItem | None:
    return db.session.execute(
        select(CartItem).where(CartItem.owner_id == owner_id, CartItem.product_id == product_id)
    ).scalar_one_or_none()


def add_item(owner_id: str, product_id: int, quantity: int = 1) -> CartItem:
    """Add ``quantity`` of a product; the line's total must stay within stock.

    Safe when one shopper adds from two tabs at once, or double-clicks: the line is created once (the
    unique (owner, product) constraint decides between two inserts, and the loser adds to the
    winner's line) and an existing line is raised in the database, ``quantity = quantity + n``, so
    no add is lost and none fails.
    """
    product = get_product(product_id)
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    for _attempt in range(_ADD_ATTEMPTS):
        line = _line(owner_id, product_id)
        if line is None:
            check_quantity(quantity, product)
            # The product goes with the line: the page that follows names it without another query.
            line = CartItem(owner_id=owner_id, product_id=product_id, quantity=quantity, product=product)
            db.session.add(line)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # the same line was made in the same instant: add to that one
                continue
        else:
            check_quantity(line.quantity + quantity, product)
            limit = min(product.stock, MAX_LINE_QUANTITY)
            raised = db.session.execute(  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
                update(CartItem)
                .where(CartItem.id == line.id, CartItem.quantity + quantity <= limit)
                .values(quantity=CartItem.quantity + quantity)
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
            if raised != 1:
                continue  # the line changed or went meanwhile: read it again
            line = db.session.get(CartItem, line.id, populate_existing=True)  # the new quantity
            if line is None:
                continue  # removed in another tab right after this add: make the line again
        forget_current_cart()
        return line
    raise CartError("Your cart changed in another window while adding that. Please try again.")


def set_quantity(owner_id: str, product_id: int, quantity: int) -> CartItem:
    """Change a line's quantity. A line removed meanwhile (in another tab) is reported, not made
    again: the UPDATE names the line, and matching no row means it went."""
    line = _line(owner_id, product_id)
    if line is None:
        raise CartError(_LINE_GONE)
    check_quantity(quantity, line.product)
    changed = db.session.execute(  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
        update(CartItem).where(CartItem.id == line.id).values(quantity=quantity)
    ).rowcount
    db.session.commit()
    if changed != 1:
        raise CartError(_LINE_GONE)
    forget_current_cart()
    return line


def remove_item(owner_id: str, product_id: int) -> None:
    """Remove a line (removing one that is already gone is not an error)."""
    db.session.execute(
        delete(CartItem).where(CartItem.owner_id == owner_id, CartItem.product_id == product_id)
    )
    db.session.commit()
    forget_current_cart()


# Built once: it runs at every guest checkout (on the table: see _cart_items).
_TRANSFER_LINES = (
    update(_cart_items)
    .where(_cart_items.c.owner_id == bindparam("source_id"))
    .values(owner_id=bindparam("target_id"))
)


def transfer_cart(source_id: str, target_id: str) -> None:
    """Give every line of ``source_id``'s cart to ``target_id``, whose cart is empty (a record made a
    moment ago): one UPDATE. Stock is checked again when the order is placed. Does not commit."""
    db.session.execute(_TRANSFER_LINES, {"source_id": source_id, "target_id": target_id})
    forget_current_cart()


def move_cart(source_id: str, target_id: str, policy: MergePolicy = MergePolicy.SUM) -> int:
    """Move every line of ``source_id``'s cart into ``target_id``'s, by ``policy``.

    Quantities are capped by stock. Does not commit: the caller makes it part of a larger change
    (guest checkout, sign-in). Returns the number of products that came from the source cart.
    """
    source = load_cart(source_id).lines
    target = {line.product_id: line for line in load_cart(target_id).lines}
    if policy is MergePolicy.REPLACE:
        for line in target.values():
            db.session.delete(line)
        target = {}
        db.session.flush()
    for line in source:
        existing = target.get(line.product_id)
        stock = line.product.stock
        if existing is None:
            quantity = line.quantity
        elif policy is MergePolicy.SUM:
            quantity = existing.quantity + line.quantity
        else:
            quantity = max(existing.quantity, line.quantity)
        quantity = min(quantity, stock, MAX_LINE_QUANTITY)
        if existing is not None:
            if quantity >= 1:
                existing.quantity = quantity
        elif quantity >= 1:
            db.session.add(CartItem(owner_id=target_id, product_id=line.product_id, quantity=quantity))
        db.session.delete(line)
    db.session.flush()
    forget_current_cart()
    return len(source)


def read_quantities(
    typed: dict[int, str | None],
) -> tuple[dict[int, int], dict[int, str]]:
    """The quantities typed into the cart page, by product id, and a message for each that is not a
    whole number from 1 to 99 (``None``: the line was not on the page, so it is left alone)."""
    wanted: dict[int, int] = {}
    errors: dict[int, str] = {}
    for product_id, raw in typed.items():
        if raw is None:
            continue
        text = raw.strip()
        if not text:
            errors[product_id] = "Enter a quantity."
        elif not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LINE_QUANTITY:
            errors[product_id] = f"Quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}."
        else:
            wanted[product_id] = int(text)
    return wanted, errors


def set_quantities(
    owner_id: str, cart: Cart, wanted: dict[int, int]
) -> tuple[list[CartItem], dict[int, str]]:
    """Apply the quantities of a whole cart page at once (its Update or Checkout button): every line
    whose quantity changed is set as :func:`set_quantity` sets it. Returns the lines changed, and a
    message by product id for each change the shop refused (stock, a line gone meanwhile)."""
    changed: list[CartItem] = []
    errors: dict[int, str] = {}
    for line in cart.lines:
        quantity = wanted.get(line.product_id)
        if quantity is None or quantity == line.quantity:
            continue
        try:
            changed.append(set_quantity(owner_id, line.product_id, quantity))
        except CartError as error:
            errors[line.product_id] = error.message
    return changed, errors
