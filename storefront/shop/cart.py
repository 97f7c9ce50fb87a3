"""Carts: the cart of an auth record is the set of its ``CartItem`` rows.

Every rule about what may be in a cart lives here; views only parse forms and call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy import Executable
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from . import statements
from .models import CartItem
from .models import Product

MAX_LINE_QUANTITY = 99  # of one product in one cart: a shop for people, not for resellers
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


def load_cart(owner_id: str | None) -> Cart:
    """The cart of ``owner_id`` (an empty cart for no owner), products loaded in the same query."""
    if owner_id is None:
        return Cart([])
    lines = db.session.execute(
        select(CartItem).where(CartItem.owner_id == owner_id).order_by(CartItem.added_at, CartItem.id)
    ).scalars()
    return Cart(list(lines))


def cart_count(owner_id: str | None) -> int:
    """How many items ``owner_id`` has in the cart (none for no owner)."""
    if owner_id is None:
        return 0
    return int(db.session.execute(statements.CART_COUNT, {"owner_id": owner_id}).scalar_one())


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
            raised = _rows(
                update(CartItem)
                .where(CartItem.id == line.id, CartItem.quantity + quantity <= limit)
                .values(quantity=CartItem.quantity + quantity)
            )
            db.session.commit()
            if raised != 1:
                continue  # the line changed or went meanwhile: read it again
            line = db.session.get(CartItem, line.id, populate_existing=True)  # the new quantity
            if line is None:
                continue  # removed in another tab right after this add: make the line again
        return line
    raise CartError("Your cart changed in another window while adding that. Please try again.")


def set_quantity(owner_id: str, product_id: int, quantity: int) -> CartItem:
    """Change a line's quantity. A line removed meanwhile (in another tab) is reported, not made
    again: the UPDATE names the line, and matching no row means it went."""
    line = _line(owner_id, product_id)
    if line is None:
        raise CartError(_LINE_GONE)
    check_quantity(quantity, line.product)
    changed = _rows(update(CartItem).where(CartItem.id == line.id).values(quantity=quantity))
    db.session.commit()
    if changed != 1:
        raise CartError(_LINE_GONE)
    return line


def remove_item(owner_id: str, product_id: int) -> None:
    """Remove a line (removing one that is already gone is not an error)."""
    _rows(delete(CartItem).where(CartItem.owner_id == owner_id, CartItem.product_id == product_id))
    db.session.commit()


def transfer_cart(source_id: str, target_id: str) -> None:
    """Give every line of ``source_id``'s cart to ``target_id``, whose cart is empty (a record made a
    moment ago): one UPDATE. Stock is checked again when the order is placed. Does not commit."""
    db.session.execute(statements.TRANSFER_CART, {"source_id": source_id, "target_id": target_id})


def merged_quantity(guest: int, account: int, policy: MergePolicy) -> int:
    """The quantity of one product after a merge by ``policy``, before any cap (``account`` is 0
    when the account's cart has no line of it)."""
    if policy is MergePolicy.REPLACE:
        return guest
    if policy is MergePolicy.SUM:
        return guest + account
    return max(guest, account)


def move_cart(source_id: str, target_id: str, policy: MergePolicy = MergePolicy.SUM) -> bool:
    """Move every line of ``source_id``'s cart into ``target_id``'s, by ``policy``.

    Quantities are capped by stock and by ``MAX_LINE_QUANTITY``. Does not commit: the caller makes
    it part of a larger change (sign-in). Returns whether stock lowered any quantity.
    """
    source = load_cart(source_id).lines
    target = {line.product_id: line for line in load_cart(target_id).lines}
    if policy is MergePolicy.REPLACE:
        for line in target.values():
            db.session.delete(line)
        target = {}
        db.session.flush()
    lowered = False
    for line in source:
        existing = target.get(line.product_id)
        wanted = min(
            merged_quantity(line.quantity, existing.quantity if existing else 0, policy), MAX_LINE_QUANTITY
        )
        quantity = min(wanted, line.product.stock)
        lowered = lowered or quantity < wanted
        if quantity >= 1 and existing is not None:
            existing.quantity = quantity
        elif quantity >= 1:
            db.session.add(CartItem(owner_id=target_id, product_id=line.product_id, quantity=quantity))
        db.session.delete(line)
    db.session.flush()
    return lowered


def _rows(statement: Executable) -> int:
    """Run an UPDATE or DELETE and return how many rows it changed."""
    result = db.session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DML statement gives a CursorResult


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
